package uda

import (
	"math"
	"testing"
)

func TestRamp(t *testing.T) {
	// 2/(1+exp(−x)) − 1 = tanh(x/2); the spec quotes 4 decimals.
	tests := []struct {
		name   string
		ramp   Ramp
		t      int
		want   float64
		quoted float64 // spec §1.5, 0 if none
	}{
		{"start", Ramp{}, 0, 0, 0},
		{"2.5k", Ramp{}, 2500, math.Tanh(0.125), 0.1244},
		{"5k", Ramp{}, 5000, math.Tanh(0.25), 0.2449},
		{"10k", Ramp{}, 10000, math.Tanh(0.5), 0.4621},
		{"20k saturated", Ramp{}, 20000, math.Tanh(0.5), 0.4621},
		{"explicit defaults", Ramp{Gamma: 1, MaxIter: 10000}, 5000, math.Tanh(0.25), 0},
		{"longer horizon", Ramp{MaxIter: 20000}, 10000, math.Tanh(0.25), 0},
		{"DSAN gamma 10", Ramp{Gamma: 10}, 10000, math.Tanh(5), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.ramp.At(tc.t)
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("At(%d) = %.10f, want %.10f", tc.t, got, tc.want)
			}
			if tc.quoted != 0 && math.Abs(got-tc.quoted) > 5e-5 {
				t.Errorf("At(%d) = %.6f, spec quotes %.4f", tc.t, got, tc.quoted)
			}
		})
	}
}

func TestRampIsMonotone(t *testing.T) {
	prev := -1.0
	for step := 0; step <= 12000; step += 500 {
		v := Ramp{}.At(step)
		if v < prev {
			t.Fatalf("At(%d) = %g < At(%d) = %g", step, v, step-500, prev)
		}
		prev = v
	}
}

func TestRampPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"negative step", func() { Ramp{}.At(-1) }},
		{"negative horizon", func() { Ramp{MaxIter: -5}.At(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.fn()
		})
	}
}

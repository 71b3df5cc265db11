package seedstat

import (
	"math"
	"testing"
)

func TestMeanStd(t *testing.T) {
	tests := []struct {
		x         []float64
		mean, std float64
	}{
		{[]float64{0.5}, 0.5, 0},
		{[]float64{1, 3}, 2, math.Sqrt2},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
	}
	for _, tt := range tests {
		if m, s := Mean(tt.x), Std(tt.x); math.Abs(m-tt.mean) > 1e-15 || math.Abs(s-tt.std) > 1e-15 {
			t.Errorf("%v: mean %v std %v, want %v %v", tt.x, m, s, tt.mean, tt.std)
		}
	}
}

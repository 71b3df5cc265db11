package run

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbe checks that a probe trains the number of steps it is given
// (not the grid's) and evaluates two test batches, for a trained and a
// zero-shot method.
func TestProbe(t *testing.T) {
	p, err := Expand(shapeGrid(t)) // 12 test images, batches of 5, 2 iterations per run
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		run, steps, iters, images int
	}{
		{0, 3, 0, 10}, // zero-shot: no training
		{1, 3, 3, 10},
		{2, 1, 1, 10},
	} {
		out := filepath.Join(t.TempDir(), "probe")
		probed, err := Probe(context.Background(), p, tc.run, out, tc.steps, PlanOptions{})
		if err != nil {
			t.Fatalf("run %d: %v", tc.run, err)
		}
		res, ok, err := ReadResult(out)
		if err != nil || !ok {
			t.Fatalf("run %d: result %v, %v", tc.run, ok, err)
		}
		if res.Iterations != tc.iters || res.Last.Images != tc.images {
			t.Errorf("run %d (%s): %d iterations and %d test images, want %d and %d",
				tc.run, p.Runs[tc.run].Method, res.Iterations, res.Last.Images, tc.iters, tc.images)
		}
		// The whole run: 1 epoch of 2 iterations (none for zero-shot) and
		// one evaluation of the 12 test images.
		wantSteps := 2
		if tc.iters == 0 {
			wantSteps = 0
		}
		if probed.RunSteps != wantSteps || probed.RunEvals != 1 || probed.TestImages != 12 ||
			(tc.steps > 1 && tc.iters > 0) != (probed.StepSeconds > 0) || probed.EvalImageSeconds <= 0 {
			t.Errorf("run %d: probe result %+v", tc.run, probed)
		}
		if est := probed.Seconds(); (est > 0) != (tc.steps > 1 || tc.iters == 0) {
			t.Errorf("run %d: estimate %v s from %+v", tc.run, est, probed)
		}
	}
}

func TestProbeBadInput(t *testing.T) {
	p, err := Expand(shapeGrid(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		run, steps int
		want       string
	}{
		{"no steps", 1, 0, "0 steps"},
		{"index out of range", 3, 2, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(context.Background(), p, tc.run, t.TempDir(), tc.steps, PlanOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestProbeResultSeconds(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    ProbeResult
		want float64
	}{
		{"trained", ProbeResult{StepSeconds: 0.5, EvalImageSeconds: 0.01, RunSteps: 600, RunEvals: 3, TestImages: 2000}, 300 + 60},
		{"zero-shot", ProbeResult{EvalImageSeconds: 0.01, RunEvals: 1, TestImages: 2000}, 20},
		{"no step timed", ProbeResult{EvalImageSeconds: 0.01, RunSteps: 600, RunEvals: 3, TestImages: 2000}, 0},
	} {
		if got := tc.p.Seconds(); got != tc.want {
			t.Errorf("%s: Seconds() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

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
		if err := Probe(context.Background(), p, tc.run, out, tc.steps, PlanOptions{}); err != nil {
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
			err := Probe(context.Background(), p, tc.run, t.TempDir(), tc.steps, PlanOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

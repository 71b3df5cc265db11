package main

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/bench"
)

func TestScalingThreads(t *testing.T) {
	tests := []struct {
		cores int
		want  []int
	}{
		{1, []int{1}}, {2, []int{1, 2}}, {6, []int{1, 2, 4, 6}}, {8, []int{1, 2, 4, 8}}, {16, []int{1, 2, 4, 8, 16}},
	}
	for _, tt := range tests {
		if got := scalingThreads(tt.cores); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("scalingThreads(%d) = %v, want %v", tt.cores, got, tt.want)
		}
	}
}

func TestScalingRows(t *testing.T) {
	// Two cases; per case the throughput at each thread count.
	in := map[string][][2]float64{
		"vit-b16-train-8": {{1, 2.0}, {2, 3.6}, {4, 6.0}},
		"rn50-fwd-8":      {{2, 10}, {4, 18}},
	}
	var results []bench.CLIPResult
	for _, name := range []string{"vit-b16-train-8", "rn50-fwd-8"} {
		for _, p := range in[name] {
			results = append(results, bench.CLIPResult{Case: name, Threads: int(p[0]), ImagesPerSec: p[1]})
		}
	}
	rows := scalingRows(results)
	for i, r := range rows {
		base := in[r.Case][0]
		speedUp := r.ImagesPerSec / base[1]
		eff := speedUp / (float64(r.Threads) / base[0])
		if math.Abs(r.SpeedUp-speedUp) > 1e-12 || math.Abs(r.Efficiency-eff) > 1e-12 {
			t.Errorf("row %d %s at %d threads: speed-up %g efficiency %g, want %g %g", i, r.Case, r.Threads, r.SpeedUp, r.Efficiency, speedUp, eff)
		}
	}
}

func TestBenchScalingBadThreads(t *testing.T) {
	for _, tt := range []struct {
		threads string
		code    int
		want    string
	}{
		{"2,1", 1, "want increasing positive counts"},
		{"1,1", 1, "want increasing positive counts"},
		{"0,2", 2, "-threads 0 is out of range"},
	} {
		code, _, stderr := runVlpuda(t, "bench", "scaling", "-threads", tt.threads)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("-threads %s: exit %d, want %d and %q\n%s", tt.threads, code, tt.code, tt.want, stderr)
		}
	}
}

package bench

import (
	"fmt"
	"math"
	"testing"
)

func TestParseCLIPCase(t *testing.T) {
	for _, c := range CLIPCases {
		got, err := ParseCLIPCase(c.Name())
		if err != nil || got != c {
			t.Errorf("ParseCLIPCase(%q) = %+v, %v; want %+v", c.Name(), got, err, c)
		}
	}
	for _, name := range []string{"", "vit-b16", "vit-b16-fwd-0", "vit-b16-fwd-x", "vit-l14-fwd-8", "rn50-eval-8"} {
		if c, err := ParseCLIPCase(name); err == nil {
			t.Errorf("ParseCLIPCase(%q) = %+v, want an error", name, c)
		}
	}
}

// TestCLIPCaseGFLOPs checks the nominal work of each tower against the
// products listed one by one (m×k by k×n, 2·m·n·k operations each): for
// the ViTs the patch embedding, per layer the in-projection, the 12 heads'
// scores and weighted values, the out-projection and the MLP, and the
// final projection; for RN50 every convolution as an im2col product (the
// same list as the kernels' RN50 benchmarks) and the attention pool.
func TestCLIPCaseGFLOPs(t *testing.T) {
	type prod struct{ m, n, k, count float64 }
	sum := func(ps []prod) float64 {
		f := 0.0
		for _, p := range ps {
			f += 2 * p.m * p.n * p.k * p.count
		}
		return f / 1e9
	}
	vit := func(patch, tokens float64) float64 {
		patches := tokens - 1
		return sum([]prod{
			{patches, 768, 3 * patch * patch, 1},            // patch embedding
			{tokens, 3 * 768, 768, 12},                      // in-projection
			{tokens, tokens, 64, 12 * 12},                   // scores, per head
			{tokens, 64, tokens, 12 * 12},                   // weighted values, per head
			{tokens, 768, 768, 12}, {tokens, 3072, 768, 12}, // out-projection, MLP up
			{tokens, 768, 3072, 12}, // MLP down
			{1, 512, 768, 1},        // proj
		})
	}
	// RN50 convolutions as (positions, filters, C·R·S, count).
	rn50 := sum([]prod{
		{112 * 112, 32, 3 * 9, 1}, {112 * 112, 32, 32 * 9, 1}, {112 * 112, 64, 32 * 9, 1},
		{56 * 56, 64, 64, 1}, {56 * 56, 64, 256, 2}, {56 * 56, 64, 64 * 9, 3}, {56 * 56, 256, 64, 4},
		{56 * 56, 128, 256, 1}, {56 * 56, 128, 128 * 9, 1},
		{28 * 28, 512, 128, 4}, {28 * 28, 512, 256, 1}, {28 * 28, 128, 512, 3},
		{28 * 28, 128, 128 * 9, 3}, {28 * 28, 256, 512, 1}, {28 * 28, 256, 256 * 9, 1},
		{14 * 14, 1024, 256, 6}, {14 * 14, 1024, 512, 1}, {14 * 14, 256, 1024, 5},
		{14 * 14, 256, 256 * 9, 5}, {14 * 14, 512, 1024, 1}, {14 * 14, 512, 512 * 9, 1},
		{7 * 7, 2048, 512, 3}, {7 * 7, 2048, 1024, 1}, {7 * 7, 512, 2048, 2}, {7 * 7, 512, 512 * 9, 2},
		// Attention pool: q of one token, k and v of 50, 32 heads' scores
		// and values, out_proj, c_proj.
		{1, 2048, 2048, 1}, {50, 2048, 2048, 2}, {1, 50, 64, 32}, {1, 64, 50, 32},
		{1, 2048, 2048, 1}, {1, 1024, 2048, 1},
	})
	tests := []struct {
		c    CLIPCase
		want float64
	}{
		{CLIPCase{"ViT-B/32", 1, false}, vit(32, 50)},
		{CLIPCase{"ViT-B/16", 8, false}, vit(16, 197)},
		{CLIPCase{"ViT-B/16", 8, true}, 3 * vit(16, 197)},
		{CLIPCase{"RN50", 1, false}, rn50},
	}
	for _, tt := range tests {
		if got := tt.c.GFLOPs(); math.Abs(got-tt.want) > 1e-9*tt.want {
			t.Errorf("%s: %.6f GFLOP per image, want %.6f", tt.c.Name(), got, tt.want)
		}
	}
}

// BenchmarkCLIP runs every case of CLIPCases, for profiling with
// -cpuprofile; "vlpuda bench clip" reports the same cases with their peak
// memory. It reports images per second.
func BenchmarkCLIP(b *testing.B) {
	for _, c := range CLIPCases {
		b.Run(c.Name(), func(b *testing.B) {
			step, err := NewCLIPStep(c)
			if err != nil {
				b.Fatal(err)
			}
			step()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(c.Batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

func ExampleCLIPCase_Name() {
	fmt.Println(CLIPCase{Model: "ViT-B/16", Batch: 8, Train: true}.Name())
	// Output: vit-b16-train-8
}

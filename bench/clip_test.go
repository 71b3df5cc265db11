package bench

import (
	"fmt"
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

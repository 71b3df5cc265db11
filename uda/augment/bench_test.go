package augment

import (
	"fmt"
	"testing"
)

// BenchmarkRecipe times the paper's Office-Home views at 224 pixels on a
// 400×300 image, and each RandAugment operation on a 224×224 one.
func BenchmarkRecipe(b *testing.B) {
	img := testImage(400, 300, 1)
	r, err := ForBenchmark("officehome", 224)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		t    Transform
	}{{"train", r.Train}, {"test", r.Test}, {"strong", r.Strong}} {
		b.Run(v.name, func(b *testing.B) {
			rng := newRand(1)
			for b.Loop() {
				v.t.Apply(img, rng)
			}
		})
	}
	sq := testImage(224, 224, 2)
	for _, op := range randOps {
		b.Run(fmt.Sprintf("ra/%s", op.name), func(b *testing.B) {
			for b.Loop() {
				op.apply(sq, op.level(10), Bicubic, CLIPFill)
			}
		})
	}
}

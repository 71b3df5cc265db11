package nn

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestTowerInferenceBesideTraining trains an image tower (loss, Backward,
// an SGD step) in one goroutine while another evaluates an equal tower on
// inference images, and checks both: the training's losses and gradients
// equal those of the same loop run alone bit for bit, and every evaluation
// records nothing, leaves its parameters without gradients and gives the
// features it gives alone. Run it under -race.
func TestTowerInferenceBesideTraining(t *testing.T) {
	const steps = 4
	tests := []struct {
		name  string
		tower func() tower
		res   int
	}{
		{"vit", func() tower {
			return NewVisionTransformer(tensor.NewRNG(1), ViTConfig{Resolution: 16, Patch: 8, Width: 16, Layers: 2, Heads: 2, Embed: 8})
		}, 16},
		{"resnet", func() tower {
			return NewModifiedResNet(tensor.NewRNG(2), ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 8, Resolution: 32, Heads: 2, Embed: 8})
		}, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := func(step int) *tensor.Tensor {
				return tensor.RandN(tensor.NewRNG(uint64(100+step)), 2, 3, tt.res, tt.res)
			}
			train := func() [][]float32 {
				m := tt.tower()
				SetTraining(m, true)
				params := Params(m)
				opt := &SGD{Groups: []ParamGroup{{Params: params, LR: 0.01}}, Momentum: 0.9}
				var trace [][]float32
				for step := range steps {
					loss := tensor.CrossEntropy(m.Forward(images(step)), []int{step % 8, (step + 3) % 8}, 0)
					if !loss.RequiresGrad() {
						t.Errorf("step %d: the loss records no graph", step)
						return trace
					}
					loss.Backward()
					trace = append(trace, loss.Values())
					for _, p := range params {
						trace = append(trace, p.Grad().Values())
					}
					opt.Step(1)
					opt.ZeroGrad()
				}
				return trace
			}
			eval := tt.tower()
			SetTraining(eval, false)
			input := images(-1).Inference()
			want := eval.Forward(input).Values()
			alone := train()

			var done atomic.Bool
			var wg sync.WaitGroup
			var together [][]float32
			wg.Go(func() {
				defer done.Store(true)
				together = train()
			})
			evals := 0
			for evals < 3 || !done.Load() {
				y := eval.Forward(input)
				if y.RequiresGrad() || !y.IsInference() {
					t.Fatalf("evaluation %d: features require grad %v, inference %v; want false, true", evals, y.RequiresGrad(), y.IsInference())
				}
				sameBits(t, "features", y.Values(), want)
				evals++
			}
			wg.Wait()
			for _, p := range NamedParams(eval) {
				if p.Tensor.Grad() != nil {
					t.Errorf("evaluated %s has a gradient", p.Name)
				}
			}
			if len(together) != len(alone) {
				t.Fatalf("training beside evaluation recorded %d values, alone %d", len(together), len(alone))
			}
			for i := range alone {
				sameBits(t, "training trace", together[i], alone[i])
			}
			t.Logf("%d evaluations beside %d training steps", evals, steps)
		})
	}
}

// tower is an image tower.
type tower interface {
	Module
	Forward(images *tensor.Tensor) *tensor.Tensor
}

// sameBits fails t unless got and want hold the same float32 bits.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

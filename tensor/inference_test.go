package tensor_test

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// inferenceCases are small models: params makes fresh parameters (each
// call the same values), input a batch and forward the model's output.
var inferenceCases = []struct {
	name    string
	params  func() []*tensor.Tensor
	input   func(step int) *tensor.Tensor
	forward func(p []*tensor.Tensor, x *tensor.Tensor) *tensor.Tensor
}{
	{
		name: "mlp",
		params: func() []*tensor.Tensor {
			return []*tensor.Tensor{randn(1, 16), randn(2, 16), tensor.MulScalar(randn(3, 32, 16), 0.2), randn(4, 32), tensor.MulScalar(randn(5, 4, 32), 0.2)}
		},
		input: func(step int) *tensor.Tensor { return randn(uint64(100+step), 6, 16) },
		forward: func(p []*tensor.Tensor, x *tensor.Tensor) *tensor.Tensor {
			h := tensor.LinearQuickGELU(tensor.LayerNorm(x, p[0], p[1], 1e-5), p[2], p[3])
			return tensor.Linear(h, p[4], nil)
		},
	},
	{
		name: "attention",
		params: func() []*tensor.Tensor {
			return []*tensor.Tensor{tensor.MulScalar(randn(6, 48, 16), 0.2), randn(7, 48), tensor.MulScalar(randn(8, 16, 16), 0.2), tensor.MulScalar(randn(9, 4, 16), 0.2)}
		},
		input: func(step int) *tensor.Tensor { return randn(uint64(200+step), 2, 5, 16) },
		forward: func(p []*tensor.Tensor, x *tensor.Tensor) *tensor.Tensor {
			a := tensor.SelfAttention(tensor.Linear(x, p[0], p[1]), 4, nil)
			h := tensor.LinearAdd(a, p[2], nil, x)
			return tensor.Linear(tensor.MeanDim(h, 1, false), p[3], nil)
		},
	},
	{
		name: "conv",
		params: func() []*tensor.Tensor {
			return []*tensor.Tensor{tensor.MulScalar(randn(10, 8, 3, 3, 3), 0.3), randn(11, 8), randn(12, 8), tensor.MulScalar(randn(13, 4, 8), 0.3)}
		},
		input: func(step int) *tensor.Tensor { return randn(uint64(300+step), 2, 3, 8, 8) },
		forward: func(p []*tensor.Tensor, x *tensor.Tensor) *tensor.Tensor {
			mean, variance := tensor.Zeros(8), tensor.Ones(8)
			h := tensor.BatchNormReLU(tensor.Conv2d(x, p[0], nil, [2]int{1, 1}, [2]int{1, 1}), p[1], p[2], mean, variance, false, 0.1, 1e-5)
			h = tensor.AdaptiveAvgPool2d(tensor.MaxPool2d(h, [2]int{2, 2}, [2]int{2, 2}, [2]int{}), 1, 1)
			return tensor.Linear(h.Reshape(2, 8), p[3], nil)
		},
	},
}

// TestInferenceBesideTraining runs, for each model, a training loop (loss,
// Backward, an SGD step) in one goroutine while another runs forward passes
// of an equal model on inference inputs, and checks both: the training's
// losses and gradients equal those of the same loop run alone bit for bit,
// and every evaluation records nothing, leaves its parameters without
// gradients and gives the values it gives alone. Run it under -race.
func TestInferenceBesideTraining(t *testing.T) {
	const steps, lr = 8, 0.05
	for _, tt := range inferenceCases {
		t.Run(tt.name, func(t *testing.T) {
			train := func() [][]float32 {
				p := tt.params()
				for _, q := range p {
					q.SetRequiresGrad(true)
				}
				var trace [][]float32
				for step := range steps {
					logits := tt.forward(p, tt.input(step))
					labels := make([]int, logits.Dim(0))
					for i := range labels {
						labels[i] = (i + step) % logits.Dim(1)
					}
					loss := tensor.CrossEntropy(logits, labels, 0)
					if !loss.RequiresGrad() {
						t.Errorf("step %d: the loss records no graph", step)
						return trace
					}
					loss.Backward()
					trace = append(trace, loss.Values())
					for _, q := range p {
						g := q.Grad().Values()
						trace = append(trace, g)
						d := q.Data()
						for i := range d {
							d[i] -= lr * g[i]
						}
						q.ZeroGrad()
					}
				}
				return trace
			}
			evalParams := tt.params()
			for _, q := range evalParams {
				q.SetRequiresGrad(true)
			}
			evalInput := tt.input(-1).Inference()
			want := tt.forward(evalParams, evalInput).Values()
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
				y := tt.forward(evalParams, evalInput)
				if y.RequiresGrad() || !y.IsInference() {
					t.Fatalf("evaluation %d: output requires grad %v, inference %v; want false, true", evals, y.RequiresGrad(), y.IsInference())
				}
				assertBits(t, "evaluation", y.Values(), want)
				evals++
			}
			wg.Wait()
			for i, q := range evalParams {
				if q.Grad() != nil {
					t.Errorf("evaluated parameter %d has a gradient", i)
				}
			}
			if len(together) != len(alone) {
				t.Fatalf("training beside evaluation recorded %d values, alone %d", len(together), len(alone))
			}
			for i := range alone {
				assertBits(t, "training trace", together[i], alone[i])
			}
			t.Logf("%d evaluations beside %d training steps", evals, steps)
		})
	}
}

// assertBits fails t unless got and want hold the same float32 bits.
func assertBits(t *testing.T, what string, got, want []float32) {
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

// TestInferencePropagates checks the marks an operation's output gets from
// its inputs: an inference input makes an inference output that records
// nothing, whatever else requires gradients; Detach gives a plain constant
// again; an inference tensor cannot be made to require gradients.
func TestInferencePropagates(t *testing.T) {
	w := randn(1, 3, 3).SetRequiresGrad(true)
	x := randn(2, 2, 3)
	tests := []struct {
		name                string
		y                   *tensor.Tensor
		requires, inference bool
	}{
		{"constant·param", tensor.MatMul(x, w), true, false},
		{"inference·param", tensor.MatMul(x.Inference(), w), false, true},
		{"param·inference view", tensor.Add(w, x.Inference().Narrow(0, 0, 1).Reshape(1, 3)), false, true},
		{"clone of inference", tensor.Mul(x.Inference().Clone(), w.Narrow(0, 0, 2)), false, true},
		{"detached inference·param", tensor.MatMul(tensor.Exp(x.Inference()).Detach(), w), true, false},
		{"inference of a param", tensor.Exp(w.Inference()), false, true},
	}
	for _, tt := range tests {
		if tt.y.RequiresGrad() != tt.requires || tt.y.IsInference() != tt.inference {
			t.Errorf("%s: requires grad %v, inference %v; want %v, %v", tt.name, tt.y.RequiresGrad(), tt.y.IsInference(), tt.requires, tt.inference)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("SetRequiresGrad(true) on an inference tensor did not panic")
		}
	}()
	x.Inference().SetRequiresGrad(true)
}

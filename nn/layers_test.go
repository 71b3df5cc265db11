package nn

import (
	"math"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
)

// gradCase differentiates a module's output with respect to its input and
// every parameter, through tensortest.CheckGrad.
type gradCase struct {
	name    string
	module  Module
	input   *tensor.Tensor
	forward func(x *tensor.Tensor) *tensor.Tensor
	check   tensortest.GradCheck
}

func TestLayerGradients(t *testing.T) {
	rng := tensor.NewRNG(7)
	mha := NewMultiheadAttention(rng, 8, 2)
	block := NewResidualAttentionBlock(rng, 8, 2)
	pool := NewAttentionPool2d(rng, 2, 8, 2, 4)
	bottleneck := NewBottleneck(rng, 4, 2, 2)
	SetTraining(bottleneck, true)
	mask := CausalMask(3)
	vit := NewVisionTransformer(rng, ViTConfig{Resolution: 8, Patch: 4, Width: 8, Layers: 1, Heads: 2, Embed: 4})
	resnet := NewModifiedResNet(rng, ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 4, Resolution: 64, Heads: 2, Embed: 4})
	SetTraining(resnet, true)
	// ReLU kinks: BatchNorm in training mode keeps activations at unit
	// scale, and a small step keeps the difference on one side of them.
	smooth := tensortest.GradCheck{ATol: 5e-3, RTol: 5e-2}
	relu := tensortest.GradCheck{Eps: 1e-3, ATol: 5e-3, RTol: 5e-2}
	// The deep ResNet crosses kinks even at 1e-3; below that float32 rounding
	// of the objective sets the floor, hence the wider absolute tolerance.
	sampled := tensortest.GradCheck{Eps: 1e-4, ATol: 3e-2, RTol: 5e-2, Sample: 6}

	tests := []gradCase{
		{"attention", mha, tensor.RandN(rng, 2, 3, 8), func(x *tensor.Tensor) *tensor.Tensor { return mha.Forward(x, nil) }, smooth},
		{"attention-causal", mha, tensor.RandN(rng, 2, 3, 8), func(x *tensor.Tensor) *tensor.Tensor { return mha.Forward(x, mask) }, smooth},
		{"residual-block", block, tensor.RandN(rng, 2, 3, 8), func(x *tensor.Tensor) *tensor.Tensor { return block.Forward(x, mask) }, smooth},
		{"attention-pool", pool, tensor.RandN(rng, 2, 8, 2, 2), pool.Forward, smooth},
		{"bottleneck-train", bottleneck, tensor.RandN(rng, 3, 4, 4, 4), bottleneck.Forward, relu},
		{"vit", vit, tensor.RandN(rng, 2, 3, 8, 8), vit.Forward, smooth},
		{"resnet", resnet, tensor.RandN(rng, 2, 3, 64, 64), resnet.Forward, sampled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := Params(tt.module)
			inputs := append([]*tensor.Tensor{tt.input}, params...)
			tt.check.Check(t, func(in []*tensor.Tensor) *tensor.Tensor {
				return tt.forward(in[0])
			}, inputs...)
		})
	}
}

func TestCausalMaskBlocksTheFuture(t *testing.T) {
	rng := tensor.NewRNG(3)
	mha := NewMultiheadAttention(rng, 4, 1)
	x := tensor.RandN(rng, 1, 4, 4)
	y := mha.Forward(x, CausalMask(4))
	// Changing the last position must not change the outputs before it.
	x2 := x.Clone()
	x2.Data()[12] += 5
	y2 := mha.Forward(x2, CausalMask(4))
	tensortest.AssertClose(t, y2.Narrow(1, 0, 3), y.Narrow(1, 0, 3), 0, 0)
	if tensortest.Close(y2.Narrow(1, 3, 1), y.Narrow(1, 3, 1), 1e-6, 0) == nil {
		t.Errorf("the last position ignored its own input")
	}
}

func TestResNetStateDictNames(t *testing.T) {
	r := NewModifiedResNet(tensor.NewRNG(1), ResNetConfig{Layers: [4]int{2, 1, 1, 1}, Width: 8, Resolution: 64, Heads: 4, Embed: 16})
	sd := StateDict(r)
	for _, name := range []string{
		"conv1.weight", "bn1.running_var", "bn3.num_batches_tracked",
		"layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias", "layer1.1.conv2.weight",
		"layer4.0.bn3.weight", "attnpool.positional_embedding", "attnpool.k_proj.weight", "attnpool.c_proj.bias",
	} {
		if _, ok := sd[name]; !ok {
			t.Errorf("state dict lacks %q", name)
		}
	}
	if _, ok := sd["layer1.1.downsample.0.weight"]; ok {
		t.Errorf("block 1 of layer1 has a downsample branch")
	}
	if got := sd["attnpool.positional_embedding"].Shape(); got[0] != 5 || got[1] != 256 {
		t.Errorf("attnpool positional embedding %v, want [5 256]", got)
	}
}

// TestAttentionLearnedMask covers the path of a mask that requires a
// gradient (the fused SelfAttention takes constant masks only): the same
// output as with the constant mask, and gradients for x and the mask.
func TestAttentionLearnedMask(t *testing.T) {
	rng := tensor.NewRNG(5)
	mha := NewMultiheadAttention(rng, 8, 2)
	x, mask := tensor.RandN(rng, 2, 3, 8), tensor.RandN(rng, 3, 3)
	fused := mha.Forward(x, mask)
	general := mha.Forward(x, mask.Detach().SetRequiresGrad(true))
	tensortest.AssertClose(t, general, fused, 1e-6, 1e-6)
	tensortest.GradCheck{ATol: 5e-3, RTol: 5e-2}.Check(t, func(in []*tensor.Tensor) *tensor.Tensor {
		return mha.Forward(in[0], in[1])
	}, x, mask)
}

// TestResNetFoldedNormsMatch runs an evaluated ResNet tower twice: once with
// its norms folded into the convolutions (gradients off, Conv2dAffine) and
// once with the norms' parameters requiring gradients (each operation on
// its own). Outputs and the input's gradient must agree bit for bit.
func TestResNetFoldedNormsMatch(t *testing.T) {
	rng := tensor.NewRNG(3)
	r := NewModifiedResNet(rng, ResNetConfig{Layers: [4]int{2, 1, 1, 1}, Width: 8, Resolution: 64, Heads: 4, Embed: 16})
	// Running statistics away from the defaults, so the fold does something.
	Walk(r, func(_ string, m Module) {
		if bn, ok := m.(*BatchNorm); ok {
			copy(bn.RunningMean.Data(), tensor.RandN(rng, bn.RunningMean.Shape()...).Data())
			copy(bn.RunningVar.Data(), tensor.AddScalar(tensor.RandUniform(rng, 0, 1, bn.RunningVar.Shape()...), 0.5).Data())
			copy(bn.Weight.Data(), tensor.RandN(rng, bn.Weight.Shape()...).Data())
		}
	})
	SetTraining(r, false)
	images := tensor.RandN(rng, 2, 3, 64, 64)

	setNormGrads := func(on bool) {
		Walk(r, func(_ string, m Module) {
			if bn, ok := m.(*BatchNorm); ok {
				bn.Weight.SetRequiresGrad(on)
				bn.Bias.SetRequiresGrad(on)
			}
		})
	}
	run := func(folded bool) [][]float32 {
		setNormGrads(!folded)
		x := images.Detach().SetRequiresGrad(true)
		y := r.Forward(x)
		tensor.Sum(tensor.Mul(y, tensor.RandN(tensor.NewRNG(4), y.Shape()...))).Backward()
		return [][]float32{y.Values(), x.Grad().Values()}
	}
	folded, composed := run(true), run(false)
	for i, name := range []string{"features", "image gradient"} {
		for j := range composed[i] {
			if math.Float32bits(folded[i][j]) != math.Float32bits(composed[i][j]) {
				t.Fatalf("%s[%d]: %v folded, %v composed", name, j, folded[i][j], composed[i][j])
			}
		}
	}
}

// TestResidualBlockMatchesComposed checks the block, whose output
// projections add the residual as they store (tensor.LinearAdd), against
// the same block written with tensor.Add, bit for bit: output and every
// gradient.
func TestResidualBlockMatchesComposed(t *testing.T) {
	rng := tensor.NewRNG(11)
	block := NewResidualAttentionBlock(rng, 64, 4)
	images := tensor.RandN(rng, 2, 5, 64)
	run := func(fused bool) [][]float32 {
		for _, p := range Params(block) {
			p.ZeroGrad()
		}
		x := images.Detach().SetRequiresGrad(true)
		var y *tensor.Tensor
		if fused {
			y = block.Forward(x, CausalMask(5))
		} else {
			h := tensor.Add(x, block.Attn.Forward(block.LN1.Forward(x), CausalMask(5)))
			y = tensor.Add(h, block.MLP.Forward(block.LN2.Forward(h)))
		}
		tensor.Sum(tensor.Mul(y, tensor.RandN(tensor.NewRNG(4), y.Shape()...))).Backward()
		out := [][]float32{y.Values(), x.Grad().Values()}
		for _, p := range Params(block) {
			out = append(out, p.Grad().Values())
		}
		return out
	}
	fused, composed := run(true), run(false)
	for i := range composed {
		for j := range composed[i] {
			if math.Float32bits(fused[i][j]) != math.Float32bits(composed[i][j]) {
				t.Fatalf("value %d [%d]: %v fused, %v composed", i, j, fused[i][j], composed[i][j])
			}
		}
	}
}

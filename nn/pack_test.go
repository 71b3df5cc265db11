package nn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
)

// TestPackWeights checks that towers with packed weights give the bits of
// the unpacked towers on inference images, that unpacking restores every
// parameter bit for bit, that the tower trains as before afterwards, and
// that while packed, reading the parameters or a training pass fails with
// a message instead of computing garbage. The ResNet's convolutions are
// packed, the ViT's patch embedding is not.
func TestPackWeights(t *testing.T) {
	tests := []struct {
		name  string
		tower func() tower
		res   int
		convs bool // whether the convolutions are packed
	}{
		// Width 16 makes rows that are no multiple of 32 (packed copies),
		// width 32 only multiples (packed in place).
		{"vit16", func() tower {
			return NewVisionTransformer(tensor.NewRNG(1), ViTConfig{Resolution: 16, Patch: 8, Width: 16, Layers: 2, Heads: 2, Embed: 8})
		}, 16, false},
		{"vit32", func() tower {
			return NewVisionTransformer(tensor.NewRNG(1), ViTConfig{Resolution: 16, Patch: 8, Width: 32, Layers: 2, Heads: 2, Embed: 8})
		}, 16, false},
		{"resnet", func() tower {
			return NewModifiedResNet(tensor.NewRNG(2), ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 8, Resolution: 32, Heads: 2, Embed: 8})
		}, 32, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.tower()
			SetTraining(m, false)
			before := paramValues(m)
			images := tensor.RandN(tensor.NewRNG(3), 2, 3, tt.res, tt.res).Inference()
			want := m.Forward(images).Values()

			unpack := PackWeights(m)
			Walk(m, func(name string, m Module) {
				if c, ok := m.(*Conv2d); ok && (c.packed != nil) != tt.convs {
					t.Errorf("%s packed: %v, want %v", name, c.packed != nil, tt.convs)
				}
			})
			sameBits(t, "packed tower's features", m.Forward(images).Values(), want)
			mustPanic(t, "Params while packed", "packed for inference", func() { Params(m) })
			mustPanic(t, "training pass while packed", "no gradient", func() {
				m.Forward(tensor.RandN(tensor.NewRNG(4), 2, 3, tt.res, tt.res))
			})
			unpack()

			after := paramValues(m)
			if len(after) != len(before) {
				t.Fatalf("%d parameters after unpacking, %d before", len(after), len(before))
			}
			for i := range before {
				sameBits(t, fmt.Sprintf("parameter %d after packing and unpacking", i), after[i], before[i])
			}
			sameBits(t, "unpacked tower's features", m.Forward(images).Values(), want)
			loss := tensor.CrossEntropy(m.Forward(tensor.RandN(tensor.NewRNG(4), 2, 3, tt.res, tt.res)), []int{1, 2}, 0)
			if !loss.RequiresGrad() {
				t.Errorf("unpacked tower records no graph")
			}
		})
	}
}

// TestPackWeightsTwice checks that packing a packed tower again changes
// nothing and that each unpack restores what its own call packed.
func TestPackWeightsTwice(t *testing.T) {
	m := NewVisionTransformer(tensor.NewRNG(1), ViTConfig{Resolution: 16, Patch: 8, Width: 32, Layers: 1, Heads: 2, Embed: 8})
	before := paramValues(m)
	outer := PackWeights(m)
	inner := PackWeights(m)
	inner()
	outer()
	for i, v := range paramValues(m) {
		sameBits(t, fmt.Sprintf("parameter %d", i), v, before[i])
	}
}

func paramValues(m Module) [][]float32 {
	var out [][]float32
	for _, p := range Params(m) {
		out = append(out, p.Values())
	}
	return out
}

func mustPanic(t *testing.T, name, want string, f func()) {
	t.Helper()
	defer func() {
		if r := fmt.Sprint(recover()); !strings.Contains(r, want) {
			t.Errorf("%s: panic %q, want one containing %q", name, r, want)
		}
	}()
	f()
}

// TestPackWeightsBatchStatistics checks that a packed ResNet in training
// mode, whose norms use the batch's statistics and so cannot be folded into
// the convolutions, gives the unpacked tower's bits on inference images.
func TestPackWeightsBatchStatistics(t *testing.T) {
	m := NewModifiedResNet(tensor.NewRNG(2), ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 8, Resolution: 32, Heads: 2, Embed: 8})
	SetTraining(m, true)
	images := tensor.RandN(tensor.NewRNG(3), 2, 3, 32, 32).Inference()
	want := m.Forward(images).Values()
	unpack := PackWeights(m)
	defer unpack()
	sameBits(t, "packed tower's features", m.Forward(images).Values(), want)
}

// TestPackWeightsNormStatistics checks that the batch norms of a packed
// ResNet, which compute their folded map once, compute it again after a
// pass in training mode has changed their running statistics: the tower
// then gives the bits of an unpacked twin that ran the same passes.
func TestPackWeightsNormStatistics(t *testing.T) {
	newTower := func() *ModifiedResNet {
		return NewModifiedResNet(tensor.NewRNG(2), ResNetConfig{Layers: [4]int{1, 1, 1, 1}, Width: 8, Resolution: 32, Heads: 2, Embed: 8})
	}
	images := tensor.RandN(tensor.NewRNG(3), 2, 3, 32, 32).Inference()
	passes := func(m *ModifiedResNet) []float32 {
		SetTraining(m, false)
		m.Forward(images)
		SetTraining(m, true)
		m.Forward(tensor.RandN(tensor.NewRNG(4), 2, 3, 32, 32).Inference())
		SetTraining(m, false)
		return m.Forward(images).Values()
	}
	want := passes(newTower())
	m := newTower()
	unpack := PackWeights(m)
	defer unpack()
	sameBits(t, "packed tower's features after a training-mode pass", passes(m), want)
}

package uda

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/vlpuda/vlpuda/internal/digesttest"
	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/vlp"
)

var updateDigests = flag.Bool("update-digests", false, "rewrite testdata/train-digests.txt with this machine's digests")

// digestFile holds the SHA-256 of the tensors a short training leaves, per
// tower and method. They are the same on every kernel path, thread count,
// build (purego) and platform, so a machine whose bits differ fails here.
const digestFile = "testdata/train-digests.txt"

// digestHeader heads digestFile.
const digestHeader = "SHA-256 of the tensors TestTrainDigests trains, the same on every ISA,\nthread count and platform. Regenerate: go test ./uda -run TestTrainDigests -update-digests"

// TestTrainDigests trains each tiny tower with every method for a few
// steps, under every ISA this CPU supports and with 1 and 3 threads, and
// compares the SHA-256 of the trained tensors with the committed digests.
func TestTrainDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 8 configurations on every ISA")
	}
	runs := []struct {
		tower  string
		method Method
		rstTau float64
	}{
		{"vit", MethodSourceOnly, 0}, {"vit", MethodCMKD, 0}, {"vit", MethodCMKDFixMatch, 0}, {"vit", MethodCMKD, 1e-4},
		{"rn", MethodSourceOnly, 0}, {"rn", MethodCMKD, 0}, {"rn", MethodCMKDFixMatch, 0}, {"rn", MethodCMKD, 1e-4},
	}
	file := digesttest.Open(t, digestFile, digestHeader, *updateDigests)
	prevThreads := kernels.Threads()
	defer kernels.SetThreads(prevThreads)
	for _, r := range runs {
		name := r.tower + "/" + r.method.String()
		if r.rstTau > 0 {
			name += "+rst"
		}
		t.Run(name, func(t *testing.T) {
			for _, isa := range kernels.Supported() {
				for _, threads := range []int{1, 3} {
					t.Run(fmt.Sprintf("%v/threads=%d", isa, threads), func(t *testing.T) {
						prev, err := kernels.Use(isa)
						if err != nil {
							t.Fatal(err)
						}
						defer kernels.Use(prev)
						kernels.SetThreads(threads)
						file.Check(t, name, trainDigest(t, r.tower, r.method, r.rstTau))
					})
				}
			}
		})
	}
}

// trainDigest trains the tiny tower for two steps of random batches and
// returns the SHA-256 of its parameters and buffers and the head's, in
// order, names included.
func trainDigest(t *testing.T, tower string, method Method, rstTau float64) string {
	t.Helper()
	dir := fixture.Path(t, "clip-tiny", tower)
	c, err := vlp.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := vlp.Load(filepath.Join(dir, "model.safetensors"), &c)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(method)
	cfg.RSTTau = rstTau
	tr, err := NewTrainer(m, shapeClasses, vlp.TemplatePhoto, cfg)
	if err != nil {
		t.Fatal(err)
	}
	size := c.ImageResolution
	for step := range 2 {
		var tgt Batch
		if method.UsesTarget() {
			tgt = randomBatch(3, size, uint64(100+step), method.UsesStrongView())
		}
		if _, err := tr.Step(randomBatch(4, size, uint64(step), false), tgt); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	for _, mod := range []nn.Module{m.Visual, tr.Head} {
		for _, ns := range [][]nn.Named{nn.NamedParams(mod), nn.NamedBuffers(mod)} {
			for _, n := range ns {
				h.Write([]byte(n.Name))
				for _, v := range n.Tensor.Values() {
					h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

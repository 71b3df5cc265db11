package uda

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// randomBatch returns n random normalised images of side size with labels
// 0, 1, 2, 0, ….
func randomBatch(n, size int, seed uint64, strong bool) Batch {
	rng := tensor.NewRNG(seed)
	b := Batch{Images: tensor.RandN(rng, n, 3, size, size)}
	if strong {
		b.Strong = tensor.RandN(rng, n, 3, size, size)
	}
	for i := range n {
		b.Labels = append(b.Labels, i%3)
	}
	return b
}

func TestTrainerStep(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		method Method
	}{
		{"vit cmkd+fixmatch", "vit", MethodCMKDFixMatch},
		{"resnet cmkd", "rn", MethodCMKD},
		{"resnet source-only", "rn", MethodSourceOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := vlp.ReadConfig(fixture.Path(t, "clip-tiny", tt.model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := vlp.Load(fixture.Path(t, "clip-tiny", tt.model, "model.safetensors"), &c)
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(tt.method)
			cfg.LRGamma, cfg.LRPower = 0.5, 1
			tr, err := NewTrainer(m, shapeClasses, vlp.TemplatePhoto, cfg)
			if err != nil {
				t.Fatal(err)
			}
			towerBuffers := map[string][]float32{}
			for _, b := range nn.NamedBuffers(m.Visual) {
				towerBuffers[b.Name] = b.Tensor.Values()
			}
			headMean := tr.Head.BN.RunningMean.Values()
			before := map[string][]float32{}
			for _, p := range nn.NamedParams(m.Visual) {
				before[p.Name] = p.Tensor.Values()
			}
			size := c.ImageResolution
			var tgt Batch // source-only must not read the target
			if tt.method.UsesTarget() {
				tgt = randomBatch(4, size, 2, tt.method.UsesStrongView())
			}
			for step := range 2 {
				st, err := tr.Step(randomBatch(5, size, uint64(step), false), tgt)
				if err != nil {
					t.Fatal(err)
				}
				// lr·(1+0.5t)^−1 at t = 0, 1.
				want := cfg.LR / (1 + 0.5*float64(step))
				if math.Abs(st.LR-want) > 1e-15 || math.Abs(st.HeadLR-want*cfg.HeadLRMult) > 1e-12 {
					t.Errorf("step %d: lr %g and %g, want %g and %g", step, st.LR, st.HeadLR, want, want*cfg.HeadLRMult)
				}
				wantImages := 5 + map[Method]int{MethodSourceOnly: 0, MethodCMKD: 4, MethodCMKDFixMatch: 8}[tt.method]
				if st.Iter != step+1 || st.Images != wantImages || st.Terms[len(st.Terms)-1].Name != "total" {
					t.Errorf("step %d: iter %d, %d images, terms %v; want %d, %d, total last", step, st.Iter, st.Images, st.Terms, step+1, wantImages)
				}
			}
			// The tower's BatchNorm statistics are frozen, the head's are
			// not; every tower parameter trains.
			for _, b := range nn.NamedBuffers(m.Visual) {
				if !slices.Equal(b.Tensor.Values(), towerBuffers[b.Name]) {
					t.Errorf("tower buffer %s changed", b.Name)
				}
			}
			if slices.Equal(tr.Head.BN.RunningMean.Values(), headMean) {
				t.Errorf("the head's running mean did not change: the head did not train in training mode")
			}
			for _, p := range nn.NamedParams(m.Visual) {
				if slices.Equal(p.Tensor.Values(), before[p.Name]) {
					t.Errorf("tower parameter %s did not change", p.Name)
				}
			}
			if tt.model == "rn" && len(tr.bns) == 0 {
				t.Errorf("no BatchNorm layers found in the ResNet tower")
			}
		})
	}
}

func TestLoaderSourceRestore(t *testing.T) {
	recipe, err := augment.ForBenchmark("office31", 32)
	if err != nil {
		t.Fatal(err)
	}
	imgs := shapeDomain(t, 0, 5, 1)
	open := func(workers int) *LoaderSource {
		s, err := NewLoaderSource(imgs, StreamConfig{Batch: 4, Seed: 11, Size: 32, Transform: recipe.Train, Strong: recipe.Strong, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := open(1)
	var want []Batch
	var state []byte
	for i := range 7 { // 15 images: 3 batches a pass, so this crosses two passes
		b, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
		if i == 2 {
			if state, err = a.State(); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := open(3)
	if err := b.Restore(state); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 7; i++ {
		got, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Labels, want[i].Labels) || !slices.Equal(got.Images.Values(), want[i].Images.Values()) ||
			!slices.Equal(got.Strong.Values(), want[i].Strong.Values()) {
			t.Errorf("batch %d after restoring differs", i)
		}
	}
	other, err := NewLoaderSource(imgs, StreamConfig{Batch: 4, Seed: 12, Size: 32, Transform: recipe.Train})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Restore(state); err == nil {
		t.Errorf("a stream with another seed accepted the state")
	}
	if _, err := NewLoaderSource(imgs, StreamConfig{Batch: 16, Seed: 1, Size: 32, Transform: recipe.Train}); err == nil {
		t.Errorf("a batch larger than the data was accepted")
	}
}

func TestReadCheckpointErrors(t *testing.T) {
	cfg := testConfig(MethodCMKD)
	cfg.RSTTau = 1e-4
	m := loadTiny(t)
	tr, err := NewTrainer(m, shapeClasses, vlp.TemplatePhoto, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(randomBatch(4, 32, 1, false), randomBatch(4, 32, 2, false)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.WriteCheckpoint(path, []byte(`{"mine":1}`)); err != nil {
		t.Fatal(err)
	}
	threads, isa := kernels.Threads(), kernels.Current()
	otherISA := kernels.Generic
	if isa == kernels.Generic {
		otherISA = kernels.Supported()[len(kernels.Supported())-1]
	}
	tests := []struct {
		name    string
		change  func(t *testing.T, c *Config, m *vlp.CLIP) []string
		wantErr string
	}{
		{"same", func(*testing.T, *Config, *vlp.CLIP) []string { return shapeClasses }, ""},
		{"more epochs", func(_ *testing.T, c *Config, _ *vlp.CLIP) []string { c.Epochs = 9; return shapeClasses }, ""},
		{"other lr", func(_ *testing.T, c *Config, _ *vlp.CLIP) []string { c.LR = 2e-3; return shapeClasses }, "LR 0.001 ≠ 0.002"},
		{"other λ1", func(_ *testing.T, c *Config, _ *vlp.CLIP) []string { c.Objective.Lambda1 = 1; return shapeClasses }, "Objective.Lambda1"},
		{"other classes", func(*testing.T, *Config, *vlp.CLIP) []string { return []string{"a", "b", "c"} }, "classes"},
		{"other base", func(_ *testing.T, _ *Config, m *vlp.CLIP) []string {
			m.Visual.(*nn.VisionTransformer).ClassEmbedding.Data()[0] += 1
			return shapeClasses
		}, "different base model"},
		{"other thread count", func(t *testing.T, _ *Config, _ *vlp.CLIP) []string {
			kernels.SetThreads(threads + 1)
			t.Cleanup(func() { kernels.SetThreads(threads) })
			return shapeClasses
		}, ""}, // the kernels give the same bits with any thread count
		{"other kernel path", func(t *testing.T, _ *Config, _ *vlp.CLIP) []string {
			if otherISA == isa {
				t.Skipf("this build and CPU run only the %v kernels", isa)
			}
			if _, err := kernels.Use(otherISA); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { kernels.Use(isa) })
			return shapeClasses
		}, ""}, // and on every path

	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := cfg, loadTiny(t)
			names := tt.change(t, &c, m)
			tr2, err := NewTrainer(m, names, vlp.TemplatePhoto, c)
			if err != nil {
				t.Fatal(err)
			}
			run, err := tr2.ReadCheckpoint(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+"\n", tt.wantErr) {
					t.Errorf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(run) != `{"mine":1}` || tr2.Iter() != 1 || tr2.NonZero() != tr.NonZero() {
				t.Errorf("run %s, iteration %d, %d non-zeros; want the stored ones, 1, %d", run, tr2.Iter(), tr2.NonZero(), tr.NonZero())
			}
			for _, p := range nn.NamedParams(m.Visual) {
				if !slices.Equal(p.Tensor.Values(), nn.StateDict(tr.Model.Visual)[p.Name].Values()) {
					t.Errorf("%s differs after loading", p.Name)
				}
			}
		})
	}
}

// TestReadCheckpointCorrupt flips single bits in a checkpoint's tensor data
// and metadata: each must be refused, naming the file and what failed.
func TestReadCheckpointCorrupt(t *testing.T) {
	cfg := testConfig(MethodCMKD)
	cfg.RSTTau = 1e-4
	tr, err := NewTrainer(loadTiny(t), shapeClasses, vlp.TemplatePhoto, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(randomBatch(4, 32, 1, false), randomBatch(4, 32, 2, false)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := tr.WriteCheckpoint(good, []byte(`{"mine":1}`)); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	// The tensors' data follow the header in file order.
	dataStart := 8 + int(binary.LittleEndian.Uint64(orig))
	tensorAt := func(off int) string {
		pos := dataStart
		for _, x := range f.Tensors {
			if off < pos+len(x.Data) {
				return x.Name
			}
			pos += len(x.Data)
		}
		t.Fatalf("offset %d is past the data (%d bytes)", off, len(orig))
		return ""
	}
	type flip struct {
		off  int
		bit  uint
		want string // in the error besides the path
	}
	var flips []flip
	for k := range 8 {
		off := dataStart + k*(len(orig)-1-dataStart)/7
		flips = append(flips, flip{off, uint(k), fmt.Sprintf("tensor %q", tensorAt(off))})
	}
	run := bytes.Index(orig, []byte(`mine`))
	if run < 0 || run > dataStart {
		t.Fatalf("the run state is not in the header")
	}
	flips = append(flips, flip{run, 0, fmt.Sprintf("metadata %q", MetaRun)})
	for _, fl := range flips {
		t.Run(fmt.Sprintf("bit %d of byte %d", fl.bit, fl.off), func(t *testing.T) {
			b := slices.Clone(orig)
			b[fl.off] ^= 1 << fl.bit
			path := filepath.Join(dir, fmt.Sprintf("flip%d.safetensors", fl.off))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			tr2, err := NewTrainer(loadTiny(t), shapeClasses, vlp.TemplatePhoto, cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tr2.ReadCheckpoint(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fl.want) {
				t.Errorf("error %v, want one naming %s and %s", err, path, fl.want)
			}
		})
	}

	// A checkpoint without checksums (an earlier version's) is refused.
	old := filepath.Join(dir, "old.safetensors")
	meta := maps.Clone(f.Metadata)
	delete(meta, MetaChecksums)
	if err := safetensors.WriteFile(old, f.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	tr2, err := NewTrainer(loadTiny(t), shapeClasses, vlp.TemplatePhoto, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.ReadCheckpoint(old); err == nil || !strings.Contains(err.Error(), "no checksums") {
		t.Errorf("checkpoint without checksums: error %v, want 'no checksums'", err)
	}
	if _, err := tr2.ReadCheckpoint(good); err != nil {
		t.Errorf("the intact checkpoint: %v", err)
	}
}

func TestLoadTaskErrors(t *testing.T) {
	cfg := testConfig(MethodCMKD)
	cfg.RSTTau = 1e-4
	tr, err := NewTrainer(loadTiny(t), shapeClasses, vlp.TemplatePhoto, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(randomBatch(4, 32, 1, false), randomBatch(4, 32, 2, false)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "task.vlpr")
	if _, err := tr.WriteTask(path, TaskInfo{Classes: shapeClasses}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.WriteTask(path, TaskInfo{Classes: shapeClasses}, false); err == nil {
		t.Errorf("WriteTask replaced an existing file without overwrite")
	}
	other := loadTiny(t)
	other.Visual.(*nn.VisionTransformer).ClassEmbedding.Data()[0] += 1
	if _, err := LoadTask(other, path); !errors.Is(err, rst.ErrBaseMismatch) {
		t.Errorf("residual over another base: error %v, want ErrBaseMismatch", err)
	}
	notTask := filepath.Join(dir, "model.safetensors")
	if err := vlp.Save(notTask, loadTiny(t), false); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTask(loadTiny(t), notTask); err == nil || !strings.Contains(err.Error(), "not a task file") {
		t.Errorf("a CLIP checkpoint as a task: error %v, want 'not a task file'", err)
	}
}

// TestLoadTaskShortFiles checks that a task file too short to hold any
// format's magic is named as such, not reported as a bare EOF.
func TestLoadTaskShortFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content, want string
	}{
		{"empty.vlpr", "", "empty file, not a task file"},
		{"short.vlpr", "VL", "2-byte file, not a task file"},
		{"empty.safetensors", "", "empty file, not a task file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadTask(nil, path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) || strings.HasSuffix(err.Error(), "EOF") {
				t.Errorf("error %v, want one naming %s and saying %q", err, path, tt.want)
			}
		})
	}
}

package vlp

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor/dtype"
	"github.com/vlpuda/vlpuda/tensor/tensortest"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// int64Text returns the fixture's I32 token ids widened to I64.
func int64Text(t *testing.T, text *safetensors.Tensor) safetensors.Tensor {
	t.Helper()
	if text.DType != dtype.Int32 {
		t.Fatalf("fixture text is %s, want I32", text.DType)
	}
	out := safetensors.Tensor{Name: "text", DType: dtype.Int64, Shape: text.Shape, Data: make([]byte, 2*len(text.Data))}
	for i := range len(text.Data) / 4 {
		v := int32(binary.LittleEndian.Uint32(text.Data[4*i:]))
		binary.LittleEndian.PutUint64(out.Data[8*i:], uint64(int64(v)))
	}
	return out
}

// TestEncodeFile encodes each fixture's inputs, with I32 and I64 ids and with
// either input alone, and compares every written tensor with the reference.
func TestEncodeFile(t *testing.T) {
	for _, model := range []string{"vit", "rn"} {
		m := loadFixture(t, model)
		in := readSafetensors(t, tiny(t, model, "inputs.safetensors"))
		ref := readSafetensors(t, tiny(t, model, "outputs.safetensors"))
		images, text := *in.Tensor("images"), *in.Tensor("text")
		all := []string{"image_features", "text_features", "logits_per_image", "logits_per_text", "logit_scale_exp"}
		tests := []struct {
			name   string
			inputs []safetensors.Tensor
			want   []string
		}{
			{"int32", []safetensors.Tensor{images, text}, all},
			{"int64", []safetensors.Tensor{images, int64Text(t, &text)}, all},
			{"images", []safetensors.Tensor{images}, []string{"image_features", "logit_scale_exp"}},
			{"text", []safetensors.Tensor{text}, []string{"text_features", "logit_scale_exp"}},
		}
		for _, tt := range tests {
			t.Run(model+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				inPath, outPath := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
				if err := safetensors.WriteFile(inPath, tt.inputs, nil); err != nil {
					t.Fatal(err)
				}
				if err := EncodeFile(m, inPath, outPath, false); err != nil {
					t.Fatal(err)
				}
				got := readSafetensors(t, outPath)
				var names []string
				for _, g := range got.Tensors {
					names = append(names, g.Name)
				}
				slices.Sort(names)
				want := slices.Sorted(slices.Values(tt.want))
				if !slices.Equal(names, want) {
					t.Fatalf("wrote %v, want %v", names, want)
				}
				// Logits are cosines times exp(logit_scale): scale the tolerance.
				scale := math.Exp(float64(m.LogitScale.Item()))
				for _, name := range names {
					tol := 1e-4
					if strings.HasPrefix(name, "logit") {
						tol *= scale
					}
					if err := tensortest.Close(fixtureTensor(t, got, name), fixtureTensor(t, ref, name), tol, 0); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			})
		}
	}
}

// TestEncodeFileBadInput checks that each wrong input is an error naming the
// file and the problem, and that no output file appears.
func TestEncodeFileBadInput(t *testing.T) {
	m := loadFixture(t, "vit")
	in := readSafetensors(t, tiny(t, "vit", "inputs.safetensors"))
	images, text := *in.Tensor("images"), *in.Tensor("text")
	outOfVocab := text
	outOfVocab.Data = slices.Clone(text.Data)
	binary.LittleEndian.PutUint32(outOfVocab.Data[4*5:], 49408)
	negative := int64Text(t, &text)
	binary.LittleEndian.PutUint64(negative.Data[8*80:], math.MaxUint64) // -1
	shortText := text
	shortText.Shape = []int{text.Shape[0] * 7, 11}
	bigImages := safetensors.FromFloat32("images", []int{1, 3, 64, 64}, make([]float32, 3*64*64))
	grayImages := safetensors.FromFloat32("images", []int{4, 1, 32, 32}, make([]float32, 4*32*32))
	emptyImages := safetensors.FromFloat32("images", []int{0, 3, 32, 32}, nil)
	halfImages := safetensors.Tensor{Name: "images", DType: dtype.Float16, Shape: images.Shape, Data: images.Data[:len(images.Data)/2]}
	floatText := safetensors.FromFloat32("text", []int{1, 77}, make([]float32, 77))
	other := safetensors.FromFloat32("pixels", []int{1}, []float32{0})

	tests := []struct {
		name   string
		inputs []safetensors.Tensor
		errHas string
	}{
		{"none", []safetensors.Tensor{other}, `neither "images" nor "text"`},
		{"image size", []safetensors.Tensor{bigImages, text}, "want [N 3 32 32]"},
		{"channels", []safetensors.Tensor{grayImages}, "want [N 3 32 32]"},
		{"no images", []safetensors.Tensor{emptyImages}, "N ≥ 1"},
		{"image dtype", []safetensors.Tensor{halfImages}, "images are F16, want F32"},
		{"text dtype", []safetensors.Tensor{floatText}, "text is F32, want I32 or I64"},
		{"context", []safetensors.Tensor{shortText}, "context length is 77"},
		{"vocabulary", []safetensors.Tensor{images, outOfVocab}, "row 0, position 5: id 49408 is outside the vocabulary [0, 49408)"},
		{"negative", []safetensors.Tensor{negative}, "row 1, position 3: id -1 is outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			inPath, outPath := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
			if err := safetensors.WriteFile(inPath, tt.inputs, nil); err != nil {
				t.Fatal(err)
			}
			err := EncodeFile(m, inPath, outPath, false)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), inPath) {
				t.Errorf("err = %v, want one naming %s and containing %q", err, inPath, tt.errHas)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("folder holds %d entries, want only the input", len(entries))
			}
		})
	}

	t.Run("exists", func(t *testing.T) {
		dir := t.TempDir()
		inPath, outPath := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
		if err := safetensors.WriteFile(inPath, []safetensors.Tensor{images}, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(outPath, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := EncodeFile(m, inPath, outPath, false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), outPath) {
			t.Errorf("err = %v, want fs.ErrExist naming %s", err, outPath)
		}
		if b, _ := os.ReadFile(outPath); string(b) != "keep" {
			t.Errorf("existing output changed")
		}
		if err := EncodeFile(m, inPath, outPath, true); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		if f := readSafetensors(t, outPath); f.Tensor("image_features") == nil {
			t.Errorf("overwritten output has no image_features")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("folder holds %d entries, want the input and the output", len(entries))
		}
	})
}

// TestEncodeFileBatches encodes more rows than one batch holds and checks
// every row against the reference row it repeats.
func TestEncodeFileBatches(t *testing.T) {
	m := loadFixture(t, "vit")
	in := readSafetensors(t, tiny(t, "vit", "inputs.safetensors"))
	ref := readSafetensors(t, tiny(t, "vit", "outputs.safetensors"))
	const copies = 9 // 36 images and 54 texts: two batches each
	repeat := func(st *safetensors.Tensor) safetensors.Tensor {
		r := *st
		r.Shape = slices.Clone(st.Shape)
		r.Shape[0] *= copies
		r.Data = slices.Repeat(st.Data, copies)
		return r
	}
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
	inputs := []safetensors.Tensor{repeat(in.Tensor("images")), repeat(in.Tensor("text"))}
	if err := safetensors.WriteFile(inPath, inputs, nil); err != nil {
		t.Fatal(err)
	}
	if err := EncodeFile(m, inPath, outPath, false); err != nil {
		t.Fatal(err)
	}
	got := readSafetensors(t, outPath)
	scale := math.Exp(float64(m.LogitScale.Item()))
	for _, name := range []string{"image_features", "text_features", "logits_per_image"} {
		g, w := fixtureTensor(t, got, name), fixtureTensor(t, ref, name)
		if want := w.Dim(0) * copies; g.Dim(0) != want {
			t.Fatalf("%s has %d rows, want %d", name, g.Dim(0), want)
		}
		for i := range g.Dim(0) {
			row := g.Select(0, i)
			if name == "logits_per_image" {
				row = row.Narrow(0, 0, w.Dim(1)) // the first copy of the texts
			}
			tol := 1e-4
			if strings.HasPrefix(name, "logit") {
				tol *= scale
			}
			if err := tensortest.Close(row, w.Select(0, i%w.Dim(0)), tol, 0); err != nil {
				t.Errorf("%s row %d: %v", name, i, err)
			}
		}
	}
}

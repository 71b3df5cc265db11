package vlp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// FuzzLoad damages the tiny ViT and ResNet fixtures' state dicts (drops
// tensors, changes shapes and their data with them, renames, duplicates
// names under another) and loads the result with the fixture's config and
// with the config inferred from the shapes: Load must return a model or an
// error, never panic, and a model only when every tensor it needs is there
// with its shape.
func FuzzLoad(f *testing.F) {
	type fixture struct {
		tensors []safetensors.Tensor
		cfg     Config
	}
	var damaged []fixture
	for _, model := range []string{"vit", "rn"} {
		dir := tiny(f, model)
		file, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			f.Fatal(err)
		}
		cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		damaged = append(damaged, fixture{file.Tensors, cfg})
	}
	f.Add(uint8(0), []byte{0, 3})
	f.Add(uint8(1), []byte{1, 7, 1, 8})
	f.Add(uint8(2), []byte{2, 5})
	f.Add(uint8(3), []byte{3, 1, 0, 2})
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		fx := damaged[int(which)%len(damaged)]
		ts := slices.Clone(fx.tensors)
		for i := 0; i+1 < len(edits) && len(ts) > 0; i += 2 {
			k := int(edits[i+1]) % len(ts)
			switch edits[i] % 4 {
			case 0: // drop
				ts = slices.Delete(ts, k, k+1)
			case 1: // one dimension one larger, or a dimension added
				shape := slices.Clone(ts[k].Shape)
				if len(shape) > 0 && edits[i]&4 == 0 {
					shape[int(edits[i]>>3)%len(shape)]++
				} else {
					shape = append(shape, 2)
				}
				n := 1
				for _, d := range shape {
					n *= d
				}
				if n > 1<<16 { // dimensions added again and again: keep the file small
					continue
				}
				ts[k] = safetensors.FromFloat32(ts[k].Name, shape, make([]float32, n))
			case 2: // renamed
				ts[k].Name = fmt.Sprintf("%s.x%d", ts[k].Name, edits[i]>>2)
			case 3: // a second name takes its place
				j := int(edits[i]>>2) % len(ts)
				if j != k {
					ts[j].Name = ts[k].Name + ".dup"
				}
			}
		}
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, ts, nil); err != nil {
			t.Skip(err) // e.g. two tensors under one name
		}
		path := filepath.Join(t.TempDir(), "model.safetensors")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil { // no fsync: fast
			t.Fatal(err)
		}
		for _, cfg := range []*Config{&fx.cfg, nil} {
			m, _, err := Load(path, cfg)
			if err == nil && m == nil {
				t.Fatalf("Load: no model and no error")
			}
		}
	})
}

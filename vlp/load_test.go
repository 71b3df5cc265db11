package vlp

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
)

// TestLoadAllocatesOnlyTheWeights loads and inspects each fixture and
// measures the bytes allocated: Load may allocate the model's float32
// weights and 15 % more (the bound on the peak), plus 1 MiB for
// what does not grow with the model (the index, read buffers), which
// leaves no room for a copy of the file or of the decoded tensors. Inspect
// reads no value, so it allocates at most the same (the model, whose
// untouched weights cost no memory).
func TestLoadAllocatesOnlyTheWeights(t *testing.T) {
	for _, file := range []string{"vit/model.pt", "vit/state_dict.pt", "vit/model.safetensors",
		"vit-fp16/model.pt", "rn/model.pt", "rn/model.safetensors"} {
		t.Run(file, func(t *testing.T) {
			model := filepath.Dir(file)
			cfg, err := ReadConfig(tiny(t, model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			path := tiny(t, file)
			var weights int
			load := allocated(t, func() {
				m, _, err := Load(path, &cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range nn.StateDict(m) {
					weights += 4 * p.Numel()
				}
			})
			inspect := allocated(t, func() {
				if _, err := Inspect(path, &cfg); err != nil {
					t.Fatal(err)
				}
			})
			limit := uint64(float64(weights)*1.15) + 1<<20
			if load > limit || inspect > limit {
				t.Errorf("Load allocated %d bytes and Inspect %d, want at most %d (float32 weights %d + 15%% + 1 MiB)",
					load, inspect, limit, weights)
			}
		})
	}
}

// allocated returns the bytes that f allocates.
func allocated(t *testing.T, f func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestInspectReadsNoValues inspects a TorchScript file with a damaged
// storage: Inspect must describe it (it reads no value but the logit
// scale) while Load refuses it on the CRC.
func TestInspectReadsNoValues(t *testing.T) {
	for _, model := range []string{"vit", "vit-fp16", "rn"} {
		t.Run(model, func(t *testing.T) {
			cfg, err := ReadConfig(tiny(t, model, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(tiny(t, model, "model.pt"))
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff // inside a storage: data.pkl comes first
			path := filepath.Join(t.TempDir(), "damaged.pt")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Load(path, &cfg); !errors.Is(err, zip.ErrChecksum) {
				t.Fatalf("Load: error %v, want a checksum error", err)
			}
			s, err := Inspect(path, &cfg)
			if err != nil {
				t.Fatalf("Inspect read the damaged values: %v", err)
			}
			want, err := Inspect(tiny(t, model, "model.pt"), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.Path = want.Path
			if !reflect.DeepEqual(s, want) {
				t.Errorf("Inspect of the damaged copy %+v, want %+v", s, want)
			}
		})
	}
}

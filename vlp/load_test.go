package vlp

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
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
	if raceEnabled {
		t.Skip("the race detector moves allocations to the heap; the bound holds for normal builds")
	}
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

// TestLoadErrorIsTheFirstTensors damages two storages of a state dict, the
// first tensor's and a later one's, and loads it on two threads several
// times: the error must always name the first tensor in file order,
// whichever thread finds its damage first.
func TestLoadErrorIsTheFirstTensors(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(2)
	cfg, err := ReadConfig(tiny(t, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	src := tiny(t, "vit", "state_dict.pt")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, f := range z.File {
		// Storage 0 is positional_embedding's, the first tensor of data.pkl.
		if f.Name == "state_dict/data/0" || f.Name == "state_dict/data/20" {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			b[off+int64(f.UncompressedSize64)/2] ^= 0xff
			damaged++
		}
	}
	if damaged != 2 {
		t.Fatalf("damaged %d storages, want 2", damaged)
	}
	path := filepath.Join(t.TempDir(), "damaged.pt")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_, _, err := Load(path, &cfg)
		if !errors.Is(err, zip.ErrChecksum) || !strings.Contains(err.Error(), "tensor positional_embedding:") {
			t.Fatalf("error %v, want a checksum error in tensor positional_embedding", err)
		}
	}
}

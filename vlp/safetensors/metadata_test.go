package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadMetadata(t *testing.T) {
	dir := t.TempDir()
	tensors := []Tensor{FromFloat32("w", []int{2}, []float32{1, 2})}
	withMeta := filepath.Join(dir, "meta.safetensors")
	if err := WriteFile(withMeta, tensors, map[string]string{"format": "pt", "k": `{"a":1}`}); err != nil {
		t.Fatal(err)
	}
	noMeta := filepath.Join(dir, "plain.safetensors")
	if err := WriteFile(noMeta, tensors, nil); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(withMeta)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.safetensors")
	if err := os.WriteFile(truncated, full[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.safetensors")
	if err := os.WriteFile(short, full[:5], 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path    string
		want    map[string]string
		wantErr string
	}{
		{withMeta, map[string]string{"format": "pt", "k": `{"a":1}`}, ""},
		{noMeta, nil, ""},
		{fixturePath(t, "vit", "model.safetensors"), map[string]string{"format": "pt"}, ""},
		{truncated, nil, "exceeds"},
		{short, nil, "truncated file"},
		{filepath.Join(dir, "missing.safetensors"), nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			got, err := ReadMetadata(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("error %v, want one containing %q and the path", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("metadata[%q] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

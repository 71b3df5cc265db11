package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/vlp"
)

// tinyTeacher saves a random tiny teacher-format model, with or without
// the preprocessing metadata, and returns its path.
func tinyTeacher(t *testing.T, withMeta bool) string {
	t.Helper()
	c := vlp.Config{EmbedDim: 16, ImageResolution: 32, VisionLayers: []int{1}, VisionWidth: 64, VisionPatchSize: 16,
		ContextLength: pretrain.ContextLength, VocabSize: 49408, TransformerWidth: 32, TransformerHeads: 1, TransformerLayers: 1}
	m, err := vlp.New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "teacher.safetensors")
	if withMeta {
		err = pretrain.Save(path, m, nil, false)
	} else {
		err = vlp.Save(path, m, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckTeacherCommand(t *testing.T) {
	t.Run("random model fails the gate", func(t *testing.T) {
		path := tinyTeacher(t, true)
		code, stdout, stderr := runVlpuda(t, "check-teacher", path, "-json")
		if code != 1 {
			t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
		}
		var r struct {
			pretrain.GateResult
			Pass bool `json:"pass"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("stdout %q: %v", stdout, err)
		}
		if r.Pass || r.HeldOutImages != 1000 || r.MNISTHeldOutImages != 10000 {
			t.Errorf("result %+v: want a failure measured on 1000 renders and 10000 held-out MNIST training images", r)
		}
		for _, s := range []string{"teacher fails the gate", "held-out renders", "MNIST held-out train", "max prompt cosine"} {
			if !strings.Contains(stderr, s) {
				t.Errorf("stderr lacks %q: %s", s, stderr)
			}
		}
	})
	t.Run("-write leaves a failing model as it was", func(t *testing.T) {
		path := tinyTeacher(t, true)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runVlpuda(t, "check-teacher", "-write", path); code != 1 || !strings.Contains(stderr, "teacher fails the gate") {
			t.Errorf("exit %d, stderr %q: want 1 and the gate's failure", code, stderr)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Errorf("the model file changed (%v)", err)
		}
	})
	t.Run("not a teacher", func(t *testing.T) {
		code, _, stderr := runVlpuda(t, "check-teacher", tinyTeacher(t, false))
		if code != 1 || !strings.Contains(stderr, pretrain.PreprocessKey) {
			t.Errorf("exit %d, stderr %q: want 1 and a message naming %s", code, stderr, pretrain.PreprocessKey)
		}
	})
	t.Run("no model", func(t *testing.T) {
		if code, _, _ := runVlpuda(t, "check-teacher"); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
	})
}

func TestPretrainCommandRefuses(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(existing, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"neither -out nor -supervised", []string{"pretrain"}, 2, "give -out or -supervised"},
		{"both", []string{"pretrain", "-out", existing, "-supervised"}, 2, "give -out or -supervised"},
		{"unknown tower", []string{"pretrain", "-supervised", "-tower", "mlp"}, 1, `unknown -tower "mlp"`},
		{"existing output", []string{"pretrain", "-out", existing}, 1, "use -force"},
		{"no folder", []string{"pretrain", "-out", filepath.Join(existing, "sub", "m.safetensors")}, 1, "no folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVlpuda(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

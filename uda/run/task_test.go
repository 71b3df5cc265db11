package run

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/data"
)

// TestNewTask builds the task of each kind of method from two image
// folders and checks which streams it has and what their batches hold.
func TestNewTask(t *testing.T) {
	root := writeDomains(t)
	src, tgt, _, err := data.Pair{Root: root, Source: "src", Target: "tgt"}.Open()
	if err != nil {
		t.Fatal(err)
	}
	p, err := LookupPreset("office31")
	if err != nil {
		t.Fatal(err)
	}
	p.SourceBatch, p.TargetBatch = 2, 4
	const size = 16
	for _, tt := range []struct {
		method         uda.Method
		target, strong bool
	}{
		{uda.MethodSourceOnly, false, false},
		{uda.MethodCMKD, true, false},
		{uda.MethodCMKDFixMatch, true, true},
	} {
		t.Run(tt.method.String(), func(t *testing.T) {
			task, closeTask, err := NewTask(p, p.Config(tt.method, false), src, tgt, size, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer closeTask()
			if task.Info.Benchmark != p.Name || len(task.Info.Classes) != 2 || task.Info.Template != p.Template {
				t.Errorf("Info %+v, want the preset's benchmark and template and two classes", task.Info)
			}
			if n := task.Test.Len(); n != 6 {
				t.Errorf("test set holds %d images, want the target's 6", n)
			}
			b, err := task.Source.Next()
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Images.Shape(); len(b.Labels) != 2 || got[0] != 2 || got[2] != size || got[3] != size || b.Strong != nil {
				t.Errorf("source batch %v with %d labels (strong %v), want 2 images of %d² and no strong view", got, len(b.Labels), b.Strong != nil, size)
			}
			if (task.Target != nil) != tt.target {
				t.Fatalf("target stream %v, want %v", task.Target != nil, tt.target)
			}
			if task.Target == nil {
				return
			}
			b, err = task.Target.Next()
			if err != nil {
				t.Fatal(err)
			}
			if b.Images.Dim(0) != 4 || (b.Strong != nil) != tt.strong {
				t.Errorf("target batch of %d (strong %v), want 4 (strong %v)", b.Images.Dim(0), b.Strong != nil, tt.strong)
			}
		})
	}
}

// writeDomains writes two image folders below a temporary root, src and
// tgt, each of two classes (a, b) of three PNG images, and returns root.
func writeDomains(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, dom := range []string{"src", "tgt"} {
		for c, class := range []string{"a", "b"} {
			for i := range 3 {
				img := image.NewRGBA(image.Rect(0, 0, 12, 10))
				for p := range img.Pix {
					img.Pix[p] = uint8(40*c + 7*i + p%5)
				}
				path := filepath.Join(root, dom, class, string(rune('0'+i))+".png")
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
	return root
}

// TestNewTaskErrorsNameTheDomain spoils every image of one domain and
// checks that the stream's error names that domain, not the other.
func TestNewTaskErrorsNameTheDomain(t *testing.T) {
	for _, tt := range []struct{ folder, want, not string }{
		{"src", "source images", "target"},
		{"tgt", "target images", "source"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			root := writeDomains(t)
			src, tgt, _, err := data.Pair{Root: root, Source: "src", Target: "tgt"}.Open()
			if err != nil {
				t.Fatal(err)
			}
			spoiled := map[string]*data.Dataset{"src": src, "tgt": tgt}[tt.folder]
			for _, s := range spoiled.Samples {
				if err := os.WriteFile(s.Path, []byte("not a png"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := LookupPreset("office31")
			if err != nil {
				t.Fatal(err)
			}
			p.SourceBatch, p.TargetBatch = 2, 2
			task, closeTask, err := NewTask(p, p.Config(uda.MethodCMKD, false), src, tgt, 16, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer closeTask()
			_, errSrc := task.Source.Next()
			_, errTgt := task.Target.Next()
			err = errSrc
			if tt.folder == "tgt" {
				err = errTgt
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.not) {
				t.Errorf("error %v, want one saying %q and not %q", err, tt.want, tt.not)
			}
		})
	}
}

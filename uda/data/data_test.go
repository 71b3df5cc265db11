package data

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeTree creates files (paths relative to root, "/"-separated) with the
// given content; a name ending in "/" is an empty folder.
func makeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// rel returns the samples' paths relative to root, "/"-separated, with labels.
func rel(t *testing.T, root string, d *Dataset) []string {
	t.Helper()
	var out []string
	for _, s := range d.Samples {
		r, err := filepath.Rel(root, s.Path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(r)+"="+d.Classes[s.Label])
	}
	return out
}

func TestImageFolderOrder(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]string{
		"b/1.png": "", "B/1.png": "", "a/x.JPG": "", "_x/1.webp": "", ".hidden/1.png": "", "A b/1.tiff": "",
		"a/z.png": "", "a/a.Png": "", "a/notes.txt": "", "a/xjpg": "", "a/sub/a.png": "", "a/sub b/c.png": "",
		"a/sub/deeper/x.ppm": "", "a/sub/deeper/y.pgm": "", "b/2.bmp": "", "b/3.tif": "", "b/4.jpeg": "",
		"root-file.png": "",
	})
	d, _, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	// The order torchvision 0.14's ImageFolder gives for this tree.
	wantClasses := []string{".hidden", "A b", "B", "_x", "a", "b"}
	if !slices.Equal(d.Classes, wantClasses) {
		t.Errorf("classes %q, want %q", d.Classes, wantClasses)
	}
	want := []string{
		".hidden/1.png=.hidden", "A b/1.tiff=A b", "B/1.png=B", "_x/1.webp=_x",
		"a/a.Png=a", "a/x.JPG=a", "a/z.png=a", "a/sub/a.png=a", "a/sub b/c.png=a", "a/sub/deeper/x.ppm=a", "a/sub/deeper/y.pgm=a",
		"b/1.png=b", "b/2.bmp=b", "b/3.tif=b", "b/4.jpeg=b",
	}
	if got := rel(t, root, d); !slices.Equal(got, want) {
		t.Errorf("samples\n got %q\nwant %q", got, want)
	}
	if got, want := d.Counts(), []int{1, 1, 1, 1, 7, 4}; !slices.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	if d.Len() != len(want) || len(d.Paths()) != len(want) || len(d.Labels()) != len(want) {
		t.Errorf("Len %d, Paths %d, Labels %d; want %d", d.Len(), len(d.Paths()), len(d.Labels()), len(want))
	}
}

// TestImageFolderSymlinks builds root (cat: a link to a class folder
// elsewhere; dog: a folder) and adds one link per case: links to files and
// folders outside the dataset are followed, links back into it are not,
// each with a warning naming it.
func TestImageFolderSymlinks(t *testing.T) {
	tests := []struct {
		name   string
		link   string // below root
		target string // "root/…" or "other/…"
		want   []string
		warn   bool
	}{
		{"none", "", "", nil, false},
		{"outside folder", "dog/extra", "other/extra", []string{"dog/extra/3.png=dog"}, false},
		{"outside file", "dog/4.png", "other/extra/3.png", []string{"dog/4.png=dog"}, false},
		{"own class folder", "dog/again", "root/dog", nil, true},
		{"root", "dog/up", "root", nil, true},
		{"other class", "dog/cats", "root/cat", nil, true},
		{"below a linked class", "cat/self", "other/cat", nil, true},
		{"below the root", "dog/sub/deeper", "root/dog/sub", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, other := t.TempDir(), t.TempDir()
			makeTree(t, other, map[string]string{"cat/1.png": "", "cat/2.png": "", "extra/3.png": ""})
			makeTree(t, root, map[string]string{"dog/1.png": "", "dog/sub/5.png": ""})
			if err := os.Symlink(filepath.Join(other, "cat"), filepath.Join(root, "cat")); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			if tt.link != "" {
				dir, target, _ := strings.Cut(tt.target, "/")
				base := map[string]string{"root": root, "other": other}[dir]
				if err := os.Symlink(filepath.Join(base, filepath.FromSlash(target)), filepath.Join(root, filepath.FromSlash(tt.link))); err != nil {
					t.Fatal(err)
				}
			}
			d, warns, err := ImageFolder(root)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{"cat/1.png=cat", "cat/2.png=cat", "dog/1.png=dog"}, tt.want...)
			want = append(want, "dog/sub/5.png=dog")
			got := rel(t, root, d)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("samples %q, want %q", got, want)
			}
			switch {
			case !tt.warn && len(warns) > 0:
				t.Errorf("warnings %q, want none", warns)
			case tt.warn && (len(warns) != 1 || !strings.Contains(warns[0], filepath.FromSlash(tt.link)) || !strings.Contains(warns[0], "not following")):
				t.Errorf("warnings %q, want one about not following %s", warns, tt.link)
			}
		})
	}
}

func TestImageFolderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		root  string // relative to the temporary folder
		want  string
	}{
		{"missing root", nil, "nope", "no such file"},
		{"root is a file", map[string]string{"f.png": ""}, "f.png", "not a directory"},
		{"no class folders", map[string]string{"d/a.png": ""}, "d", "no class folders"},
		{"empty class", map[string]string{"d/cat/1.png": "", "d/dog/readme.txt": "", "d/emu/": ""}, "d", "2 class folder(s): dog, emu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir, tt.files)
			root := filepath.Join(dir, tt.root)
			_, _, err := ImageFolder(root)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), root) {
				t.Errorf("error %v, want one naming %s and saying %q", err, root, tt.want)
			}
		})
	}
}

func TestReadList(t *testing.T) {
	dir := t.TempDir()
	classes := []string{"bike", "car", "dog"}
	write := func(content string) string {
		p := filepath.Join(dir, "list.txt")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	list := write("a/1.jpg 0\n\n  b/2 x.jpg\t2\r\n/abs/3.jpg 1\n\n")
	d, err := ReadList(list, "/data", classes)
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{{"/data/a/1.jpg", 0}, {"/data/b/2 x.jpg", 2}, {"/abs/3.jpg", 1}}
	if !slices.Equal(d.Samples, want) {
		t.Errorf("samples %v, want %v", d.Samples, want)
	}
	if !slices.Equal(d.Classes, classes) {
		t.Errorf("classes %v, want %v", d.Classes, classes)
	}

	errs := []struct {
		name, content string
		classes       []string
		want          string
	}{
		{"one field", "a/1.jpg 0\nb.jpg\n", classes, ":2: \"b.jpg\" is not"},
		{"bad label", "a/1.jpg zero\n", classes, ":1: label \"zero\" is not an integer"},
		{"label too large", "a.jpg 0\n\nb.jpg 3\n", classes, ":3: label 3 outside [0, 3)"},
		{"negative label", "a.jpg -1\n", classes, ":1: label -1 outside"},
		{"empty", "\n\n", classes, "no images"},
		{"no classes", "a.jpg 0\n", nil, "no classes"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			p := write(tt.content)
			_, err := ReadList(p, dir, tt.classes)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and saying %q", err, p, tt.want)
			}
		})
	}
	if _, err := ReadList(filepath.Join(dir, "missing.txt"), dir, classes); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing list: error %v, want one naming the file", err)
	}
}

func TestDatasetImage(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]string{"cat/bad.png": "\x89PNG\r\n\x1a\ntruncated"})
	f, err := os.Create(filepath.Join(root, "cat", "good.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d, _, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Image(0); err == nil || !strings.Contains(err.Error(), d.Samples[0].Path) {
		t.Errorf("bad image: error %v, want one naming %s", err, d.Samples[0].Path)
	}
	img, err := d.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 3 || s.Y != 2 {
		t.Errorf("good image is %v, want 3x2", s)
	}
}

func TestIsImageFile(t *testing.T) {
	for name, want := range map[string]bool{
		"a.jpg": true, "A.JPEG": true, "x.Png": true, "y.tiff": true, "z.webp": true, "p.pgm": true,
		"a.gif": false, "jpg": false, "a.jpg.txt": false, "a.jp": false, "": false,
	} {
		if got := IsImageFile(name); got != want {
			t.Errorf("IsImageFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestPairOpen(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]string{
		"a/cat/x.png": "", "a/dog/x.png": "", "b/cat/x.png": "", "b/dog/x.png": "", "c/cat/x.png": "",
	})
	tests := []struct {
		name string
		pair Pair
		want string // error text; "" for success
	}{
		{"folders", Pair{Root: root, Source: "a", Target: "b"}, ""},
		{"unknown-dataset-is-folders", Pair{Root: root, Dataset: "mine", Source: "a", Target: "b"}, ""},
		{"no-target", Pair{Root: root, Source: "a"}, "name a source and a target domain"},
		{"list-and-folder", Pair{Root: root, Source: "a", SourceList: "s.txt", TargetList: "t.txt", Classes: "c.txt"}, "not both"},
		{"other-classes", Pair{Root: root, Source: "a", Target: "c"}, "dog"},
		{"missing-folder", Pair{Root: root, Source: "a", Target: "zzz"}, "zzz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, tgt, _, err := tt.pair.Open()
			if tt.want == "" {
				if err != nil || src.Len() != 2 || tgt.Len() != 2 {
					t.Fatalf("Open = %v, %v, %v; want two images per domain", src, tgt, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPairCheck checks which combinations of domains and lists name a
// task, without any file: Open's first step.
func TestPairCheck(t *testing.T) {
	tests := []struct {
		name string
		p    Pair
		ok   bool
	}{
		{"domains", Pair{Source: "A", Target: "W"}, true},
		{"lists", Pair{SourceList: "a.txt", TargetList: "w.txt", Classes: "c.txt"}, true},
		{"nothing", Pair{}, false},
		{"no target", Pair{Source: "A"}, false},
		{"no class file", Pair{SourceList: "a.txt", TargetList: "w.txt"}, false},
		{"both", Pair{Source: "A", Target: "W", SourceList: "a.txt", TargetList: "w.txt", Classes: "c.txt"}, false},
	}
	for _, tt := range tests {
		err := tt.p.Check()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrIncompletePair)) {
			t.Errorf("%s: Check() = %v, want ok %v (or ErrIncompletePair)", tt.name, err, tt.ok)
		}
		if _, _, _, oerr := tt.p.Open(); !tt.ok && !errors.Is(oerr, ErrIncompletePair) {
			t.Errorf("%s: Open() = %v, want ErrIncompletePair", tt.name, oerr)
		}
	}
}

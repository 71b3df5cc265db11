package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates empty files at the given "/"-separated paths below root.
func writeTree(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListsCommand(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"amazon/images/back_pack/frame_0002.jpg", "amazon/images/back_pack/frame_0001.jpg", "amazon/images/Bike/a.jpg",
		"webcam/Bike/x y.png", "webcam/back_pack/1.png", "webcam/readme.txt")

	code, stdout, stderr := runVlpuda(t, "lists", root)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out := filepath.Join(root, "image_list")
	if got := dirNames(t, out); !slices.Equal(got, []string{"amazon.txt", "classes.txt", "webcam.txt"}) {
		t.Errorf("files %q", got)
	}
	if got, want := readFile(t, filepath.Join(out, "amazon.txt")),
		"amazon/images/Bike/a.jpg 0\namazon/images/back_pack/frame_0001.jpg 1\namazon/images/back_pack/frame_0002.jpg 1\n"; got != want {
		t.Errorf("amazon.txt\n%s\nwant\n%s", got, want)
	}
	if got, want := readFile(t, filepath.Join(out, "webcam.txt")), "webcam/Bike/x y.png 0\nwebcam/back_pack/1.png 1\n"; got != want {
		t.Errorf("webcam.txt\n%s\nwant\n%s", got, want)
	}
	if got := readFile(t, filepath.Join(out, "classes.txt")); got != "Bike\nback_pack\n" {
		t.Errorf("classes.txt %q", got)
	}
	if !strings.Contains(stdout, "amazon.txt") || !strings.Contains(stdout, "wrote 2 list files") {
		t.Errorf("stdout %q", stdout)
	}

	// A second run refuses to replace the files, and writes nothing.
	os.WriteFile(filepath.Join(out, "webcam.txt"), []byte("mine\n"), 0o644)
	code, _, stderr = runVlpuda(t, "lists", root)
	if code != 1 || !strings.Contains(stderr, "amazon.txt") || !strings.Contains(stderr, "-force") {
		t.Errorf("without -force: exit %d, %q", code, stderr)
	}
	if got := readFile(t, filepath.Join(out, "webcam.txt")); got != "mine\n" {
		t.Errorf("webcam.txt replaced without -force: %q", got)
	}
	// -force after ROOT, as the usage line puts it.
	if code, _, stderr = runVlpuda(t, "lists", root, "-force"); code != 0 {
		t.Fatalf("-force: exit %d: %s", code, stderr)
	}
	if got := readFile(t, filepath.Join(out, "webcam.txt")); got == "mine\n" {
		t.Error("-force did not replace webcam.txt")
	}

	// -out elsewhere, before or after ROOT; no temporary files left.
	for i, args := range [][]string{{"lists", "-out", "X", root}, {"lists", root, "-out", "X"}} {
		dir := filepath.Join(t.TempDir(), "lists")
		args = slices.Replace(slices.Clone(args), slices.Index(args, "X"), slices.Index(args, "X")+1, dir)
		if code, _, stderr := runVlpuda(t, args...); code != 0 {
			t.Fatalf("case %d: exit %d: %s", i, code, stderr)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"amazon.txt", "classes.txt", "webcam.txt"}) {
			t.Errorf("case %d: files %q", i, got)
		}
	}
}

// TestListsCommandLinkLoop checks that a link from a class folder back to
// its domain is left out of the list, with a warning on stderr.
func TestListsCommandLinkLoop(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "amazon/Bike/a.jpg", "amazon/Cup/b.jpg")
	if err := os.Symlink(filepath.Join(root, "amazon"), filepath.Join(root, "amazon", "Bike", "up")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	code, _, stderr := runVlpuda(t, "lists", root)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, want := readFile(t, filepath.Join(root, "image_list", "amazon.txt")), "amazon/Bike/a.jpg 0\namazon/Cup/b.jpg 1\n"; got != want {
		t.Errorf("amazon.txt\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(stderr, "vlpuda lists: warning: ") || !strings.Contains(stderr, filepath.Join("Bike", "up")) {
		t.Errorf("stderr %q, want a warning naming Bike/up", stderr)
	}
}

func TestListsCommandErrors(t *testing.T) {
	mismatch := t.TempDir()
	writeTree(t, mismatch, "a/cat/1.png", "a/dog/1.png", "b/cat/1.png")
	empty := t.TempDir()
	writeTree(t, empty, "a/cat/notes.txt")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no root", []string{"lists"}, 2, "usage: vlpuda lists"},
		{"two roots", []string{"lists", mismatch, mismatch}, 2, "usage"},
		{"missing root", []string{"lists", filepath.Join(mismatch, "nope")}, 1, "nope"},
		{"class mismatch", []string{"lists", mismatch}, 1, "1 only in " + filepath.Join(mismatch, "a") + ": dog"},
		{"no images", []string{"lists", empty}, 1, "no image files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runVlpuda(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(mismatch, "image_list")); err == nil {
		t.Error("a failed run created image_list")
	}
}

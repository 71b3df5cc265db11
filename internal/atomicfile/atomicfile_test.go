package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "result.json")
	if err := WriteFile(path, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("two"), false)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write without replace: err = %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one" {
		t.Fatalf("refused write changed the file to %q", got)
	}
	if err := WriteFile(path, []byte("three"), true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "three" {
		t.Fatalf("replace wrote %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the file (no temporaries)", len(entries))
	}
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	boom := errors.New("boom")
	err := Write(path, false, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed write left %d entries behind", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), nil, false); err == nil {
		t.Errorf("writing into a missing folder succeeded")
	}
}

func TestRemoveStale(t *testing.T) {
	tests := []struct {
		name  string
		stale bool // a temporary file of model.safetensors left by a kill
	}{
		{".model.safetensors.tmp123456", true},
		{".model.safetensors.tmp0", true},
		{"model.safetensors", false},
		{".model.safetensors.tmp", false},
		{".model.safetensors.tmp12x", false},
		{".model.safetensors.tmp12.bak", false},
		{".other.safetensors.tmp123", false},
		{"model.safetensors.tmp123", false},
		{".model.safetensors.tmp123/", false}, // a folder
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	var want []string
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		var err error
		if strings.HasSuffix(tt.name, "/") {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if tt.stale {
			want = append(want, p)
		}
	}
	removed, err := RemoveStale(path)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	for _, tt := range tests {
		_, err := os.Lstat(filepath.Join(dir, tt.name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != tt.stale {
			t.Errorf("%s: removed %v, want %v", tt.name, gone, tt.stale)
		}
	}

	// The pattern is the one Write uses: its temporary file, seen while
	// it is being written, is one RemoveStale would remove.
	err = Write(path, true, func(io.Writer) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var temps []string
		for _, e := range entries {
			if e.Type().IsRegular() && isTemp(path, e.Name()) {
				temps = append(temps, e.Name())
			}
		}
		if len(temps) != 1 {
			t.Errorf("during a write, the folder holds temporary files %q; want one", temps)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveStale(filepath.Join(dir, "missing", "x")); err == nil {
		t.Error("a missing folder gave no error")
	}
}

package digits

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadBadArguments(t *testing.T) {
	for _, tc := range []struct {
		domain string
		split  Split
		say    string
	}{
		{"svhn", Train, "unknown domain"},
		{MNIST, "val", "unknown split"},
		{Optdigits, Train, "no train split"},
	} {
		t.Run(tc.domain+"/"+string(tc.split), func(t *testing.T) {
			_, err := Load(tc.domain, tc.split, Options{CacheDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("got %v, want an error saying %q", err, tc.say)
			}
		})
	}
}

// TestLoadFontsWithoutDebian checks that the fonts domain works from an
// empty cache on a system without the Debian fonts, and that a damaged
// cached font is an error rather than a silently smaller face list.
func TestLoadFontsWithoutDebian(t *testing.T) {
	old := systemRoot
	systemRoot = t.TempDir()
	t.Cleanup(func() { systemRoot = old })
	cache := t.TempDir()

	d, err := Load(Fonts, Test, Options{CacheDir: cache, FontsPerClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 20 || d.Split != Test || !strings.Contains(d.Sources[0], "gosmallcapsitalic") || strings.Contains(d.Sources[0], "DejaVu") {
		t.Errorf("got %d images, split %s, sources %v; want 20 test images from the Go faces only", d.Len(), d.Split, d.Sources)
	}

	f := filesOf(kindFont)[0]
	p := f.cachePath(cache)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("not a font"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Fonts, Test, Options{CacheDir: cache, FontsPerClass: 2}); !errors.Is(err, ErrChecksum) {
		t.Errorf("damaged %s: got %v, want ErrChecksum", p, err)
	}
}

func TestLoadMNISTSplits(t *testing.T) {
	d, err := Load(MNIST, All, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 70000 || d.Split != All {
		t.Errorf("got %d images, split %s; want 70000, all", d.Len(), d.Split)
	}
}

package digits

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
)

// Errors that loaders and Fetch wrap; test for them with errors.Is.
var (
	// ErrNotFetched reports a Debian file that is neither in the cache nor
	// installed on the system; Fetch gets it.
	ErrNotFetched = errors.New("not fetched")
	// ErrChecksum reports a file whose SHA-256 differs from the pinned one.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrCacheNotWritable reports a cache folder that cannot be written.
	ErrCacheNotWritable = errors.New("cache folder not writable")
)

// systemRoot is where installed Debian packages keep their files; a file
// found there with the pinned checksum is used without fetching. Tests
// point it at a temporary folder.
var systemRoot = "/"

// DefaultCacheDir returns the cache folder used when none is given:
// "vlpuda" inside os.UserCacheDir (on Linux $XDG_CACHE_HOME or ~/.cache).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("digits: no default cache folder (give one explicitly): %w", err)
	}
	return filepath.Join(d, "vlpuda"), nil
}

// resolveCacheDir returns dir, or the default when dir is empty.
func resolveCacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return DefaultCacheDir()
}

// readDebFile returns the contents of f from the cache under cacheDir, or
// from the installed package when the cache lacks it, after checking its
// SHA-256. An absent file gives ErrNotFetched, a changed one ErrChecksum;
// both messages name the file and what to do.
func readDebFile(cacheDir string, f debFile) ([]byte, error) {
	p := f.cachePath(cacheDir)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		sys := filepath.Join(systemRoot, filepath.FromSlash(f.member))
		if sb, serr := os.ReadFile(sys); serr == nil && sumHex(sb) == f.sha256 {
			return sb, nil
		}
		return nil, fmt.Errorf("digits: %s is not in the cache %s (it comes from the Debian package %s; Fetch gets it): %w",
			f.name(), cacheDir, f.pkg, ErrNotFetched)
	}
	if err != nil {
		return nil, fmt.Errorf("digits: reading %s: %w", p, err)
	}
	if err := checkSum(p, b, f.sha256); err != nil {
		return nil, fmt.Errorf("%w; delete it and fetch again", err)
	}
	return b, nil
}

// checkSum returns an ErrChecksum error naming file when b's SHA-256 is not want.
func checkSum(file string, b []byte, want string) error {
	if got := sumHex(b); got != want {
		return fmt.Errorf("digits: %s: sha256 %s, want %s: %w", file, got, want, ErrChecksum)
	}
	return nil
}

// sumHex returns the hex SHA-256 of b.
func sumHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkWritable makes dir and checks that a file can be created in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("digits: cache folder %s: %w (%w; give a writable folder)", dir, ErrCacheNotWritable, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("digits: cache folder %s: %w (%w; give a writable folder)", dir, ErrCacheNotWritable, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// writeAtomic copies r to path so that it appears complete or not at all
// (internal/atomicfile), and only when the content's SHA-256 is want (or
// want is empty), so a reader never sees a partial or unverified file.
func writeAtomic(path string, r io.Reader, want string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("digits: %w", err)
	}
	err := atomicfile.Write(path, true, func(w io.Writer) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
			return fmt.Errorf("%s: sha256 %s, want %s: %w", path, got, want, ErrChecksum)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("digits: %w", err)
	}
	return nil
}

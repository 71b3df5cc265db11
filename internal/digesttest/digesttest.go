// Package digesttest compares the SHA-256 digests of what a test computes
// with a file of digests committed beside the test, so that a machine,
// build or architecture that computes other bytes fails the test.
//
// The file holds one "NAME DIGEST" line per case; blank lines and lines
// starting with # are ignored. With update set (a test's -update-digests
// flag), Open accepts a missing file and Check records digests instead of
// comparing them; when the test ends without failing, the file is
// rewritten with the recorded digests, keeping the lines of cases that did
// not run (skipped for want of their input files, say).
package digesttest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
)

// File is a file of digests open for checking or updating.
type File struct {
	path   string
	header string
	update bool

	mu   sync.Mutex
	want map[string]string
	got  map[string]string
}

// Open reads the digests at path. header is written, one "# " comment
// line per line, at the top of an updated file: say what the digests are
// of and how to regenerate them. With update, the file is rewritten when t
// ends without failing.
func Open(t testing.TB, path, header string, update bool) *File {
	t.Helper()
	f := &File{path: path, header: header, update: update, got: map[string]string{}}
	want, err := read(path)
	switch {
	case err == nil:
		f.want = want
	case update && os.IsNotExist(err):
		f.want = map[string]string{}
	default:
		t.Fatalf("read digests: %v (rerun the test with -update-digests to write them)", err)
	}
	if update {
		t.Cleanup(func() {
			if !t.Failed() {
				if err := f.write(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	return f
}

// Sum returns the hex SHA-256 of the concatenation of parts.
func Sum(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Check compares digest with the file's digest of name, or records it
// when updating. It may be called from parallel subtests.
func (f *File) Check(t testing.TB, name, digest string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.update {
		if old, ok := f.got[name]; ok && old != digest {
			t.Errorf("%s: digest %s differs from %s computed before in this run", name, digest, old)
		}
		f.got[name] = digest
		return
	}
	want, ok := f.want[name]
	switch {
	case !ok:
		t.Errorf("%s: no digest in %s (rerun the test with -update-digests to add it)", name, f.path)
	case digest != want:
		t.Errorf("%s: digest %s, want %s (%s)", name, digest, want, f.path)
	}
}

// read parses a digest file.
func read(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, d, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"NAME DIGEST\", got %q", path, n, line)
		}
		want[name] = strings.TrimSpace(d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return want, nil
}

// write writes the recorded digests, and the old ones of cases that did
// not run, sorted by name.
func (f *File) write() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := map[string]string{}
	for n, d := range f.want {
		all[n] = d
	}
	for n, d := range f.got {
		all[n] = d
	}
	var b strings.Builder
	for line := range strings.Lines(f.header) {
		b.WriteString("# " + strings.TrimSuffix(line, "\n") + "\n")
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, all[n])
	}
	if err := atomicfile.WriteFile(f.path, []byte(b.String()), true); err != nil {
		return fmt.Errorf("write digests: %w", err)
	}
	return nil
}

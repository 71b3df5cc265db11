package digesttest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures and cleanups instead of
// acting on them. Its Fatalf panics with fatal, which run recovers.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

// fatal is the panic of recorder.Fatalf.
type fatal struct{}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any)                 { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(fatal{}) }
func (r *recorder) Failed() bool                      { return len(r.errs) > 0 }
func (r *recorder) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

// run calls f(r), stopping at a Fatalf, and then the cleanups, last first,
// as the testing package ends a test.
func (r *recorder) run(f func(r *recorder)) {
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(fatal); !ok {
					panic(v)
				}
			}
		}()
		f(r)
	}()
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestFile(t *testing.T) {
	const old = "# header\na 1111\n\nb 2222\n"
	tests := []struct {
		name     string
		file     string // "" for no file
		update   bool
		checks   [][2]string // name, digest
		fail     bool        // the test fails before it ends
		wantErrs int
		wantFile string // the file afterwards
	}{
		{name: "match", file: old, checks: [][2]string{{"a", "1111"}, {"b", "2222"}}, wantFile: old},
		{name: "differs", file: old, checks: [][2]string{{"a", "1112"}}, wantErrs: 1, wantFile: old},
		{name: "missing name", file: old, checks: [][2]string{{"c", "3333"}}, wantErrs: 1, wantFile: old},
		{name: "missing file", checks: [][2]string{{"a", "1111"}}, wantErrs: 1},
		{name: "bad line", file: "a1111\n", checks: [][2]string{{"a", "1111"}}, wantErrs: 1, wantFile: "a1111\n"},
		{name: "update keeps cases not run", file: old, update: true, checks: [][2]string{{"a", "9999"}, {"c", "3333"}},
			wantFile: "# made by\n# a test\na 9999\nb 2222\nc 3333\n"},
		{name: "update creates", update: true, checks: [][2]string{{"z", "0000"}}, wantFile: "# made by\n# a test\nz 0000\n"},
		{name: "update twice, different", update: true, checks: [][2]string{{"z", "0000"}, {"z", "0001"}}, wantErrs: 1},
		{name: "update of a failed test", file: old, update: true, checks: [][2]string{{"a", "9999"}}, fail: true, wantErrs: 1, wantFile: old},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "digests.txt")
			if tt.file != "" {
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := &recorder{TB: t}
			r.run(func(r *recorder) {
				f := Open(r, path, "made by\na test", tt.update)
				for _, c := range tt.checks {
					f.Check(r, c[0], c[1])
				}
				if tt.fail {
					r.Errorf("the test failed")
				}
			})
			if len(r.errs) != tt.wantErrs {
				t.Errorf("errors %q, want %d", r.errs, tt.wantErrs)
			}
			got, err := os.ReadFile(path)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if string(got) != tt.wantFile {
				t.Errorf("file afterwards:\n%s\nwant:\n%s", got, tt.wantFile)
			}
		})
	}
}

func TestSum(t *testing.T) {
	// SHA-256 of "abc" (FIPS 180-2, appendix B.1), in one part and in three.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	for _, parts := range [][][]byte{{[]byte("abc")}, {[]byte("a"), nil, []byte("bc")}} {
		if got := Sum(parts...); got != want {
			t.Errorf("Sum(%q) = %s, want %s", parts, got, want)
		}
	}
}

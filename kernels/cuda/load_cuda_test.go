//go:build cuda && linux && (amd64 || arm64)

package cuda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run the real dynamic loader (dlopen through purego) on any
// machine, with or without a GPU.

func TestLoadRealMissingLibrary(t *testing.T) {
	t.Setenv(LibEnv, t.TempDir())
	_, _, err := loadLibrary(puregoLib{}, "the test library", []string{"libvlpuda-no-such-library.so.1"})
	if err == nil || !strings.Contains(err.Error(), "the test library (libvlpuda-no-such-library.so.1) not found") ||
		!strings.Contains(err.Error(), "cannot open shared object file") {
		t.Fatalf("loading a library that does not exist: %v", err)
	}
}

// TestLoadRealMissingSymbol loads the C library as if it were libcuda.so.1
// (a link in a directory of VLPUDA_CUDA_LIB): the error names the first
// driver function it lacks.
func TestLoadRealMissingSymbol(t *testing.T) {
	var libc string
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6"} {
		if _, err := os.Stat(p); err == nil {
			libc = p
			break
		}
	}
	if libc == "" {
		t.Skip("no glibc libc.so.6 in the usual places to stand in for libcuda.so.1")
	}
	dir := t.TempDir()
	if err := os.Symlink(libc, filepath.Join(dir, "libcuda.so.1")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(LibEnv, dir)
	_, err := loadWith(puregoLib{})
	want := filepath.Join(dir, "libcuda.so.1") + " has no symbol cuInit"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("loading libc as libcuda: %v, want an error with %q", err, want)
	}
}

// TestCountSaysWhy checks that on a machine without a usable GPU the error
// names what is missing: the library, a symbol, or the device.
func TestCountSaysWhy(t *testing.T) {
	n, err := Count()
	if err == nil {
		t.Logf("%d CUDA devices", n)
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, "libcuda.so.1") && !strings.Contains(msg, "libcublas") && !strings.Contains(msg, "cuInit") {
		t.Errorf("Count without a GPU: %v; the error names neither library nor cuInit", err)
	}
	t.Logf("no CUDA device here: %v", err)
}

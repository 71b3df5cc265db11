package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unsafe"
)

// LibEnv is the environment variable that lists directories (separated by
// ':') searched for the CUDA libraries before any other place.
const LibEnv = "VLPUDA_CUDA_LIB"

// The sonames this package loads, most preferred first.
var (
	driverNames = []string{"libcuda.so.1"}
	blasNames   = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}
)

// standardDirs are searched after the dynamic loader's own search: where
// the CUDA toolkit, the NVIDIA container runtime and WSL put the libraries.
var standardDirs = []string{
	"/usr/local/cuda/lib64",
	"/usr/local/cuda/targets/x86_64-linux/lib",
	"/usr/local/cuda/targets/sbsa-linux/lib",
	"/usr/local/nvidia/lib64",
	"/usr/lib/x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu",
	"/usr/lib64",
	"/usr/lib/wsl/lib",
}

// candidates returns the paths to try for a library with the given
// sonames, in order: each name in each directory of env, each bare name
// (which the dynamic loader looks up in LD_LIBRARY_PATH, its cache and the
// system directories), then each name in each of the standard directories.
func candidates(env string, names []string) []string {
	var out []string
	for _, dir := range filepath.SplitList(env) {
		if dir == "" {
			continue
		}
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
	}
	out = append(out, names...)
	for _, dir := range standardDirs {
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}

// dynLib is what the loader needs from the platform: dlopen and dlsym.
type dynLib interface {
	open(path string) (handle uintptr, err error)
	sym(handle uintptr, name string) (addr uintptr, err error)
	register(fptr any, addr uintptr)
}

// loadLibrary opens the first of the candidates for names that loads and
// returns its handle and path. Its error names the library, every place
// tried and the last loader error.
func loadLibrary(dl dynLib, what string, names []string) (uintptr, string, error) {
	var lastErr error
	tried := candidates(os.Getenv(LibEnv), names)
	for _, path := range tried {
		if strings.ContainsRune(path, '/') {
			if _, err := os.Stat(path); err != nil {
				continue
			}
		}
		h, err := dl.open(path)
		if err == nil {
			return h, path, nil
		}
		lastErr = err
	}
	msg := fmt.Sprintf("cuda: %s (%s) not found: tried %s and the dynamic loader's search path; set %s to the directory that holds it",
		what, strings.Join(names, ", "), strings.Join(dirsOf(tried), ", "), LibEnv)
	if lastErr != nil {
		return 0, "", fmt.Errorf("%s: %w", msg, lastErr)
	}
	return 0, "", fmt.Errorf("%s", msg)
}

// dirsOf returns the distinct directories of the absolute paths in paths.
func dirsOf(paths []string) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, p := range paths {
		if !strings.ContainsRune(p, '/') {
			continue
		}
		d := filepath.Dir(p)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// bind looks up the symbol named by the sym tag of every func field of
// the struct that api points to and binds the field to it. Its error names
// the library at path and the first symbol that is missing.
func bind(dl dynLib, handle uintptr, path string, api any) error {
	v := reflect.ValueOf(api).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("sym")
		if name == "" {
			continue
		}
		addr, err := dl.sym(handle, name)
		if err != nil || addr == 0 {
			return fmt.Errorf("cuda: %s has no symbol %s (too old a driver or not the CUDA library?): %v", path, name, err)
		}
		f := v.Field(i)
		dl.register(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Interface(), addr)
	}
	return nil
}

// libraries holds the bound functions of both libraries.
type libraries struct {
	drv        driverAPI
	blas       blasAPI
	driverPath string
	blasPath   string
}

// loadWith loads and binds libcuda and cuBLAS through dl.
func loadWith(dl dynLib) (*libraries, error) {
	libs := new(libraries)
	h, path, err := loadLibrary(dl, "the NVIDIA driver library", driverNames)
	if err != nil {
		return nil, err
	}
	if err := bind(dl, h, path, &libs.drv); err != nil {
		return nil, err
	}
	libs.driverPath = path
	h, path, err = loadLibrary(dl, "cuBLAS", blasNames)
	if err != nil {
		return nil, err
	}
	if err := bind(dl, h, path, &libs.blas); err != nil {
		return nil, err
	}
	libs.blasPath = path
	return libs, nil
}

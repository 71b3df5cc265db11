//go:build cuda && linux && (amd64 || arm64)

package cuda

import "github.com/ebitengine/purego"

// Built reports whether this binary can load the CUDA libraries: true in a
// build with -tags cuda on linux/amd64 or linux/arm64.
const Built = true

// puregoLib opens libraries with the C library's dlopen through purego.
type puregoLib struct{}

func (puregoLib) open(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

func (puregoLib) sym(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

func (puregoLib) register(fptr any, addr uintptr) { purego.RegisterFunc(fptr, addr) }

// load loads and binds the CUDA libraries.
func load() (*libraries, error) { return loadWith(puregoLib{}) }

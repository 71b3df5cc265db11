//go:build !(cuda && linux && (amd64 || arm64))

package cuda

// Built reports whether this binary can load the CUDA libraries: false in
// a build without -tags cuda or for another platform.
const Built = false

// load returns ErrNotBuilt.
func load() (*libraries, error) { return nil, ErrNotBuilt }

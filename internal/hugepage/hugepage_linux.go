package hugepage

import (
	"syscall"
	"unsafe"
)

// Advise marks the whole huge pages inside p, which should not have been
// written yet, with MADV_HUGEPAGE. Errors are ignored: a kernel without
// transparent huge pages leaves p on small pages, which is only slower.
func Advise(p []float32) {
	if len(p) == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 4*len(p))
	lo, hi, ok := span(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if !ok {
		return
	}
	_ = syscall.Madvise(b[lo:hi], syscall.MADV_HUGEPAGE)
}

package hugepage

import "syscall"

// advise marks the n bytes at addr, whole huge pages, with
// madvise(MADV_HUGEPAGE), ignoring errors.
func advise(addr, n uintptr) {
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, addr, n, syscall.MADV_HUGEPAGE)
}

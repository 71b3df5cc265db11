// Package hugepage asks the operating system to back large float32
// buffers with huge pages before they are first written.
//
// Writing fresh memory costs a page fault per 4 KiB page and, on virtual
// machines above all, a TLB miss per page on every pass; loading ViT-B/16
// writes 600 MB of parameters, 150,000 pages. Linux's transparent huge
// pages back 2 MiB at a time, but where the system's setting is "madvise"
// (a common default) only ranges marked with madvise(MADV_HUGEPAGE) get
// them. Advise marks the whole 2 MiB pages inside a buffer, so that no
// memory outside it is ever backed by its huge pages. It changes no value
// and does nothing on other systems or for small buffers.
package hugepage

// Size is the size of the huge pages Advise asks for: 2 MiB, the x86-64
// and arm64 (4 KiB granule) transparent huge page.
const Size = 2 << 20

// span returns the offsets, in bytes from base, of the whole Size-aligned
// pages inside [base, base+n), and ok false when there is none.
func span(base, n uintptr) (lo, hi uintptr, ok bool) {
	start := (base + Size - 1) &^ (Size - 1)
	end := (base + n) &^ (Size - 1)
	if end <= start || start < base {
		return 0, 0, false
	}
	return start - base, end - base, true
}

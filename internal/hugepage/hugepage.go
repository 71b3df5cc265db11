// Package hugepage asks the operating system to back large float32
// buffers with huge pages before they are first written.
//
// Writing fresh memory costs a page fault per 4 KiB page and, on virtual
// machines above all, a TLB miss per page on every pass; loading ViT-B/16
// writes 600 MB of parameters, 150,000 pages. Linux's transparent huge
// pages back 2 MiB at a time, but where the system's setting is "madvise"
// (a common default) only ranges marked with madvise(MADV_HUGEPAGE) get
// them. Advise marks the whole 2 MiB pages inside buffers, taking buffers
// that follow one another in memory as one, so that no memory outside
// them is ever backed by their huge pages. It changes no value and does
// nothing on other systems or for small buffers.
package hugepage

import (
	"cmp"
	"runtime"
	"slices"
	"unsafe"
)

// Size is the size of the huge pages Advise asks for: 2 MiB, the x86-64
// and arm64 (4 KiB granule) transparent huge page.
const Size = 2 << 20

// Advise marks the whole huge pages inside the buffers, which should not
// have been written yet, for transparent huge pages. Buffers that follow
// one another in memory with no byte between them count as one run, so
// that a huge page that straddles two of them is marked too: a model's
// parameters, allocated one after the other, mostly lie that way, and
// each alone would leave up to 4 MiB, its ends, to small pages. Errors are
// ignored: a kernel without transparent huge pages leaves the buffers on
// small pages, which is only slower.
func Advise(bufs ...[]float32) {
	for _, r := range runs(bufs) {
		if lo, hi, ok := span(r.lo, r.hi-r.lo); ok {
			advise(r.lo+lo, hi-lo)
		}
	}
	runtime.KeepAlive(bufs)
}

// run is a range of addresses [lo, hi).
type run struct{ lo, hi uintptr }

// runs returns the address ranges of the non-empty buffers, sorted and
// merged where they touch or overlap.
func runs(bufs [][]float32) []run {
	var rs []run
	for _, b := range bufs {
		if len(b) > 0 {
			lo := uintptr(unsafe.Pointer(&b[0]))
			rs = append(rs, run{lo, lo + 4*uintptr(len(b))})
		}
	}
	return mergeRuns(rs)
}

// mergeRuns sorts rs and merges each range into the one before it where
// it begins no later than that one ends.
func mergeRuns(rs []run) []run {
	slices.SortFunc(rs, func(a, b run) int { return cmp.Compare(a.lo, b.lo) })
	var out []run
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

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

package hugepage

import "testing"

func TestSpan(t *testing.T) {
	const m = Size
	tests := []struct {
		base, n, lo, hi uintptr
		ok              bool
	}{
		{m, m, 0, m, true},                         // exactly one page
		{m, 3 * m, 0, 3 * m, true},                 // aligned, three pages
		{m - 4096, m + 4096, 4096, m + 4096, true}, // one page inside
		{m + 4096, m, 0, 0, false},                 // straddles, holds none whole
		{m + 4096, 3 * m, m - 4096, 3*m - 4096, true},
		{m, m - 1, 0, 0, false},
		{0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, ok := span(tt.base, tt.n)
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("span(%#x, %#x) = %#x, %#x, %v; want %#x, %#x, %v", tt.base, tt.n, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}

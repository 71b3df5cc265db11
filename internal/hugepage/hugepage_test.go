package hugepage

import (
	"slices"
	"testing"
)

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

func TestMergeRuns(t *testing.T) {
	tests := []struct {
		name    string
		in, out []run
	}{
		{"none", nil, nil},
		{"one", []run{{10, 20}}, []run{{10, 20}}},
		{"adjacent", []run{{10, 20}, {20, 30}}, []run{{10, 30}}},
		{"adjacent, unsorted", []run{{20, 30}, {0, 10}, {10, 20}}, []run{{0, 30}}},
		{"a byte apart", []run{{10, 20}, {21, 30}}, []run{{10, 20}, {21, 30}}},
		{"overlapping", []run{{10, 25}, {20, 30}}, []run{{10, 30}}},
		{"inside another", []run{{10, 40}, {20, 30}, {40, 50}}, []run{{10, 50}}},
		{"twice the same", []run{{10, 20}, {10, 20}}, []run{{10, 20}}},
		{"two runs", []run{{50, 60}, {10, 20}, {60, 70}, {20, 30}}, []run{{10, 30}, {50, 70}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeRuns(slices.Clone(tt.in)); !slices.Equal(got, tt.out) {
				t.Errorf("mergeRuns(%v) = %v, want %v", tt.in, got, tt.out)
			}
		})
	}
}

//go:build arm64 && !purego

package kernels

import (
	"slices"
	"testing"
)

// TestNEONDefault checks that arm64 offers the NEON path and takes it
// unless VLPUDA_ISA names another.
func TestNEONDefault(t *testing.T) {
	if got, want := Supported(), []ISA{Generic, NEON}; !slices.Equal(got, want) {
		t.Fatalf("Supported() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		env  string
		want ISA
	}{{"", NEON}, {"neon", NEON}, {"generic", Generic}, {"avx2", NEON}} {
		t.Setenv("VLPUDA_ISA", tc.env)
		if got := detect(); got != tc.want {
			t.Errorf("VLPUDA_ISA=%q: detect() = %v, want %v", tc.env, got, tc.want)
		}
	}
}

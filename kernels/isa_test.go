package kernels

import "testing"

// TestParseISA checks that every path's name parses back to it, in any
// case, and that an unknown name is an error naming the choices.
func TestParseISA(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    ISA
		wantErr bool
	}{
		{"generic", Generic, false},
		{"avx2", AVX2, false},
		{"AVX512", AVX512, false},
		{"neon", NEON, false},
		{"Neon", NEON, false},
		{"sse", Generic, true},
		{"", Generic, true},
	} {
		got, err := ParseISA(tc.name)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseISA(%q) = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
	for isa := Generic; isa < numISA; isa++ {
		if got, err := ParseISA(isa.String()); got != isa || err != nil {
			t.Errorf("ParseISA(%q) = %v, %v", isa.String(), got, err)
		}
	}
}

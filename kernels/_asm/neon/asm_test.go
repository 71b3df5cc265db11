package main

import "testing"

// TestByElem checks the encodings of FMLA and FMUL by element against
// words that Go's arm64 disassembler (go tool objdump) decodes to the
// instruction named; the first also appears, with Q=0, in the Go
// assembler's own tests (0x0f9c185e).
func TestByElem(t *testing.T) {
	for _, tc := range []struct {
		op       uint32
		d, n     VReg
		m        Lane
		want     uint32
		mnemonic string
	}{
		{opFMLA, 30, 2, Lane{28, 2}, 0x4f9c185e, "FMLA V30.4S, V2.4S, V28.S[2]"},
		{opFMLA, 0, 24, Lane{26, 0}, 0x4f9a1300, "FMLA V0.4S, V24.4S, V26.S[0]"},
		{opFMLA, 3, 25, Lane{26, 1}, 0x4fba1323, "FMLA V3.4S, V25.4S, V26.S[1]"},
		{opFMLA, 23, 25, Lane{28, 3}, 0x4fbc1b37, "FMLA V23.4S, V25.4S, V28.S[3]"},
		{opFMUL, 0, 0, Lane{29, 0}, 0x4f9d9000, "FMUL V0.4S, V0.4S, V29.S[0]"},
		{opFMUL, 23, 23, Lane{29, 0}, 0x4f9d92f7, "FMUL V23.4S, V23.4S, V29.S[0]"},
	} {
		if got := byElem(tc.op, tc.d, tc.n, tc.m); got != tc.want {
			t.Errorf("%s: %#08x, want %#08x", tc.mnemonic, got, tc.want)
		}
	}
}

// TestALoads checks, for every height, that the loads of a step of A
// read only its h floats and that each float's lane holds it.
func TestALoads(t *testing.T) {
	for h := 1; h <= mr; h++ {
		loads, lanes := aLoads(h)
		if len(loads) > 3 {
			t.Errorf("h=%d: %d registers of A, the kernels have 3", h, len(loads))
		}
		held := map[Lane]int{} // the float each lane holds after the loads
		for g, l := range loads {
			if l.at < 0 || l.at+l.n > h {
				t.Errorf("h=%d: load %d reads floats [%d, %d)", h, g, l.at, l.at+l.n)
			}
			for i := 0; i < l.n; i++ {
				held[Lane{vA + VReg(g), i}] = l.at + i
			}
		}
		for i, ln := range lanes {
			if f, ok := held[ln]; !ok || f != i {
				t.Errorf("h=%d: float %d is read from V%d.S[%d], which holds %d (loaded: %v)", h, i, ln.V, ln.I, f, ok)
			}
		}
	}
}

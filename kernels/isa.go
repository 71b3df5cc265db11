package kernels

import (
	"fmt"
	"os"
	"strings"
)

// ISA names an implementation path of the kernels.
type ISA int

// The implementation paths, from the most portable to the fastest.
const (
	Generic ISA = iota // pure Go, every platform
	AVX2               // amd64 with AVX2, FMA3 and F16C (every AVX2 CPU has it)
	AVX512             // amd64 with AVX-512 F, VL, BW and DQ
	NEON               // arm64 with ASIMD (every ARMv8-A core has it)
	numISA
)

var isaNames = [numISA]string{"generic", "avx2", "avx512", "neon"}

// String returns the lower-case name of the path, as VLPUDA_ISA spells it.
func (i ISA) String() string {
	if i < 0 || i >= numISA {
		return fmt.Sprintf("ISA(%d)", int(i))
	}
	return isaNames[i]
}

// ParseISA returns the ISA named s (generic, avx2, avx512 or neon).
func ParseISA(s string) (ISA, error) {
	for i, name := range isaNames {
		if strings.EqualFold(s, name) {
			return ISA(i), nil
		}
	}
	return Generic, fmt.Errorf("kernels: unknown ISA %q (want generic, avx2, avx512 or neon)", s)
}

// current is the path every kernel takes. It is set once at start-up and
// changed only by Use.
var current = detect()

// Supported lists the paths this CPU and build can run, the portable one first.
func Supported() []ISA {
	isas := []ISA{Generic}
	if cpuHasAVX2() {
		isas = append(isas, AVX2)
	}
	if cpuHasAVX512() {
		isas = append(isas, AVX512)
	}
	if cpuHasNEON() {
		isas = append(isas, NEON)
	}
	return isas
}

func supports(isa ISA) bool {
	for _, s := range Supported() {
		if s == isa {
			return true
		}
	}
	return false
}

// Current returns the path the kernels take.
func Current() ISA { return current }

// Use makes every kernel take the given path and returns the previous one.
// It returns an error, and changes nothing, when the CPU or build cannot run
// the path. It is meant for tests, benchmarks and commands; it must not be
// called while kernels are running.
func Use(isa ISA) (prev ISA, err error) {
	if !supports(isa) {
		return current, fmt.Errorf("kernels: %v is not supported on this CPU or build", isa)
	}
	prev, current = current, isa
	return prev, nil
}

// detect picks the fastest supported path, or the one VLPUDA_ISA names.
func detect() ISA {
	isas := Supported()
	best := isas[len(isas)-1]
	env := os.Getenv("VLPUDA_ISA")
	if env == "" {
		return best
	}
	want, err := ParseISA(env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vlpuda: VLPUDA_ISA: %v; using %v\n", err, best)
		return best
	}
	if !supports(want) {
		fmt.Fprintf(os.Stderr, "vlpuda: VLPUDA_ISA=%s is not supported here; using %v\n", env, best)
		return best
	}
	return want
}

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// simFrame builds the argument frame of an assembly function in Go's
// stack ABI: ints and pointers 8-byte aligned, float32s 4-byte aligned.
type simFrame []byte

func (f *simFrame) align(n int) {
	for len(*f)%n != 0 {
		*f = append(*f, 0)
	}
}

func (f *simFrame) int(v int) {
	f.align(8)
	*f = binary.LittleEndian.AppendUint64(*f, uint64(v))
}

func (f *simFrame) float(v float32) {
	f.align(4)
	*f = binary.LittleEndian.AppendUint32(*f, math.Float32bits(v))
}

// slice appends a slice header for n floats at addr.
func (f *simFrame) slice(addr, n int) { f.int(addr); f.int(n); f.int(n) }

// simCall runs the TEXT block body with the frame in mem and reports the
// first fault: an access outside every operand, or a write to a read-only
// one.
func simCall(mem *simMem, body []string, frame simFrame) error {
	mem.data = append(mem.data, make([]byte, 64)...)
	mem.perm = append(mem.perm, make([]byte, 64)...)
	fp := len(mem.data)
	mem.data = append(mem.data, frame...)
	for range frame {
		mem.perm = append(mem.perm, 1)
	}
	mem.data = append(mem.data, make([]byte, 64)...)
	mem.perm = append(mem.perm, make([]byte, 64)...)
	cpu := &simCPU{mem: mem, fp: fp, gp: map[string]int64{}}
	return cpu.run(body)
}

// TestEltwiseKernelsSimulated runs the streaming elementwise kernels of
// eltwise_amd64.s (arithmetic, ReLU, the SGD updates), both ISAs, on the x86 simulator of sgemm_sim_test.go at
// lengths that reach every unrolled, single-vector and tail path, and
// checks them bit for bit against the pure-Go primitives, with every byte
// around the operands guarded. The AVX-512 kernels have no other test on
// a machine without AVX-512; the AVX2 ones, which also run on the
// hardware, check the simulator.
func TestEltwiseKernelsSimulated(t *testing.T) {
	funcs := asmFuncs(t, "eltwise_amd64.s")
	rng := rand.New(rand.NewPCG(21, 22))
	lengths := []int{0, 1, 5, 8, 15, 16, 17, 31, 33, 64, 67, 130}
	check := func(t *testing.T, what string, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for _, isa := range []string{"AVX2", "AVX512"} {
		t.Run(isa, func(t *testing.T) {
			body := func(name string) []string {
				b, ok := funcs[name+isa]
				if !ok {
					t.Fatalf("%s%s is not in eltwise_amd64.s", name, isa)
				}
				return b
			}
			newMem := func() *simMem {
				m := &simMem{}
				m.loadData(t, "eltwise_amd64.s")
				return m
			}
			for _, n := range lengths {
				x, y := randSlice(rng, n, -2, 2), randSlice(rng, n, -2, 2)
				const alpha = 0.37

				// dst = x op y for add, sub and mul.
				for _, b := range []struct {
					name string
					f    func(dst, x, y []float32)
				}{{"add", addGeneric}, {"sub", subGeneric}, {"mul", mulGeneric}} {
					mem := newMem()
					xa, ya, da := mem.alloc(x, 1), mem.alloc(y, 1), mem.alloc(make([]float32, n), 2)
					var f simFrame
					f.slice(da, n)
					f.slice(xa, n)
					f.slice(ya, n)
					if err := simCall(mem, body(b.name), f); err != nil {
						t.Fatalf("%s n=%d: %v", b.name, n, err)
					}
					want := make([]float32, n)
					b.f(want, x, y)
					check(t, fmt.Sprintf("%s n=%d", b.name, n), mem.floats(da, n), want)
				}

				// y += alpha·x.
				mem := newMem()
				xa, ya := mem.alloc(x, 1), mem.alloc(y, 2)
				var f simFrame
				f.float(alpha)
				f.slice(xa, n)
				f.slice(ya, n)
				if err := simCall(mem, body("axpy"), f); err != nil {
					t.Fatalf("axpy n=%d: %v", n, err)
				}
				want := append([]float32(nil), y...)
				for i := range want {
					want[i] = fma32(alpha, x[i], want[i]) // the assembly fuses; Go's loop may not
				}
				check(t, fmt.Sprintf("axpy n=%d", n), mem.floats(ya, n), want)

				// dst = alpha·x.
				mem = newMem()
				xa, da := mem.alloc(x, 1), mem.alloc(make([]float32, n), 2)
				f = nil
				f.slice(da, n)
				f.float(alpha)
				f.slice(xa, n)
				if err := simCall(mem, body("scale"), f); err != nil {
					t.Fatalf("scale n=%d: %v", n, err)
				}
				want = make([]float32, n)
				scaleGeneric(want, alpha, x)
				check(t, fmt.Sprintf("scale n=%d", n), mem.floats(da, n), want)
			}

			// dst = f(x) and dst = f(dy, x) for the ReLU and its gradient;
			// the inputs hold zeros of both signs.
			for _, n := range lengths {
				x, dy := randSlice(rng, n, -2, 2), randSlice(rng, n, -2, 2)
				for i := 0; i < n; i += 5 {
					x[i] = float32(math.Copysign(0, float64(i%2)-0.5))
				}
				mem := newMem()
				xa, da := mem.alloc(x, 1), mem.alloc(make([]float32, n), 2)
				var f simFrame
				f.slice(da, n)
				f.slice(xa, n)
				if err := simCall(mem, body("relu"), f); err != nil {
					t.Fatalf("relu n=%d: %v", n, err)
				}
				want := make([]float32, n)
				reluGeneric(want, x)
				check(t, fmt.Sprintf("relu n=%d", n), mem.floats(da, n), want)

				mem = newMem()
				dya, xa, da := mem.alloc(dy, 1), mem.alloc(x, 1), mem.alloc(make([]float32, n), 2)
				f = nil
				f.slice(da, n)
				f.slice(dya, n)
				f.slice(xa, n)
				if err := simCall(mem, body("reluBackward"), f); err != nil {
					t.Fatalf("reluBackward n=%d: %v", n, err)
				}
				reluBackwardGeneric(want, dy, x)
				check(t, fmt.Sprintf("reluBackward n=%d", n), mem.floats(da, n), want)

				// dst = x + c and dst = alpha·x + beta (fused).
				mem = newMem()
				xa, da = mem.alloc(x, 1), mem.alloc(make([]float32, n), 2)
				f = nil
				f.slice(da, n)
				f.float(-0.75)
				f.slice(xa, n)
				if err := simCall(mem, body("addConst"), f); err != nil {
					t.Fatalf("addConst n=%d: %v", n, err)
				}
				addConstGeneric(want, -0.75, x)
				check(t, fmt.Sprintf("addConst n=%d", n), mem.floats(da, n), want)

				mem = newMem()
				xa, da = mem.alloc(x, 1), mem.alloc(make([]float32, n), 2)
				f = nil
				f.slice(da, n)
				f.float(0.37)
				f.slice(xa, n)
				f.float(-1.5)
				if err := simCall(mem, body("affine"), f); err != nil {
					t.Fatalf("affine n=%d: %v", n, err)
				}
				for i := range want {
					want[i] = fma32(0.37, x[i], -1.5)
				}
				check(t, fmt.Sprintf("affine n=%d", n), mem.floats(da, n), want)

				// The momentum SGD updates, each product and sum rounded.
				for _, u := range []struct {
					name string
					f    func(w, grad, buf []float32, lr, wd, mom, damp float32)
				}{{"sgdMomentum", sgdMomentumGeneric}, {"sgdNesterov", sgdNesterovGeneric}} {
					w, g, b := randSlice(rng, n, -1, 1), randSlice(rng, n, -1, 1), randSlice(rng, n, -1, 1)
					mem = newMem()
					wa, ga, ba := mem.alloc(w, 2), mem.alloc(g, 1), mem.alloc(b, 2)
					f = nil
					f.slice(wa, n)
					f.slice(ga, n)
					f.slice(ba, n)
					for _, v := range []float32{0.01, 5e-4, 0.9, 0.1} {
						f.float(v)
					}
					if err := simCall(mem, body(u.name), f); err != nil {
						t.Fatalf("%s n=%d: %v", u.name, n, err)
					}
					u.f(w, g, b, 0.01, 5e-4, 0.9, 0.1)
					check(t, fmt.Sprintf("%s n=%d w", u.name, n), mem.floats(wa, n), w)
					check(t, fmt.Sprintf("%s n=%d buf", u.name, n), mem.floats(ba, n), b)
				}
			}

			// dst[i*ldd+j] += x[i*ldx+j], rows of every length class.
			for _, n := range lengths[1:] {
				for _, rows := range []int{1, 3} {
					ldd, ldx := n+rng.IntN(3), n+rng.IntN(3)
					x := randSlice(rng, (rows-1)*ldx+n, -2, 2)
					d := randSlice(rng, (rows-1)*ldd+n, -2, 2)
					mem := newMem()
					da, xa := mem.alloc(d, 2), mem.alloc(x, 1)
					var f simFrame
					f.slice(da, len(d))
					f.int(ldd)
					f.slice(xa, len(x))
					f.int(ldx)
					f.int(rows)
					f.int(n)
					if err := simCall(mem, body("addRows"), f); err != nil {
						t.Fatalf("addRows n=%d rows=%d: %v", n, rows, err)
					}
					want := append([]float32(nil), d...)
					addRowsGeneric(want, ldd, x, ldx, rows, n)
					check(t, fmt.Sprintf("addRows n=%d rows=%d", n, rows), mem.floats(da, len(d)), want)
				}
			}
		})
	}
}

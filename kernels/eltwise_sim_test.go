package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	_, err := simCallFrame(mem, body, frame, len(frame))
	return err
}

// simCallFrame is simCall whose frame is writable from byte res on, where
// the function returns its results; fp is the frame's address.
func simCallFrame(mem *simMem, body []string, frame simFrame, res int) (fp int, err error) {
	mem.data = append(mem.data, make([]byte, 64)...)
	mem.perm = append(mem.perm, make([]byte, 64)...)
	fp = len(mem.data)
	mem.data = append(mem.data, frame...)
	for i := range frame {
		perm := byte(1)
		if i >= res {
			perm = 2
		}
		mem.perm = append(mem.perm, perm)
	}
	mem.data = append(mem.data, make([]byte, 64)...)
	mem.perm = append(mem.perm, make([]byte, 64)...)
	cpu := &simCPU{mem: mem, fp: fp, gp: map[string]int64{}}
	return fp, cpu.run(body)
}

// simArg is one argument of a simulated call: a slice of floats (written
// back when out is set) or a float32 scalar.
type simArg struct {
	x      []float32
	out    bool
	scalar float32
	isF32  bool
}

func simIn(x []float32) simArg   { return simArg{x: x} }
func simOut(x []float32) simArg  { return simArg{x: x, out: true} }
func simScalar(v float32) simArg { return simArg{scalar: v, isF32: true} }

// cloneArgs copies args and their slices.
func cloneArgs(a []simArg) []simArg {
	c := slices.Clone(a)
	for i := range c {
		c[i].x = slices.Clone(c[i].x)
	}
	return c
}

// simRun calls body with args and nres float32 results and returns the
// results; the out slices of args receive what the kernel wrote.
func simRun(t *testing.T, body []string, args []simArg, nres int) ([]float32, error) {
	mem := &simMem{}
	mem.loadData(t, "eltwise_amd64.s")
	addrs := make([]int, len(args))
	for i, a := range args {
		if !a.isF32 {
			perm := byte(1)
			if a.out {
				perm = 2
			}
			addrs[i] = mem.alloc(a.x, perm)
		}
	}
	var f simFrame
	for i, a := range args {
		if a.isF32 {
			f.float(a.scalar)
		} else {
			f.slice(addrs[i], len(a.x))
		}
	}
	f.align(8)
	res := len(f)
	for range nres {
		f.float(0)
	}
	fp, err := simCallFrame(mem, body, f, res)
	if err != nil {
		return nil, err
	}
	for i, a := range args {
		if a.out {
			copy(a.x, mem.floats(addrs[i], len(a.x)))
		}
	}
	return mem.floats(fp+res, nres), nil
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

// TestEltwiseMathSimulated runs the other elementwise kernels of
// eltwise_amd64.s (reductions, the exp-based activations and their
// gradients, the pieces of softmax and layer norm) on the simulator. The
// simulated AVX2 code must give the bits the hardware gives (a check of the
// simulator, where the CPU has AVX2); the AVX-512 code, generated from the
// same template with wider vectors, must write the AVX2 bits to every
// slice and return sums within a rounding of the AVX2 ones (the lanes add
// in another order).
func TestEltwiseMathSimulated(t *testing.T) {
	funcs := asmFuncs(t, "eltwise_amd64.s")
	hw := slices.Contains(Supported(), AVX2)
	rng := rand.New(rand.NewPCG(23, 24))
	// Inputs over the activations' range, with the clamps of exp, zeros of
	// both signs and large values among them.
	data := func(n int, lo, hi float64) []float32 {
		x := randSlice(rng, n, lo, hi)
		special := []float32{-100, 100, 88.5, -87.5, 0, float32(math.Copysign(0, -1)), 30, -30}
		for i := 3; i < n; i += 7 {
			x[i] = special[(i/7)%len(special)]
		}
		return x
	}
	type kernel struct {
		name  string
		nres  int
		args  func(n int) []simArg
		hw    func(a []simArg) []float32 // the AVX2 primitive, run on the CPU
		scale func(a []simArg) []float64 // Σ|terms| of each result
	}
	sumAbs := func(n int, term func(i int) float64) float64 {
		var s float64
		for i := range n {
			s += math.Abs(term(i))
		}
		return s
	}
	expSum := func(a []simArg) []float64 {
		x, m := a[len(a)-2].x, a[len(a)-1].scalar
		return []float64{sumAbs(len(x), func(i int) float64 { return math.Exp(float64(x[i] - m)) })}
	}
	e := &eltwiseAVX2
	one := func(v float32) []float32 { return []float32{v} }
	kernels := []kernel{
		{"sum", 1, func(n int) []simArg { return []simArg{simIn(data(n, -1e3, 1e3))} },
			func(a []simArg) []float32 { return one(e.sum(a[0].x)) },
			func(a []simArg) []float64 {
				return []float64{sumAbs(len(a[0].x), func(i int) float64 { return float64(a[0].x[i]) })}
			}},
		{"dot", 1, func(n int) []simArg { return []simArg{simIn(data(n, -10, 10)), simIn(data(n, -1, 1))} },
			func(a []simArg) []float32 { return one(e.dot(a[0].x, a[1].x)) },
			func(a []simArg) []float64 {
				return []float64{sumAbs(len(a[0].x), func(i int) float64 { return float64(a[0].x[i]) * float64(a[1].x[i]) })}
			}},
		{"max", 1, func(n int) []simArg { return []simArg{simIn(data(n, -10, 10))} },
			func(a []simArg) []float32 { return one(e.max(a[0].x)) },
			func([]simArg) []float64 { return []float64{0} }}, // order does not matter: exact
		{"sumSqDev", 1, func(n int) []simArg { return []simArg{simIn(data(n, -5, 5)), simScalar(0.3)} },
			func(a []simArg) []float32 { return one(e.sumSqDev(a[0].x, a[1].scalar)) },
			func(a []simArg) []float64 {
				x, m := a[0].x, float64(a[1].scalar)
				return []float64{sumAbs(len(x), func(i int) float64 { return (float64(x[i]) - m) * (float64(x[i]) - m) })}
			}},
		{"sumExpSub", 1, func(n int) []simArg { return []simArg{simIn(data(n, -20, 5)), simScalar(2)} },
			func(a []simArg) []float32 { return one(e.sumExpSub(a[0].x, a[1].scalar)) }, expSum},
		{"expSubSum", 1, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -20, 5)), simScalar(2)}
		},
			func(a []simArg) []float32 { return one(e.expSubSum(a[0].x, a[1].x, a[2].scalar)) }, expSum},
		{"exp", 0, func(n int) []simArg { return []simArg{simOut(make([]float32, n)), simIn(data(n, -12, 12))} },
			func(a []simArg) []float32 { e.exp(a[0].x, a[1].x); return nil }, nil},
		{"sigmoid", 0, func(n int) []simArg { return []simArg{simOut(make([]float32, n)), simIn(data(n, -12, 12))} },
			func(a []simArg) []float32 { e.sigmoid(a[0].x, a[1].x); return nil }, nil},
		{"quickGELU", 0, func(n int) []simArg { return []simArg{simOut(make([]float32, n)), simIn(data(n, -12, 12))} },
			func(a []simArg) []float32 { e.quickGELU(a[0].x, a[1].x); return nil }, nil},
		{"gelu", 0, func(n int) []simArg { return []simArg{simOut(make([]float32, n)), simIn(data(n, -12, 12))} },
			func(a []simArg) []float32 { e.gelu(a[0].x, a[1].x); return nil }, nil},
		{"quickGELUBackward", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -2, 2)), simIn(data(n, -12, 12))}
		}, func(a []simArg) []float32 { e.quickGELUBackward(a[0].x, a[1].x, a[2].x); return nil }, nil},
		{"geluBackward", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -2, 2)), simIn(data(n, -12, 12))}
		}, func(a []simArg) []float32 { e.geluBackward(a[0].x, a[1].x, a[2].x); return nil }, nil},
		{"subConstMul", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -3, 3)), simScalar(0.7), simIn(data(n, -3, 3))}
		}, func(a []simArg) []float32 { e.subConstMul(a[0].x, a[1].x, a[2].scalar, a[3].x); return nil }, nil},
		{"subExpScaled", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -3, 3)), simIn(data(n, -12, 2)), simScalar(1.3)}
		}, func(a []simArg) []float32 { e.subExpScaled(a[0].x, a[1].x, a[2].x, a[3].scalar); return nil }, nil},
		{"normAffine", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -3, 3)), simIn(data(n, -2, 2)), simIn(data(n, -1, 1)), simScalar(0.2), simScalar(1.7)}
		}, func(a []simArg) []float32 {
			e.normAffine(a[0].x, a[1].x, a[2].x, a[3].x, a[4].scalar, a[5].scalar)
			return nil
		}, nil},
		{"normBackwardSums", 2, func(n int) []simArg {
			return []simArg{simOut(data(n, -1, 1)), simOut(data(n, -1, 1)), simIn(data(n, -2, 2)), simIn(data(n, -3, 3)), simIn(data(n, -2, 2)), simScalar(0.2), simScalar(1.7)}
		}, func(a []simArg) []float32 {
			sg, sgx := e.normBackwardSums(a[0].x, a[1].x, a[2].x, a[3].x, a[4].x, a[5].scalar, a[6].scalar)
			return []float32{sg, sgx}
		}, func(a []simArg) []float64 {
			dy, x, g, m, rs := a[2].x, a[3].x, a[4].x, float64(a[5].scalar), float64(a[6].scalar)
			n := len(x)
			return []float64{
				sumAbs(n, func(i int) float64 { return float64(dy[i]) * float64(g[i]) }),
				sumAbs(n, func(i int) float64 { return float64(dy[i]) * float64(g[i]) * (float64(x[i]) - m) * rs }),
			}
		}},
		{"bnBackwardDx", 0, func(n int) []simArg {
			return []simArg{simOut(data(n, -1, 1)), simIn(data(n, -2, 2)), simIn(data(n, -3, 3)),
				simScalar(0.7), simScalar(0.011), simScalar(-0.25), simScalar(1.9), simScalar(-0.043)}
		}, func(a []simArg) []float32 {
			e.bnBackwardDx(a[0].x, a[1].x, a[2].x, a[3].scalar, a[4].scalar, a[5].scalar, a[6].scalar, a[7].scalar)
			return nil
		}, nil},
		{"affineReLU", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simScalar(0.7), simIn(data(n, -3, 3)), simScalar(-0.4)}
		}, func(a []simArg) []float32 {
			e.affineReLU(a[0].x, a[1].scalar, a[2].x, a[3].scalar)
			return nil
		}, nil},
		{"affineAddReLU", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simScalar(0.7), simIn(data(n, -3, 3)), simScalar(-0.4), simIn(data(n, -3, 3))}
		}, func(a []simArg) []float32 {
			e.affineAddReLU(a[0].x, a[1].scalar, a[2].x, a[3].scalar, a[4].x)
			return nil
		}, nil},
		{"normBackwardDx", 0, func(n int) []simArg {
			return []simArg{simOut(make([]float32, n)), simIn(data(n, -2, 2)), simIn(data(n, -3, 3)), simIn(data(n, -2, 2)),
				simScalar(0.2), simScalar(1.7), simScalar(0.05), simScalar(-0.3)}
		}, func(a []simArg) []float32 {
			e.normBackwardDx(a[0].x, a[1].x, a[2].x, a[3].x, a[4].scalar, a[5].scalar, a[6].scalar, a[7].scalar)
			return nil
		}, nil},
	}
	same := func(a, b []float32) int {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return i
			}
		}
		return -1
	}
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range []int{1, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100} {
				args := k.args(n)
				run := func(isa string) ([]simArg, []float32) {
					a := cloneArgs(args)
					res, err := simRun(t, funcs[k.name+isa], a, k.nres)
					if err != nil {
						t.Fatalf("%s%s n=%d: %v", k.name, isa, n, err)
					}
					return a, res
				}
				a2, r2 := run("AVX2")
				a5, r5 := run("AVX512")
				if hw {
					ah := cloneArgs(args)
					rh := k.hw(ah)
					if i := same(r2, rh); i >= 0 {
						t.Fatalf("n=%d: simulated AVX2 returned %v, the CPU %v", n, r2, rh)
					}
					for j := range ah {
						if i := same(a2[j].x, ah[j].x); i >= 0 {
							t.Fatalf("n=%d: simulated AVX2 wrote [%d] = %v in argument %d, the CPU %v", n, i, a2[j].x[i], j, ah[j].x[i])
						}
					}
				}
				for j := range a5 {
					if i := same(a5[j].x, a2[j].x); i >= 0 {
						t.Fatalf("n=%d: AVX-512 wrote [%d] = %v in argument %d, AVX2 %v", n, i, a5[j].x[i], j, a2[j].x[i])
					}
				}
				if len(r5) > 0 {
					// The sums add their lanes in another order: allow a
					// rounding of the result and a few of the terms.
					sc := k.scale(args)
					for i := range r5 {
						if d := math.Abs(float64(r5[i]) - float64(r2[i])); d > 1e-6*sc[i]+2.4e-7*math.Abs(float64(r2[i])) {
							t.Fatalf("n=%d: AVX-512 returned %v, AVX2 %v (Σ|terms| %v)", n, r5, r2, sc)
						}
					}
				}
			}
		})
	}
}

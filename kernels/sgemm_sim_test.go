package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This file runs the generated micro-kernels of sgemm_amd64.s on a small
// x86 simulator, so the AVX-512 kernels are checked (results, masks, and
// that no byte outside A, B and C is touched, nor C read when beta is 0) on
// machines without AVX-512 and in the purego build. The simulator knows only
// the instructions the generator emits; the AVX2 kernels, which also run on
// the hardware, check the simulator itself.

// asmFuncs splits an assembly file into its TEXT blocks, by symbol name.
func asmFuncs(t *testing.T, path string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the generated assembly: %v", err)
	}
	funcs := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "TEXT ") {
			name := strings.TrimPrefix(strings.Fields(line)[1], "·")
			cur = strings.TrimSuffix(name, "(SB),")
			continue
		}
		if cur != "" {
			funcs[cur] = append(funcs[cur], line)
		}
	}
	return funcs
}

// simMem is the simulator's memory: a byte arena in which every byte is
// either free (a fault to touch), readable and writable, or readable only.
type simMem struct {
	data  []byte
	perm  []byte // 0 none, 1 read, 2 read and write
	noRd  [2]int // a range that must not be read (C when beta == 0)
	fault string
	syms  map[string]int // addresses of the file's DATA symbols
}

var reData = regexp.MustCompile(`^DATA\s+(\w+)<>\+(\d+)\(SB\)/(\d+),\s*\$(\w+)$`)

// loadData places the DATA symbols of the assembly file path in the arena,
// read-only, so that the kernels' constant tables can be read.
func (m *simMem) loadData(t *testing.T, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the generated assembly: %v", err)
	}
	syms := map[string][]byte{}
	var order []string
	for _, line := range strings.Split(string(src), "\n") {
		f := reData.FindStringSubmatch(strings.TrimSpace(line))
		if f == nil {
			continue
		}
		off, _ := strconv.Atoi(f[2])
		size, _ := strconv.Atoi(f[3])
		v, err := strconv.ParseUint(f[4], 0, 64)
		if err != nil {
			t.Fatalf("bad DATA line %q", line)
		}
		b, ok := syms[f[1]]
		if !ok {
			order = append(order, f[1])
		}
		if len(b) < off+size {
			b = append(b, make([]byte, off+size-len(b))...)
		}
		for i := 0; i < size; i++ {
			b[off+i] = byte(v >> (8 * i))
		}
		syms[f[1]] = b
	}
	if m.syms == nil {
		m.syms = map[string]int{}
	}
	for _, name := range order {
		m.data = append(m.data, make([]byte, 256)...)
		m.perm = append(m.perm, make([]byte, 256)...)
		m.syms[name] = len(m.data)
		m.data = append(m.data, syms[name]...)
		m.perm = append(m.perm, slices.Repeat([]byte{1}, len(syms[name]))...)
	}
}

func (m *simMem) check(addr, n int, write bool) bool {
	if m.fault != "" {
		return false
	}
	for i := addr; i < addr+n; i++ {
		switch {
		case i < 0 || i >= len(m.data) || m.perm[i] == 0:
			m.fault = fmt.Sprintf("access to byte %d outside every operand", i)
		case write && m.perm[i] != 2:
			m.fault = fmt.Sprintf("write to read-only byte %d", i)
		case !write && i >= m.noRd[0] && i < m.noRd[1]:
			m.fault = fmt.Sprintf("read of byte %d of C with beta == 0", i)
		}
		if m.fault != "" {
			return false
		}
	}
	return true
}

func (m *simMem) load32(addr int) float32 {
	if !m.check(addr, 4, false) {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(m.data[addr:]))
}

func (m *simMem) store32(addr int, v float32) {
	if m.check(addr, 4, true) {
		binary.LittleEndian.PutUint32(m.data[addr:], math.Float32bits(v))
	}
}

func (m *simMem) load64(addr int) int64 {
	if !m.check(addr, 8, false) {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(m.data[addr:]))
}

// alloc places the floats x in the arena, with perm, after a gap of
// unowned bytes, and returns their address.
func (m *simMem) alloc(x []float32, perm byte) int {
	m.data = append(m.data, make([]byte, 256)...)
	m.perm = append(m.perm, make([]byte, 256)...)
	addr := len(m.data)
	for _, v := range x {
		m.data = binary.LittleEndian.AppendUint32(m.data, math.Float32bits(v))
		m.perm = append(m.perm, perm, perm, perm, perm)
	}
	return addr
}

func (m *simMem) floats(addr, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.data[addr+4*i:]))
	}
	return x
}

// simCPU holds the architectural state the kernels use.
type simCPU struct {
	mem   *simMem
	fp    int // address of the argument frame
	gp    map[string]int64
	vec   [32][16]float32
	k     [8]uint16
	zero  bool // ZF
	below bool // CF, as CMPQ leaves it
}

var (
	reMem = regexp.MustCompile(`^(-?\w*)\((\w+)\)(?:\((\w+)\*(\d)\))?$`)
	reArg = regexp.MustCompile(`^\w+\+(\d+)\(FP\)$`)
	reSym = regexp.MustCompile(`^(\w+)<>\+(\d+)\(SB\)$`)
)

// vreg returns the index and lane count of a vector register name.
func vreg(s string) (idx, lanes int, ok bool) {
	if len(s) < 2 {
		return 0, 0, false
	}
	switch s[0] {
	case 'X':
		lanes = 4
	case 'Y':
		lanes = 8
	case 'Z':
		lanes = 16
	default:
		return 0, 0, false
	}
	n, err := strconv.Atoi(s[1:])
	return n, lanes, err == nil
}

// addr resolves a memory operand to an arena address.
func (c *simCPU) addr(s string) int {
	if m := reArg.FindStringSubmatch(s); m != nil {
		off, _ := strconv.Atoi(m[1])
		return c.fp + off
	}
	if m := reSym.FindStringSubmatch(s); m != nil {
		a, ok := c.mem.syms[m[1]]
		if !ok {
			panic("simulator: unknown symbol " + s)
		}
		off, _ := strconv.Atoi(m[2])
		return a + off
	}
	m := reMem.FindStringSubmatch(s)
	if m == nil {
		panic("simulator: bad memory operand " + s)
	}
	a := c.gp[m[2]]
	if m[1] != "" {
		d, _ := strconv.ParseInt(m[1], 0, 64)
		a += d
	}
	if m[3] != "" {
		scale, _ := strconv.Atoi(m[4])
		a += c.gp[m[3]] * int64(scale)
	}
	return int(a)
}

// val reads an integer operand: immediate, register or memory.
func (c *simCPU) val(s string, size int) int64 {
	if strings.HasPrefix(s, "$") {
		v, err := strconv.ParseInt(s[1:], 0, 64)
		if err != nil {
			panic("simulator: bad immediate " + s)
		}
		return v
	}
	if strings.Contains(s, "(") {
		a := c.addr(s)
		if size == 4 {
			if !c.mem.check(a, 4, false) {
				return 0
			}
			return int64(binary.LittleEndian.Uint32(c.mem.data[a:]))
		}
		return c.mem.load64(a)
	}
	return c.gp[s]
}

// vecIn returns the lanes of a vector operand, or a broadcast of a 32-bit
// memory operand with bcst, reading only the lanes in mask.
func (c *simCPU) vecIn(s string, lanes int, bcst bool, mask uint16) [16]float32 {
	if i, _, ok := vreg(s); ok {
		return c.vec[i]
	}
	var v [16]float32
	a := c.addr(s)
	for l := 0; l < lanes; l++ {
		if mask>>l&1 == 0 {
			continue
		}
		if bcst {
			v[l] = c.mem.load32(a)
		} else {
			v[l] = c.mem.load32(a + 4*l)
		}
	}
	return v
}

// pd and setPD read and write float64 lane i of a vector register.
func pd(v [16]float32, i int) float64 {
	return math.Float64frombits(uint64(math.Float32bits(v[2*i])) | uint64(math.Float32bits(v[2*i+1]))<<32)
}

func setPD(v *[16]float32, i int, x float64) {
	b := math.Float64bits(x)
	v[2*i], v[2*i+1] = math.Float32frombits(uint32(b)), math.Float32frombits(uint32(b>>32))
}

// run executes the TEXT block body until RET and reports a fault or an
// unknown instruction.
func (c *simCPU) run(body []string) error {
	labels := map[string]int{}
	for i, line := range body {
		if strings.HasSuffix(line, ":") {
			labels[strings.TrimSuffix(line, ":")] = i
		}
	}
	for pc, steps := 0, 0; pc < len(body); pc++ {
		if steps++; steps > 1e7 {
			return fmt.Errorf("simulator: runaway loop")
		}
		if c.mem.fault != "" {
			return fmt.Errorf("line %q: %s", body[pc-1], c.mem.fault)
		}
		line := body[pc]
		if strings.HasSuffix(line, ":") {
			continue
		}
		fields := strings.Fields(line)
		op := fields[0]
		var args []string
		if len(fields) > 1 {
			args = strings.Split(strings.Join(fields[1:], ""), ",")
		}
		bcst := strings.HasSuffix(op, ".BCST")
		op = strings.TrimSuffix(op, ".BCST")
		setZ := func(v int64) { c.zero = v == 0 }
		jump := func(cond bool) {
			if cond {
				pc = labels[args[0]]
			}
		}
		switch op {
		case "RET":
			if c.mem.fault != "" {
				return fmt.Errorf("%s", c.mem.fault)
			}
			return nil
		case "VZEROUPPER", "PREFETCHT0":
		case "MOVQ":
			c.gp[args[1]] = c.val(args[0], 8)
		case "MOVL":
			c.gp[args[1]] = c.val(args[0], 4) & 0xffffffff
		case "LEAQ":
			c.gp[args[1]] = int64(c.addr(args[0]))
		case "SHLQ":
			c.gp[args[1]] <<= c.val(args[0], 8)
		case "SHRQ":
			c.gp[args[1]] = int64(uint64(c.gp[args[1]]) >> c.val(args[0], 8))
			setZ(c.gp[args[1]])
		case "SHRL":
			c.gp[args[1]] = int64(uint32(c.gp[args[1]]) >> c.val(args[0], 8))
			setZ(c.gp[args[1]])
		case "ADDQ":
			c.gp[args[1]] += c.val(args[0], 8)
			setZ(c.gp[args[1]])
		case "ADDL":
			c.gp[args[1]] = int64(uint32(c.gp[args[1]] + c.val(args[0], 4)))
			setZ(c.gp[args[1]])
		case "ANDQ":
			c.gp[args[1]] &= c.val(args[0], 8)
			setZ(c.gp[args[1]])
		case "SUBQ":
			c.gp[args[1]] -= c.val(args[0], 8)
			setZ(c.gp[args[1]])
		case "XORQ":
			c.gp[args[1]] ^= c.val(args[0], 8)
			setZ(c.gp[args[1]])
		case "CMPQ":
			// Go's operand order: CMPQ a, b sets the flags of a − b.
			a, b := c.val(args[0], 8), c.val(args[1], 8)
			c.zero, c.below = a == b, uint64(a) < uint64(b)
		case "JB", "JCS":
			jump(c.below)
		case "JAE", "JCC":
			jump(!c.below)
		case "DECQ":
			c.gp[args[0]]--
			setZ(c.gp[args[0]])
		case "TESTQ":
			setZ(c.gp[args[0]] & c.gp[args[1]])
		case "JZ", "JE":
			jump(c.zero)
		case "JNZ", "JNE":
			jump(!c.zero)
		case "JMP":
			jump(true)
		case "KMOVW":
			k, _ := strconv.Atoi(strings.TrimPrefix(args[1], "K"))
			if strings.Contains(args[0], "(") {
				a := c.addr(args[0])
				if c.mem.check(a, 2, false) {
					c.k[k] = binary.LittleEndian.Uint16(c.mem.data[a:])
				}
				break
			}
			c.k[k] = uint16(c.gp[args[0]])
		case "VPXORD", "VXORPS":
			d, _, _ := vreg(args[2])
			if args[0] != args[1] || args[1] != args[2] {
				return fmt.Errorf("simulator: only zeroing %s is known: %q", op, line)
			}
			c.vec[d] = [16]float32{}
		case "VBROADCASTSS":
			d, lanes, _ := vreg(args[1])
			c.vec[d] = c.vecIn(args[0], lanes, true, 1<<lanes-1)
		case "VMULPS", "VADDPS", "VSUBPS":
			// src2, src1, dst: dst = src1 op src2.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				switch op {
				case "VMULPS":
					c.vec[d][l] = y[l] * x[l]
				case "VADDPS":
					c.vec[d][l] = y[l] + x[l]
				default:
					c.vec[d][l] = y[l] - x[l]
				}
			}
		case "VMAXPS":
			// src2, src1, dst: dst = src1 > src2 ? src1 : src2 (src2 on NaN and ±0).
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				c.vec[d][l] = x[l]
				if y[l] > x[l] {
					c.vec[d][l] = y[l]
				}
			}
		case "VANDPS":
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				c.vec[d][l] = math.Float32frombits(math.Float32bits(x[l]) & math.Float32bits(y[l]))
			}
		case "VCMPPS":
			// $pred, src2, src1, dst: only greater-than, ordered, quiet.
			if args[0] != "$0x1e" {
				return fmt.Errorf("simulator: only VCMPPS $0x1e is known: %q", line)
			}
			_, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[1], lanes, false, 0xffff), c.vecIn(args[2], lanes, false, 0xffff)
			if strings.HasPrefix(args[3], "K") {
				k, _ := strconv.Atoi(strings.TrimPrefix(args[3], "K"))
				c.k[k] = 0
				for l := 0; l < lanes; l++ {
					if y[l] > x[l] {
						c.k[k] |= 1 << l
					}
				}
				break
			}
			d, _, _ := vreg(args[3])
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				if y[l] > x[l] {
					c.vec[d][l] = math.Float32frombits(0xffffffff)
				}
			}
		case "VMOVAPS.Z":
			// src, K, dst: the lanes of K copied, the others zeroed.
			s, lanes, _ := vreg(args[0])
			d, _, _ := vreg(args[2])
			k, _ := strconv.Atoi(strings.TrimPrefix(args[1], "K"))
			v := c.vec[s]
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				if c.k[k]>>l&1 != 0 {
					c.vec[d][l] = v[l]
				}
			}
		case "VFMADD213PS":
			// c, b, a: a = b·a + c, rounded once.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			for l := 0; l < lanes; l++ {
				c.vec[d][l] = fma32(y[l], c.vec[d][l], x[l])
			}
		case "VMINPS", "VDIVPS":
			// src2, src1, dst: dst = src1 < src2 ? src1 : src2 (src2 on NaN), or src1 / src2.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				switch {
				case op == "VDIVPS":
					c.vec[d][l] = y[l] / x[l]
				case y[l] < x[l]:
					c.vec[d][l] = y[l]
				default:
					c.vec[d][l] = x[l]
				}
			}
		case "VFNMADD231PS", "VFMSUB231PS":
			// a, b, acc: acc = −(a·b) + acc, or a·b − acc, rounded once.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			for l := 0; l < lanes; l++ {
				if op == "VFNMADD231PS" {
					c.vec[d][l] = fma32(-x[l], y[l], c.vec[d][l])
				} else {
					c.vec[d][l] = fma32(x[l], y[l], -c.vec[d][l])
				}
			}
		case "VPADDD", "VPSUBD":
			// src2, src1, dst on int32 lanes, wrapping.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				a, b := int32(math.Float32bits(y[l])), int32(math.Float32bits(x[l]))
				r := a + b
				if op == "VPSUBD" {
					r = a - b
				}
				c.vec[d][l] = math.Float32frombits(uint32(r))
			}
		case "VPSLLD", "VPSRAD":
			// $n, src, dst on int32 lanes.
			n := c.val(args[0], 8)
			d, lanes, _ := vreg(args[2])
			x := c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				v := int32(math.Float32bits(x[l]))
				if op == "VPSLLD" {
					v = int32(uint32(v) << n)
				} else {
					v >>= n
				}
				c.vec[d][l] = math.Float32frombits(uint32(v))
			}
		case "VCVTPS2DQ", "VCVTDQ2PS":
			d, lanes, _ := vreg(args[1])
			x := c.vecIn(args[0], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				if op == "VCVTDQ2PS" {
					c.vec[d][l] = float32(int32(math.Float32bits(x[l])))
					continue
				}
				// Round to nearest even; NaN and out of range give 0x80000000.
				r, bits := math.RoundToEven(float64(x[l])), uint32(0x80000000)
				if r >= math.MinInt32 && r <= math.MaxInt32 {
					bits = uint32(int32(r))
				}
				c.vec[d][l] = math.Float32frombits(bits)
			}
		case "VPMOVD2M":
			_, lanes, _ := vreg(args[0])
			k, _ := strconv.Atoi(strings.TrimPrefix(args[1], "K"))
			x := c.vecIn(args[0], lanes, false, 0xffff)
			c.k[k] = 0
			for l := 0; l < lanes; l++ {
				if math.Signbit(float64(x[l])) {
					c.k[k] |= 1 << l
				}
			}
		case "VBLENDMPS":
			// a, b, K, dst: dst = K ? a : b.
			d, lanes, _ := vreg(args[3])
			k, _ := strconv.Atoi(strings.TrimPrefix(args[2], "K"))
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				c.vec[d][l] = y[l]
				if c.k[k]>>l&1 != 0 {
					c.vec[d][l] = x[l]
				}
			}
		case "VBLENDVPS":
			// mask, a, b, dst: dst = sign(mask) ? a : b.
			d, lanes, _ := vreg(args[3])
			m, x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff), c.vecIn(args[2], lanes, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l++ {
				c.vec[d][l] = y[l]
				if math.Signbit(float64(m[l])) {
					c.vec[d][l] = x[l]
				}
			}
		case "VMOVAPS":
			s, lanes, ok := vreg(args[0])
			d, _, ok2 := vreg(args[1])
			if !ok || !ok2 {
				return fmt.Errorf("simulator: only register VMOVAPS is known: %q", line)
			}
			v := c.vec[s]
			c.vec[d] = [16]float32{}
			copy(c.vec[d][:lanes], v[:lanes])
		case "VEXTRACTF128", "VEXTRACTF32X4", "VEXTRACTF32X8", "VEXTRACTF64X4":
			// $i, src, dst: part i of src, as wide as dst.
			i := int(c.val(args[0], 8))
			s, _, _ := vreg(args[1])
			d, lanes, _ := vreg(args[2])
			v := c.vec[s]
			c.vec[d] = [16]float32{}
			copy(c.vec[d][:lanes], v[i*lanes:(i+1)*lanes])
		case "VMOVHLPS":
			// a, b, dst: dst = a's high half, then b's high half.
			a, _, _ := vreg(args[0])
			b, _, _ := vreg(args[1])
			d, _, _ := vreg(args[2])
			x, y := c.vec[a], c.vec[b]
			c.vec[d] = [16]float32{x[2], x[3], y[2], y[3]}
		case "VMOVSHDUP":
			s, lanes, _ := vreg(args[0])
			d, _, _ := vreg(args[1])
			v := c.vec[s]
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes; l += 2 {
				c.vec[d][l], c.vec[d][l+1] = v[l+1], v[l+1]
			}
		case "VMAXSS":
			// src2, src1, dst on the low lane; the rest from src1.
			d, _, _ := vreg(args[2])
			x, y := c.vecIn(args[0], 1, false, 1), c.vecIn(args[1], 4, false, 0xf)
			r := x[0]
			if y[0] > x[0] {
				r = y[0]
			}
			c.vec[d] = [16]float32{r, y[1], y[2], y[3]}
		case "MOVSS":
			// Only the store of a result to the frame.
			s, _, ok := vreg(args[0])
			if !ok {
				return fmt.Errorf("simulator: only MOVSS stores are known: %q", line)
			}
			c.mem.store32(c.addr(args[1]), c.vec[s][0])
		case "VCVTPS2PD":
			// src (register or memory), dst: the first lanes/2 floats widened.
			d, lanes, _ := vreg(args[1])
			x := c.vecIn(args[0], lanes/2, false, 0xffff)
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes/2; l++ {
				setPD(&c.vec[d], l, float64(x[l]))
			}
		case "VADDPD", "VFMADD231PD":
			// src2, src1, dst: dst = src1 + src2, or dst += src2·src1 rounded once.
			d, lanes, _ := vreg(args[2])
			x, y := c.vecIn(args[0], lanes, false, 0xffff), c.vecIn(args[1], lanes, false, 0xffff)
			v := c.vec[d]
			c.vec[d] = [16]float32{}
			for l := 0; l < lanes/2; l++ {
				r := pd(y, l) + pd(x, l)
				if op == "VFMADD231PD" {
					r = math.FMA(pd(x, l), pd(y, l), pd(v, l))
				}
				setPD(&c.vec[d], l, r)
			}
		case "VADDSD":
			d, _, _ := vreg(args[2])
			x, y := c.vecIn(args[0], 2, false, 3), c.vecIn(args[1], 4, false, 0xf)
			c.vec[d] = [16]float32{}
			setPD(&c.vec[d], 0, pd(y, 0)+pd(x, 0))
			setPD(&c.vec[d], 1, pd(y, 1))
		case "VPERMILPD":
			// $imm, src, dst on one 128-bit lane: element i from bit i of imm.
			imm := c.val(args[0], 8)
			s, _, _ := vreg(args[1])
			d, _, _ := vreg(args[2])
			v := c.vec[s]
			c.vec[d] = [16]float32{}
			setPD(&c.vec[d], 0, pd(v, int(imm&1)))
			setPD(&c.vec[d], 1, pd(v, int(imm>>1&1)))
		case "VCVTSD2SS":
			d, _, _ := vreg(args[2])
			x, y := c.vecIn(args[0], 2, false, 3), c.vecIn(args[1], 4, false, 0xf)
			c.vec[d] = [16]float32{float32(pd(x, 0)), y[1], y[2], y[3]}
		case "VADDSS":
			// src2, src1, dst: the low lane is src1 + src2, the rest src1's.
			d, _, _ := vreg(args[2])
			x, y := c.vecIn(args[0], 1, false, 1), c.vecIn(args[1], 4, false, 0xf)
			c.vec[d] = [16]float32{y[0] + x[0], y[1], y[2], y[3]}
		case "VMOVSS":
			if d, _, ok := vreg(args[1]); ok {
				if _, _, ok := vreg(args[0]); ok {
					return fmt.Errorf("simulator: register VMOVSS is not known: %q", line)
				}
				c.vec[d] = [16]float32{c.mem.load32(c.addr(args[0]))}
				break
			}
			s, _, _ := vreg(args[0])
			c.mem.store32(c.addr(args[1]), c.vec[s][0])
		case "VMOVDQU":
			d, lanes, ok := vreg(args[1])
			if !ok {
				return fmt.Errorf("simulator: only loads of VMOVDQU are known: %q", line)
			}
			c.vec[d] = c.vecIn(args[0], lanes, false, 1<<lanes-1)
		case "VMOVUPS.Z":
			// mem, K, dst: the lanes of K loaded, the others zeroed.
			d, lanes, _ := vreg(args[2])
			k, _ := strconv.Atoi(strings.TrimPrefix(args[1], "K"))
			c.vec[d] = c.vecIn(args[0], lanes, false, c.k[k])
		case "VFMADD231PS":
			// a, b, [K,] acc: acc += a*b on the lanes of K.
			acc := args[len(args)-1]
			d, lanes, _ := vreg(acc)
			mask := uint16(1<<lanes - 1)
			if len(args) == 4 {
				k, _ := strconv.Atoi(strings.TrimPrefix(args[2], "K"))
				mask = c.k[k]
			}
			x, y := c.vecIn(args[0], lanes, bcst, mask), c.vecIn(args[1], lanes, false, mask)
			for l := 0; l < lanes; l++ {
				if mask>>l&1 != 0 {
					c.vec[d][l] = fma32(x[l], y[l], c.vec[d][l])
				}
			}
		case "VMOVUPS":
			if d, lanes, ok := vreg(args[len(args)-1]); ok {
				if len(args) != 2 {
					return fmt.Errorf("simulator: masked VMOVUPS loads are not known: %q", line)
				}
				c.vec[d] = c.vecIn(args[0], lanes, false, 1<<lanes-1)
				break
			}
			s, lanes, _ := vreg(args[0])
			mask := uint16(1<<lanes - 1)
			if len(args) == 3 {
				k, _ := strconv.Atoi(strings.TrimPrefix(args[1], "K"))
				mask = c.k[k]
			}
			a := c.addr(args[len(args)-1])
			for l := 0; l < lanes; l++ {
				if mask>>l&1 != 0 {
					c.mem.store32(a+4*l, c.vec[s][l])
				}
			}
		case "VMASKMOVPS":
			// mem, mask, dst (load) or src, mask, mem (store): sign bits select.
			mi, lanes, _ := vreg(args[1])
			var mask uint16
			for l := 0; l < lanes; l++ {
				if math.Signbit(float64(c.vec[mi][l])) {
					mask |= 1 << l
				}
			}
			if d, _, ok := vreg(args[2]); ok {
				c.vec[d] = c.vecIn(args[0], lanes, false, mask)
				break
			}
			s, _, _ := vreg(args[0])
			a := c.addr(args[2])
			for l := 0; l < lanes; l++ {
				if mask>>l&1 != 0 {
					c.mem.store32(a+4*l, c.vec[s][l])
				}
			}
		default:
			return fmt.Errorf("simulator: unknown instruction %q", line)
		}
	}
	return fmt.Errorf("simulator: ran off the end")
}

// simKernel runs one generated micro-kernel on the simulator and returns C.
// A nil maskp means an AVX-512 kernel, which takes the uint32 column mask.
func simKernel(body []string, k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, nr int, avx2 bool) ([]float32, error) {
	mem := &simMem{}
	aAddr := mem.alloc(a, 1)
	bAddr := mem.alloc(b, 1)
	cAddr := mem.alloc(c, 2)
	if beta == 0 {
		mem.noRd = [2]int{cAddr, cAddr + 4*len(c)}
	}
	var maskArg int64
	if avx2 {
		if nr < 16 {
			m := make([]float32, 16)
			for j := 0; j < nr; j++ {
				m[j] = float32(math.Copysign(1, -1))
			}
			maskArg = int64(mem.alloc(m, 1))
		}
	} else {
		maskArg = int64(uint32(1<<nr - 1))
	}
	// The frame: k, a, b, ldb, c, ldc, alpha|beta, mask, pf, pfstride.
	frame := make([]byte, 0, 64)
	for _, v := range []int64{int64(k), int64(aAddr), int64(bAddr), int64(ldb), int64(cAddr), int64(ldc)} {
		frame = binary.LittleEndian.AppendUint64(frame, uint64(v))
	}
	frame = binary.LittleEndian.AppendUint32(frame, math.Float32bits(alpha))
	frame = binary.LittleEndian.AppendUint32(frame, math.Float32bits(beta))
	frame = binary.LittleEndian.AppendUint64(frame, uint64(maskArg))
	frame = binary.LittleEndian.AppendUint64(frame, uint64(bAddr)) // pf: prefetches never fault
	frame = binary.LittleEndian.AppendUint64(frame, 64)            // pfstride
	if err := simCall(mem, body, frame); err != nil {
		return nil, err
	}
	return mem.floats(cAddr, len(c)), nil
}

func TestSgemmKernelsSimulated(t *testing.T) {
	funcs := asmFuncs(t, "sgemm_amd64.s")
	rng := rand.New(rand.NewPCG(15, 16))
	type kernel struct {
		mr, nr int
		avx2   bool
	}
	var ks []kernel
	for mr := 1; mr <= 12; mr++ {
		ks = append(ks, kernel{mr, 32, false})
	}
	for mr := 1; mr <= 6; mr++ {
		ks = append(ks, kernel{mr, 16, true})
	}
	for _, kn := range ks {
		name := fmt.Sprintf("sgemm%dx%dAVX512", kn.mr, kn.nr)
		if kn.avx2 {
			name = fmt.Sprintf("sgemm%dx%dAVX2", kn.mr, kn.nr)
		}
		body, ok := funcs[name]
		if !ok {
			t.Fatalf("%s is missing from sgemm_amd64.s", name)
		}
		for _, k := range []int{1, 4, 5, 11} {
			for _, nr := range []int{kn.nr, kn.nr - 1, kn.nr/2 + 1, kn.nr / 2, 3, 1} {
				for _, beta := range []float32{0, 1.5} {
					t.Run(fmt.Sprintf("%s/k%d/nr%d/beta%g", name, k, nr, beta), func(t *testing.T) {
						ldb, ldc := kn.nr+3, nr+2
						a := make([]float32, k*kn.mr)
						b := make([]float32, (k-1)*ldb+kn.nr)
						c := make([]float32, (kn.mr-1)*ldc+nr)
						for _, x := range [][]float32{a, b, c} {
							for i := range x {
								x[i] = float32(rng.IntN(17) - 8)
							}
						}
						const alpha = 0.5
						got, err := simKernel(body, k, a, b, ldb, c, ldc, alpha, beta, nr, kn.avx2)
						if err != nil {
							t.Fatal(err)
						}
						for i := 0; i < kn.mr; i++ {
							for j := 0; j < ldc && i*ldc+j < len(c); j++ {
								want := c[i*ldc+j]
								if j < nr {
									var acc float32
									for p := 0; p < k; p++ {
										acc += a[p*kn.mr+i] * b[p*ldb+j]
									}
									want = alpha*acc + beta*want
								}
								if g := got[i*ldc+j]; g != want {
									t.Fatalf("C[%d][%d]: got %v, want %v", i, j, g, want)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestAVX2KernelsUseVEXRegisters checks that the register allocator kept
// the AVX2 functions to the 16 registers VEX can encode.
func TestAVX2KernelsUseVEXRegisters(t *testing.T) {
	high := regexp.MustCompile(`\b[XYZ](1[6-9]|2\d|3[01])\b|\bZ\d+\b|\bK\d\b`)
	for name, body := range asmFuncs(t, "sgemm_amd64.s") {
		if strings.HasSuffix(name, "AVX512") {
			continue
		}
		for _, line := range body {
			if high.MatchString(line) {
				t.Errorf("%s: %q needs AVX-512", name, line)
			}
		}
	}
}

// TestSgemmAVX512DriverSimulated runs the blocked driver with the simulated
// AVX-512 kernels against gonum, on shapes that need every tile height,
// column tails and several KC and MC blocks.
func TestSgemmAVX512DriverSimulated(t *testing.T) {
	funcs := asmFuncs(t, "sgemm_amd64.s")
	kern := &sgemmKernel{isa: AVX512, mr: 12, nr: 32}
	var fault error
	kern.tile = func(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, _ *float32, _ int) {
		body := funcs[fmt.Sprintf("sgemm%dx32AVX512", mr)]
		cs := c[:(mr-1)*ldc+nr]
		got, err := simKernel(body, kc, a[:kc*mr], b[:(kc-1)*ldb+32], ldb, cs, ldc, alpha, beta, nr, false)
		if err != nil {
			if fault == nil {
				fault = fmt.Errorf("%dx32 kernel, k=%d nr=%d: %v", mr, kc, nr, err)
			}
			return
		}
		copy(cs, got)
	}
	rng := rand.New(rand.NewPCG(19, 20))
	for _, tc := range []sgemmCase{
		{m: 50, n: 45, k: 9, alpha: 1, beta: 0, pad: 1},
		{transA: true, transB: true, m: 13, n: 70, k: 20, alpha: -0.5, beta: 1.5},
		{transB: true, m: 7, n: 33, k: 3, alpha: 2, beta: 1, pad: 2},
	} {
		for _, packed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/packed=%v", tc, packed), func(t *testing.T) {
				fault = nil
				a, b, c := tc.operands(rng)
				want, tol := tc.want(a, b, c)
				j := sgemmJob{
					kern: kern, blk: Blocking{KC: 8, MC: 24},
					transA: tc.transA, transB: tc.transB, m: tc.m, n: tc.n, k: tc.k,
					alpha: tc.alpha, beta: tc.beta,
					a: a.data(), lda: a.ld, b: b.data(), ldb: b.ld, c: c.data(), ldc: c.ld,
				}
				if packed {
					j.packed = PackB(tc.transB, tc.k, tc.n, b.data(), b.ld)
				}
				withThreads(1, j.run)
				if fault != nil {
					t.Fatal(fault)
				}
				compare(t, c, want, tol)
			})
		}
	}
}

package main

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// This file is a tiny typed emitter of Go arm64 assembly: the few
// instructions the kernels need, each a method whose argument types say
// which operands it takes, so that a wrong operand is a compile error of
// the generator rather than a wrong kernel. The instructions the Go
// assembler does not know, FMLA and FMUL by element, are encoded here and
// emitted as WORDs with the mnemonic beside them.

// Reg is a general-purpose register, R0…R30. R18 (the platform register),
// R26 (closure context), R27 (the assembler's temporary), R28 (g), R29 and
// R30 are not for kernels.
type Reg uint8

func (r Reg) String() string { return fmt.Sprintf("R%d", r) }

// VReg is a SIMD register V0…V31, used as four float32 lanes.
type VReg uint8

func (v VReg) s4() string  { return fmt.Sprintf("V%d.S4", v) }
func (v VReg) b16() string { return fmt.Sprintf("V%d.B16", v) }
func (v VReg) f() string   { return fmt.Sprintf("F%d", v) }

// Lane is float32 lane I (0…3) of register V.
type Lane struct {
	V VReg
	I int
}

// Mem is the address Base+Off, Off in bytes.
type Mem struct {
	Base Reg
	Off  int
}

func (m Mem) String() string {
	if m.Off == 0 {
		return fmt.Sprintf("(%v)", m.Base)
	}
	return fmt.Sprintf("%d(%v)", m.Off, m.Base)
}

// Label names a branch target inside one function.
type Label string

// Prefetch is a PRFM operation.
type Prefetch string

// The prefetch operations the kernels use.
const (
	PLDL1KEEP Prefetch = "PLDL1KEEP" // for a load, into L1
	PSTL1KEEP Prefetch = "PSTL1KEEP" // for a store, into L1
)

// Param is an argument of an assembly function: its name and Go type
// (int, float32 or a pointer).
type Param struct{ Name, Type string }

// size returns the bytes the argument takes in the ABI0 frame.
func (p Param) size() int {
	if p.Type == "float32" {
		return 4
	}
	return 8
}

// File is a generated assembly file and its Go declarations.
type File struct {
	funcs []*Func
}

// Func is one assembly function being emitted.
type Func struct {
	name     string
	doc      []string
	params   []Param
	offs     map[string]int
	argSize  int
	noescape bool
	body     bytes.Buffer
}

// Func starts a function with the given parameters and doc comment (one
// string per line, the first starting with the name).
func (f *File) Func(name string, noescape bool, params []Param, doc ...string) *Func {
	fn := &Func{name: name, doc: doc, params: params, offs: map[string]int{}, noescape: noescape}
	off := 0
	for _, p := range params {
		s := p.size()
		off = (off + s - 1) / s * s
		fn.offs[p.Name] = off
		off += s
	}
	fn.argSize = (off + 7) / 8 * 8
	f.funcs = append(f.funcs, fn)
	return fn
}

func (fn *Func) emit(format string, args ...any) {
	fmt.Fprintf(&fn.body, "\t"+format+"\n", args...)
}

// arg returns the frame operand of the named parameter.
func (fn *Func) arg(name string) string {
	off, ok := fn.offs[name]
	if !ok {
		panic(fmt.Sprintf("%s: no parameter %s", fn.name, name))
	}
	return fmt.Sprintf("%s+%d(FP)", name, off)
}

// Comment emits a comment line.
func (fn *Func) Comment(s string) { fmt.Fprintf(&fn.body, "\n\t// %s\n", s) }

// Label places l here.
func (fn *Func) Label(l Label) { fmt.Fprintf(&fn.body, "\n%s:\n", l) }

// LoadArg loads the 64-bit parameter name into r (MOVD).
func (fn *Func) LoadArg(name string, r Reg) { fn.emit("MOVD %s, %v", fn.arg(name), r) }

// LoadArgW loads the 32-bit parameter name into r, zero-extended (MOVWU).
func (fn *Func) LoadArgW(name string, r Reg) { fn.emit("MOVWU %s, %v", fn.arg(name), r) }

// LoadArgS loads the float32 parameter name into lane 0 of v (FMOVS).
func (fn *Func) LoadArgS(name string, v VReg) { fn.emit("FMOVS %s, %s", fn.arg(name), v.f()) }

// LSL sets r <<= s.
func (fn *Func) LSL(s int, r Reg) { fn.emit("LSL $%d, %v", s, r) }

// LSR sets dst = src >> s.
func (fn *Func) LSR(s int, src, dst Reg) { fn.emit("LSR $%d, %v, %v", s, src, dst) }

// LSLW sets the low 32 bits of r <<= s, clearing the high ones.
func (fn *Func) LSLW(s int, r Reg) { fn.emit("LSLW $%d, %v", s, r) }

// AND sets r &= imm.
func (fn *Func) AND(imm int, r Reg) { fn.emit("AND $%d, %v", imm, r) }

// ADD sets dst += src.
func (fn *Func) ADD(src, dst Reg) { fn.emit("ADD %v, %v", src, dst) }

// ADDI sets dst += imm.
func (fn *Func) ADDI(imm int, dst Reg) { fn.emit("ADD $%d, %v", imm, dst) }

// MOVD sets dst = src.
func (fn *Func) MOVD(src, dst Reg) { fn.emit("MOVD %v, %v", src, dst) }

// SUBS1 sets r--, setting the flags.
func (fn *Func) SUBS1(r Reg) { fn.emit("SUBS $1, %v", r) }

// CBZ branches to l when r is zero.
func (fn *Func) CBZ(r Reg, l Label) { fn.emit("CBZ %v, %s", r, l) }

// CBZW branches to l when the low 32 bits of r are zero.
func (fn *Func) CBZW(r Reg, l Label) { fn.emit("CBZW %v, %s", r, l) }

// BNE branches to l unless the last SUBS gave zero.
func (fn *Func) BNE(l Label) { fn.emit("BNE %s", l) }

// RET returns.
func (fn *Func) RET() { fn.emit("RET") }

// PRFM prefetches the cache line at m.
func (fn *Func) PRFM(m Mem, op Prefetch) { fn.emit("PRFM %v, %s", m, op) }

// VZero sets all lanes of v to +0.
func (fn *Func) VZero(v VReg) { fn.emit("VEOR %s, %s, %s", v.b16(), v.b16(), v.b16()) }

// Load loads n floats (1, 2 or 4) from m into the low lanes of v, clearing
// the others (FMOVS, FMOVD, FMOVQ).
func (fn *Func) Load(m Mem, v VReg, n int) {
	op := map[int]string{1: "FMOVS", 2: "FMOVD", 4: "FMOVQ"}[n]
	if op == "" {
		panic(fmt.Sprintf("Load of %d floats", n))
	}
	fn.emit("%s %v, %s", op, m, v.f())
}

// list returns the register list of consecutive registers vs.
func list(vs []VReg) string {
	if len(vs) == 0 || len(vs) > 4 {
		panic(fmt.Sprintf("register list of %d registers", len(vs)))
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		if v != vs[0]+VReg(i) {
			panic(fmt.Sprintf("register list %v is not consecutive", vs))
		}
		s[i] = v.s4()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// VLD1 loads 4*len(vs) floats from (base) into the consecutive registers vs.
func (fn *Func) VLD1(base Reg, vs ...VReg) { fn.emit("VLD1 (%v), %s", base, list(vs)) }

// VLD1P loads like VLD1, then adds inc to base.
func (fn *Func) VLD1P(base, inc Reg, vs ...VReg) {
	fn.emit("VLD1.P (%v)(%v), %s", base, inc, list(vs))
}

// VST1P stores the consecutive registers vs to (base), then adds inc to base.
func (fn *Func) VST1P(vs []VReg, base, inc Reg) {
	fn.emit("VST1.P %s, (%v)(%v)", list(vs), base, inc)
}

// VFMLA sets d += n*m lane by lane, each a fused multiply-add.
func (fn *Func) VFMLA(m, n, d VReg) { fn.emit("VFMLA %s, %s, %s", m.s4(), n.s4(), d.s4()) }

// FMLAElem sets d += n*m.V[m.I] lane by lane, each a fused multiply-add
// (FMLA by element).
func (fn *Func) FMLAElem(d, n VReg, m Lane) {
	fn.emit("WORD $%#08x // FMLA V%d.4S, V%d.4S, V%d.S[%d]", byElem(opFMLA, d, n, m), d, n, m.V, m.I)
}

// FMULElem sets d = n*m.V[m.I] lane by lane (FMUL by element).
func (fn *Func) FMULElem(d, n VReg, m Lane) {
	fn.emit("WORD $%#08x // FMUL V%d.4S, V%d.4S, V%d.S[%d]", byElem(opFMUL, d, n, m), d, n, m.V, m.I)
}

// The opcodes of the single-precision, four-lane (Q=1) "by element"
// instructions: 0 Q 0 01111 1 sz L M Rm opcode H 0 Rn Rd, sz = 0.
const (
	opFMLA = 0x4f801000
	opFMUL = 0x4f809000
)

// byElem encodes a by-element instruction: lane I = H:L, register m = M:Rm.
func byElem(op uint32, d, n VReg, m Lane) uint32 {
	if d > 31 || n > 31 || m.V > 31 || m.I < 0 || m.I > 3 {
		panic(fmt.Sprintf("bad operands V%d, V%d, V%d.S[%d]", d, n, m.V, m.I))
	}
	i := uint32(m.I)
	return op | (i&1)<<21 | uint32(m.V)<<16 | (i>>1)<<11 | uint32(n)<<5 | uint32(d)
}

// asm returns the assembly file: header, build constraint and functions.
func (f *File) asm(header, constraint string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\n//go:build %s\n\n#include \"textflag.h\"\n", header, constraint)
	for _, fn := range f.funcs {
		sig := make([]string, len(fn.params))
		for i, p := range fn.params {
			sig[i] = p.Name + " " + p.Type
		}
		fmt.Fprintf(&b, "\n// func %s(%s)\nTEXT ·%s(SB), NOSPLIT|NOFRAME, $0-%d\n", fn.name, strings.Join(sig, ", "), fn.name, fn.argSize)
		b.Write(fn.body.Bytes())
	}
	return b.Bytes()
}

// stubs returns the Go declarations of the functions, gofmt'ed.
func (f *File) stubs(header, constraint, pkg string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\n//go:build %s\n\npackage %s\n", header, constraint, pkg)
	for _, fn := range f.funcs {
		b.WriteString("\n")
		for _, line := range fn.doc {
			fmt.Fprintf(&b, "// %s\n", line)
		}
		if fn.noescape {
			b.WriteString("//\n//go:noescape\n")
		}
		sig := make([]string, len(fn.params))
		for i, p := range fn.params {
			sig[i] = p.Name + " " + p.Type
		}
		fmt.Fprintf(&b, "func %s(%s)\n", fn.name, strings.Join(sig, ", "))
	}
	return format.Source(b.Bytes())
}

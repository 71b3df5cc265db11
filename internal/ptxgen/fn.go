package ptxgen

import (
	"fmt"
	"strings"
)

// param is a kernel parameter: its name and PTX type.
type param struct{ name, typ string }

// fn accumulates the body of one kernel and numbers its registers.
type fn struct {
	name   string
	params []param
	body   strings.Builder
	regs   map[string]int // registers used, by prefix
}

// Register prefixes and their types.
var regTypes = []struct{ prefix, typ string }{
	{"p", ".pred"}, {"r", ".b32"}, {"f", ".f32"}, {"rd", ".b64"}, {"fd", ".f64"},
}

func newFn(name string, params []param) *fn {
	return &fn{name: name, params: params, regs: map[string]int{}}
}

func (e *fn) reg(prefix string) string {
	n := e.regs[prefix]
	e.regs[prefix]++
	return fmt.Sprintf("%%%s%d", prefix, n)
}

func (e *fn) pred() string { return e.reg("p") }
func (e *fn) r32() string  { return e.reg("r") }
func (e *fn) f32() string  { return e.reg("f") }
func (e *fn) r64() string  { return e.reg("rd") }
func (e *fn) f64() string  { return e.reg("fd") }

// op emits one instruction.
func (e *fn) op(format string, args ...any) {
	e.body.WriteString("\t")
	fmt.Fprintf(&e.body, format, args...)
	e.body.WriteString(";\n")
}

// label emits a label.
func (e *fn) label(l string) { fmt.Fprintf(&e.body, "%s:\n", l) }

// paramName is the PTX name of parameter i.
func (e *fn) paramName(i int) string { return fmt.Sprintf("%s_param_%d", e.name, i) }

// load emits the loads of every parameter: a global address (cvta) for
// each .u64, the value for the others. It returns the registers by name.
func (e *fn) load() map[string]string {
	v := map[string]string{}
	for i, p := range e.params {
		switch p.typ {
		case ".u64":
			raw, g := e.r64(), e.r64()
			e.op("ld.param.u64 %s, [%s]", raw, e.paramName(i))
			e.op("cvta.to.global.u64 %s, %s", g, raw)
			v[p.name] = g
		case ".f32":
			r := e.f32()
			e.op("ld.param.f32 %s, [%s]", r, e.paramName(i))
			v[p.name] = r
		case ".u32":
			r := e.r32()
			e.op("ld.param.u32 %s, [%s]", r, e.paramName(i))
			v[p.name] = r
		}
	}
	return v
}

// text returns the kernel: the entry, its parameters, the register
// declarations and the body.
func (e *fn) text(doc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s: %s\n", e.name, doc)
	fmt.Fprintf(&b, ".visible .entry %s(\n", e.name)
	for i, p := range e.params {
		sep := ","
		if i == len(e.params)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "\t.param %s %s%s\n", p.typ, e.paramName(i), sep)
	}
	fmt.Fprintf(&b, ")\n.maxntid %d, 1, 1\n{\n", RowBlock)
	for _, r := range regTypes {
		if n := e.regs[r.prefix]; n > 0 {
			fmt.Fprintf(&b, "\t.reg %s %%%s<%d>;\n", r.typ, r.prefix, n)
		}
	}
	b.WriteString(e.body.String())
	b.WriteString("}\n")
	return b.String()
}

// address returns base + 4*i as a 64-bit register.
func (e *fn) address(base, i string) string {
	off, a := e.r64(), e.r64()
	e.op("mul.wide.u32 %s, %s, 4", off, i)
	e.op("add.s64 %s, %s, %s", a, base, off)
	return a
}

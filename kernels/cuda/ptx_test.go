package cuda

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/ptxgen"
)

// TestPTXIsCurrent regenerates the PTX from the CPU kernels' constants and
// compares it with the committed kernels.ptx.
func TestPTXIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../eltwise_consts.go")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ptxgen.ReadConsts(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ptxgen.Generate(c)); got != ptx {
		t.Fatal("kernels.ptx is stale: run go generate ./kernels/cuda")
	}
}

// TestPTXWellFormed runs the committed PTX through checkPTX and checks that
// its entries and their parameters are those of kernelParams.
func TestPTXWellFormed(t *testing.T) {
	entries, err := checkPTX(ptx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(kernelParams) {
		t.Errorf("%d entries, kernelParams has %d", len(entries), len(kernelParams))
	}
	for name, params := range entries {
		want, ok := kernelParams[name]
		if !ok {
			t.Errorf("entry %s is not in kernelParams", name)
			continue
		}
		if got := strings.Join(params, ", "); got != kindList(want) {
			t.Errorf("%s takes (%s), kernelParams says (%s)", name, got, kindList(want))
		}
	}
}

// TestCheckPTXRejects checks that checkPTX finds the mistakes it is meant
// to find, each made in one line of a good kernel.
func TestCheckPTXRejects(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{"add.rn.f32 %f2, %f0, %f1;", "add.rn.f32 %f2, %f0, %r1;", "operand %r1 of add.rn.f32"},
		{"add.rn.f32 %f2, %f0, %f1;", "add.rn.f32 %f2, %f0, %f9;", "%f9 is not declared"},
		{"add.rn.f32 %f2, %f0, %f1;", "addd.rn.f32 %f2, %f0, %f1;", `unknown opcode "addd"`},
		{"add.rn.f32 %f2, %f0, %f1;", "add.rn.f32 %f2, %f0, %f1", "does not end with ;"},
		{"@%p0 bra $Ldone;", "@%p0 bra $Lnowhere;", "undefined label $Lnowhere"},
		{"[vlp_add_param_3]", "[vlp_add_param_4]", "unknown name vlp_add_param_4"},
		{".address_size 64", ".address_size 32", "header"},
	} {
		bad := strings.Replace(ptx, c.old, c.new, 1)
		if bad == ptx {
			t.Fatalf("%q is not in the PTX", c.old)
		}
		_, err := checkPTX(bad)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replacing %q by %q: %v, want an error with %q", c.old, c.new, err, c.want)
		}
	}
}

// ptxOpcodes are the instructions the generator may write.
var ptxOpcodes = []string{"abs", "add", "bar", "bra", "copysign", "cvt", "cvta", "div", "fma", "ld", "mad",
	"max", "min", "mov", "mul", "neg", "ret", "selp", "setp", "shl", "shr", "sqrt", "st", "sub"}

// regPrefix gives the register prefix of each PTX type.
var regPrefix = map[string]string{
	"f32": "f", "f64": "fd", "u32": "r", "s32": "r", "b32": "r", "u64": "rd", "s64": "rd", "b64": "rd", "pred": "p",
}

var (
	reEntry   = regexp.MustCompile(`^\.visible \.entry (\w+)\($`)
	reParam   = regexp.MustCompile(`^\t\.param (\.u64|\.u32|\.f32) (\w+),?$`)
	reReg     = regexp.MustCompile(`^\t\.reg \.(pred|b32|f32|b64|f64) %([a-z]+)<(\d+)>;$`)
	reLabel   = regexp.MustCompile(`^(\$\w+):$`)
	reInst    = regexp.MustCompile(`^\t(@!?%p\d+ )?([a-z]+)((?:\.[a-z0-9]+)*)(?: (.*))?;$`)
	reShared  = regexp.MustCompile(`^\.shared \.align \d+ \.(f32|f64) (\w+)\[\d+\];$`)
	reRegName = regexp.MustCompile(`^%([a-z]+)(\d+)$`)
	reImm     = regexp.MustCompile(`^(0f[0-9A-F]{8}|0d[0-9A-F]{16}|-?\d+)$`)
	reSpecial = regexp.MustCompile(`^%(tid|ntid|ctaid|nctaid)\.x$`)
)

// checkPTX is a small syntax check of the subset of PTX the generator
// writes: the header, then shared arrays and entries whose every line is a
// declaration, a label, a comment or an instruction of a known opcode whose
// registers are declared and of the instruction's type, whose memory
// operands name a parameter, shared array or 64-bit register, and whose
// branches go to labels of the entry. It returns each entry's parameter
// types.
func checkPTX(src string) (map[string][]string, error) {
	lines := strings.Split(src, "\n")
	var header []string
	for _, l := range lines {
		if strings.HasPrefix(l, ".version") || strings.HasPrefix(l, ".target") || strings.HasPrefix(l, ".address_size") {
			header = append(header, l)
		}
	}
	if want := []string{".version " + ptxgen.Version, ".target " + ptxgen.Target, ".address_size 64"}; !slices.Equal(header, want) {
		return nil, fmt.Errorf("header %q, want %q", header, want)
	}
	shared := map[string]string{}
	entries := map[string][]string{}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := reShared.FindStringSubmatch(l); m != nil {
			shared[m[2]] = m[1]
			continue
		}
		m := reEntry.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := m[1]
		var types, names []string
		for i++; i < len(lines) && lines[i] != ")"; i++ {
			p := reParam.FindStringSubmatch(lines[i])
			if p == nil {
				return nil, fmt.Errorf("%s: bad parameter line %q", name, lines[i])
			}
			types, names = append(types, p[1]), append(names, p[2])
		}
		i++
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i], ".maxntid ") || lines[i+1] != "{" {
			return nil, fmt.Errorf("%s: no .maxntid and body after the parameters", name)
		}
		start := i + 2
		for i = start; i < len(lines) && lines[i] != "}"; i++ {
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s: no closing brace", name)
		}
		if err := checkBody(lines[start:i], names, shared); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		entries[name] = types
	}
	return entries, nil
}

// checkBody checks the lines of one entry's body.
func checkBody(body, params []string, shared map[string]string) error {
	regs := map[string]int{}
	labels := map[string]bool{}
	for _, l := range body {
		if m := reReg.FindStringSubmatch(l); m != nil {
			if regPrefix[m[1]] != m[2] {
				return fmt.Errorf("registers %%%s declared %s", m[2], m[1])
			}
			regs[m[2]], _ = strconv.Atoi(m[3])
		}
		if m := reLabel.FindStringSubmatch(l); m != nil {
			labels[m[1]] = true
		}
	}
	for _, l := range body {
		if reReg.MatchString(l) || reLabel.MatchString(l) || strings.HasPrefix(strings.TrimSpace(l), "//") {
			continue
		}
		if !strings.HasSuffix(l, ";") {
			return fmt.Errorf("line %q does not end with ;", l)
		}
		m := reInst.FindStringSubmatch(l)
		if m == nil {
			return fmt.Errorf("line %q is not an instruction", l)
		}
		guard, op, suffixes, operands := m[1], m[2], strings.Split(strings.TrimPrefix(m[3], "."), "."), splitOperands(m[4])
		if !slices.Contains(ptxOpcodes, op) {
			return fmt.Errorf("unknown opcode %q in %q", op, l)
		}
		if guard != "" {
			if err := checkReg(strings.TrimSpace(strings.TrimLeft(guard, "@!")), "p", regs); err != nil {
				return fmt.Errorf("guard of %q: %w", l, err)
			}
		}
		want := operandPrefixes(op, suffixes, len(operands))
		for k, o := range operands {
			if err := checkOperand(o, want[k], regs, labels, params, shared); err != nil {
				return fmt.Errorf("operand %s of %s: %w", o, op+m[3], err)
			}
		}
	}
	return nil
}

// operandPrefixes returns the register prefix each of the n operands of an
// instruction must have ("" where any operand kind goes, "addr" for a
// memory operand, "label" for a branch target).
func operandPrefixes(op string, suffixes []string, n int) []string {
	typ := regPrefix[suffixes[len(suffixes)-1]]
	want := make([]string, n)
	for k := range want {
		want[k] = typ
	}
	switch {
	case op == "bra":
		want[0] = "label"
	case op == "setp":
		want[0] = "p"
	case op == "selp":
		want[n-1] = "p"
	case op == "cvt":
		want[0] = regPrefix[suffixes[len(suffixes)-2]]
	case op == "mul" && suffixes[0] == "wide":
		want[0] = "rd"
	case op == "ld":
		want[1] = "addr"
	case op == "st":
		want[0] = "addr"
	case op == "mov" && typ == "r":
		want[0], want[1] = "32", "32"
	case op == "mov" && typ == "rd":
		want[1] = ""
	}
	return want
}

// splitOperands splits an operand list at the commas outside brackets.
func splitOperands(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, o := range strings.Split(s, ", ") {
		out = append(out, strings.TrimSpace(o))
	}
	return out
}

// checkOperand checks one operand against the prefix it must have.
func checkOperand(o, want string, regs map[string]int, labels map[string]bool, params []string, shared map[string]string) error {
	switch want {
	case "label":
		if !labels[o] {
			return fmt.Errorf("undefined label %s", o)
		}
		return nil
	case "addr":
		if !strings.HasPrefix(o, "[") || !strings.HasSuffix(o, "]") {
			return fmt.Errorf("not a memory operand")
		}
		a := strings.Trim(o, "[]")
		if base, off, ok := strings.Cut(a, "+"); ok {
			if _, err := strconv.Atoi(off); err != nil {
				return fmt.Errorf("bad offset %q", off)
			}
			a = base
		}
		if slices.Contains(params, a) {
			return nil
		}
		if reRegName.MatchString(a) {
			return checkReg(a, "rd", regs)
		}
		return fmt.Errorf("unknown name %s", a)
	}
	switch {
	case reImm.MatchString(o), reSpecial.MatchString(o):
		return nil
	case shared[o] != "":
		if want != "" {
			return fmt.Errorf("shared array %s where a register goes", o)
		}
		return nil
	case reRegName.MatchString(o):
		return checkReg(o, want, regs)
	}
	return fmt.Errorf("unknown name %s", o)
}

// checkReg checks that the register r is declared and has prefix want
// ("32" for either 32-bit kind, "" for any).
func checkReg(r, want string, regs map[string]int) error {
	m := reRegName.FindStringSubmatch(r)
	if m == nil {
		return fmt.Errorf("%s is not a register", r)
	}
	n, _ := strconv.Atoi(m[2])
	if count, ok := regs[m[1]]; !ok || n >= count {
		return fmt.Errorf("%s is not declared", r)
	}
	switch want {
	case "", m[1]:
		return nil
	case "32":
		if m[1] == "r" || m[1] == "f" {
			return nil
		}
	}
	return fmt.Errorf("%s is not of the instruction's type (%%%s)", r, want)
}

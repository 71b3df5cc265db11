package detmath

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// varying lists package math's functions whose results may differ between
// architectures (assembly on some, fused multiply-adds on others). The
// exact ones (Sqrt, Abs, Floor, Trunc, FMA, Ldexp, Frexp, Mod, …) are fine.
var varying = map[string]bool{
	"Exp": true, "Exp2": true, "Expm1": true, "Log": true, "Log10": true, "Log1p": true, "Log2": true,
	"Pow": true, "Sin": true, "Cos": true, "Tan": true, "Sincos": true, "Tanh": true, "Sinh": true,
	"Cosh": true, "Asin": true, "Acos": true, "Atan": true, "Atan2": true, "Asinh": true, "Acosh": true,
	"Atanh": true, "Erf": true, "Erfc": true, "Erfinv": true, "Erfcinv": true, "Gamma": true,
	"Lgamma": true, "Cbrt": true, "Hypot": true, "J0": true, "J1": true, "Jn": true, "Y0": true,
	"Y1": true, "Yn": true,
}

// reportingOnly lists the functions, by file from the module root, that
// may call them because what they compute is only drawn: the axes of the
// PNG charts.
var reportingOnly = map[string][]string{
	"uda/run/plot.go": {"drawPanel", "ticks"},
}

// mathUse is a use of a varying function of package math.
type mathUse struct {
	pos  token.Pos
	name string // math's function
	fn   string // the enclosing function, "" at package level
}

// mathUses returns the uses of varying functions of package math in f,
// under whatever name f imports it.
func mathUses(f *ast.File) []mathUse {
	local := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"math"` {
			local = "math"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" {
		return nil
	}
	var uses []mathUse
	for _, decl := range f.Decls {
		fn := ""
		if d, ok := decl.(*ast.FuncDecl); ok {
			fn = d.Name.Name
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && varying[sel.Sel.Name] {
				uses = append(uses, mathUse{sel.Pos(), sel.Sel.Name, fn})
			}
			return true
		})
	}
	return uses
}

func TestMathUses(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // "fn:Name"
	}{
		{"none", `package p; import "math"; func f(x float64) float64 { return math.Sqrt(math.Abs(x)) }`, nil},
		{"call", `package p; import "math"; func f(x float64) float64 { return math.Exp(x) + math.Floor(x) }`, []string{"f:Exp"}},
		{"value", `package p; import "math"; var g = math.Tanh`, []string{":Tanh"}},
		{"renamed", `package p; import m "math"; func (T) f(x float64) float64 { s, _ := m.Sincos(x); return s }`, []string{"f:Sincos"}},
		{"not math", `package p; import math "example.com/fastmath"; func f(x float64) float64 { return math.Exp(x) }`, nil},
		{"no import", `package p; func f(math T) float64 { return math.Exp(1) }`, nil},
	}
	for _, tt := range tests {
		f, err := parser.ParseFile(token.NewFileSet(), "p.go", tt.src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, u := range mathUses(f) {
			got = append(got, u.fn+":"+u.name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: uses %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestNoVaryingMath fails on a call of a varying function of package math
// in the module's code (tests, testdata, bench and the generators under _
// folders aside) outside reportingOnly: results must be the same on every
// architecture, so such code uses this package.
func TestNoVaryingMath(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "bench" || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, u := range mathUses(f) {
			if slices.Contains(reportingOnly[rel], u.fn) {
				seen[rel+" "+u.fn] = true
				continue
			}
			t.Errorf("%s: math.%s: use internal/detmath, whose results are the same on every architecture", fset.Position(u.pos), u.name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, fns := range reportingOnly {
		for _, fn := range fns {
			if !seen[file+" "+fn] {
				t.Errorf("reportingOnly lists %s %s, which no longer uses package math's varying functions", file, fn)
			}
		}
	}
}

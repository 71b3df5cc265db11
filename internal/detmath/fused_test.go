package detmath

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fusedChecked lists the packages, from the module root, whose float
// arithmetic must round every product on its own: the data the digit
// domains, the corpus and the augmentations are made of, and the image
// preprocessing. (kernels, tensor and nn keep their own rules.)
var fusedChecked = []string{"./uda/digits", "./uda/augment", "./uda/pretrain", "./vlp"}

// fusable is a floating-point product that a compiler may fuse with a sum
// into one multiply-add (the Go specification allows it, arm64, ppc64le,
// s390x and riscv64 do it), which rounds once where the sum and the
// product round twice.
type fusable struct {
	expr *ast.BinaryExpr
	what string
}

// fusables returns the fusable products of the type-checked files: a
// product not inside an explicit conversion that is
//
//   - an operand of + or − (through parentheses and unary minus), or the
//     right side of += or −=;
//   - assigned to a variable that is then such an operand or the left side
//     of += or −= (the compiler fuses across statements);
//   - returned, where inlining may bring it to a caller's sum.
//
// Products of constants are folded, and float64(a*b) or float32(a*b) is
// never fused: the specification forbids fusing across a conversion.
func fusables(info *types.Info, files []*ast.File) []fusable {
	isFloat := func(e ast.Expr) bool {
		tv, ok := info.Types[e]
		if !ok || tv.Value != nil {
			return false
		}
		b, ok := tv.Type.Underlying().(*types.Basic)
		return ok && b.Info()&types.IsFloat != 0
	}
	// product returns e, stripped of parentheses and unary minus, if it is a
	// float product.
	product := func(e ast.Expr) *ast.BinaryExpr {
		for {
			switch x := e.(type) {
			case *ast.ParenExpr:
				e = x.X
				continue
			case *ast.UnaryExpr:
				if x.Op == token.SUB {
					e = x.X
					continue
				}
			case *ast.BinaryExpr:
				if x.Op == token.MUL && isFloat(x) {
					return x
				}
			}
			return nil
		}
	}
	// products maps a variable to a product assigned to it.
	products := map[types.Object]*ast.BinaryExpr{}
	var summed []*ast.Ident // variables seen as an operand of a sum
	var out []fusable
	flag := func(m *ast.BinaryExpr, how string) {
		out = append(out, fusable{m, how})
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.ADD || n.Op == token.SUB) && isFloat(n) {
					for _, e := range []ast.Expr{n.X, n.Y} {
						if m := product(e); m != nil {
							flag(m, "product in a sum")
						}
						if id, ok := ast.Unparen(e).(*ast.Ident); ok {
							summed = append(summed, id)
						}
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					var rhs ast.Expr
					if len(n.Rhs) == len(n.Lhs) {
						rhs = n.Rhs[i]
					}
					id, _ := ast.Unparen(lhs).(*ast.Ident)
					switch n.Tok {
					case token.ADD_ASSIGN, token.SUB_ASSIGN:
						if m := product(rhs); m != nil {
							flag(m, "product added by "+n.Tok.String())
						}
						if id != nil {
							summed = append(summed, id)
						}
						if rid, ok := ast.Unparen(rhs).(*ast.Ident); ok {
							summed = append(summed, rid)
						}
					case token.DEFINE, token.ASSIGN:
						if m := product(rhs); m != nil && id != nil {
							if obj := info.ObjectOf(id); obj != nil {
								products[obj] = m
							}
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if i < len(n.Values) {
						if m := product(n.Values[i]); m != nil {
							products[info.ObjectOf(id)] = m
						}
					}
				}
			case *ast.ReturnStmt:
				for _, r := range n.Results {
					if m := product(r); m != nil {
						flag(m, "product returned")
					}
				}
			}
			return true
		})
	}
	seen := map[*ast.BinaryExpr]bool{}
	for _, id := range summed {
		if m, ok := products[info.ObjectOf(id)]; ok && !seen[m] {
			seen[m] = true
			flag(m, "product in "+id.Name+", which is then summed")
		}
	}
	slices.SortFunc(out, func(a, b fusable) int { return int(a.expr.Pos() - b.expr.Pos()) })
	return out
}

// typeCheck parses and type-checks src as package p, importing nothing.
func typeCheck(t *testing.T, src string) (*types.Info, []*ast.File, *token.FileSet) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{}).Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	return info, []*ast.File{f}, fset
}

func TestFusables(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // the flagged products
	}{
		{"sum", `func f(a, b, c float64) float64 { return a*b + c }`, []string{"a*b"}},
		{"difference", `func f(a, b, c float32) float32 { return c - a*b }`, []string{"a*b"}},
		{"negated", `func f(a, b, c float64) float64 { return c + -(a * b) }`, []string{"a * b"}},
		{"two", `func f(a, b, c, d float64) float64 { return float64(a*b + c*d) }`, []string{"a*b", "c*d"}},
		{"converted", `func f(a, b, c float64) float64 { return float64(a*b) + c }`, nil},
		{"converted both", `func f(a, b, c, d float64) float64 { return float64(a*b) + float64(c*d) }`, nil},
		{"integers", `func f(a, b, c int) int { return a*b + c }`, nil},
		{"constants", `const k = 2.0 * 3.5; func f(c float64) float64 { return 2.0*3.5 + c + k }`, nil},
		{"accumulate", `func f(a, b []float64) (s float64) { for i := range a { s += a[i] * b[i] }; return s }`, []string{"a[i] * b[i]"}},
		{"accumulate converted", `func f(a, b []float64) (s float64) { for i := range a { s += float64(a[i] * b[i]) }; return s }`, nil},
		{"across statements", `func f(a, b, c float64) float64 { p := a * b; return p + c }`, []string{"a * b"}},
		{"across statements +=", `func f(a, b, c float64) float64 { p := a * b; p += c; return p }`, []string{"a * b"}},
		{"product kept", `func f(a, b, c float64) float64 { p := a * b; return p / c }`, nil},
		{"returned", `func f(a, b float64) float64 { return a * b }`, []string{"a * b"}},
		{"product of a sum", `func f(a, b, c float64) float64 { return (a + b) * c }`, []string{"(a + b) * c"}},
		{"product of a sum, kept", `func f(a, b, c float64) float64 { x := (a + b) * c; return x / 2 }`, nil},
	}
	for _, tt := range tests {
		info, files, fset := typeCheck(t, "package p\n"+tt.body)
		var got []string
		for _, u := range fusables(info, files) {
			src := "package p\n" + tt.body
			got = append(got, src[fset.Position(u.expr.Pos()).Offset:fset.Position(u.expr.End()).Offset])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: flagged %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestNoFusedProducts fails on a float product in fusedChecked's packages
// that a compiler may fuse with a sum (see fusables): on arm64 it would
// give other bits than on amd64. Write float64(a*b) (or float32) where the
// product must be rounded on its own, math.FMA where a fused operation is
// meant. The check reads the code, not the compiled program, so it
// misses a product that reaches a sum through a call's argument or a
// slice element.
func TestNoFusedProducts(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("needs the go command to type-check the packages: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	exports, dirs := listExports(t, goCmd, root)
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	for _, pkg := range fusedChecked {
		dir := dirs[pkg]
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range dir.files {
			f, err := parser.ParseFile(fset, filepath.Join(dir.dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
		if _, err := (&types.Config{Importer: imp}).Check(dir.importPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", pkg, err)
		}
		for _, u := range fusables(info, files) {
			p := fset.Position(u.expr.Pos())
			rel, _ := filepath.Rel(root, p.Filename)
			t.Errorf("%s:%d:%d: %s: write float64(…) or float32(…) around it (or math.FMA)", filepath.ToSlash(rel), p.Line, p.Column, u.what)
		}
	}
}

// pkgFiles is a package of fusedChecked: its import path, folder and Go
// files (tests aside).
type pkgFiles struct {
	importPath, dir string
	files           []string
}

// listExports runs go list -export over fusedChecked and their
// dependencies, and returns the export data file of every import path and
// each checked package's files.
func listExports(t *testing.T, goCmd, root string) (map[string]string, map[string]pkgFiles) {
	t.Helper()
	args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, fusedChecked...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, file, _ := strings.Cut(sc.Text(), "\t")
		exports[path] = file
	}
	args = append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}"}, fusedChecked...)
	cmd = exec.Command(goCmd, args...)
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := map[string]pkgFiles{}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		dirs[fusedChecked[i]] = pkgFiles{parts[0], parts[1], strings.Fields(parts[2])}
	}
	return exports, dirs
}

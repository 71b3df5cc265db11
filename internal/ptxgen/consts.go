package ptxgen

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
)

// Consts are the constants of the CPU kernels' exp that the PTX uses, so
// that both evaluate the same polynomial on the same reduced argument.
type Consts struct {
	ExpLo, ExpHi  float32   // the clamp of exp's argument
	Log2E         float32   // log2(e), rounded to float32
	Ln2Hi, Ln2Lo  float32   // the Cody-Waite split of ln 2
	QuickGELUCoef float32   // 1.702
	ExpPoly       []float32 // the coefficients of exp's polynomial, constant term first
}

// ReadConsts reads Consts from the Go source of kernels/eltwise_consts.go,
// which the generator of the assembly writes.
func ReadConsts(src []byte) (Consts, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "eltwise_consts.go", src, 0)
	if err != nil {
		return Consts{}, err
	}
	vals := map[string][]float32{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range g.Specs {
			vs, ok := s.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				v, err := floats(vs.Values[i])
				if err != nil {
					return Consts{}, fmt.Errorf("%s: %w", name.Name, err)
				}
				vals[name.Name] = v
			}
		}
	}
	var c Consts
	for _, x := range []struct {
		name string
		dst  *float32
	}{
		{"expLo", &c.ExpLo}, {"expHi", &c.ExpHi}, {"expLog2E", &c.Log2E},
		{"expLn2Hi", &c.Ln2Hi}, {"expLn2Lo", &c.Ln2Lo}, {"quickGELUCoef", &c.QuickGELUCoef},
	} {
		v, ok := vals[x.name]
		if !ok || len(v) != 1 {
			return Consts{}, fmt.Errorf("no float32 constant %s", x.name)
		}
		*x.dst = v[0]
	}
	c.ExpPoly = vals["expPoly"]
	if len(c.ExpPoly) < 2 {
		return Consts{}, fmt.Errorf("no expPoly coefficients")
	}
	return c, nil
}

// floats evaluates a constant expression, or a composite literal of them.
func floats(e ast.Expr) ([]float32, error) {
	if cl, ok := e.(*ast.CompositeLit); ok {
		var out []float32
		for _, el := range cl.Elts {
			v, err := floats(el)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	}
	v, err := eval(e)
	if err != nil {
		return nil, err
	}
	f, _ := constant.Float32Val(constant.ToFloat(v))
	return []float32{f}, nil
}

// eval evaluates a literal, possibly negated or parenthesised.
func eval(e ast.Expr) (constant.Value, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		return constant.MakeFromLiteral(e.Value, e.Kind, 0), nil
	case *ast.UnaryExpr:
		v, err := eval(e.X)
		if err != nil {
			return nil, err
		}
		return constant.UnaryOp(e.Op, v, 0), nil
	case *ast.ParenExpr:
		return eval(e.X)
	}
	return nil, fmt.Errorf("not a literal: %T", e)
}

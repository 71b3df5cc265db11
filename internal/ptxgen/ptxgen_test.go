package ptxgen

import (
	"math"
	"os"
	"strings"
	"testing"
)

func TestReadConsts(t *testing.T) {
	src, err := os.ReadFile("../../kernels/eltwise_consts.go")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadConsts(src)
	if err != nil {
		t.Fatal(err)
	}
	// The constants are what their names say, to float32 precision.
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"Log2E", float64(c.Log2E), math.Log2E},
		{"Ln2Hi+Ln2Lo", float64(c.Ln2Hi) + float64(c.Ln2Lo), math.Ln2},
		{"QuickGELUCoef", float64(c.QuickGELUCoef), 1.702},
		{"ExpPoly[0]", float64(c.ExpPoly[0]), 1},
		{"ExpPoly[3]", float64(c.ExpPoly[3]), 1.0 / 6},
	} {
		if math.Abs(x.got-x.want) > 1e-7*math.Abs(x.want) {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
	if c.ExpLo >= 0 || c.ExpHi <= 88 {
		t.Errorf("exp's clamp [%v, %v]", c.ExpLo, c.ExpHi)
	}
}

func TestReadConstsErrors(t *testing.T) {
	const good = "package kernels\nconst (\n\texpLo float32 = -0x1.ap+06\n\texpHi float32 = 89\n\texpLog2E float32 = 1.4\n" +
		"\texpLn2Hi float32 = 0.69\n\texpLn2Lo float32 = 1e-6\n\tquickGELUCoef float32 = 1.702\n)\nvar expPoly = [...]float32{1, 1, 0.5}\n"
	if _, err := ReadConsts([]byte(good)); err != nil {
		t.Fatalf("good source: %v", err)
	}
	for _, c := range []struct{ old, new, want string }{
		{"\texpHi float32 = 89\n", "", "no float32 constant expHi"},
		{"{1, 1, 0.5}", "{1}", "no expPoly coefficients"},
		{"= 1.702", "= f(1.702)", "not a literal"},
		{"package kernels", "package", "expected 'IDENT'"},
	} {
		_, err := ReadConsts([]byte(strings.Replace(good, c.old, c.new, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replacing %q by %q: %v, want an error with %q", c.old, c.new, err, c.want)
		}
	}
}

// TestLiterals checks that the PTX literals carry the exact bits.
func TestLiterals(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{f32c(1), "0f3F800000"}, {f32c(-104), "0fC2D00000"}, {f32c(float32(math.Inf(-1))), "0fFF800000"},
		{f64c(0), "0d0000000000000000"}, {f64c(1), "0d3FF0000000000000"},
	} {
		if c.got != c.want {
			t.Errorf("literal %s, want %s", c.got, c.want)
		}
	}
}

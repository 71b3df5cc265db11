package detmath

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refPrec is the precision of the math/big references.
const refPrec = 320

func bf(x float64) *big.Float { return new(big.Float).SetPrec(refPrec).SetFloat64(x) }

// refExp returns eᶻ: e^(z/2ᵐ) by its Taylor series, squared m times.
func refExp(z *big.Float) *big.Float {
	y := new(big.Float).SetPrec(refPrec).Set(z)
	m := 0
	for y.Sign() != 0 && y.MantExp(nil) > -12 {
		y.Quo(y, big.NewFloat(2))
		m++
	}
	sum, term := bf(1), bf(1)
	for n := int64(1); term.Sign() != 0 && term.MantExp(nil) > -refPrec-8; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
	}
	for range m {
		sum.Mul(sum, sum)
	}
	return sum
}

// refLog returns log x for x > 0 by Newton's method on eʸ = x,
// y ← y + 2(x − eʸ)/(x + eʸ), which triples the correct bits, from
// log m + e·ln2 for x = m·2ᵉ (math.Log alone is far off for subnormal x on
// amd64).
func refLog(x *big.Float) *big.Float {
	f, _ := x.Float64()
	m, e := math.Frexp(f)
	y := bf(math.Log(m) + float64(e)*math.Ln2)
	for range 4 {
		e := refExp(y)
		num := new(big.Float).SetPrec(refPrec).Sub(x, e)
		den := new(big.Float).SetPrec(refPrec).Add(x, e)
		num.Quo(num, den)
		y.Add(y, num.Mul(num, big.NewFloat(2)))
	}
	return y
}

// refSinCos returns sin x and cos x by their Taylor series after
// reducing x by π/2 (from bigPiO2, which TestPiO2 checks).
func refSinCos(x float64) (sin, cos *big.Float) {
	bx := bf(x)
	t := new(big.Float).SetPrec(bigPrec).Quo(bx, bigPiO2())
	k, _ := t.Int(nil)
	r := new(big.Float).SetPrec(bigPrec).SetInt(k)
	r.Sub(new(big.Float).SetPrec(bigPrec).SetFloat64(x), r.Mul(r, bigPiO2()))
	r.SetPrec(refPrec)
	s, c := bf(0), bf(1)
	term := bf(1)
	for n := int64(1); term.Sign() != 0 && term.MantExp(nil) > -refPrec-8; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(n))
		switch n % 4 {
		case 1:
			s.Add(s, term)
		case 2:
			c.Sub(c, term)
		case 3:
			s.Sub(s, term)
		case 0:
			c.Add(c, term)
		}
	}
	switch new(big.Int).And(k, big.NewInt(3)).Int64() {
	case 1:
		s, c = c, s.Neg(s)
	case 2:
		s, c = s.Neg(s), c.Neg(c)
	case 3:
		s, c = c.Neg(c), s
	}
	return s, c
}

// refTanh returns tanh x = (e²ˣ − 1)/(e²ˣ + 1), or its Taylor series
// x − x³/3 + 2x⁵/15 for tiny x where the quotient would cancel.
func refTanh(x float64) *big.Float {
	if math.Abs(x) < 0x1p-20 {
		b := bf(x)
		x3 := new(big.Float).Mul(b, b)
		x3.Mul(x3, b)
		x5 := new(big.Float).Mul(x3, b)
		x5.Mul(x5, b)
		b.Sub(b, x3.Quo(x3, big.NewFloat(3)))
		return b.Add(b, x5.Quo(x5.Mul(x5, big.NewFloat(2)), big.NewFloat(15)))
	}
	e := refExp(bf(2 * x))
	num := new(big.Float).SetPrec(refPrec).Sub(e, big.NewFloat(1))
	den := new(big.Float).SetPrec(refPrec).Add(e, big.NewFloat(1))
	return num.Quo(num, den)
}

// ulps returns |got − want| in units of the last place of want rounded
// to float64 (the spacing of subnormals below 2⁻¹⁰²²), and +Inf where got
// overflowed or underflowed differently.
func ulps(got float64, want *big.Float) float64 {
	w, _ := want.Float64()
	switch {
	case math.IsInf(w, 0) || math.IsInf(got, 0):
		if got == w {
			return 0
		}
		return math.Inf(1)
	case w == 0 && got == 0:
		return 0
	}
	exp := max(math.Ilogb(w), -1022) - 52
	if w == 0 {
		exp = -1074
	}
	d := new(big.Float).SetPrec(refPrec).Sub(bf(got), want)
	d.SetMantExp(d, -exp)
	u, _ := d.Float64()
	return math.Abs(u)
}

// checker keeps the largest error seen for one function.
type checker struct {
	t     *testing.T
	name  string
	limit float64
	worst float64
	at    [2]float64
}

func (c *checker) check(got float64, want *big.Float, args ...float64) {
	c.t.Helper()
	u := ulps(got, want)
	if u > c.worst {
		c.worst = u
		copy(c.at[:], args)
	}
	if u > c.limit {
		w, _ := want.Float64()
		c.t.Errorf("%s%v = %v, want %v (%.3g ulp)", c.name, args, got, w, u)
	}
}

func (c *checker) report() {
	c.t.Logf("%s: max error %.3f ulp at %v", c.name, c.worst, c.at)
}

// maxULP is the accuracy the tests hold the functions to; the doc
// comments promise 1 ulp, and the tests report what they measure.
const maxULP = 1

// randoms returns n arguments: uniform in [lo, hi) and, as many again,
// log-uniform in magnitude between 2^elo and 2^ehi with a random sign
// when signed.
func randoms(seed uint64, n int, lo, hi float64, elo, ehi int, signed bool) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, 0, 2*n)
	for range n {
		xs = append(xs, lo+float64((hi-lo)*r.Float64()))
		x := math.Ldexp(1+r.Float64(), elo+r.IntN(ehi-elo))
		if signed && r.IntN(2) == 0 {
			x = -x
		}
		xs = append(xs, x)
	}
	return xs
}

func TestExp(t *testing.T) {
	edges := []float64{0, math.Copysign(0, -1), 1, -1, 0x1p-1074, -0x1p-1074, 0x1p-54, 1e-300,
		math.Ln2, math.Ln2 / 2, -math.Ln2 / 2, 709.782712893383, 709.7827128933840, 709.79,
		-708.3964185322641, -708.4, -744.44, -745.1332191019411, -745.1332191019412, -745.14, 100, -100, 0.5, 37.5}
	c := &checker{t: t, name: "Exp", limit: maxULP}
	for _, x := range append(edges, randoms(1, 3000, -746, 710, -60, 9, true)...) {
		if x > 720 || x < -750 {
			continue
		}
		c.check(Exp(x), refExp(bf(x)), x)
	}
	c.report()
}

func TestLog(t *testing.T) {
	edges := []float64{1, 2, 0.5, 4, 1024, 0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp-1023, math.MaxFloat64,
		math.E, 10, 100, 1 + 0x1p-52, 1 - 0x1p-53, math.Sqrt2 / 2, math.Sqrt2, 0.70710678118654746, 1.4142135623730951, 0.9, 1.1}
	c := &checker{t: t, name: "Log", limit: maxULP}
	xs := append(edges, randoms(2, 1500, 0.5, 2, -1074, 1024, false)...)
	xs = append(xs, randoms(3, 500, 0.999, 1.001, -1074, 1024, false)...)
	for _, x := range xs {
		c.check(Log(x), refLog(bf(x)), x)
	}
	c.report()
}

func TestPow(t *testing.T) {
	type pair struct{ x, y float64 }
	edges := []pair{{2, 10}, {2, -1074}, {2, 1023}, {2, 1024}, {2, -1075}, {10, 308}, {10, -300}, {0.999, 10000},
		{0.9, 1e4}, {1 + 0x1p-52, 1e15}, {1.000001, -2e7}, {3, 0.5}, {1.7, -0.75}, {101, -0.75}, {1.5, 1.5},
		{0.5, 0.5}, {7, 1.0 / 3}, {1e-300, 0.5}, {0x1p-1074, 0.25}, {123.456, 147.25}, {-2, 3}, {-2, -3},
		{-0.5, 11}, {-3, 40}, {2.5, 2}}
	r := rand.New(rand.NewPCG(4, 1))
	for range 1500 {
		x := math.Ldexp(1+r.Float64(), r.IntN(200)-100)
		y := (2*r.Float64() - 1) * 700 / math.Max(math.Abs(math.Log(x)), 1e-3)
		edges = append(edges, pair{x, y}, pair{1 + 2*r.Float64(), 10 * (2*r.Float64() - 1)})
	}
	c := &checker{t: t, name: "Pow", limit: maxULP}
	for _, p := range edges {
		x := math.Abs(p.x)
		want := refExp(new(big.Float).Mul(bf(p.y), refLog(bf(x))))
		if p.x < 0 && isOddInt(p.y) {
			want.Neg(want)
		}
		if math.IsInf(math.Log(x)*p.y, 0) || math.Abs(math.Log(x)*p.y) > 746 {
			continue
		}
		c.check(Pow(p.x, p.y), want, p.x, p.y)
	}
	c.report()
}

func TestSinCos(t *testing.T) {
	edges := []float64{0x1p-27, 0x1p-26, 0.1, 0.5, math.Pi / 4, math.Pi / 2, math.Pi, 2 * math.Pi, 3 * math.Pi / 2,
		1, 2, 3, 100, 355, 1e6, 0x1p20 - 1, 0x1p20, 0x1p20 + 1, 1e9, 1e22, 0x1p1000, math.MaxFloat64,
		6381956970095103 * 0x1p-50}
	var xs []float64
	for _, x := range edges {
		xs = append(xs, x, -x)
	}
	xs = append(xs, randoms(5, 1500, -2*math.Pi, 2*math.Pi, -30, 30, true)...)
	xs = append(xs, randoms(6, 100, -1e12, 1e12, 30, 1023, true)...)
	cs := &checker{t: t, name: "Sin", limit: maxULP}
	cc := &checker{t: t, name: "Cos", limit: maxULP}
	for _, x := range xs {
		s, c := refSinCos(x)
		cs.check(Sin(x), s, x)
		cc.check(Cos(x), c, x)
	}
	cs.report()
	cc.report()
}

func TestTanh(t *testing.T) {
	edges := []float64{0x1p-28, 0x1p-27, 0x1p-20, 1e-5, 0.1, 0.17, 0.5, 0.55, 1, 2, 5, 10, 19, 21.9, 22, 22.1}
	var xs []float64
	for _, x := range edges {
		xs = append(xs, x, -x)
	}
	xs = append(xs, randoms(7, 2500, -23, 23, -40, 5, true)...)
	c := &checker{t: t, name: "Tanh", limit: maxULP}
	for _, x := range xs {
		c.check(Tanh(x), refTanh(x), x)
	}
	c.report()
}

// TestSpecial checks the special values against package math.
func TestSpecial(t *testing.T) {
	inf, nan, negZero := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	vals := []float64{0, negZero, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 0.25, inf, -inf, nan, 0x1p-1074, math.MaxFloat64, -math.MaxFloat64}
	same := func(a, b float64) bool {
		return a == b && math.Signbit(a) == math.Signbit(b) || a != a && b != b
	}
	for _, x := range vals {
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"Exp", Exp(x), math.Exp(x)},
			{"Sin", Sin(x), math.Sin(x)},
			{"Cos", Cos(x), math.Cos(x)},
			{"Tanh", Tanh(x), math.Tanh(x)},
		} {
			if math.Abs(x) <= 3 && !math.IsInf(x, 0) && x != 0 && math.Abs(x) > 1e-300 && f.name != "Exp" {
				continue // ordinary values: the accuracy tests' job
			}
			if (x == 0 || math.IsInf(x, 0) || x != x) && !same(f.got, f.want) {
				t.Errorf("%s(%v) = %v, want %v", f.name, x, f.got, f.want)
			}
		}
		if x <= 0 || math.IsInf(x, 0) || x != x || x == 1 {
			if got, want := Log(x), math.Log(x); !same(got, want) {
				t.Errorf("Log(%v) = %v, want %v", x, got, want)
			}
		}
		for _, y := range vals {
			got, want := Pow(x, y), math.Pow(x, y)
			special := func(v float64) bool { return v == 0 || math.Abs(v) == 1 || math.IsInf(v, 0) || v != v }
			if (special(x) || special(y)) && !same(got, want) {
				t.Errorf("Pow(%v, %v) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// TestSplitConstants checks the constants split into a high and a low part.
func TestSplitConstants(t *testing.T) {
	tests := []struct {
		name   string
		hi, lo float64
		want   *big.Float
		bits   int // relative accuracy: the bits of hi plus 53
	}{
		{"ln2", ln2Hi, ln2Lo, refLog(bf(2)), 24 + 53},
		{"2/3", twoThirds, twoThirdsLo, new(big.Float).SetPrec(refPrec).Quo(bf(2), bf(3)), 53 + 53},
	}
	for _, tt := range tests {
		sum := new(big.Float).SetPrec(refPrec).Add(bf(tt.hi), bf(tt.lo))
		d := new(big.Float).Sub(sum, tt.want)
		if d.Sign() != 0 && d.MantExp(nil)-tt.want.MantExp(nil) > -tt.bits {
			t.Errorf("%s: hi+lo − exact = %g, want below 2^-%d relative", tt.name, d, tt.bits)
		}
	}
}

// TestPiO2 checks the pieces of π/2 against bigPiO2, and bigPiO2 against
// math.Pi.
func TestPiO2(t *testing.T) {
	sum := new(big.Float).SetPrec(bigPrec)
	for _, p := range []float64{pio2a, pio2b, pio2c, pio2d} {
		sum.Add(sum, big.NewFloat(p))
	}
	d := new(big.Float).Sub(sum, bigPiO2())
	if e := d.MantExp(nil); d.Sign() != 0 && e > -155 {
		t.Errorf("pio2a+b+c+d − π/2 = %g, want below 2⁻¹⁵⁵", d)
	}
	if f, _ := bigPiO2().Float64(); f != math.Pi/2 {
		t.Errorf("bigPiO2 = %v, want %v", f, math.Pi/2)
	}
}

// TestAgainstMath compares many arguments with package math, which is
// itself within about 1 ulp, so the two may differ by 2.
func TestAgainstMath(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	within := func(name string, got, want float64, args ...float64) {
		if got == want || math.Abs(got-want) <= 2*ulpOf(want) {
			return
		}
		t.Errorf("%s%v = %v, math gives %v", name, args, got, want)
	}
	for range 200000 {
		x := (2*r.Float64() - 1) * 30
		within("Exp", Exp(x), math.Exp(x), x)
		within("Sin", Sin(x), math.Sin(x), x)
		within("Cos", Cos(x), math.Cos(x), x)
		within("Tanh", Tanh(x), math.Tanh(x), x)
		p := math.Ldexp(r.Float64(), r.IntN(100)-50)
		within("Log", Log(p), math.Log(p), p)
		// Not Pow: math.Pow is off by many ulps for large results.
	}
}

// ulpOf returns the spacing of float64 at x.
func ulpOf(x float64) float64 {
	return math.Ldexp(1, max(math.Ilogb(x), -1022)-52)
}

// sameBitsDigest is the SHA-256 of every function's bits over the
// arguments of TestSameBits. It is the same on every GOARCH and with
// -tags purego; it changes only when an algorithm does (run the test and
// copy the digest it prints).
const sameBitsDigest = "eb088eb9e53b5393a001e71b5ed57bee56f452ea9e9a52e2ced61fa4396c5da1"

// TestSameBits hashes the results for a fixed set of arguments, so that
// running the tests on another architecture (GOARCH=arm64 under qemu, for
// one) checks that they give the same bits there.
func TestSameBits(t *testing.T) {
	h := sha256.New()
	put := func(v float64) { binary.Write(h, binary.LittleEndian, math.Float64bits(v)) }
	xs := randoms(9, 2000, -40, 40, -1074, 1023, true)
	for _, x := range xs {
		s, c := Sincos(x)
		put(Exp(x))
		put(Log(math.Abs(x)))
		put(s)
		put(c)
		put(Tanh(x))
		put(Pow(math.Abs(x), x/7))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sameBitsDigest {
		t.Errorf("digest %s, want %s", got, sameBitsDigest)
	}
}

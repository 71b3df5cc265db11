package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// poolRef computes max and average pooling of p in float64 by the
// definition: the window over the zero- (average) or -Inf- (max) padded
// input, and the backward passes as explicit scatters.
func poolRef(p PoolParams, x, dy []float32) (mx []float32, arg []int32, avg, dmx, davg []float64) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	mx, arg, avg = make([]float32, p.N*p.C*oh*ow), make([]int32, p.N*p.C*oh*ow), make([]float64, p.N*p.C*oh*ow)
	dmx, davg = make([]float64, len(x)), make([]float64, len(x))
	for i := 0; i < p.N*p.C; i++ {
		for y := 0; y < oh; y++ {
			for z := 0; z < ow; z++ {
				o := (i*oh+y)*ow + z
				m, at, s, cnt := math.Inf(-1), -1, 0.0, 0
				for r := 0; r < p.R; r++ {
					for q := 0; q < p.S; q++ {
						h, w := y*p.StrideH-p.PadH+r, z*p.StrideW-p.PadW+q
						if h < 0 || h >= p.H || w < 0 || w >= p.W {
							continue
						}
						v := float64(x[(i*p.H+h)*p.W+w])
						if v > m {
							m, at = v, h*p.W+w
						}
						s += v
						cnt++
					}
				}
				div := float64(p.R * p.S)
				if p.ExcludePad {
					div = float64(cnt)
				}
				mx[o], arg[o], avg[o] = float32(m), int32(at), s/div
				dmx[i*p.H*p.W+at] += float64(dy[o])
				for r := 0; r < p.R; r++ {
					for q := 0; q < p.S; q++ {
						h, w := y*p.StrideH-p.PadH+r, z*p.StrideW-p.PadW+q
						if h >= 0 && h < p.H && w >= 0 && w < p.W {
							davg[(i*p.H+h)*p.W+w] += float64(dy[o]) / div
						}
					}
				}
			}
		}
	}
	return
}

func TestPool2d(t *testing.T) {
	cases := []PoolParams{
		{N: 1, C: 1, H: 1, W: 1, R: 1, S: 1},
		{N: 2, C: 3, H: 8, W: 8, R: 2, S: 2},                                             // CLIP-RN50's AvgPool2d(2)
		{N: 2, C: 3, H: 7, W: 9, R: 2, S: 2},                                             // odd sizes drop the last row/column
		{N: 2, C: 2, H: 11, W: 10, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, // ResNet's MaxPool2d(3, 2, 1)
		{N: 1, C: 2, H: 9, W: 9, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, ExcludePad: true},
		{N: 1, C: 3, H: 6, W: 13, R: 2, S: 5, StrideH: 1, StrideW: 3, PadH: 1, PadW: 2},
	}
	for _, p := range cases {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) { checkPool2d(t, p, rand.New(rand.NewPCG(31, uint64(p.H*p.W)))) })
	}
}

// FuzzPool2d runs the checks of TestPool2d on fuzzed geometries.
func FuzzPool2d(f *testing.F) {
	f.Add(uint8(2), uint8(3), uint8(11), uint8(10), uint8(3), uint8(3), uint8(2), uint8(2), uint8(1), uint8(1), false, uint64(1))
	f.Add(uint8(1), uint8(2), uint8(1), uint8(7), uint8(1), uint8(4), uint8(1), uint8(3), uint8(0), uint8(2), true, uint64(2))
	f.Fuzz(func(t *testing.T, n, c, h, w, r, s, sh, sw, ph, pw uint8, exclude bool, seed uint64) {
		p := PoolParams{N: 1 + int(n%3), C: 1 + int(c%4), H: 1 + int(h%20), W: 1 + int(w%20), R: 1 + int(r%6), S: 1 + int(s%6),
			StrideH: int(sh % 5), StrideW: int(sw % 5), ExcludePad: exclude}
		p.PadH, p.PadW = int(ph)%(p.R/2+1), int(pw)%(p.S/2+1)
		if p.OutH() < 1 || p.OutW() < 1 {
			t.Skip("window larger than the padded input")
		}
		checkPool2d(t, p, rand.New(rand.NewPCG(seed, 5)))
	})
}

// poolTol is the error allowed against a float64 reference value v: sums of
// up to a few dozen float32 terms (overlapping windows) round a few times.
func poolTol(v float64) float64 { return 1e-6 + 1e-6*math.Abs(v) }

// checkPool2d compares the pooling kernels and their backward passes on p
// with poolRef.
func checkPool2d(t *testing.T, p PoolParams, r *rand.Rand) {
	t.Helper()
	q := p.norm()
	ny := q.N * q.C * q.OutH() * q.OutW()
	x, dy := randSlice(r, q.N*q.C*q.H*q.W, -2, 2), randSlice(r, ny, -1, 1)
	wmx, warg, wavg, wdmx, wdavg := poolRef(p, x, dy)

	mx, avg := newGuarded(ny), newGuarded(ny)
	arg := make([]int32, ny)
	MaxPool2d(mx.s(), arg, x, p)
	AvgPool2d(avg.s(), x, p)
	mx.check(t, "MaxPool2d dst")
	avg.check(t, "AvgPool2d dst")
	for i := range wmx {
		if mx.s()[i] != wmx[i] || arg[i] != warg[i] {
			t.Fatalf("MaxPool2d [%d] = %v at %d, want %v at %d", i, mx.s()[i], arg[i], wmx[i], warg[i])
		}
		if math.Abs(float64(avg.s()[i])-wavg[i]) > poolTol(wavg[i]) {
			t.Fatalf("AvgPool2d [%d] = %v, want %v", i, avg.s()[i], wavg[i])
		}
	}

	base := randSlice(r, len(x), -1, 1)
	dmx, davg := guardedFrom(base), guardedFrom(base)
	MaxPool2dBackward(dmx.s(), dy, arg, p)
	AvgPool2dBackward(davg.s(), dy, p)
	dmx.check(t, "MaxPool2dBackward dx")
	davg.check(t, "AvgPool2dBackward dx")
	for i := range x {
		if want := float64(base[i]) + wdmx[i]; math.Abs(float64(dmx.s()[i])-want) > poolTol(want) {
			t.Fatalf("MaxPool2dBackward [%d] = %v, want %v", i, dmx.s()[i], want)
		}
		if want := float64(base[i]) + wdavg[i]; math.Abs(float64(davg.s()[i])-want) > poolTol(want) {
			t.Fatalf("AvgPool2dBackward [%d] = %v, want %v", i, davg.s()[i], want)
		}
	}
}

func TestMaxPool2dNaN(t *testing.T) {
	p := PoolParams{N: 1, C: 1, H: 2, W: 2, R: 2, S: 2}
	dst, arg := make([]float32, 1), make([]int32, 1)
	MaxPool2d(dst, arg, f32s(1, nan, 5, 2), p)
	if !math.IsNaN(float64(dst[0])) || arg[0] != 1 {
		t.Errorf("MaxPool2d([1 NaN 5 2]) = %v at %d, want NaN at 1", dst[0], arg[0])
	}
}

func TestAdaptiveAvgPool2d(t *testing.T) {
	cases := [][6]int{ // C, H, W, OH, OW, N
		{3, 7, 7, 1, 1, 2},
		{2, 10, 7, 3, 4, 1},
		{2, 5, 5, 5, 5, 1},
		{1, 4, 6, 7, 9, 1}, // output larger than input: bins overlap
	}
	for _, c := range cases {
		ch, h, w, oh, ow, n := c[0], c[1], c[2], c[3], c[4], c[5]
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			r := rand.New(rand.NewPCG(32, 33))
			x, dy := randSlice(r, n*ch*h*w, -1, 1), randSlice(r, n*ch*oh*ow, -1, 1)
			want, wdx := make([]float64, len(dy)), make([]float64, len(x))
			for i := 0; i < n*ch; i++ {
				for y := 0; y < oh; y++ {
					h0, h1 := int(math.Floor(float64(y*h)/float64(oh))), int(math.Ceil(float64((y+1)*h)/float64(oh)))
					for z := 0; z < ow; z++ {
						w0, w1 := int(math.Floor(float64(z*w)/float64(ow))), int(math.Ceil(float64((z+1)*w)/float64(ow)))
						cnt := float64((h1 - h0) * (w1 - w0))
						o := (i*oh+y)*ow + z
						for a := h0; a < h1; a++ {
							for b := w0; b < w1; b++ {
								want[o] += float64(x[(i*h+a)*w+b]) / cnt
								wdx[(i*h+a)*w+b] += float64(dy[o]) / cnt
							}
						}
					}
				}
			}
			got, dx := newGuarded(len(dy)), newGuarded(len(x))
			AdaptiveAvgPool2d(got.s(), x, n, ch, h, w, oh, ow)
			clear(dx.s())
			AdaptiveAvgPool2dBackward(dx.s(), dy, n, ch, h, w, oh, ow)
			got.check(t, "AdaptiveAvgPool2d dst")
			dx.check(t, "AdaptiveAvgPool2dBackward dx")
			for i := range want {
				if math.Abs(float64(got.s()[i])-want[i]) > 1e-6 {
					t.Fatalf("AdaptiveAvgPool2d [%d] = %v, want %v", i, got.s()[i], want[i])
				}
			}
			for i := range wdx {
				if math.Abs(float64(dx.s()[i])-wdx[i]) > 1e-6 {
					t.Fatalf("AdaptiveAvgPool2dBackward [%d] = %v, want %v", i, dx.s()[i], wdx[i])
				}
			}
		})
	}
}

func TestPoolPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"pad", func() {
			AvgPool2d(make([]float32, 9), make([]float32, 9), PoolParams{N: 1, C: 1, H: 3, W: 3, R: 2, S: 2, StrideH: 1, StrideW: 1, PadH: 2})
		}, "kernels: AvgPool2d: padding"},
		{"window", func() {
			AvgPool2d(make([]float32, 1), make([]float32, 2), PoolParams{N: 1, C: 1, H: 1, W: 2, R: 2, S: 2})
		}, "kernels: AvgPool2d: window 2×2 exceeds"},
		{"length", func() {
			MaxPool2d(make([]float32, 4), make([]int32, 4), make([]float32, 15), PoolParams{N: 1, C: 1, H: 4, W: 4, R: 2, S: 2})
		}, "kernels: MaxPool2d: input length 15"},
		{"argmax", func() {
			MaxPool2d(make([]float32, 4), make([]int32, 3), make([]float32, 16), PoolParams{N: 1, C: 1, H: 4, W: 4, R: 2, S: 2})
		}, "kernels: MaxPool2d: len(argmax)"},
		{"adaptive", func() {
			AdaptiveAvgPool2d(make([]float32, 4), make([]float32, 16), 1, 1, 4, 4, 0, 2)
		}, "kernels: AdaptiveAvgPool2d: bad sizes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.HasPrefix(msg, c.want) {
					t.Errorf("panic %q, want prefix %q", msg, c.want)
				}
			}()
			c.f()
		})
	}
}

// TestAvgPoolHalves checks the 2×2 stride-2 loop against the general one
// bit for bit, on even and odd planes.
func TestAvgPoolHalves(t *testing.T) {
	for _, hw := range [][2]int{{2, 2}, {8, 8}, {7, 9}, {56, 56}, {3, 2}} {
		p := PoolParams{N: 1, C: 1, H: hw[0], W: hw[1], R: 2, S: 2}.norm()
		if !p.halves() {
			t.Fatalf("%+v does not take the 2×2 loop", p)
		}
		r := rand.New(rand.NewPCG(5, uint64(hw[0]*hw[1])))
		x := randSlice(r, p.H*p.W, -3, 3)
		negZero := float32(math.Copysign(0, -1))
		x[0], x[1], x[p.W], x[p.W+1] = negZero, negZero, negZero, negZero // a window of -0
		oh, ow := p.OutH(), p.OutW()
		got, want := make([]float32, oh*ow), make([]float32, oh*ow)
		avgPoolHalves(got, x, p.W, oh, ow)
		avgPoolPlane(want, x, p, oh, ow)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d×%d: 2×2 loop [%d] = %v, general %v", p.H, p.W, i, got[i], want[i])
			}
		}
	}
}

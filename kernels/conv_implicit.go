package kernels

import "math/bits"

// Implicit im2col: for a stride-1 convolution whose output is as wide as
// its input (a "same" padding, the 3×3 convolutions of a ResNet), output
// position q of a valid row reads input pixel q + shift under a tap, one
// shift per tap. The GEMM's B strips (kc rows of 32 columns of the column
// matrix) are then packed straight from x: a row of a strip is 32
// consecutive pixels of one plane, with the pixels whose tap falls in the
// left or right padding zeroed after. The column matrix, CRS·L floats per
// image (nine times x for a 3×3 kernel), is never written to memory and read
// back; the strips hold exactly what im2col and the strip packer would have
// put there, so the results are bit-identical to the explicit path.

// maxImplicitS bounds the kernel width of the implicit path: one 32-bit
// mask of padded columns per tap column is kept on the stack per strip.
const maxImplicitS = 16

// implicitIm2col turns the implicit path on; tests turn it off to compare
// it with the explicit one.
var implicitIm2col = true

// packsFromX reports whether the forward pass packs its GEMM operand
// straight from x rather than through a column matrix. (A pointwise
// convolution of one image reads x in place instead; see direct.)
func (c *convPlan) packsFromX() bool {
	return implicitIm2col && c.StrideH == 1 && c.StrideW == 1 && c.ow == c.W && c.S <= maxImplicitS
}

// convStrips is the column matrix (CRS, nb·L) of group g of images
// n0..n0+nb-1 as a source of packed strips for the GEMM.
type convStrips struct {
	c         *convPlan
	x         []float32
	n0, nb, g int
	fast      bool // use the assembly packer
}

// stripSegment is a run of a strip's columns that lie in one image.
type stripSegment struct {
	j0, j1 int // strip columns [j0, j1)
	base   int // offset in x of channel 0 of the group in this image
	q0     int // output position of column j0
}

// packStrip writes rows [pc, pc+kc) and columns [col, col+w) of the column
// matrix into dst (kc rows of stripWidth floats, zeros past column w), as
// packStripB would from the explicit matrix. It is called concurrently.
func (s *convStrips) packStrip(dst []float32, pc, kc, col, w int) {
	const sw = stripWidth
	c := s.c
	hw := c.H * c.W
	dst = dst[:kc*sw]

	// The images the strip's columns fall in, and for each tap column the
	// strip columns whose input column lies in the padding.
	var segs [sw]stripSegment
	var masks [maxImplicitS]uint32
	ns := 0
	for j := 0; j < w; {
		n := col + j
		i, q := n/c.l, n%c.l
		j1 := min(w, j+c.l-q)
		segs[ns] = stripSegment{j, j1, ((s.n0+i)*c.C + s.g*c.cg) * hw, q}
		ns++
		ow := q % c.ow
		for jj := j; jj < j1; jj++ {
			for t := 0; t < c.S; t++ {
				if iw := ow + t*c.DilationW - c.PadW; iw < 0 || iw >= c.W {
					masks[t] |= 1 << jj
				}
			}
			if ow++; ow == c.ow {
				ow = 0
			}
		}
		j = j1
	}
	full := ns == 1 && w == sw

	// Row p of the column matrix is tap p%RS of channel p/RS. The rows of
	// one tap read the same pixels of consecutive planes, so they are
	// copied together, hw floats apart in x and RS rows apart in dst.
	rs := c.R * c.S
	ld := rs * sw
	for tap := 0; tap < rs; tap++ {
		p0 := pc - pc%rs + tap // the first row of the tap at or after pc
		if p0 < pc {
			p0 += rs
		}
		if p0 >= pc+kc {
			continue
		}
		rows := (pc+kc-1-p0)/rs + 1
		r, t := tap/c.S, tap%c.S
		shift := (r*c.DilationH-c.PadH)*c.W + t*c.DilationW - c.PadW
		ch0 := p0 / rs
		d := dst[(p0-pc)*sw:]
		if lo := segs[0].q0 + shift; full && lo >= 0 && lo+sw <= hw {
			src := s.x[segs[0].base+ch0*hw+lo:]
			if s.fast {
				packCopy32(d, ld, src, hw, rows)
			} else {
				for i := 0; i < rows; i++ {
					*(*[sw]float32)(d[i*ld:]) = *(*[sw]float32)(src[i*hw:])
				}
			}
		} else {
			for i := 0; i < rows; i++ {
				row := d[i*ld:][:sw]
				plane := (ch0 + i) * hw
				for _, sg := range segs[:ns] {
					copyClipped(row[sg.j0:sg.j1], s.x[sg.base+plane:][:hw], sg.q0+shift)
				}
				clear(row[w:])
			}
		}
		for m := masks[t]; m != 0; m &= m - 1 {
			j := bits.TrailingZeros32(m)
			for i := 0; i < rows; i++ {
				d[i*ld+j] = 0
			}
		}
	}
}

// copyClipped sets d[j] = src[lo+j], or 0 where lo+j is outside src.
func copyClipped(d, src []float32, lo int) {
	a := clamp(-lo, 0, len(d))         // the first index inside src
	b := clamp(len(src)-lo, a, len(d)) // one past the last
	clear(d[:a])
	if a < b {
		copy(d[a:b], src[lo+a:lo+b])
	}
	clear(d[b:])
}

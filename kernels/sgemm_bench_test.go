package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShapes are the square sizes and the ViT-B GEMMs (M tokens × N out × K
// in): M=50 is one ViT-B/32 image, 197 one ViT-B/16 image, 1576 eight.
var benchShapes = [][3]int{
	{64, 64, 64}, {128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{50, 2304, 768}, {50, 3072, 768}, {50, 768, 3072},
	{197, 2304, 768}, {197, 3072, 768}, {197, 768, 3072},
	{1576, 3072, 768}, {1576, 768, 3072},
}

func shapeName(s [3]int) string {
	if s[0] == s[1] && s[1] == s[2] {
		return fmt.Sprint(s[0])
	}
	return fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2])
}

func randFloats(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32() - 0.5
	}
	return x
}

func reportGFLOPS(b *testing.B, s [3]int) {
	flop := 2 * float64(s[0]) * float64(s[1]) * float64(s[2]) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm times C = A·B (row-major, NN) for every ISA and 1 and 2
// threads, with gonum as the baseline row, and the same products with B
// pre-packed (the weights of a layer).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		a, bm, c := randFloats(m*k), randFloats(k*n), make([]float32, m*n)
		b.Run(shapeName(s), func(b *testing.B) {
			b.Run("gonum", func(b *testing.B) {
				// gonum splits the work over GOMAXPROCS goroutines itself.
				for b.Loop() {
					gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bm, n, 0, c, n)
				}
				reportGFLOPS(b, s)
			})
			for _, isa := range Supported() {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%v/T%d", isa, threads), func(b *testing.B) {
						if isa == Generic && m*n*k > 512*512*512 {
							b.Skip("the pure-Go path is timed up to 512³")
						}
						prev, _ := Use(isa)
						defer Use(prev)
						withThreads(threads, func() {
							for b.Loop() {
								Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
							}
						})
						reportGFLOPS(b, s)
					})
					b.Run(fmt.Sprintf("%v/T%d/packed", isa, threads), func(b *testing.B) {
						if isa == Generic {
							b.Skip("timed for the assembly paths only")
						}
						prev, _ := Use(isa)
						defer Use(prev)
						pb := PackB(false, k, n, bm, n)
						withThreads(threads, func() {
							for b.Loop() {
								SgemmPacked(false, m, 1, a, k, pb, 0, c, n)
							}
						})
						reportGFLOPS(b, s)
					})
				}
			}
		})
	}
}

// BenchmarkSgemmBlocking sweeps KC and MC on one square and two ViT shapes.
func BenchmarkSgemmBlocking(b *testing.B) {
	for _, s := range [][3]int{{1024, 1024, 1024}, {197, 2304, 768}, {50, 768, 3072}} {
		m, n, k := s[0], s[1], s[2]
		a, bm, c := randFloats(m*k), randFloats(k*n), make([]float32, m*n)
		for _, kc := range []int{128, 192, 256, 384, 512} {
			for _, mc := range []int{96, 384, 8192} {
				b.Run(fmt.Sprintf("%s/KC%d/MC%d", shapeName(s), kc, mc), func(b *testing.B) {
					prev := SetSgemmBlocking(Blocking{KC: kc, MC: mc})
					defer SetSgemmBlocking(prev)
					withThreads(1, func() {
						for b.Loop() {
							Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
						}
					})
					reportGFLOPS(b, s)
				})
			}
		}
	}
}

// BenchmarkPeak reports the FMA ceiling of the current ISA.
func BenchmarkPeak(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("T%d", threads), func(b *testing.B) {
			var g float64
			for b.Loop() {
				g = PeakGFLOPS(threads, 200*time.Millisecond)
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

// BenchmarkSgemmTraining times the GEMMs of one ViT-B/16 training step at
// batch 8 (1576 tokens) as tensor.Linear issues them, on the current ISA
// and 2 threads: the forward y = x·Wᵀ (NT), the data gradient dx = dy·W (NN)
// and the weight gradient dW += dyᵀ·x (TN, β = 1), for each layer's
// (in, out): the packed qkv projection, the attention output, c_fc and
// c_proj.
func BenchmarkSgemmTraining(b *testing.B) {
	const tokens = 1576
	for _, l := range [][2]int{{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}} {
		in, out := l[0], l[1]
		x, w, dy := randFloats(tokens*in), randFloats(out*in), randFloats(tokens*out)
		y, dx, dw := make([]float32, tokens*out), make([]float32, tokens*in), make([]float32, out*in)
		for _, g := range []struct {
			name           string
			transA, transB bool
			m, n, k        int
			a, bm, c       []float32
			lda, ldb, ldc  int
			beta           float32
		}{
			{"fwd-NT", false, true, tokens, out, in, x, w, y, in, in, out, 0},
			{"dx-NN", false, false, tokens, in, out, dy, w, dx, out, in, in, 0},
			{"dw-TN", true, false, out, in, tokens, dy, x, dw, out, in, in, 1},
		} {
			s := [3]int{g.m, g.n, g.k}
			b.Run(fmt.Sprintf("%dto%d/%s/%s", in, out, g.name, shapeName(s)), func(b *testing.B) {
				withThreads(2, func() {
					for b.Loop() {
						Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, g.a, g.lda, g.bm, g.ldb, g.beta, g.c, g.ldc)
					}
				})
				reportGFLOPS(b, s)
			})
		}
	}
}

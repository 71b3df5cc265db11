package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/vlpuda/vlpuda/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Shape is the M×N×K size of a GEMM C(M×N) = A(M×K)·B(K×N).
type Shape struct{ M, N, K int }

func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.M, s.N, s.K) }

// flop returns the floating-point operations of one product, 2·M·N·K.
func (s Shape) flop() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// SquareShapes are the square sizes of the GEMM benchmark.
var SquareShapes = []Shape{{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048}}

// ViTShapes are the GEMMs of a ViT-B layer: M tokens (50 is one ViT-B/32
// image, 197 one ViT-B/16 image, 1576 eight of them), N outputs, K inputs,
// for the QKV projection (N=2304), the MLP up (N=3072) and down (K=3072).
var ViTShapes = []Shape{
	{50, 2304, 768}, {50, 3072, 768}, {50, 768, 3072},
	{197, 2304, 768}, {197, 3072, 768}, {197, 768, 3072},
	{1576, 3072, 768}, {1576, 768, 3072},
}

// GEMMConfig says what BenchGEMM measures.
type GEMMConfig struct {
	Shapes  []Shape
	Threads []int         // thread counts to measure; nil means 1 and GOMAXPROCS
	MinTime time.Duration // time spent per shape and library (default 300 ms)
	Gonum   bool          // also measure gonum's pure-Go Sgemm
	// Progress, if not nil, is called after each measurement.
	Progress func(done, total int)
}

// GEMMResult is one measured shape and thread count. Its JSON names are the
// documented output of "vlpuda bench gemm -json".
type GEMMResult struct {
	M           int     `json:"m"`
	N           int     `json:"n"`
	K           int     `json:"k"`
	Threads     int     `json:"threads"`
	ISA         string  `json:"isa"`
	GFLOPS      float64 `json:"gflops"`
	PeakGFLOPS  float64 `json:"peak_gflops"`
	PeakPercent float64 `json:"peak_percent"`
	GonumGFLOPS float64 `json:"gonum_gflops,omitempty"`
	GonumRatio  float64 `json:"gonum_ratio,omitempty"`
}

// BenchGEMM measures kernels.Sgemm (NN, row-major, alpha 1, beta 0) on each
// shape and thread count, with the peak FMA rate and optionally gonum measured
// in the same run. It restores the kernels' thread count afterwards.
func BenchGEMM(cfg GEMMConfig) []GEMMResult {
	if cfg.MinTime <= 0 {
		cfg.MinTime = 300 * time.Millisecond
	}
	threads := cfg.Threads
	if len(threads) == 0 {
		threads = []int{1}
		if p := runtime.GOMAXPROCS(0); p > 1 {
			threads = append(threads, p)
		}
	}
	prevThreads := kernels.Threads()
	defer kernels.SetThreads(prevThreads)

	var out []GEMMResult
	total, done := len(threads)*len(cfg.Shapes), 0
	for _, th := range threads {
		kernels.SetThreads(th)
		peak := kernels.PeakGFLOPS(th, cfg.MinTime)
		for _, s := range cfg.Shapes {
			r := GEMMResult{M: s.M, N: s.N, K: s.K, Threads: th, ISA: kernels.Current().String(), PeakGFLOPS: peak}
			a, b, c := randSlice(s.M*s.K, 1), randSlice(s.K*s.N, 2), make([]float32, s.M*s.N)
			r.GFLOPS = s.flop() / timeBest(cfg.MinTime, func() {
				kernels.Sgemm(false, false, s.M, s.N, s.K, 1, a, s.K, b, s.N, 0, c, s.N)
			}) / 1e9
			if peak > 0 {
				r.PeakPercent = 100 * r.GFLOPS / peak
			}
			if cfg.Gonum {
				r.GonumGFLOPS = gonumGFLOPS(s, th, cfg.MinTime, a, b, c)
				r.GonumRatio = r.GFLOPS / r.GonumGFLOPS
			}
			out = append(out, r)
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
		}
	}
	return out
}

// gonumGFLOPS times gonum's Sgemm with GOMAXPROCS set to the thread count,
// since gonum splits its work over GOMAXPROCS goroutines.
func gonumGFLOPS(s Shape, threads int, minTime time.Duration, a, b, c []float32) float64 {
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	var impl gonum.Implementation
	sec := timeBest(minTime, func() {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, s.M, s.N, s.K, 1, a, s.K, b, s.N, 0, c, s.N)
	})
	return s.flop() / sec / 1e9
}

// timeBest runs fn once to warm up, then repeatedly for at least minTime and
// at least three times, and returns the fastest run in seconds.
func timeBest(minTime time.Duration, fn func()) float64 {
	fn()
	best := time.Duration(1<<63 - 1)
	start := time.Now()
	for n := 0; n < 3 || time.Since(start) < minTime; n++ {
		t0 := time.Now()
		fn()
		best = min(best, time.Since(t0))
	}
	return best.Seconds()
}

// randSlice returns n deterministic values in [-1, 1).
func randSlice(n int, seed uint32) []float32 {
	x := make([]float32, n)
	s := seed*2654435761 + 1
	for i := range x {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		x[i] = float32(s)/float32(1<<31) - 1
	}
	return x
}

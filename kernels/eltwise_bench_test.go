package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The elementwise benchmarks run one thread, so the rows compare the code
// paths and not the pool; generic is the baseline row of every table.
// Run them with
//
//	go test -run '^$' -bench 'Eltwise|Rows' ./kernels/

// withISA runs one sub-benchmark per supported ISA with that ISA in force
// and a single thread.
func withISA(b *testing.B, f func(b *testing.B)) {
	for _, isa := range Supported() {
		b.Run(isa.String(), func(b *testing.B) {
			prev, _ := Use(isa)
			defer Use(prev)
			th := Threads()
			SetThreads(1)
			defer SetThreads(th)
			f(b)
		})
	}
}

// reportElems reports the elements processed per second.
func reportElems(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkEltwise(b *testing.B) {
	const n = 1 << 14 // 64 KiB per operand: L2-resident
	r := rand.New(rand.NewPCG(1, 1))
	x, y, dst := randSlice(r, n, -4, 4), randSlice(r, n, -4, 4), make([]float32, n)
	var sink float32
	ops := []struct {
		name    string
		streams int // operands read or written, for GB/s
		f       func()
	}{
		{"Axpy", 3, func() { Axpy(0.5, x, dst) }},
		{"Scale", 2, func() { Scale(dst, 0.5, x) }},
		{"Add", 3, func() { Add(dst, x, y) }},
		{"Mul", 3, func() { Mul(dst, x, y) }},
		{"Sum", 1, func() { sink += Sum(x) }},
		{"Dot", 2, func() { sink += Dot(x, y) }},
		{"ReLU", 2, func() { ReLU(dst, x) }},
		{"Exp", 2, func() { Exp(dst, x) }},
		{"Sigmoid", 2, func() { Sigmoid(dst, x) }},
		{"QuickGELU", 2, func() { QuickGELU(dst, x) }},
		{"QuickGELUBackward", 3, func() { QuickGELUBackward(dst, y, x) }},
		{"GELU", 2, func() { GELU(dst, x) }},
		{"GELUBackward", 3, func() { GELUBackward(dst, y, x) }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			withISA(b, func(b *testing.B) {
				b.SetBytes(int64(4 * n * op.streams))
				for b.Loop() {
					op.f()
				}
				reportElems(b, n)
			})
		})
	}
	_ = sink
}

func BenchmarkRows(b *testing.B) {
	// ViT-B/16 attention scores (197×197 per head), ViT-B/32 tokens (50×768),
	// ViT-B/16 tokens (197×768), CLIP logits over a batch (64×1000).
	type shape struct{ rows, cols int }
	r := rand.New(rand.NewPCG(2, 2))
	ops := []struct {
		name   string
		shapes []shape
		f      func(x, dst, dy []float32, rows, cols int) func()
	}{
		{"SoftmaxRows", []shape{{197, 197}, {64, 1000}}, func(x, dst, _ []float32, _, cols int) func() {
			return func() { SoftmaxRows(dst, x, cols) }
		}},
		{"LogSoftmaxRows", []shape{{64, 1000}}, func(x, dst, _ []float32, _, cols int) func() {
			return func() { LogSoftmaxRows(dst, x, cols) }
		}},
		{"SoftmaxRowsBackward", []shape{{197, 197}}, func(x, dst, dy []float32, _, cols int) func() {
			return func() { SoftmaxRowsBackward(dst, dy, x, cols) }
		}},
		{"LayerNormRows", []shape{{50, 768}, {197, 768}}, func(x, dst, _ []float32, rows, cols int) func() {
			mean, rstd := make([]float32, rows), make([]float32, rows)
			gamma, beta := randSlice(r, cols, 0.5, 1.5), randSlice(r, cols, -1, 1)
			return func() { LayerNormRows(dst, mean, rstd, x, gamma, beta, cols, 1e-5) }
		}},
		{"LayerNormRowsBackward", []shape{{197, 768}}, func(x, dst, dy []float32, rows, cols int) func() {
			mean, rstd := make([]float32, rows), make([]float32, rows)
			gamma, beta := randSlice(r, cols, 0.5, 1.5), randSlice(r, cols, -1, 1)
			LayerNormRows(dst, mean, rstd, x, gamma, beta, cols, 1e-5)
			dg, db := make([]float32, cols), make([]float32, cols)
			return func() { LayerNormRowsBackward(dst, dg, db, dy, x, mean, rstd, gamma, cols) }
		}},
	}
	for _, op := range ops {
		for _, sh := range op.shapes {
			b.Run(fmt.Sprintf("%s/%dx%d", op.name, sh.rows, sh.cols), func(b *testing.B) {
				n := sh.rows * sh.cols
				x, dst, dy := randSlice(r, n, -4, 4), make([]float32, n), randSlice(r, n, -1, 1)
				withISA(b, func(b *testing.B) {
					f := op.f(x, dst, dy, sh.rows, sh.cols)
					b.SetBytes(int64(8 * n))
					for b.Loop() {
						f()
					}
					reportElems(b, n)
				})
			})
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vlpuda/vlpuda/bench"
	"github.com/vlpuda/vlpuda/kernels"
)

var cmdBench = &Command{
	UsageLine: "bench gemm [flags]",
	Short:     "measure the engine against its peers",
	Long: `Bench gemm times kernels.Sgemm on square and ViT-B shapes, together with
the FMA peak of the core and gonum's Sgemm measured in the same run, and
prints shape, threads, GFLOP/s, percent of peak and the ratio to gonum.
With -json it prints one JSON object per line with the fields m, n, k,
threads, isa, gflops, peak_gflops, peak_percent, gonum_gflops, gonum_ratio.

Time only on an otherwise idle machine. bench/openblas/run.sh measures
OpenBLAS on the same shapes for comparison.`,
}

var (
	benchJSON    = cmdBench.Flag.Bool("json", false, "print JSON lines instead of a table")
	benchThreads = cmdBench.Flag.String("threads", "", "comma-separated thread counts (default 1 and all cores)")
	benchShapes  = cmdBench.Flag.String("shapes", "all", "square, vit, all, or a list such as 50x2304x768,1024x1024x1024")
	benchTime    = cmdBench.Flag.Duration("time", 300*time.Millisecond, "time per shape and library")
	benchGonum   = cmdBench.Flag.Bool("gonum", true, "also measure gonum's Sgemm")
	benchISA     = cmdBench.Flag.String("isa", "", "force a kernel path: avx512, avx2 or generic")
	benchQuiet   = cmdBench.Flag.Bool("q", false, "no progress bar")
)

func init() {
	cmdBench.Run = runBench
	register(cmdBench)
}

func runBench(cmd *Command, args []string) error {
	// The benchmark's name comes first, so its flags follow it.
	if len(args) == 0 || args[0] != "gemm" {
		return errUsage
	}
	if err := cmd.Flag.Parse(args[1:]); err != nil {
		return errUsage
	}
	if cmd.Flag.NArg() > 0 {
		return errUsage
	}
	if *benchISA != "" {
		isa, err := kernels.ParseISA(*benchISA)
		if err != nil {
			return err
		}
		if _, err := kernels.Use(isa); err != nil {
			return err
		}
	}
	shapes, err := parseShapes(*benchShapes)
	if err != nil {
		return err
	}
	threads, err := parseInts(*benchThreads)
	if err != nil {
		return fmt.Errorf("-threads: %w", err)
	}
	bar := newProgressBar(os.Stderr, "bench gemm", "shapes", *benchQuiet)
	results := bench.BenchGEMM(bench.GEMMConfig{
		Shapes: shapes, Threads: threads, MinTime: *benchTime, Gonum: *benchGonum, Progress: bar.Update,
	})
	if *benchJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shape\tthreads\tisa\tGFLOP/s\t% peak\tpeak\tgonum\t× gonum\t")
	for _, r := range results {
		gonumCol, ratio := "-", "-"
		if r.GonumGFLOPS > 0 {
			gonumCol, ratio = fmt.Sprintf("%.1f", r.GonumGFLOPS), fmt.Sprintf("%.1f", r.GonumRatio)
		}
		fmt.Fprintf(tw, "%d×%d×%d\t%d\t%s\t%.1f\t%.1f\t%.1f\t%s\t%s\t\n",
			r.M, r.N, r.K, r.Threads, r.ISA, r.GFLOPS, r.PeakPercent, r.PeakGFLOPS, gonumCol, ratio)
	}
	return tw.Flush()
}

func parseShapes(s string) ([]bench.Shape, error) {
	switch s {
	case "square":
		return bench.SquareShapes, nil
	case "vit":
		return bench.ViTShapes, nil
	case "all":
		return append(append([]bench.Shape{}, bench.SquareShapes...), bench.ViTShapes...), nil
	}
	var shapes []bench.Shape
	for _, f := range strings.Split(s, ",") {
		dims, err := parseInts(strings.ReplaceAll(strings.ToLower(f), "x", ","))
		if err != nil || len(dims) != 3 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1 {
			return nil, fmt.Errorf("-shapes: %q is not MxNxK with positive sizes", f)
		}
		shapes = append(shapes, bench.Shape{M: dims[0], N: dims[1], K: dims[2]})
	}
	return shapes, nil
}

// parseInts parses a comma-separated list of integers; "" gives nil.
func parseInts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

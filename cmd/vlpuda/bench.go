package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vlpuda/vlpuda/bench"
	"github.com/vlpuda/vlpuda/kernels"
)

var cmdBench = &Command{
	UsageLine: "bench gemm|clip|scaling [flags]",
	Short:     "measure the engine against its peers",
	Long: `Bench gemm times kernels.Sgemm on square and ViT-B shapes, together with
the FMA peak of the core and gonum's Sgemm measured in the same run, and
prints shape, threads, GFLOP/s, percent of peak and the ratio to gonum.
With -json it prints one JSON object per line with the fields m, n, k,
threads, isa, gflops, peak_gflops, peak_percent, gonum_gflops, gonum_ratio.

Bench clip times CLIP image towers of the real size with random weights:
ViT-B/32, ViT-B/16 and RN50 forward at batch 1 and 8, and a ViT-B/16
training step (forward, backward, SGD) at batch 8, printing images/s, the
nominal GFLOP/s (two per multiply-add of the tower's products; a training
step counts three forward passes), the percentage of the FMA peak measured
in the same process, and peak resident memory. Each case runs in a fresh
process so that its peak memory is its own. bench/pytorch/clip_bench.py runs the same cases in
PyTorch, and make bench-ort (bench/ort) the forward cases in ONNX Runtime,
each alternating with vlpuda.

Bench scaling times a ViT-B/16 training step and an RN50 forward pass at
batch 8 (or -cases) at 1, 2, 4, … threads up to the number of cores (or
-threads), each in a fresh process, and prints images/s, the speed-up over
the fewest threads and the parallel efficiency (speed-up per thread).

Time only on an otherwise idle machine. bench/openblas/run.sh measures
OpenBLAS on the same GEMM shapes for comparison.`,
}

var (
	benchJSON    = cmdBench.Flag.Bool("json", false, "print JSON lines instead of a table")
	benchThreads = cmdBench.Flag.String("threads", "", "comma-separated thread counts (default 1 and all cores)")
	benchShapes  = cmdBench.Flag.String("shapes", "all", "square, vit, all, or a list such as 50x2304x768,1024x1024x1024")
	benchTime    = cmdBench.Flag.Duration("time", 300*time.Millisecond, "time per shape and library")
	benchGonum   = cmdBench.Flag.Bool("gonum", true, "also measure gonum's Sgemm")
	benchISA     = cmdBench.Flag.String("isa", "", "force a kernel path: avx512, avx2, neon or generic")
	benchQuiet   = cmdBench.Flag.Bool("q", false, "no progress bar")
	benchCases   = cmdBench.Flag.String("cases", "", "clip, scaling: comma-separated cases such as vit-b16-fwd-8 (default: all; scaling: vit-b16-train-8,rn50-fwd-8)")
	benchReps    = cmdBench.Flag.Int("reps", 3, "clip: timed repetitions per case (the best is reported)")
	benchInProc  = cmdBench.Flag.Bool("inproc", false, "clip: run the cases in this process (peak memory is then shared)")
)

func init() {
	cmdBench.Run = runBench
	register(cmdBench)
}

func runBench(cmd *Command, args []string) error {
	// The benchmark's name comes first, so its flags follow it.
	if len(args) == 0 || (args[0] != "gemm" && args[0] != "clip" && args[0] != "scaling") {
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
	threads, err := parseInts(*benchThreads)
	if err != nil {
		return fmt.Errorf("-threads: %w", err)
	}
	for _, n := range threads {
		if err := checkBounds(bound{"threads", n, 1, maxThreads}); err != nil {
			return err
		}
	}
	switch args[0] {
	case "clip":
		return runBenchCLIP(cmd, threads)
	case "scaling":
		return runBenchScaling(cmd, threads)
	}
	shapes, err := parseShapes(*benchShapes)
	if err != nil {
		return err
	}
	bar := newProgressBar(cmd.Stderr, "bench gemm", "shapes", *benchQuiet)
	results := bench.BenchGEMM(bench.GEMMConfig{
		Shapes: shapes, Threads: threads, MinTime: *benchTime, Gonum: *benchGonum, Progress: bar.Update,
	})
	if *benchJSON {
		enc := json.NewEncoder(cmd.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(cmd.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
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
		m, n, k := dims[0], dims[1], dims[2]
		if m > maxGEMMElements/k || k > maxGEMMElements/n || m > maxGEMMElements/n {
			return nil, usagef("-shapes %s: a matrix of more than %d elements", f, maxGEMMElements)
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

// runBenchCLIP runs each CLIP case in a child process (or in this one with
// -inproc) and prints the results.
func runBenchCLIP(cmd *Command, threads []int) error {
	cases := bench.CLIPCases
	if *benchCases != "" {
		cases = nil
		for _, name := range strings.Split(*benchCases, ",") {
			c, err := bench.ParseCLIPCase(strings.TrimSpace(name))
			if err != nil {
				return err
			}
			cases = append(cases, c)
		}
	}
	if len(threads) > 1 {
		return fmt.Errorf("-threads: bench clip takes one thread count")
	}
	if len(threads) == 1 {
		kernels.SetThreads(threads[0])
	}
	var results []bench.CLIPResult
	bar := newProgressBar(cmd.Stderr, "bench clip", "cases", *benchQuiet || *benchInProc)
	for i, c := range cases {
		var r bench.CLIPResult
		var err error
		if *benchInProc {
			r, err = bench.BenchCLIP(c, *benchReps)
		} else {
			r, err = benchCLIPChild(c, *benchThreads, cmd.Stderr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
		results = append(results, r)
		bar.Update(i+1, len(cases))
	}
	if *benchJSON {
		enc := json.NewEncoder(cmd.Stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(cmd.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tmodel\tbatch\tthreads\timages/s\ts/batch\tGFLOP/s\t% of peak\tpeak RSS MiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.3f\t%.1f\t%.1f\t%.0f\t\n", r.Case, r.Model, r.Batch, r.Threads, r.ImagesPerSec, r.SecPerBatch, r.GFLOPS, r.PeakPercent, r.PeakRSSMiB)
	}
	return tw.Flush()
}

// childEnv returns the environment of the process that runs case name: a
// CPU profile asked for with VLPUDA_CPUPROFILE=FILE goes to FILE.name, so
// that each case has its own and none overwrites the parent's.
func childEnv(env []string, name string) []string {
	const key = "VLPUDA_CPUPROFILE="
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, key); ok && path != "" {
			kv = key + path + "." + name
		}
		out = append(out, kv)
	}
	return out
}

// benchCLIPChild runs one case in a fresh vlpuda process with the given
// -threads ("": the default) and reads its JSON line.
func benchCLIPChild(c bench.CLIPCase, threads string, stderr io.Writer) (bench.CLIPResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.CLIPResult{}, err
	}
	args := []string{"bench", "clip", "-inproc", "-json", "-cases", c.Name(), "-reps", strconv.Itoa(*benchReps)}
	if threads != "" {
		args = append(args, "-threads", threads)
	}
	child := exec.Command(exe, args...)
	child.Env = childEnv(os.Environ(), c.Name())
	child.Stderr = stderr
	out, err := child.Output()
	if err != nil {
		return bench.CLIPResult{}, fmt.Errorf("child process: %w", err)
	}
	var r bench.CLIPResult
	if err := json.Unmarshal(out, &r); err != nil {
		return bench.CLIPResult{}, fmt.Errorf("child process output %q: %w", out, err)
	}
	return r, nil
}

package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/bench"
)

// scalingCases are the cases of bench scaling unless -cases names others:
// a ViT-B/16 training step and an RN50 forward pass at batch 8.
var scalingCases = []bench.CLIPCase{{Model: "ViT-B/16", Batch: 8, Train: true}, {Model: "RN50", Batch: 8}}

// scalingThreads returns 1, 2, 4, … up to n, and n itself.
func scalingThreads(n int) []int {
	var ts []int
	for t := 1; t < n; t *= 2 {
		ts = append(ts, t)
	}
	return append(ts, max(n, 1))
}

// ScalingRow is one case at one thread count: its throughput, the
// speed-up over the case's smallest thread count, and the parallel
// efficiency (speed-up per thread, relative to that count).
type ScalingRow struct {
	bench.CLIPResult
	SpeedUp    float64 `json:"speedup"`
	Efficiency float64 `json:"efficiency"`
}

// scalingRows computes speed-up and efficiency for results ordered by
// case and, within a case, by increasing thread count.
func scalingRows(results []bench.CLIPResult) []ScalingRow {
	rows := make([]ScalingRow, len(results))
	var base bench.CLIPResult
	for i, r := range results {
		if i == 0 || r.Case != results[i-1].Case {
			base = r
		}
		rows[i].CLIPResult = r
		if base.ImagesPerSec > 0 {
			rows[i].SpeedUp = r.ImagesPerSec / base.ImagesPerSec
			rows[i].Efficiency = rows[i].SpeedUp * float64(base.Threads) / float64(r.Threads)
		}
	}
	return rows
}

// runBenchScaling times each case in a fresh process at every thread
// count and prints images/s, speed-up and efficiency.
func runBenchScaling(cmd *Command, threads []int) error {
	cases := scalingCases
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
	if len(threads) == 0 {
		threads = scalingThreads(runtime.NumCPU())
	}
	for i, t := range threads {
		if t < 1 || i > 0 && t <= threads[i-1] {
			return fmt.Errorf("-threads: want increasing positive counts, not %v", threads)
		}
	}
	var results []bench.CLIPResult
	bar := newProgressBar(cmd.Stderr, "bench scaling", "runs", *benchQuiet)
	for _, c := range cases {
		for _, t := range threads {
			r, err := benchCLIPChild(c, strconv.Itoa(t), cmd.Stderr)
			if err != nil {
				return fmt.Errorf("%s at %d threads: %w", c.Name(), t, err)
			}
			results = append(results, r)
			bar.Update(len(results), len(cases)*len(threads))
		}
	}
	rows := scalingRows(results)
	if *benchJSON {
		enc := json.NewEncoder(cmd.Stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(cmd.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tthreads\timages/s\tspeed-up\tefficiency\tpeak RSS MiB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.0f %%\t%.0f\t\n", r.Case, r.Threads, r.ImagesPerSec, r.SpeedUp, 100*r.Efficiency, r.PeakRSSMiB)
	}
	return tw.Flush()
}

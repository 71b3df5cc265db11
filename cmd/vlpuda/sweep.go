package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/internal/peakmem"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/uda/sweep"
	"github.com/vlpuda/vlpuda/uda/sweep/kube"
)

var cmdSweep = &Command{
	UsageLine: "sweep plan|run|status|report ...",
	Short:     "run grids of adapt runs (the paper's tables) here or on Slurm",
	Long: `Sweep runs a grid of adapt runs: every task with every method and seed.

	vlpuda sweep plan GRID.json -out DIR    number the runs; write DIR/plan.json and DIR/sweep.sbatch
	vlpuda sweep run DIR -index I           run run I into DIR/runs/I (-all: every run, one after another)
	vlpuda sweep status DIR                 done, running, failed or pending, with each failure's error
	vlpuda sweep report DIR                 the table from the finished runs: Markdown, JSON and PNG

GRID.json holds model, config (tiny models), data, dataset or preset,
tasks ([{"source": "A", "target": "W"}, ...]) or domains with
"all_pairs": true, methods (source-only, cmkd, fixmatch, cmkd+fixmatch;
"+rst" adds RST), seeds, threads (per run; default 1) and overrides
({"epochs": 2, "lr": 1e-5, ...}, the names of adapt's flags).

On Slurm, "sbatch DIR/sweep.sbatch" runs the plan as a job array, and
"vlpuda sweep report DIR" makes the table. A run is idempotent (a finished
one exits 0 at once), resumes from its checkpoint after a preemption or
requeue (SIGTERM: checkpoint, exit 143), and holds a lock so that two
workers never run the same index. "vlpuda sweep VERB -h" describes each
verb.`,
}

func init() {
	cmdSweep.Run = runSweep
	register(cmdSweep)
}

// sweepVerb is one verb of vlpuda sweep.
type sweepVerb struct {
	name, usage, long string
	run               func(cmd *Command, fs *flag.FlagSet, args []string) error
}

var sweepVerbs = []sweepVerb{
	{"plan", "plan GRID.json -out DIR [-parallel P] [-grace S] [-mem MiB | -probe-steps N] [-vlpuda PATH] [-partition P] [-time T] [-k8s-claim C -k8s-mount PATH -k8s-image I]",
		`Plan expands the grid into DIR/plan.json, one numbered run each (refusing
a DIR that holds the plan of another grid), and writes DIR/sweep.sbatch, a
Slurm job array over the runs: at most -parallel at a time, requeued
after a preemption, SIGTERM -grace seconds before the end, cpus per task
= the grid's threads, -mem MiB each. Without -mem, plan measures the
memory: it runs each method's first run for -probe-steps training steps
(and two test batches) here, on the grid's threads, and asks for the
largest peak resident memory + 25 % + 256 MiB (DIR/memory.json says
what it measured; "sweep status" shows the workers' own peaks); it also
prints each probe's estimate of a whole run's time on this machine. With -k8s-claim it also writes DIR/sweep-job.yaml, a
Kubernetes Indexed Job with the same runs, limits and grace period, for
"kubectl create -f". Paths in the grid are taken from the current folder.`, runSweepPlan},
	{"run", "run DIR (-index I | -all) [-workers N] [-q]",
		`Run runs run I of the plan in DIR into DIR/runs/I. A finished run exits 0
at once; a stopped one continues from its checkpoint. SIGTERM or SIGINT
writes a checkpoint and exits with 143 or 130. -all runs every run that
is not finished, in this process, one after another.`, runSweepRun},
	{"status", "status DIR",
		`Status lists every run of DIR: done, running (with its worker), failed
(with its last error) or pending.`, runSweepStatus},
	{"report", "report DIR",
		`Report prints the table of the finished runs in Markdown and writes it
to DIR/report.md, DIR/report.json and DIR/report.png: tasks as columns,
methods as rows, the accuracy after the last iteration as mean ± std
over the seeds, the best epoch's labelled as an oracle, and what each task
stores. A cell with a run missing says so instead of a number.`, runSweepReport},
}

func runSweep(cmd *Command, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	for _, v := range sweepVerbs {
		if v.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("sweep "+v.name, flag.ContinueOnError)
		fs.SetOutput(cmd.Stderr)
		fs.Usage = func() {
			fmt.Fprintf(cmd.Stderr, "usage: vlpuda sweep %s\n\n%s\n", v.usage, v.long)
			if hasFlags(fs) {
				fmt.Fprintf(cmd.Stderr, "\nFlags:\n")
				fs.PrintDefaults()
			}
		}
		err := v.run(cmd, fs, args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	fmt.Fprintf(cmd.Stderr, "vlpuda sweep: unknown verb %q (want plan, run, status or report)\n", args[0])
	return errUsageShown
}

func hasFlags(fs *flag.FlagSet) bool {
	var n int
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseSweep parses the verb's flags around its positional arguments and
// checks their number; a wrong number prints the verb's usage.
func parseSweep(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	err := fs.Parse(args)
	var pos []string
	if err == nil {
		pos, err = parseInterspersed(fs, fs.Args())
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err != nil {
		return nil, errUsageShown
	}
	if len(pos) != n {
		fs.Usage()
		return nil, errUsageShown
	}
	return pos, nil
}

func runSweepPlan(cmd *Command, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "the sweep folder")
	parallel := fs.Int("parallel", 0, "at most `P` runs at a time on the cluster (0: no limit)")
	grace := fs.Int("grace", 120, "`seconds` between the scheduler's SIGTERM and its SIGKILL")
	mem := fs.Int("mem", 0, "memory per run in `MiB` (0: measure it with a short probe of each method)")
	probeSteps := fs.Int("probe-steps", 2, "training `steps` of each memory probe")
	self, _ := os.Executable()
	vlpuda := fs.String("vlpuda", self, "`path` of vlpuda on the cluster's nodes")
	partition := fs.String("partition", "", "Slurm partition")
	limit := fs.String("time", "", "Slurm time limit per run (e.g. 12:00:00)")
	claim := fs.String("k8s-claim", "", "write DIR/sweep-job.yaml, a Kubernetes Indexed Job whose pods mount this PersistentVolumeClaim")
	mount := fs.String("k8s-mount", "", "`path` where the claim is mounted, the same as here: DIR, the model and the data must lie below it")
	image := fs.String("k8s-image", "", "container `image` holding vlpuda (on its PATH, or at -vlpuda if given)")
	backoff := fs.Int("k8s-backoff", 3, "Kubernetes: failures of a run before its index is given up (evictions do not count)")
	pos, err := parseSweep(fs, args, 1)
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsageShown
	}
	if err := checkBounds(bound{"mem", *mem, 0, maxMemMiB}, bound{"probe-steps", *probeSteps, 1, maxProbeSteps}); err != nil {
		return err
	}
	g, err := run.ReadGrid(pos[0])
	if err != nil {
		return err
	}
	p, err := run.Expand(g)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := run.WritePlan(dir, p); err != nil {
		return err
	}
	memory, err := planMemory(cmd, dir, p, *mem, *probeSteps)
	if err != nil {
		return err
	}
	if err := sweep.WriteMemory(dir, memory); err != nil {
		return err
	}
	c := sweep.Cluster{Vlpuda: *vlpuda, Parallel: *parallel, GraceSeconds: *grace, MemoryMiB: memory.RequestMiB, Partition: *partition, Time: *limit}
	if err := sweep.WriteSbatch(dir, p, c); err != nil {
		return err
	}
	fmt.Fprintf(cmd.Stdout, "%d runs (%d tasks × %d methods × %d seeds) in %s\n%s\nsubmit with: sbatch %s\n",
		len(p.Runs), len(p.Tasks()), len(p.Grid.Methods), len(p.Grid.Seeds), filepath.Join(dir, run.FilePlan),
		describeMemory(memory), filepath.Join(dir, sweep.FileSbatch))
	if *claim == "" {
		return nil
	}
	// In a container image vlpuda is on the PATH unless -vlpuda says where.
	kc := c
	if !flagSet(fs, "vlpuda") {
		kc.Vlpuda = "vlpuda"
	}
	job, err := kube.Job(dir, p, kc, kube.Options{Image: *image, Claim: *claim, MountPath: *mount, BackoffLimitPerIndex: int32(*backoff)})
	if err != nil {
		return err
	}
	if err := kube.Write(dir, job); err != nil {
		return err
	}
	fmt.Fprintf(cmd.Stdout, "on Kubernetes: kubectl create -f %s\n", filepath.Join(dir, kube.FileJob))
	return nil
}

// Bounds of sweep plan's flags: 16 TiB per worker, and probes short
// enough for a login node.
const (
	maxMemMiB     = 16 << 20
	maxProbeSteps = 100
)

// planMemory returns the memory request of the workers of plan p: mib if
// positive, else the peak measured by probing each method in this
// process, or, where the peak cannot be measured, an estimate from the
// model file's size.
func planMemory(cmd *Command, dir string, p *run.Plan, mib, steps int) (*sweep.Memory, error) {
	if mib > 0 {
		return &sweep.Memory{RequestMiB: mib, Source: sweep.MemoryFlag}, nil
	}
	fmt.Fprintf(cmd.Stderr, "measuring the workers' memory: %d training steps of each method's first run here (-mem MiB skips this)\n", steps)
	m, err := sweep.MeasureMemory(cmd.Context(), dir, p, steps, run.PlanOptions{}, func(pr sweep.Probe) {
		est := "no step timed"
		if pr.RunSeconds > 0 {
			est = "the whole run ~" + max(time.Duration(pr.RunSeconds*float64(time.Second)).Round(time.Second), time.Second).String() + " here"
		}
		fmt.Fprintf(cmd.Stderr, "  run %d (%s): peak %.0f MiB, %s (probe %.1f s)\n", pr.Run, pr.Method, pr.PeakMiB, est, pr.Seconds)
	})
	if errors.Is(err, peakmem.ErrUnsupported) {
		fmt.Fprintf(cmd.Stderr, "vlpuda sweep plan: %v; estimating from the model file's size instead\n", err)
		est, err := sweep.EstimateMemoryMiB(p.Grid.Model)
		return &sweep.Memory{RequestMiB: est, Source: sweep.MemoryEstimate}, err
	}
	return m, err
}

// describeMemory says how much memory each worker asks for and why.
func describeMemory(m *sweep.Memory) string {
	switch m.Source {
	case sweep.MemoryProbe:
		return fmt.Sprintf("memory per run: %d MiB (measured peak %.0f MiB, +25 %% +256 MiB)", m.RequestMiB, m.PeakMiB())
	case sweep.MemoryEstimate:
		return fmt.Sprintf("memory per run: %d MiB (estimated from the model file's size)", m.RequestMiB)
	}
	return fmt.Sprintf("memory per run: %d MiB (-mem)", m.RequestMiB)
}

// flagSet reports whether the flag called name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	var set bool
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runSweepRun(cmd *Command, fs *flag.FlagSet, args []string) error {
	index := fs.Int("index", -1, "the run `I` to run")
	all := fs.Bool("all", false, "run every unfinished run, one after another")
	workers := fs.Int("workers", 0, "image decoding goroutines per domain (0: one per core)")
	quiet := fs.Bool("q", false, "no progress on stderr")
	pos, err := parseSweep(fs, args, 1)
	if err != nil {
		return err
	}
	if *all == (*index >= 0) {
		fmt.Fprintln(cmd.Stderr, "vlpuda sweep run: give -index I or -all")
		fs.Usage()
		return errUsageShown
	}
	dir := pos[0]
	p, err := run.ReadPlan(dir)
	if err != nil {
		return err
	}
	indices := []int{*index}
	if *all {
		indices = indices[:0]
		for _, r := range p.Runs {
			indices = append(indices, r.Index)
		}
	}
	for _, i := range indices {
		r, err := p.Run(i)
		if err != nil {
			return err
		}
		opt := run.PlanOptions{Progress: adaptProgress(cmd.Stderr, "vlpuda sweep", *quiet), Workers: *workers}
		res, err := sweep.RunIndex(cmd.Context(), dir, p, i, opt)
		if err != nil {
			return fmt.Errorf("run %d (%s, %s, seed %d): %w", i, r.Task, r.Method, r.Seed, err)
		}
		if res == nil {
			fmt.Fprintf(cmd.Stdout, "run %d: done already\n", i)
			continue
		}
		fmt.Fprintf(cmd.Stdout, "run %d (%s, %s, seed %d): top-1 %.2f %% after the last epoch\n",
			i, r.Task, r.Method, r.Seed, 100*res.Last.Top1)
	}
	return nil
}

func runSweepStatus(cmd *Command, fs *flag.FlagSet, args []string) error {
	pos, err := parseSweep(fs, args, 1)
	if err != nil {
		return err
	}
	p, err := run.ReadPlan(pos[0])
	if err != nil {
		return err
	}
	st, err := sweep.ReadStatus(pos[0], p)
	if err != nil {
		return err
	}
	counts := map[sweep.State]int{}
	tw := tabwriter.NewWriter(cmd.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "index\ttask\tmethod\tseed\tstate\tpeak MiB\tdetail")
	peak := sweep.RunStatus{}
	for _, s := range st {
		counts[s.State]++
		mib := "-"
		if s.PeakMiB > 0 {
			mib = fmt.Sprintf("%.0f", s.PeakMiB)
		}
		if s.PeakMiB > peak.PeakMiB {
			peak = s
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Index, s.Task, s.Method, s.Seed, s.State, mib, firstLine(s.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.Stdout, "%d runs: %d done, %d running, %d failed, %d pending\n", len(st),
		counts[sweep.Done], counts[sweep.Running], counts[sweep.Failed], counts[sweep.Pending])
	mem, err := sweep.ReadMemory(pos[0])
	if err != nil || mem == nil || peak.PeakMiB == 0 {
		return err
	}
	_, err = fmt.Fprintf(cmd.Stdout, "memory: the workers peaked at %.0f MiB (run %d) of the %d MiB asked for\n",
		peak.PeakMiB, peak.Index, mem.RequestMiB)
	return err
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func runSweepReport(cmd *Command, fs *flag.FlagSet, args []string) error {
	pos, err := parseSweep(fs, args, 1)
	if err != nil {
		return err
	}
	dir := pos[0]
	p, err := run.ReadPlan(dir)
	if err != nil {
		return err
	}
	rep, err := sweep.ReadReport(dir, p)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.json", rep.WriteJSON}, {"report.png", rep.WritePNG}, {"report.md", rep.WriteMarkdown},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), b.Bytes(), true); err != nil {
			return err
		}
	}
	return rep.WriteMarkdown(cmd.Stdout)
}

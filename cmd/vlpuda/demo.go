package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/demo"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/run"
)

var cmdDemo = &Command{
	UsageLine: "demo [-quick | -full] [-json | -grid] [-seeds N] [-out DIR] [-force] [-threads N] [-teacher MODEL] [-cache DIR] [-q]",
	Short:     "adapt the packaged mini-CLIP between digit domains and print the paper's table",
	Long: `Demo runs the paper's methods on vlpuda's packaged benchmark: the mini-CLIP
teacher that 'vlpuda pretrain' made (embedded in this binary, or -teacher)
adapted from MNIST to MNIST-M (MNIST blended with photo crops). It runs
the mini-CLIP's zero-shot head, source-only fine-tuning, CMKD, CMKD+RST
twice (with the demo's cap on the share of the tower that may change, and
the paper's RST, its threshold alone) and CMKD+FixMatch,
and prints the target accuracy after the last iteration per task and
their average, with what each task stores beyond the shared teacher, in
the layout of the paper's tables. -full adds OpenCV→MNIST and fonts→MNIST;
-quick is a reduced run (fewer iterations and images) for CI. The
hyper-parameters were chosen on fonts→OpenCV, which is never reported
(uda/demo/PROTOCOL.md); -validate runs it, -methods picks some of the
methods, and -lr, -head-lr-mult, -tau, -rst-density, -paper-tau, -fixmatch-weight,
-fixmatch-threshold, -iters, -epochs, -batch, -train-images and
-test-images override the protocol's values.

The MNIST images the demo reads are embedded in this binary (the first
2000 training and 200 test images of each class; larger -train-images or
-test-images read MNIST from the Go module cache), and the fonts are
rendered, so no Go toolchain is needed. The rest is fetched and cached
first ('vlpuda fetch' shows it): MNIST-M needs photos from Debian
packages, fetched with apt-get; without them the demo runs fonts→MNIST
instead and says which files to put where in the -cache folder.

DIR (default vlpuda-demo) receives plan.json, one folder per run below
runs/, results.json and results.png (a bar chart). On SIGINT or SIGTERM
the current run writes a checkpoint and the demo exits with status 130 or
143 (as adapt does). An interrupted demo continues when rerun with the same
flags: finished runs are read back and a run with a checkpoint resumes. A finished demo, or one started with
other settings, is not replaced unless -force. -json prints the table as
one JSON object: per task and method accuracy_last, accuracy_best,
stored_params and stored_bytes.

The demo's runs are a sweep (see 'vlpuda help sweep'): -grid prints the
grid of the runs the other flags select, as GRID.json for 'vlpuda sweep
plan', and exits. 'vlpuda sweep run' of every index of that plan gives
the runs 'vlpuda demo' gives, and 'vlpuda sweep report' their table
(-grid fetches nothing, so the domains must be there for the workers:
'vlpuda fetch'). The runs' folders are runs/I/ in plan order (task,
method, seed); a folder left by a demo of a vlpuda from before the demo
was a sweep (runs/<task>/<method>-seed<k>/) is refused rather than
continued, and its results.json is still read as it was.`,
}

var (
	dmQuick   = cmdDemo.Flag.Bool("quick", false, "a reduced run for CI")
	dmFull    = cmdDemo.Flag.Bool("full", false, "add OpenCV→MNIST and fonts→MNIST")
	dmJSON    = cmdDemo.Flag.Bool("json", false, "print the table as one JSON object")
	dmGrid    = cmdDemo.Flag.Bool("grid", false, "print the runs' grid (GRID.json for 'vlpuda sweep plan') and exit")
	dmSeeds   = cmdDemo.Flag.Int("seeds", 1, "seeds 1..N; accuracies are mean ± std over them")
	dmOut     = cmdDemo.Flag.String("out", "vlpuda-demo", "output folder")
	dmForce   = cmdDemo.Flag.Bool("force", false, "start over in a folder that holds another or a finished demo")
	dmThreads = cmdDemo.Flag.Int("threads", 0, "threads (0: all cores)")
	dmTeacher = cmdDemo.Flag.String("teacher", "", "teacher checkpoint (default: the embedded mini-CLIP)")
	dmCache   = cmdDemo.Flag.String("cache", "", "cache folder of the digit domains' files (default: the user cache)")
	dmQuiet   = cmdDemo.Flag.Bool("q", false, "no progress on stderr")
	dmTasks   = cmdDemo.Flag.String("tasks", "", "comma-separated source->target tasks instead of the default ones")
	dmValid   = cmdDemo.Flag.Bool("validate", false, "run the protocol's validation task fonts->opencv instead (never in the table)")
	dmMethods = cmdDemo.Flag.String("methods", "", "comma-separated methods instead of all six (for sweeps on -validate)")
	dmIters   optInt
	dmEpochs  optInt
	dmTrainN  optInt
	dmTestN   optInt
	dmBatch   optInt
	dmLR      optFloat
	dmHeadLR  optFloat
	dmTau     optFloat
	dmDensity optFloat
	dmPaperT  optFloat
	dmFMW     optFloat
	dmFMT     optFloat
)

func init() {
	cmdDemo.Flag.Var(&dmIters, "iters", "training iterations per run (default: the protocol's)")
	cmdDemo.Flag.Var(&dmEpochs, "epochs", "evaluations per run (default: the protocol's)")
	cmdDemo.Flag.Var(&dmTrainN, "train-images", "training images per domain (default: the protocol's)")
	cmdDemo.Flag.Var(&dmTestN, "test-images", "target test images (default: the protocol's)")
	cmdDemo.Flag.Var(&dmBatch, "batch", "source and target batch size (default: the protocol's)")
	cmdDemo.Flag.Var(&dmLR, "lr", "image tower learning rate (default: the protocol's)")
	cmdDemo.Flag.Var(&dmHeadLR, "head-lr-mult", "head learning rate as a multiple of -lr (default: the protocol's)")
	cmdDemo.Flag.Var(&dmTau, "tau", "RST threshold τ (default: the protocol's)")
	cmdDemo.Flag.Var(&dmDensity, "rst-density", "RST: the largest `fraction` of tower elements that may change (default: the protocol's)")
	cmdDemo.Flag.Var(&dmPaperT, "paper-tau", "the paper's RST (cmkd+rst-paper, no cap): threshold τ (default: the protocol's)")
	cmdDemo.Flag.Var(&dmFMW, "fixmatch-weight", "FixMatch's loss weight λ_fm (default: the protocol's)")
	cmdDemo.Flag.Var(&dmFMT, "fixmatch-threshold", "FixMatch's confidence threshold τ_fm (default: the protocol's)")
	cmdDemo.Run = runDemo
	register(cmdDemo)
}

func runDemo(cmd *Command, args []string) error {
	if len(args) > 0 || *dmSeeds < 1 {
		fmt.Fprintln(cmd.Stderr, "vlpuda demo: no arguments; -seeds at least 1")
		return errUsage
	}
	err := checkBounds(
		bound{"seeds", *dmSeeds, 1, maxSeeds},
		bound{"threads", *dmThreads, 0, maxThreads},
		optBound("batch", dmBatch, 1, maxBatch),
		optBound("train-images", dmTrainN, 0, maxDigitImages),
		optBound("test-images", dmTestN, 0, maxDigitImages),
	)
	if err != nil {
		return err
	}
	if *dmThreads > 0 {
		kernels.SetThreads(*dmThreads)
	}
	cfg, err := demoConfig()
	if err != nil {
		return err
	}
	if cfg.Teacher, err = teacherPath(*dmTeacher, *dmCache); err != nil {
		return err
	}
	if *dmGrid {
		return printDemoGrid(cmd.Stdout, cfg)
	}
	cfg.Progress = demoProgress(cmd.Stderr, *dmQuiet)
	ctx := cmd.Context()
	rep, err := demo.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *dmJSON {
		b, err := json.Marshal(rep.Summary())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.Stdout, "%s\n", b)
		return err
	}
	if err := rep.WriteTable(cmd.Stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.Stdout, "results in %s/%s and %s/%s\n", *dmOut, demo.FileResults, *dmOut, demo.FileChart)
	return err
}

// printDemoGrid prints the grid of cfg's runs as indented JSON, with the
// -threads flag as the grid's thread count.
func printDemoGrid(w io.Writer, cfg demo.Config) error {
	g, err := cfg.Grid()
	if err != nil {
		return err
	}
	g.Threads = *dmThreads
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// demoConfig turns the flags into the demo's configuration.
func demoConfig() (demo.Config, error) {
	cfg := demo.Config{
		Methods: demo.Methods, Out: *dmOut, Force: *dmForce,
		Tasks:    []demo.Task{demo.MainTask},
		Settings: demo.DefaultSettings(),
		Domains:  digits.Options{CacheDir: *dmCache},
	}
	if *dmFull {
		cfg.Tasks = demo.FullTasks
	}
	if *dmQuick {
		cfg.Settings = demo.QuickSettings()
	}
	if *dmValid {
		cfg.Tasks, cfg.Validation = []demo.Task{demo.ValidationTask}, true
	}
	if *dmTasks != "" {
		cfg.Tasks = nil
		for _, s := range strings.Split(*dmTasks, ",") {
			t, err := demo.ParseTask(strings.TrimSpace(s))
			if err != nil {
				return cfg, err
			}
			cfg.Tasks = append(cfg.Tasks, t)
		}
	}
	if *dmMethods != "" {
		cfg.Methods = nil
		for _, s := range strings.Split(*dmMethods, ",") {
			m, err := demo.ParseMethod(strings.TrimSpace(s))
			if err != nil {
				return cfg, err
			}
			cfg.Methods = append(cfg.Methods, m)
		}
	}
	for k := range *dmSeeds {
		cfg.Seeds = append(cfg.Seeds, uint64(k+1))
	}
	dmIters.apply(&cfg.Settings.Iterations)
	dmEpochs.apply(&cfg.Settings.Epochs)
	dmTrainN.apply(&cfg.Settings.TrainImages)
	dmTestN.apply(&cfg.Settings.TestImages)
	dmBatch.apply(&cfg.Settings.Batch)
	dmLR.apply(&cfg.Settings.LR)
	dmHeadLR.apply(&cfg.Settings.HeadLRMult)
	dmTau.apply(&cfg.Settings.Tau)
	dmDensity.apply(&cfg.Settings.MaxDensity)
	dmPaperT.apply(&cfg.Settings.PaperTau)
	dmFMW.apply(&cfg.Settings.FixMatchWeight)
	dmFMT.apply(&cfg.Settings.FixMatchThreshold)
	return cfg, cfg.Settings.Validate()
}

// demoProgress returns the demo's Progress callback: a bar per run with
// its rate and ETA, and a line per finished run.
func demoProgress(stderr io.Writer, quiet bool) func(run.Event) {
	var bar *progressBar
	current := -1
	first := -1
	return func(e run.Event) {
		switch {
		case quiet:
		case e.Note != "":
			fmt.Fprintf(stderr, "demo: %s\n", e.Note)
		case e.Step != nil:
			if bar == nil || e.Run.Index != current {
				unit := "it"
				if e.Run.Method == string(demo.ZeroShot) {
					unit = "img"
				}
				current, first = e.Run.Index, e.Step.Iter-1
				bar = newProgressBar(stderr, fmt.Sprintf("[%d/%d] %s %s", e.Run.Index+1, e.Total, e.Run.Task, e.Run.Method), unit, false)
			}
			if e.Step.Step != nil {
				bar.SetExtra(fmt.Sprintf("epoch %d/%d", e.Step.Epoch, e.Step.Epochs))
			}
			bar.Update(e.Step.Iter-first, e.Step.Total-first)
		case e.Result != nil:
			r := e.Result
			how := fmt.Sprintf("%.0f s", r.Seconds)
			if e.Cached {
				how = "done earlier"
			}
			clear := ""
			if bar != nil && bar.enabled {
				clear = "\r\x1b[K"
			}
			bar = nil
			fmt.Fprintf(stderr, "%s[%d/%d] %-14s %-14s seed %d: last %.1f %%, best %.1f %% (oracle), stores %d params, %s (%s)\n",
				clear, e.Run.Index+1, e.Total, e.Run.Task, e.Run.Method, e.Run.Seed, 100*r.Last.Top1, 100*r.Best.Top1,
				r.Stored.Params, byteSize(r.Stored.Bytes), how)
		}
	}
}

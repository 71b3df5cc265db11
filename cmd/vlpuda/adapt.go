package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/vlp"
)

var cmdAdapt = &Command{
	UsageLine: "adapt -model MODEL [-config C.json] -data ROOT (-dataset NAME | -preset NAME) -s SOURCE -t TARGET [-method M] [-rst TAU | -rst-density D] [overrides] [-seed N] [-threads N] -out DIR [-resume | -force] [-q]",
	Short:     "adapt a CLIP image tower and task head to a target domain",
	Long: `Adapt trains the task model of the paper (CLIP's image tower followed by a
task head) on a labelled source domain and an unlabelled target domain,
evaluates it on the target after every epoch, and stores the result.

Data. With -dataset (office31, officehome, ...) the domains -s and -t are
the benchmark's codes (A, W, Ar, Cl, ...) or folder names below ROOT, and
incomplete downloads draw a warning. Without it, -s and -t are folders
below ROOT, each holding one sub-folder per class, and -preset names the
benchmark whose settings and data pipeline to use. Instead of folders,
-source-list and -target-list read tllib image lists (paths relative to
ROOT) with -classes, a file naming the classes in label order. The target
domain is also the test set, as in the paper. An image that cannot be read
stops the run with its name.

Settings. -preset (default: -dataset) gives the paper's settings for the
benchmark and the model's kind of image tower: iterations, batch sizes,
loss weights, learning rates (ViT: 3e-6, head x1000; ResNet: 3e-7, head
x10000; VisDA 10x smaller), SGD with Nesterov momentum 0.9, weight decay
5e-4, lr x (1+0.0003 t)^-0.75. The flags below override single values.
-method is source-only, cmkd (default), fixmatch or cmkd+fixmatch; -variant
paper uses the paper's printed equations instead of the authors' code.

RST. -rst TAU resets, after every step, the tower elements within TAU of
their pre-trained value (the paper: 1e-6; VisDA 1e-7 for ViT, 1e-8 for
ResNets); -rst-density D keeps at most a fraction D of them changed. The
task is then stored as a small residual over MODEL (task.vlpr), otherwise
as a safetensors file of the tower and head (task.safetensors).

Output. DIR receives log.jsonl (loss terms every -log-every iterations, the
evaluation after every epoch), checkpoint.safetensors (every epoch and on
interrupt), task and best task files, confusion.csv, result.json and
curves.png. A DIR that is not empty is refused unless -resume (continue its
run: the same numbers as an uninterrupted one, given the same flags and
seed, with any -threads and kernel path) or
-force (start over). -resume in a DIR without a checkpoint, such as that of
a run killed in its first epoch, starts the run over and says so. The last
epoch's accuracy is the result; the best epoch's is chosen with the target
labels (an oracle, as the paper's numbers are) and labelled so.

Stopping. On SIGINT (Ctrl-C) or SIGTERM (what Slurm and Kubernetes send),
adapt finishes the current iteration, writes a checkpoint and exits with
status 130 after SIGINT or 143 after SIGTERM; -resume continues the run. A
second signal ends the process at once. Checkpoints carry a CRC-32C per
tensor, which -resume verifies; temporary files that a killed process
left in DIR are removed when a run starts or resumes.`,
}

var (
	adModel      = cmdAdapt.Flag.String("model", "", "CLIP checkpoint (the base model)")
	adConfig     = cmdAdapt.Flag.String("config", "", "JSON file with the model's constructor arguments")
	adData       = cmdAdapt.Flag.String("data", "", "dataset root")
	adDataset    = cmdAdapt.Flag.String("dataset", "", "benchmark layout of ROOT: office31, officehome, ...")
	adSource     = cmdAdapt.Flag.String("s", "", "source domain")
	adTarget     = cmdAdapt.Flag.String("t", "", "target domain")
	adSrcList    = cmdAdapt.Flag.String("source-list", "", "tllib image list of the source (instead of -s)")
	adTgtList    = cmdAdapt.Flag.String("target-list", "", "tllib image list of the target (instead of -t)")
	adClasses    = cmdAdapt.Flag.String("classes", "", "file naming the classes of the lists, one per line, in label order")
	adMethod     = cmdAdapt.Flag.String("method", "cmkd", "source-only, cmkd, fixmatch or cmkd+fixmatch")
	adVariant    = cmdAdapt.Flag.String("variant", "code", "loss equations: code (the authors') or paper (as printed)")
	adPreset     = cmdAdapt.Flag.String("preset", "", "benchmark settings and data pipeline (default: -dataset)")
	adSeed       = cmdAdapt.Flag.Uint64("seed", 42, "seed of the head, the sampling and the augmentations (the target stream uses seed+1)")
	adThreads    = cmdAdapt.Flag.Int("threads", 0, "threads (0: all cores); results are the same with any count")
	adWorkers    = cmdAdapt.Flag.Int("workers", 0, "image decoding goroutines per domain (0: one per core)")
	adOut        = cmdAdapt.Flag.String("out", "", "output folder")
	adResume     = cmdAdapt.Flag.Bool("resume", false, "continue the run whose checkpoint is in -out (a new run if -out is empty)")
	adForce      = cmdAdapt.Flag.Bool("force", false, "start over in a non-empty -out, replacing an earlier run's files")
	adQuiet      = cmdAdapt.Flag.Bool("q", false, "no progress on stderr")
	adRST        optFloat
	adDensity    optFloat
	adEpochs     optInt
	adIters      optInt
	adBatch      optInt
	adTgtBatch   optInt
	adLR         optFloat
	adHeadMult   optFloat
	adLambda1    optFloat
	adLambda2    optFloat
	adLambda3    optFloat
	adFMWeight   optFloat
	adFMThresh   optFloat
	adSmoothing  optFloat
	adGamma      optFloat
	adPower      optFloat
	adWD         optFloat
	adRampIters  optInt
	adEvalBatch  optInt
	adLogEvery   optInt
	adMetric     = cmdAdapt.Flag.String("metric", "", "metric that picks the best epoch: top1 or mean_per_class (default: the preset's)")
	adFlagsExtra = []struct {
		v    flagValue
		name string
		help string
	}{
		{&adRST, "rst", "RST threshold `τ` (default 0: off; the paper's 1e-6, VisDA 1e-7 ViT, 1e-8 ResNet)"},
		{&adDensity, "rst-density", "RST: the largest `fraction` of tower elements that may change (default 0: no limit)"},
		{&adEpochs, "epochs", "`N` epochs (default: the preset's)"},
		{&adIters, "iters", "`N` iterations per epoch (default: the preset's)"},
		{&adBatch, "batch", "source batch size `B` (default: the preset's)"},
		{&adTgtBatch, "target-batch", "target batch size `B` (default: the preset's)"},
		{&adLR, "lr", "image tower learning `rate` (default: the preset's for the tower)"},
		{&adHeadMult, "head-lr-mult", "head learning rate as a `multiple` of -lr (default: the preset's)"},
		{&adLambda1, "lambda1", "CMKD `λ1`, task and distillation terms (default: the preset's)"},
		{&adLambda2, "lambda2", "CMKD `λ2`, the zero-shot head's source cross-entropy (default: the preset's)"},
		{&adLambda3, "lambda3", "CMKD `λ3`, the zero-shot head's Gini impurity (default: the preset's)"},
		{&adFMWeight, "fm-weight", "FixMatch `λ_fm` (default: the preset's)"},
		{&adFMThresh, "fm-threshold", "FixMatch confidence threshold `τ_fm` (default: the preset's)"},
		{&adSmoothing, "label-smoothing", "label smoothing `ε` of the source cross-entropy (default 0.1)"},
		{&adGamma, "lr-gamma", "`γ` of the schedule lr·(1+γt)^(−p) (default 0.0003)"},
		{&adPower, "lr-power", "`p` of the schedule lr·(1+γt)^(−p) (default 0.75)"},
		{&adWD, "wd", "weight `decay` (default 5e-4)"},
		{&adRampIters, "ramp-iters", "`N` iterations over which λ1 and λ3 ramp up (default 10000, the authors')"},
		{&adEvalBatch, "eval-batch", "`N` images per forward pass in evaluation (default 64)"},
		{&adLogEvery, "log-every", "`N` iterations between log records (default 10)"},
	}
)

func init() {
	for _, f := range adFlagsExtra {
		cmdAdapt.Flag.Var(f.v, f.name, f.help)
	}
	cmdAdapt.Run = runAdapt
	register(cmdAdapt)
}

func runAdapt(cmd *Command, args []string) error {
	if msg := adaptUsageError(args); msg != "" {
		fmt.Fprintln(cmd.Stderr, "vlpuda adapt: "+msg)
		return errUsage
	}
	err := checkBounds(
		bound{"threads", *adThreads, 0, maxThreads},
		bound{"workers", *adWorkers, 0, maxWorkers},
		optBound("batch", adBatch, 1, maxBatch),
		optBound("target-batch", adTgtBatch, 1, maxBatch),
		optBound("eval-batch", adEvalBatch, 1, maxBatch),
	)
	if err != nil {
		return err
	}
	if *adThreads > 0 {
		kernels.SetThreads(*adThreads)
	}
	m, err := loadModel(*adModel, *adConfig)
	if err != nil {
		return err
	}
	for _, b := range []bound{optBound("batch", adBatch, 1, maxBatch), optBound("target-batch", adTgtBatch, 1, maxBatch), optBound("eval-batch", adEvalBatch, 1, maxBatch)} {
		if err := checkBatchImages(b.name, b.v, m.Config.ImageResolution); err != nil {
			return err
		}
	}
	preset, cfg, err := adaptConfig(m.Config.IsResNet())
	if err != nil {
		return err
	}
	task, closeTask, err := adaptTask(cmd.Stderr, preset, cfg, m.Config.ImageResolution)
	if err != nil {
		return err
	}
	defer closeTask()
	ctx := cmd.Context()
	opt := run.Options{Out: *adOut, Resume: *adResume, Force: *adForce, Progress: adaptProgress(cmd.Stderr, "vlpuda adapt", *adQuiet)}
	res, err := run.Adapt(ctx, m, task, cfg, opt)
	if err != nil {
		return err
	}
	return printAdapt(cmd.Stdout, res)
}

// adaptUsageError says what the command line lacks, before anything is
// loaded: the flags every run needs, a benchmark and the two domains; ""
// if nothing.
func adaptUsageError(args []string) string {
	switch {
	case len(args) > 0 || *adModel == "" || *adData == "" || *adOut == "":
		return "-model, -data and -out are required, and nothing else"
	case *adPreset == "" && *adDataset == "":
		return fmt.Sprintf("name the benchmark with -dataset, or its settings with -preset (%s)", presetNames())
	case adaptPair().Check() != nil:
		return "name the domains with -s and -t, or give -source-list, -target-list and -classes (not both)"
	}
	return ""
}

// adaptPair is the pair of domains the data flags name.
func adaptPair() data.Pair {
	return data.Pair{Root: *adData, Dataset: *adDataset, Source: *adSource, Target: *adTarget,
		SourceList: *adSrcList, TargetList: *adTgtList, Classes: *adClasses}
}

// loadModel loads a CLIP checkpoint with the config file, if any.
func loadModel(path, config string) (*vlp.CLIP, error) {
	cfg, err := readConfigFlag(config)
	if err != nil {
		return nil, err
	}
	m, _, err := vlp.Load(path, cfg)
	return m, err
}

// adaptConfig returns the preset named by -preset or -dataset and the
// configuration it gives for the flags' method and tower, with the
// overrides applied.
func adaptConfig(resnet bool) (run.Preset, uda.Config, error) {
	name := *adPreset
	if name == "" {
		name = *adDataset
	}
	p, err := run.LookupPreset(name)
	if err != nil {
		return p, uda.Config{}, err
	}
	method, err := uda.ParseMethod(*adMethod)
	if err != nil {
		return p, uda.Config{}, err
	}
	variant, err := uda.ParseVariant(*adVariant)
	if err != nil {
		return p, uda.Config{}, err
	}
	cfg := p.Config(method, resnet)
	cfg.Objective.Variant = variant
	cfg.Seed = *adSeed
	adBatch.apply(&p.SourceBatch)
	adTgtBatch.apply(&p.TargetBatch)
	for _, o := range []struct {
		v   *optFloat
		dst *float64
	}{
		{&adRST, &cfg.RSTTau}, {&adDensity, &cfg.RSTMaxDensity}, {&adLR, &cfg.LR}, {&adHeadMult, &cfg.HeadLRMult},
		{&adLambda1, &cfg.Objective.Lambda1}, {&adLambda2, &cfg.Objective.Lambda2}, {&adLambda3, &cfg.Objective.Lambda3},
		{&adFMWeight, &cfg.Objective.FixMatchWeight}, {&adFMThresh, &cfg.Objective.FixMatchThreshold},
		{&adSmoothing, &cfg.Objective.LabelSmoothing}, {&adGamma, &cfg.LRGamma}, {&adPower, &cfg.LRPower}, {&adWD, &cfg.WeightDecay},
	} {
		o.v.apply(o.dst)
	}
	for _, o := range []struct {
		v   *optInt
		dst *int
	}{
		{&adEpochs, &cfg.Epochs}, {&adIters, &cfg.ItersPerEpoch}, {&adRampIters, &cfg.Objective.Ramp.MaxIter},
		{&adEvalBatch, &cfg.EvalBatch}, {&adLogEvery, &cfg.LogEvery},
	} {
		o.v.apply(o.dst)
	}
	if *adMetric != "" {
		cfg.Metric = *adMetric
	}
	return p, cfg, cfg.Validate()
}

func presetNames() string {
	var names []string
	for _, p := range run.Presets {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// adaptTask opens the source and target domains that the data flags name
// and builds the task, printing warnings to stderr. close stops the
// streams' loaders.
func adaptTask(stderr io.Writer, p run.Preset, cfg uda.Config, size int) (task run.Task, close func(), err error) {
	src, tgt, warns, err := adaptPair().Open()
	printWarnings(stderr, "adapt", warns)
	if err != nil {
		return task, nil, err
	}
	if task, close, err = run.NewTask(p, cfg, src, tgt, size, *adWorkers); err != nil {
		return task, nil, err
	}
	task.Info.Meta = map[string]string{"model": *adModel, "data": *adData, "dataset": *adDataset, "source": src.Root, "target": tgt.Root}
	return task, close, nil
}

// adaptProgress returns the Progress callback: on stderr, notes after
// prefix, a bar with the loss terms, and a line per evaluation.
func adaptProgress(stderr io.Writer, prefix string, quiet bool) func(run.Event) {
	bar := newProgressBar(stderr, "adapt", "it", quiet)
	first := -1 // iterations done before this process started
	return func(e run.Event) {
		p := e.Step
		switch {
		case e.Note != "":
			fmt.Fprintf(stderr, "%s: %s\n", prefix, e.Note)
			return
		case p == nil:
			return
		case p.Eval == nil: // a batch of a zero-shot evaluation
			bar.Update(p.Iter, p.Total)
			return
		case p.Step != nil:
			if first < 0 {
				first = p.Iter - 1
			}
			var b strings.Builder
			fmt.Fprintf(&b, "epoch %d/%d", p.Epoch, p.Epochs)
			for _, t := range p.Step.Terms {
				fmt.Fprintf(&b, " %s %.4g", t.Name, t.Value)
			}
			bar.SetExtra(b.String())
			bar.Update(p.Iter-first, p.Total-first)
			return
		}
		if quiet {
			return
		}
		clear := ""
		if bar.enabled {
			clear = "\r\x1b[K"
		}
		fmt.Fprintf(stderr, "%sepoch %d/%d (iteration %d): top-1 %.2f %%, mean per class %.2f %%; best so far epoch %d (oracle)\n",
			clear, p.Epoch, p.Epochs, p.Iter, 100*p.Eval.Top1, 100*p.Eval.MeanPerClass, p.Best.Epoch)
	}
}

// printAdapt prints the result: last and best epoch, per-class accuracy
// of the last epoch, and what was stored.
func printAdapt(w io.Writer, r *run.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(r.Task.Classes) <= 65 {
		fmt.Fprintf(tw, "label\tclass\timages\tlast epoch\n")
		for k, c := range r.Last.PerClass {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f %%\n", k, c.Class, c.Images, 100*c.Accuracy)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%s, %s, %d iterations (%d epochs × %d)\n", r.Task.Benchmark, r.Task.Method, r.Iterations, r.Config.Epochs, r.Config.ItersPerEpoch)
	fmt.Fprintf(tw, "\ttop-1\tmean per class\n")
	fmt.Fprintf(tw, "last epoch (%d)\t%.2f %%\t%.2f %%\n", r.Last.Epoch, 100*r.Last.Top1, 100*r.Last.MeanPerClass)
	fmt.Fprintf(tw, "best epoch (%d), selected with target labels (oracle)\t%.2f %%\t%.2f %%\n", r.Best.Epoch, 100*r.Best.Top1, 100*r.Best.MeanPerClass)
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Stored
	fmt.Fprintf(w, "task file %s: %s, %d stored values", s.Path, byteSize(s.Bytes), s.Params)
	if s.Format == "rst" {
		fmt.Fprintf(w, " (RST: %d of %d tower elements changed, %.4f %%; %.2f bytes per non-zero)", s.TowerNonZero, s.TowerNumel, 100*s.Density, s.BytesPerNonZero)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// byteSize formats n bytes with a binary unit.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// flagValue is a flag.Value that is also a flag.Getter, so that run resets
// it to its default ("": unset) before each command.
type flagValue interface {
	String() string
	Set(string) error
	Get() any
}

// optFloat is a float flag that remembers whether it was given; "" unsets
// it.
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

func (o *optFloat) Set(s string) error {
	if s == "" {
		*o = optFloat{}
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %q", s)
	}
	*o = optFloat{v, true}
	return nil
}

func (o *optFloat) Get() any { return o.v }

// apply stores the flag's value in dst if it was given.
func (o *optFloat) apply(dst *float64) {
	if o.set {
		*dst = o.v
	}
}

// optInt is an int flag that remembers whether it was given; "" unsets it.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	if s == "" {
		*o = optInt{}
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %q", s)
	}
	*o = optInt{v, true}
	return nil
}

func (o *optInt) Get() any { return o.v }

func (o *optInt) apply(dst *int) {
	if o.set {
		*dst = o.v
	}
}

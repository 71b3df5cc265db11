package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/uda/digits"
)

// FilePlan is the name of the plan in a sweep folder.
const FilePlan = "plan.json"

// Grid describes a sweep: every task of Tasks (or, with AllPairs, every
// ordered pair of Domains) with every method and seed. Its JSON form is
// the GRID.json file of "vlpuda sweep plan".
type Grid struct {
	// Model is the CLIP checkpoint, Config its constructor arguments (for
	// tiny models; may be empty). With dataset digits, Model is a
	// mini-CLIP teacher (pretrain.Save).
	Model  string `json:"model"`
	Config string `json:"config,omitempty"`
	// Data is the dataset root. Dataset names its benchmark layout
	// (office31, officehome, ...), whose domain codes Tasks and Domains
	// may use; without it the domains are folders below Data. Preset
	// names the settings (default: Dataset). Dataset DatasetDigits names
	// the built-in digit domains of package digits (see DigitDomains);
	// Data is then the cache folder of their fetched files (empty: the
	// default).
	Data    string `json:"data"`
	Dataset string `json:"dataset,omitempty"`
	Preset  string `json:"preset,omitempty"`
	// Tasks lists source→target pairs. Domains with AllPairs adds every
	// ordered pair of distinct domains, in the order of Domains.
	Tasks    []Pair   `json:"tasks,omitempty"`
	Domains  []string `json:"domains,omitempty"`
	AllPairs bool     `json:"all_pairs,omitempty"`
	// Methods are uda.ParseMethod's names (source-only, cmkd, fixmatch,
	// cmkd+fixmatch), each optionally followed by "+rst": residual sparse
	// training with the overrides' "rst" τ, or the preset's; or
	// MethodZeroShot, the model's zero-shot head without training. A
	// method may end in "-NAME" to tell apart two rows of one method with
	// other settings (MethodOverrides), as "cmkd+rst-paper".
	Methods []string `json:"methods"`
	Seeds   []uint64 `json:"seeds"`
	// Threads is the kernel thread count of every run (default 1). Results
	// depend on it, and a resumed run must keep it.
	Threads int `json:"threads,omitempty"`
	// Variant is the loss variant, code (default) or paper.
	Variant string `json:"variant,omitempty"`
	// Overrides set single settings by the names of vlpuda adapt's flags
	// (epochs, iters, batch, lr, lambda1, ...; see OverrideNames). "rst"
	// and "rst-density" apply to the +rst methods only.
	Overrides map[string]float64 `json:"overrides,omitempty"`
	// MethodOverrides set overrides for the runs of one method alone,
	// over Overrides.
	MethodOverrides map[string]map[string]float64 `json:"method_overrides,omitempty"`
	// StepSizes lists methods whose runs measure how far the image
	// tower's elements move per step (step_sizes.json in the run's
	// folder), which RST's τ is calibrated against.
	StepSizes []string `json:"step_sizes,omitempty"`
	// ModelFingerprint, if set, is the fingerprint of the model's image
	// tower (rst.Fingerprint); a run refuses a model file that no longer
	// matches it.
	ModelFingerprint string `json:"model_fingerprint,omitempty"`
	// MNIST is the folder of MNIST's files and DomainSeed selects the
	// photo crops of MNIST-M (dataset digits; see digits.Options).
	MNIST      string `json:"mnist,omitempty"`
	DomainSeed uint64 `json:"domain_seed,omitempty"`
}

// DatasetDigits is the dataset of the built-in digit domains.
const DatasetDigits = "digits"

// MethodZeroShot is the method that evaluates the model's zero-shot head
// (its prompts over the class names) on the target without training.
const MethodZeroShot = "zero-shot"

// Pair is a source→target pair of domains.
type Pair struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// String returns "S→T", the task's column label.
func (t Pair) String() string { return t.Source + "→" + t.Target }

// Planned is one run of a plan: a task, a method and a seed.
type Planned struct {
	Index  int    `json:"index"`
	Task   Pair   `json:"task"`
	Method string `json:"method"`
	Seed   uint64 `json:"seed"`
}

// Plan is an expanded grid: its runs, numbered from 0 in the order task,
// method, seed, and the grid with its paths made absolute, so that a
// worker started in any folder finds the files.
type Plan struct {
	Grid Grid      `json:"grid"`
	Runs []Planned `json:"runs"`
}

// ReadGrid reads a GRID.json file. Unknown fields are errors.
func ReadGrid(path string) (Grid, error) {
	var g Grid
	b, err := os.ReadFile(path)
	if err != nil {
		return g, fmt.Errorf("sweep: grid: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("sweep: grid %s: %w", path, err)
	}
	return g, nil
}

// Expand checks the grid and numbers its runs. Relative paths in the grid
// are taken from the current folder. It checks that the model exists,
// that every method and override is known, and that every domain opens
// (which lists its images).
func Expand(g Grid) (*Plan, error) {
	g, err := g.normalize()
	if err != nil {
		return nil, err
	}
	tasks := slices.Clone(g.Tasks)
	if g.AllPairs {
		for _, s := range g.Domains {
			for _, t := range g.Domains {
				if s != t {
					tasks = append(tasks, Pair{s, t})
				}
			}
		}
	}
	if len(tasks) == 0 {
		return nil, errors.New("sweep: grid: no tasks (give tasks, or domains with all_pairs)")
	}
	if err := checkDistinct("task", tasks); err != nil {
		return nil, err
	}
	if err := g.checkDomains(tasks); err != nil {
		return nil, err
	}
	g.Tasks, g.Domains, g.AllPairs = tasks, nil, false
	p := &Plan{Grid: g}
	for _, t := range tasks {
		for _, m := range g.Methods {
			for _, s := range g.Seeds {
				p.Runs = append(p.Runs, Planned{Index: len(p.Runs), Task: t, Method: m, Seed: s})
			}
		}
	}
	return p, nil
}

// normalize checks the grid's fields, fills in defaults and makes the
// paths absolute.
func (g Grid) normalize() (Grid, error) {
	if g.Model == "" || g.Data == "" && g.Dataset != DatasetDigits {
		return g, errors.New("sweep: grid: model and data are required")
	}
	if len(g.Methods) == 0 || len(g.Seeds) == 0 {
		return g, errors.New("sweep: grid: at least one method and one seed are required")
	}
	if g.Preset == "" {
		g.Preset = g.Dataset
	}
	if _, err := LookupPreset(g.Preset); err != nil {
		return g, fmt.Errorf("sweep: grid: %w", err)
	}
	if g.Threads == 0 {
		g.Threads = 1
	}
	if g.Threads < 0 {
		return g, fmt.Errorf("sweep: grid: threads %d", g.Threads)
	}
	if g.Variant == "" {
		g.Variant = uda.VariantCode.String()
	}
	if _, err := uda.ParseVariant(g.Variant); err != nil {
		return g, fmt.Errorf("sweep: grid: %w", err)
	}
	for _, m := range g.Methods {
		if _, err := parseMethod(m); err != nil {
			return g, fmt.Errorf("sweep: grid: %w", err)
		}
	}
	for m, over := range g.MethodOverrides {
		if !slices.Contains(g.Methods, m) {
			return g, fmt.Errorf("sweep: grid: overrides of method %q, which the grid does not run", m)
		}
		if err := g.checkOverrides(over); err != nil {
			return g, err
		}
	}
	for _, m := range g.StepSizes {
		if !slices.Contains(g.Methods, m) {
			return g, fmt.Errorf("sweep: grid: step sizes of method %q, which the grid does not run", m)
		}
	}
	if err := checkDistinct("method", g.Methods); err != nil {
		return g, err
	}
	if err := checkDistinct("seed", g.Seeds); err != nil {
		return g, err
	}
	if err := g.checkOverrides(g.Overrides); err != nil {
		return g, err
	}
	if g.AllPairs && len(g.Domains) < 2 {
		return g, errors.New("sweep: grid: all_pairs needs at least two domains")
	}
	if !g.AllPairs && len(g.Domains) > 0 {
		return g, errors.New("sweep: grid: domains are used only with all_pairs")
	}
	for _, p := range []*string{&g.Model, &g.Config, &g.Data, &g.MNIST} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return g, fmt.Errorf("sweep: grid: %w", err)
		}
		*p = abs
	}
	for _, p := range []string{g.Model, g.Config} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return g, fmt.Errorf("sweep: grid: %w", err)
		}
	}
	return g, nil
}

// checkOverrides reports an unknown override, a count that is not a
// whole number, and a setting of the digit domains in a grid of another
// dataset.
func (g Grid) checkOverrides(over map[string]float64) error {
	for name, v := range over {
		if _, ok := overrides[name]; !ok {
			return fmt.Errorf("sweep: grid: unknown override %q (want one of %s)", name, strings.Join(OverrideNames(), ", "))
		}
		if intOverrides[name] && (v != math.Trunc(v) || v < 0 || v > math.MaxInt32) {
			return fmt.Errorf("sweep: grid: override %s %g: want a whole number", name, v)
		}
		if digitOverrides[name] && g.Dataset != DatasetDigits {
			return fmt.Errorf("sweep: grid: override %s applies to dataset %s only", name, DatasetDigits)
		}
	}
	return nil
}

// checkDistinct reports the first value that appears twice.
func checkDistinct[T comparable](what string, values []T) error {
	seen := map[T]bool{}
	for _, v := range values {
		if seen[v] {
			return fmt.Errorf("sweep: grid: %s %v given twice", what, v)
		}
		seen[v] = true
	}
	return nil
}

// checkDomains opens every domain of the tasks once.
func (g Grid) checkDomains(tasks []Pair) error {
	seen := map[string]bool{}
	for _, t := range tasks {
		if t.Source == "" || t.Target == "" || t.Source == t.Target {
			return fmt.Errorf("sweep: grid: task %q→%q: want two different domains", t.Source, t.Target)
		}
		for _, d := range []string{t.Source, t.Target} {
			if seen[d] {
				continue
			}
			seen[d] = true
			if g.Dataset == DatasetDigits {
				if !slices.Contains(digits.Domains(), d) {
					return fmt.Errorf("sweep: grid: unknown digit domain %q (want one of %s)", d, strings.Join(digits.Domains(), ", "))
				}
				continue
			}
			if _, _, _, err := (data.Pair{Root: g.Data, Dataset: g.Dataset, Source: d, Target: d}).Open(); err != nil {
				return fmt.Errorf("sweep: grid: domain %s: %w", d, err)
			}
		}
	}
	return nil
}

// method is what a grid's method names.
type method struct {
	zeroShot bool // MethodZeroShot: no training
	uda      uda.Method
	rst      bool
}

// parseMethod parses a grid's method: a uda method, optionally with
// "+rst", or MethodZeroShot, either optionally followed by "-NAME".
func parseMethod(s string) (method, error) {
	m, err := parseBaseMethod(s)
	if i := strings.LastIndex(s, "-"); err != nil && i > 0 && i < len(s)-1 {
		if base, berr := parseBaseMethod(s[:i]); berr == nil {
			return base, nil
		}
	}
	return m, err
}

// parseBaseMethod parses a method without its "-NAME".
func parseBaseMethod(s string) (method, error) {
	if s == MethodZeroShot {
		return method{zeroShot: true}, nil
	}
	name, rst := strings.CutSuffix(s, "+rst")
	m, err := uda.ParseMethod(name)
	return method{uda: m, rst: rst}, err
}

// ErrOtherPlan is wrapped by the error of WritePlan in a folder that
// holds the plan of another grid.
var ErrOtherPlan = errors.New("plan of another grid")

// WritePlan stores p as dir/plan.json, creating dir. If dir holds a plan
// already, it must be the same: a sweep folder belongs to one grid.
func WritePlan(dir string, p *Plan) error {
	b, err := p.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	path := filepath.Join(dir, FilePlan)
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, b):
		return nil
	case err == nil:
		return fmt.Errorf("sweep: %s holds the %w; use a new folder", path, ErrOtherPlan)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sweep: %w", err)
	}
	return atomicfile.WriteFile(path, b, false)
}

// JSON returns the plan as WritePlan stores it: indented, with a final
// newline.
func (p *Plan) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sweep: plan: %w", err)
	}
	return append(b, '\n'), nil
}

// ReadPlan reads dir/plan.json.
func ReadPlan(dir string) (*Plan, error) {
	path := filepath.Join(dir, FilePlan)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w (make one with vlpuda sweep plan)", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("sweep: plan %s: %w", path, err)
	}
	for i, r := range p.Runs {
		if r.Index != i {
			return nil, fmt.Errorf("sweep: plan %s: run %d has index %d", path, i, r.Index)
		}
	}
	return &p, nil
}

// Run returns run i of the plan.
func (p *Plan) Run(i int) (Planned, error) {
	if i < 0 || i >= len(p.Runs) {
		return Planned{}, fmt.Errorf("sweep: index %d out of range: the plan has runs 0 to %d", i, len(p.Runs)-1)
	}
	return p.Runs[i], nil
}

// Tasks returns the plan's tasks in order.
func (p *Plan) Tasks() []Pair { return p.Grid.Tasks }

// Settings are what a planned run trains and evaluates with.
type Settings struct {
	// Preset holds the batch sizes and the data recipe, Config the
	// training configuration.
	Preset Preset
	Config uda.Config
	// TrainImages and TestImages are the images of each digit domain for
	// training and for testing the target, spread evenly over the classes
	// (0: all; dataset digits only).
	TrainImages, TestImages int
}

// overrides maps each override name to the setting it changes.
var overrides = map[string]func(s *Settings, v float64){
	"epochs":          func(s *Settings, v float64) { s.Config.Epochs = int(v) },
	"iters":           func(s *Settings, v float64) { s.Config.ItersPerEpoch = int(v) },
	"batch":           func(s *Settings, v float64) { s.Preset.SourceBatch = int(v) },
	"target-batch":    func(s *Settings, v float64) { s.Preset.TargetBatch = int(v) },
	"lr":              func(s *Settings, v float64) { s.Config.LR = v },
	"head-lr-mult":    func(s *Settings, v float64) { s.Config.HeadLRMult = v },
	"lambda1":         func(s *Settings, v float64) { s.Config.Objective.Lambda1 = v },
	"lambda2":         func(s *Settings, v float64) { s.Config.Objective.Lambda2 = v },
	"lambda3":         func(s *Settings, v float64) { s.Config.Objective.Lambda3 = v },
	"fm-weight":       func(s *Settings, v float64) { s.Config.Objective.FixMatchWeight = v },
	"fm-threshold":    func(s *Settings, v float64) { s.Config.Objective.FixMatchThreshold = v },
	"label-smoothing": func(s *Settings, v float64) { s.Config.Objective.LabelSmoothing = v },
	"lr-gamma":        func(s *Settings, v float64) { s.Config.LRGamma = v },
	"lr-power":        func(s *Settings, v float64) { s.Config.LRPower = v },
	"wd":              func(s *Settings, v float64) { s.Config.WeightDecay = v },
	"ramp-iters":      func(s *Settings, v float64) { s.Config.Objective.Ramp.MaxIter = int(v) },
	"eval-batch":      func(s *Settings, v float64) { s.Config.EvalBatch = int(v) },
	"log-every":       func(s *Settings, v float64) { s.Config.LogEvery = int(v) },
	"rst":             func(s *Settings, v float64) { s.Config.RSTTau = v },
	"rst-density":     func(s *Settings, v float64) { s.Config.RSTMaxDensity = v },
	"train-images":    func(s *Settings, v float64) { s.TrainImages = int(v) },
	"test-images":     func(s *Settings, v float64) { s.TestImages = int(v) },
}

// intOverrides are the overrides that count something.
var intOverrides = map[string]bool{"epochs": true, "iters": true, "batch": true, "target-batch": true,
	"ramp-iters": true, "eval-batch": true, "log-every": true, "train-images": true, "test-images": true}

// digitOverrides are the overrides of dataset digits alone.
var digitOverrides = map[string]bool{"train-images": true, "test-images": true}

// OverrideNames returns the names a grid's overrides may use, sorted.
func OverrideNames() []string {
	var names []string
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Settings returns the settings of run r for a ResNet or a ViT tower, as
// vlpuda adapt builds them from the same flags: the preset's, then the
// grid's overrides, then those of r's method. A zero-shot run trains
// nothing: of its settings only the evaluation batch counts.
func (p *Plan) Settings(r Planned, resnet bool) (Settings, error) {
	g := p.Grid
	preset, err := LookupPreset(g.Preset)
	if err != nil {
		return Settings{}, err
	}
	m, err := parseMethod(r.Method)
	if err != nil {
		return Settings{}, err
	}
	variant, err := uda.ParseVariant(g.Variant)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Preset: preset, Config: preset.Config(m.uda, resnet)}
	s.Config.Objective.Variant = variant
	s.Config.Seed = r.Seed
	for _, over := range []map[string]float64{g.Overrides, g.MethodOverrides[r.Method]} {
		for _, name := range OverrideNames() {
			v, ok := over[name]
			if !ok || !m.rst && (name == "rst" || name == "rst-density") {
				continue
			}
			overrides[name](&s, v)
		}
	}
	if m.rst && !s.Config.RST() {
		s.Config.RSTTau = preset.Backbone(resnet).Tau
	}
	return s, s.Config.Validate()
}

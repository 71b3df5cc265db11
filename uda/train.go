package uda

import (
	"fmt"
	"math"
	"slices"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

// Config configures the training of one task (spec §1.9 and §2). The
// paper's values per benchmark are in Presets.
type Config struct {
	// Objective is the loss: method, variant and weights.
	Objective Objective `json:"objective"`
	// Epochs × ItersPerEpoch iterations are run; the target is evaluated
	// after every epoch.
	Epochs        int `json:"epochs"`
	ItersPerEpoch int `json:"iters_per_epoch"`
	// LR is the image tower's base learning rate; the head's is LR ×
	// HeadLRMult (paper: 3e-6 × 1000 for ViT-B/16, 3e-7 × 10000 for RN50).
	LR         float64 `json:"lr"`
	HeadLRMult float64 `json:"head_lr_mult"`
	// Momentum, Nesterov and WeightDecay configure SGD (paper: 0.9,
	// Nesterov, 5e-4 on every trained parameter).
	Momentum    float64 `json:"momentum"`
	Nesterov    bool    `json:"nesterov"`
	WeightDecay float64 `json:"weight_decay"`
	// LRGamma and LRPower define the per-iteration decay factor
	// (1 + LRGamma·t)^(−LRPower) (paper: 0.0003 and 0.75).
	LRGamma float64 `json:"lr_gamma"`
	LRPower float64 `json:"lr_power"`
	// RSTTau > 0 turns on Residual Sparse Training: after every optimiser
	// step, tower elements within RSTTau of their pre-trained value are
	// reset to it. RSTMaxDensity > 0 turns it on as well and caps the
	// fraction of tower elements that may differ (a top-k by |w − w0|).
	RSTTau        float64 `json:"rst_tau"`
	RSTMaxDensity float64 `json:"rst_max_density"`
	// Seed draws the head's initial weights.
	Seed uint64 `json:"seed"`
	// EvalBatch is the number of images per forward pass in evaluation.
	EvalBatch int `json:"eval_batch"`
	// LogEvery is the number of iterations between log records (the last
	// iteration of an epoch is always logged).
	LogEvery int `json:"log_every"`
	// Metric selects the best epoch: MetricTop1 or MetricMeanPerClass
	// (VisDA-2017).
	Metric string `json:"metric"`
}

// The metrics Config.Metric names.
const (
	MetricTop1         = "top1"
	MetricMeanPerClass = "mean_per_class"
)

// DefaultConfig returns the paper's shared settings (spec §2.1) with the
// ViT-B/16 learning rates, 20 × 500 iterations and the code's CMKD
// objective.
func DefaultConfig() Config {
	return Config{
		Objective: DefaultObjective(MethodCMKD),
		Epochs:    20, ItersPerEpoch: 500,
		LR: 3e-6, HeadLRMult: 1000,
		Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4,
		LRGamma: 0.0003, LRPower: 0.75,
		Seed: 42, EvalBatch: 64, LogEvery: 10, Metric: MetricTop1,
	}
}

// RST reports whether the configuration trains with RST.
func (c Config) RST() bool { return c.RSTTau > 0 || c.RSTMaxDensity > 0 }

// Iterations returns Epochs × ItersPerEpoch.
func (c Config) Iterations() int { return c.Epochs * c.ItersPerEpoch }

// Validate reports a setting outside its range.
func (c Config) Validate() error {
	if err := c.Objective.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs <= 0 || c.ItersPerEpoch <= 0:
		return fmt.Errorf("uda: config: %d epochs of %d iterations; want both positive", c.Epochs, c.ItersPerEpoch)
	case !(c.LR >= 0 && c.HeadLRMult >= 0) || math.IsInf(c.LR*c.HeadLRMult, 0):
		return fmt.Errorf("uda: config: learning rate %g and head multiplier %g must be finite and not negative", c.LR, c.HeadLRMult)
	case !(c.Momentum >= 0 && c.Momentum < 1) || !(c.WeightDecay >= 0):
		return fmt.Errorf("uda: config: momentum %g must be in [0, 1) and weight decay %g not negative", c.Momentum, c.WeightDecay)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("uda: config: Nesterov momentum needs a momentum")
	case !(c.LRGamma >= 0 && c.LRPower >= 0):
		return fmt.Errorf("uda: config: schedule γ %g and power %g must not be negative", c.LRGamma, c.LRPower)
	case !(c.RSTTau >= 0) || math.IsInf(c.RSTTau, 0) || !(c.RSTMaxDensity >= 0 && c.RSTMaxDensity <= 1):
		return fmt.Errorf("uda: config: RST τ %g must be finite and not negative, density %g in [0, 1]", c.RSTTau, c.RSTMaxDensity)
	case c.EvalBatch <= 0 || c.LogEvery <= 0:
		return fmt.Errorf("uda: config: evaluation batch %d and log interval %d must be positive", c.EvalBatch, c.LogEvery)
	case c.Metric != MetricTop1 && c.Metric != MetricMeanPerClass:
		return fmt.Errorf("uda: config: unknown metric %q (want %s or %s)", c.Metric, MetricTop1, MetricMeanPerClass)
	}
	return nil
}

// schedule returns the learning-rate factor of iteration t (0 for the
// first).
func (c Config) schedule() nn.Schedule { return nn.InverseDecay{Gamma: c.LRGamma, Power: c.LRPower} }

// UsesTarget reports whether the method trains on target images.
func (m Method) UsesTarget() bool { return m != MethodSourceOnly }

// UsesStrongView reports whether the method needs FixMatch's strong view
// of the target images.
func (m Method) UsesStrongView() bool { return m.fixMatch() }

// Distills reports whether the method has CMKD's terms.
func (m Method) Distills() bool { return m.cmkd() }

// MarshalText returns the method's command-line name.
func (m Method) MarshalText() ([]byte, error) {
	if m < MethodSourceOnly || m > MethodCMKDFixMatch {
		return nil, fmt.Errorf("uda: unknown %v", m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses a method's command-line name.
func (m *Method) UnmarshalText(b []byte) error {
	v, err := ParseMethod(string(b))
	*m = v
	return err
}

// MarshalText returns "code" or "paper".
func (v Variant) MarshalText() ([]byte, error) {
	if v != VariantCode && v != VariantPaper {
		return nil, fmt.Errorf("uda: unknown %v", v)
	}
	return []byte(v.String()), nil
}

// UnmarshalText parses "code" or "paper".
func (v *Variant) UnmarshalText(b []byte) error {
	x, err := ParseVariant(string(b))
	*v = x
	return err
}

// Trainer adapts a CLIP image tower and a task head to a target domain
// (spec §1.9). It owns:
//   - the image tower f of Model, trained in place (all its parameters);
//     BatchNorm statistics in ResNet towers are frozen, their affine
//     parameters train;
//   - the task head h, Head;
//   - the teacher, CLIP's zero-shot head on f: the class text embeddings,
//     computed once with the benchmark's template;
//   - SGD with two parameter groups (tower at LR, head at LR ×
//     HeadLRMult) and the inverse-decay schedule;
//   - with RST, the Projector holding the pre-trained tower w0.
//
// A Trainer is not safe for concurrent use.
type Trainer struct {
	Model     *vlp.CLIP
	Head      *Head
	Teacher   *vlp.ZeroShot
	Optimizer *nn.SGD
	// Projector is RST's projection, nil when training dense.
	Projector *rst.Projector

	cfg     Config
	iter    int
	base    rst.Fingerprint // of the pre-trained tower, when training dense
	bns     []*nn.BatchNorm // of the tower
	tower   []*tensor.Tensor
	nonZero int // RST: tower elements that differ from w0
}

// NewTrainer prepares the training of m, which must hold the pre-trained
// weights (with RST they become w0), for classes named names, in label
// order (as prompts show them; see vlp.ClassName), with the prompt
// template (vlp.TemplatePhoto and friends). It encodes the prompts once,
// draws the head from cfg.Seed and marks every tower parameter trainable.
func NewTrainer(m *vlp.CLIP, names []string, template string, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	teacher, err := vlp.NewZeroShot(m, names, []string{template})
	if err != nil {
		return nil, fmt.Errorf("uda: teacher: %w", err)
	}
	t := &Trainer{
		Model:   m,
		Head:    NewHead(tensor.NewRNG(cfg.Seed), m.Config.EmbedDim, len(names)),
		Teacher: teacher,
		cfg:     cfg,
	}
	nn.SetRequiresGrad(m.Visual, true)
	t.tower = nn.Params(m.Visual)
	nn.Walk(m.Visual, func(_ string, mod nn.Module) {
		if bn, ok := mod.(*nn.BatchNorm); ok {
			t.bns = append(t.bns, bn)
		}
	})
	t.Optimizer = &nn.SGD{
		Groups: []nn.ParamGroup{
			{Params: t.tower, LR: cfg.LR, WeightDecay: cfg.WeightDecay},
			{Params: t.Head.Trainable(), LR: cfg.LR * cfg.HeadLRMult, WeightDecay: cfg.WeightDecay},
		},
		Momentum: cfg.Momentum,
		Nesterov: cfg.Nesterov,
	}
	if cfg.RST() {
		t.Projector = rst.New(rst.ImageTower(m), float32(cfg.RSTTau))
		t.Projector.SetMaxDensity(cfg.RSTMaxDensity)
	} else {
		t.base = rst.FingerprintOf(rst.ImageTower(m))
	}
	return t, nil
}

// Config returns the trainer's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Iter returns the number of iterations done.
func (t *Trainer) Iter() int { return t.iter }

// Classes returns the number of classes.
func (t *Trainer) Classes() int { return len(t.Teacher.Classes) }

// LR returns the tower's and the head's learning rates at iteration iter
// (0 for the first).
func (t *Trainer) LR(iter int) (tower, head float64) {
	f := t.cfg.schedule().Factor(iter)
	// Each product rounded on its own, so that no architecture fuses it
	// into the caller's arithmetic.
	return float64(t.cfg.LR * f), float64(float64(t.cfg.LR*t.cfg.HeadLRMult) * f)
}

// StepStats describes one training iteration.
type StepStats struct {
	// Iter is the number of iterations done, this one included.
	Iter int
	// LR and HeadLR are the learning rates the step used.
	LR, HeadLR float64
	// Terms are the loss's parts in the order of Loss.Terms, total last.
	Terms []TermValue
	// Lambda is λ_dyn, AlphaMean the batch mean of α (CMKD), and
	// MaskRateHead and MaskRateTeacher the fractions of target samples
	// above the FixMatch threshold (FixMatch); see Loss.
	Lambda, AlphaMean             float64
	MaskRateHead, MaskRateTeacher float64
	// NonZero is the number of tower elements that differ from the
	// pre-trained weights after the step's RST projection; 0 without RST.
	NonZero int
	// Images is the number of images the tower saw.
	Images int
}

// TermValue is the value of a named loss term.
type TermValue struct {
	Name  string
	Value float64
}

// DivergedError reports a loss term that became NaN or infinite, and the
// iteration at which it did.
type DivergedError struct {
	// Iter is the iteration, counted from 1.
	Iter int
	// Term names the first non-finite term in the order of Loss.Terms.
	Term  string
	Value float32
}

// TermGradient is the Term of a DivergedError whose loss was finite but
// whose gradient was not.
const TermGradient = "gradient"

// Error names the iteration, the term and its value.
func (e *DivergedError) Error() string {
	if e.Term == TermGradient {
		return fmt.Sprintf("uda: iteration %d: the gradient's norm is %v (the loss was finite)", e.Iter, e.Value)
	}
	return fmt.Sprintf("uda: iteration %d: loss term %s is %v", e.Iter, e.Term, e.Value)
}

// Unwrap returns the NonFiniteError of the term.
func (e *DivergedError) Unwrap() error { return &NonFiniteError{Term: e.Term, Value: e.Value} }

// Step runs one training iteration on a source batch (images and labels)
// and a target batch (weak images, and strong ones for FixMatch; the
// target is not read for source-only training):
//
//	F = f([x_s; x_t; x_t^str])                  one forward of the tower
//	z_s = h(F_s), z_t = h(F_t), z_t^str = h(F_str)   three head calls, as
//	                                            the authors make them
//	z_g = TeacherLogits(F) for each part
//	L = Objective.Loss(t, z, y_s); backward; SGD step at lr·(1+γt)^(−p)
//	with RST: reset tower elements within τ of w0
//
// The tower runs in training mode with BatchNorm statistics frozen, the
// head in training mode. If a loss term is not finite, Step returns a
// *DivergedError before changing any weight; the head's BatchNorm running
// statistics have seen the batch, so restart from a checkpoint. The same
// holds, with Term TermGradient, if the loss is finite but its gradient is
// not.
func (t *Trainer) Step(src, tgt Batch) (StepStats, error) {
	obj := t.cfg.Objective
	bs := checkBatch("source", src, false)
	if len(src.Labels) != bs {
		panic(fmt.Sprintf("uda: Step: %d source images and %d labels", bs, len(src.Labels)))
	}
	for _, y := range src.Labels {
		if y < 0 || y >= t.Classes() {
			panic(fmt.Sprintf("uda: Step: source label %d outside [0, %d)", y, t.Classes()))
		}
	}
	parts := []*tensor.Tensor{src.Images}
	bt := 0
	if obj.Method.UsesTarget() {
		bt = checkBatch("target", tgt, obj.Method.UsesStrongView())
		parts = append(parts, tgt.Images)
		if obj.Method.UsesStrongView() {
			parts = append(parts, tgt.Strong)
		}
	}
	t.setTraining(true)
	x := parts[0]
	if len(parts) > 1 {
		x = tensor.Concat(0, parts...)
	}
	f := t.Model.EncodeImage(x)
	teacher := func(feat *tensor.Tensor) *tensor.Tensor {
		return TeacherLogits(feat, t.Teacher.Text, t.Teacher.Scale)
	}
	fs := f.Narrow(0, 0, bs)
	z := Logits{Source: t.Head.Forward(fs)}
	if obj.Method.cmkd() {
		z.TeacherSource = teacher(fs)
	}
	if obj.Method.UsesTarget() {
		ft := f.Narrow(0, bs, bt)
		z.Target, z.TeacherTarget = t.Head.Forward(ft), teacher(ft)
	}
	if obj.Method.UsesStrongView() {
		fstr := f.Narrow(0, bs+bt, bt)
		z.TargetStrong, z.TeacherTargetStrong = t.Head.Forward(fstr), teacher(fstr)
	}
	loss := obj.Loss(t.iter, z, src.Labels)
	st := StepStats{
		Iter: t.iter + 1, Lambda: loss.Lambda, AlphaMean: loss.AlphaMean,
		MaskRateHead: loss.MaskRateHead, MaskRateTeacher: loss.MaskRateTeacher,
		Images: x.Dim(0),
	}
	st.LR, st.HeadLR = t.LR(t.iter)
	for _, term := range loss.Terms() {
		st.Terms = append(st.Terms, TermValue{term.Name, float64(term.Value.Item())})
	}
	if err := loss.CheckFinite(); err != nil {
		nf := err.(*NonFiniteError)
		return st, &DivergedError{Iter: t.iter + 1, Term: nf.Term, Value: nf.Value}
	}
	t.Optimizer.ZeroGrad()
	loss.Total.Backward()
	if norm := t.gradNorm(); math.IsNaN(norm) || math.IsInf(norm, 0) {
		t.Optimizer.ZeroGrad()
		return st, &DivergedError{Iter: t.iter + 1, Term: TermGradient, Value: float32(norm)}
	}
	t.Optimizer.Step(t.cfg.schedule().Factor(t.iter))
	t.Optimizer.ZeroGrad() // free the gradients until the next step
	if t.Projector != nil {
		t.nonZero = t.Projector.Project()
		st.NonZero = t.nonZero
	}
	t.iter++
	return st, nil
}

// gradNorm returns the L2 norm of the gradients of every trained
// parameter, NaN or infinite if one of them is.
func (t *Trainer) gradNorm() float64 {
	var ss float64
	for _, g := range t.Optimizer.Groups {
		for _, p := range g.Params {
			if grad := p.Grad(); grad != nil {
				d := grad.Data()
				ss += float64(kernels.Dot(d, d))
			}
		}
	}
	return math.Sqrt(ss)
}

// checkBatch panics unless b holds images (B, 3, R, R), and strong views
// of the same shape when strong is set, and returns B.
func checkBatch(which string, b Batch, strong bool) int {
	if b.Images == nil || b.Images.NDim() != 4 || b.Images.Dim(0) == 0 {
		panic(fmt.Sprintf("uda: Step: %s batch has no images (B, 3, R, R)", which))
	}
	if strong && (b.Strong == nil || !slices.Equal(b.Strong.Shape(), b.Images.Shape())) {
		panic(fmt.Sprintf("uda: Step: FixMatch needs strong views of the %s images, shaped like them", which))
	}
	return b.Images.Dim(0)
}

// setTraining puts the tower and the head into training or evaluation
// mode. In training mode the tower's BatchNorm layers keep their running
// statistics (the authors' fix_bn, applied before every forward).
func (t *Trainer) setTraining(on bool) {
	nn.SetTraining(t.Model.Visual, on)
	nn.SetTraining(t.Head, on)
	for _, bn := range t.bns {
		bn.FreezeStats = true
	}
}

// NonZero returns the number of tower elements that differ from the
// pre-trained weights after the last RST projection (0 without RST).
func (t *Trainer) NonZero() int { return t.nonZero }

// CheckFinite returns an error naming the first tower or head parameter
// that holds a NaN or an infinity.
func (t *Trainer) CheckFinite() error { return t.checkFinite() }

// checkFinite is CheckFinite.
func (t *Trainer) checkFinite() error {
	check := func(prefix string, m nn.Module) error {
		for _, p := range nn.NamedParams(m) {
			for _, v := range p.Tensor.Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("uda: parameter %s%s holds %v after iteration %d", prefix, p.Name, v, t.iter)
				}
			}
		}
		return nil
	}
	if err := check("visual.", t.Model.Visual); err != nil {
		return err
	}
	return check("head.", t.Head)
}

package uda

import (
	"fmt"
	"math"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp"
)

// Variant selects the equations the CMKD and FixMatch losses follow.
type Variant int

const (
	// VariantCode computes the losses as the authors' code does
	// (models/cmkd.py, models/make_model.py; spec §1.5), with which the
	// paper's numbers and hyper-parameters were obtained:
	//   - the Gini impurities are calibrated by the batch's detached class
	//     mass and summed over the batch (GiniCalibrated);
	//   - α = exp(−KL(p_g‖p_h)), the teacher's distribution first;
	//   - FixMatch keeps samples with confidence ≥ τ.
	VariantCode Variant = iota
	// VariantPaper computes the losses as the paper prints them (Eqs. 4,
	// 8, 11–13 and appendix Eq. 1), for ablation:
	//   - every Gini impurity is the plain GI(p) = 1 − Σ_c p_c² (Eq. 4),
	//     weighted per sample and averaged over the batch (Gini): L_task
	//     and L_distill become λ1·λ·mean_i α_i·GI(p_h,i) and
	//     λ1·λ·mean_i (1−α_i)·GI(p_m,i) (Eq. 12 with the per-sample α of
	//     Eq. 11), and the regulariser's second term λ3·λ·mean_i GI(p_g,i)
	//     (Eq. 13);
	//   - α = exp(−KL(p_h‖p_g)), the student's distribution first (Eq. 11);
	//   - FixMatch keeps samples with confidence > τ (appendix Eq. 1).
	// The rest is shared: L_cls, p_m = ½(p_h + sg(p_g)) (Eqs. 7–8),
	// λ2·CE(z_gs, y_s), which equals Eq. 13's λ2·KL(y_s‖p_g^s) for one-hot
	// labels, and the ramp λ_dyn, whose printed formula is garbled (see
	// Ramp).
	VariantPaper
)

// String returns "code" or "paper".
func (v Variant) String() string {
	switch v {
	case VariantCode:
		return "code"
	case VariantPaper:
		return "paper"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ParseVariant returns the Variant named by s, "code" or "paper".
func ParseVariant(s string) (Variant, error) {
	for _, v := range []Variant{VariantCode, VariantPaper} {
		if s == v.String() {
			return v, nil
		}
	}
	return 0, fmt.Errorf("uda: unknown loss variant %q (want code or paper)", s)
}

// checkProbs panics unless p is (B, C) and w, if not nil, is (B).
func checkProbs(op string, p, w *tensor.Tensor) {
	if p.NDim() != 2 {
		panic(fmt.Sprintf("uda: %s: probabilities have shape %s; want (B, C)", op, shapefmt.String(p.Shape())))
	}
	if w != nil && (w.NDim() != 1 || w.Dim(0) != p.Dim(0)) {
		panic(fmt.Sprintf("uda: %s: weights have shape %s for probabilities %s; want (%d)", op, shapefmt.String(w.Shape()), shapefmt.String(p.Shape()), p.Dim(0)))
	}
}

// GiniCalibrated returns the batch-calibrated Gini impurity of the
// probabilities p (B, C) with per-sample weights w (B), a scalar, as the
// authors' code computes it (spec §1.5):
//
//	S_c        = sg(Σ_j p[j,c])                      class mass of the batch
//	GIcal(p;w) = Σ_i w_i·(1 − Σ_c p[i,c]²/S_c)       summed over the batch
//
// w nil means every weight is 1. S_c is a constant for the gradient, and w
// is always treated as a constant (detached). Each summand lies in [0, 1];
// it is 0 only for one-hot rows whose class no other row claims, so besides
// confidence the term rewards spreading the batch over the classes. A class
// with no mass at all (every p[·,c] exactly 0, as float32 softmax can
// underflow) contributes 0, the limit of p²/S_c, where the authors' code
// would divide 0 by 0.
func GiniCalibrated(p, w *tensor.Tensor) *tensor.Tensor {
	checkProbs("GiniCalibrated", p, w)
	return giniCalibrated(p, classMass(p), w)
}

// classMass returns S_c = Σ_j p[j,c] of the probabilities p (B, C) as a
// constant (1, C), with a class of zero mass given S_c = 1: all its p[·,c]
// are 0, so each p²/S_c is 0 and so is its gradient 2p/S_c.
func classMass(p *tensor.Tensor) *tensor.Tensor {
	mass := tensor.SumDim(p.Detach(), 0, true)
	md := mass.Data()
	for c, v := range md {
		if v == 0 {
			md[c] = 1
		}
	}
	return mass
}

// giniCalibrated is GiniCalibrated with the class mass given, (1, C).
func giniCalibrated(p, mass, w *tensor.Tensor) *tensor.Tensor {
	purity := tensor.SumDim(tensor.Div(tensor.Square(p), mass.Detach()), 1, false) // (B)
	impurity := tensor.AddScalar(tensor.Neg(purity), 1)
	if w != nil {
		impurity = tensor.Mul(impurity, w.Detach())
	}
	return tensor.Sum(impurity)
}

// Gini returns the paper's Gini impurity (Eq. 4) of the probabilities p
// (B, C), GI(p_i) = 1 − Σ_c p[i,c]², weighted by w (B) and averaged over the
// batch: (1/B)·Σ_i w_i·GI(p_i), a scalar. w nil means every weight is 1; w
// is treated as a constant. This is the VariantPaper counterpart of
// GiniCalibrated.
func Gini(p, w *tensor.Tensor) *tensor.Tensor {
	checkProbs("Gini", p, w)
	impurity := tensor.AddScalar(tensor.Neg(tensor.SumDim(tensor.Square(p), 1, false)), 1)
	if w != nil {
		impurity = tensor.Mul(impurity, w.Detach())
	}
	return tensor.Mean(impurity)
}

// Alpha returns the per-sample trade-off α (B) between the task and
// distillation terms (Eq. 11), detached, from the log-probabilities of the
// task head logPH and of the zero-shot head logPG, both (B, C):
//
//	VariantCode:  α_i = exp(−KL(p_g,i ‖ p_h,i))   (the authors' F.kl_div(p_h.log(), p_g))
//	VariantPaper: α_i = exp(−KL(p_h,i ‖ p_g,i))   (Eq. 11 as printed)
//
// α lies in [0, 1] and is 1 where the heads agree. Pass LogSoftmax of the
// logits: unlike the authors' p_h.log(), it stays finite where softmax
// underflows to 0 (α is then ≈ 0 either way).
func Alpha(logPH, logPG *tensor.Tensor, v Variant) *tensor.Tensor {
	if logPH.NDim() != 2 {
		panic(fmt.Sprintf("uda: Alpha: log-probabilities have shape %s; want (B, C)", shapefmt.String(logPH.Shape())))
	}
	ph, pg := logPH.Detach(), logPG.Detach()
	switch v {
	case VariantCode:
		return tensor.Exp(tensor.Neg(tensor.KLDiv(pg, ph)))
	case VariantPaper:
		return tensor.Exp(tensor.Neg(tensor.KLDiv(ph, pg)))
	}
	panic(fmt.Sprintf("uda: Alpha: unknown %v", v))
}

// TeacherLogits returns the zero-shot (teacher) logits of image features
// (N, D) (spec §1.2):
//
//	z_g = scale · normalise(features) · textᵀ,   (N, C)
//
// where text (C, D) holds the cached unit-length class text embeddings
// (vlp.ZeroShot.Text, not normalised again here) and scale = exp(logit_scale)
// (vlp.ZeroShot.Scale, 100 for the OpenAI checkpoints). Gradients flow to
// features, so the teacher head sits on the trainable image tower; text and
// scale are constants.
func TeacherLogits(features, text *tensor.Tensor, scale float32) *tensor.Tensor {
	if features.NDim() != 2 || text.NDim() != 2 || features.Dim(1) != text.Dim(1) {
		panic(fmt.Sprintf("uda: TeacherLogits: features %s and text %s; want (N, D) and (C, D)", shapefmt.String(features.Shape()), shapefmt.String(text.Shape())))
	}
	return tensor.MulScalar(tensor.MatMul(vlp.Normalize(features), text.Detach().T()), scale)
}

// Method is a training objective of the paper.
type Method int

const (
	// MethodSourceOnly is the paper's "Baseline": label-smoothed
	// cross-entropy on the source only (the authors' --baseline).
	MethodSourceOnly Method = iota
	// MethodCMKD adds the CMKD terms (Eq. 12–13) on the target.
	MethodCMKD
	// MethodFixMatch adds the two FixMatch terms (task head and zero-shot
	// head) to the source cross-entropy, without CMKD. The authors' code
	// has no such combination (its FixMatch branch needs CMKD's target
	// forward); it is here for ablation.
	MethodFixMatch
	// MethodCMKDFixMatch is CMKD plus both FixMatch terms (the authors'
	// --fixmatch, appendix B).
	MethodCMKDFixMatch
)

var methodNames = []string{"source-only", "cmkd", "fixmatch", "cmkd+fixmatch"}

// String returns the method's command-line name: "source-only", "cmkd",
// "fixmatch" or "cmkd+fixmatch".
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod returns the Method with the command-line name s.
func ParseMethod(s string) (Method, error) {
	for i, name := range methodNames {
		if s == name {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("uda: unknown method %q (want source-only, cmkd, fixmatch or cmkd+fixmatch)", s)
}

// cmkd reports whether m has the CMKD terms.
func (m Method) cmkd() bool { return m == MethodCMKD || m == MethodCMKDFixMatch }

// fixMatch reports whether m has the FixMatch terms.
func (m Method) fixMatch() bool { return m == MethodFixMatch || m == MethodCMKDFixMatch }

// Objective configures the loss of one training iteration. The paper's
// values (spec §2.3) differ only for DomainNet (λ1 0.025, λ3 0.0025) and for
// FixMatch on VisDA-2017 (2.0 / 0.80) and DomainNet (0.1 / 0.95).
type Objective struct {
	Method  Method
	Variant Variant
	// Lambda1, Lambda2 and Lambda3 are the base weights of the CMKD terms
	// (paper 0.25, 0.1, 0.025). Lambda1 and Lambda3 are multiplied by
	// Ramp.At(t); Lambda2 is not.
	Lambda1, Lambda2, Lambda3 float64
	// LabelSmoothing is ε of the source cross-entropy L_cls (paper 0.1).
	LabelSmoothing float64
	// FixMatchWeight is λ_fm (default 0.5) and FixMatchThreshold τ_fm
	// (default 0.95).
	FixMatchWeight, FixMatchThreshold float64
	// Ramp is the dynamic factor λ_dyn; the zero value is the authors'.
	Ramp Ramp
}

// DefaultObjective returns the objective of method m with the paper's
// shared settings: λ1 0.25, λ2 0.1, λ3 0.025, label smoothing 0.1, λ_fm 0.5,
// τ_fm 0.95, the code's equations and ramp.
func DefaultObjective(m Method) Objective {
	return Objective{
		Method: m, Variant: VariantCode,
		Lambda1: 0.25, Lambda2: 0.1, Lambda3: 0.025,
		LabelSmoothing: 0.1,
		FixMatchWeight: 0.5, FixMatchThreshold: 0.95,
	}
}

// Validate reports a setting outside its range.
func (o Objective) Validate() error {
	switch {
	case o.Method < MethodSourceOnly || o.Method > MethodCMKDFixMatch:
		return fmt.Errorf("uda: objective: unknown %v", o.Method)
	case o.Variant != VariantCode && o.Variant != VariantPaper:
		return fmt.Errorf("uda: objective: unknown %v", o.Variant)
	case !(o.Lambda1 >= 0 && o.Lambda2 >= 0 && o.Lambda3 >= 0 && o.FixMatchWeight >= 0):
		return fmt.Errorf("uda: objective: loss weights λ1 %g, λ2 %g, λ3 %g, λ_fm %g must not be negative", o.Lambda1, o.Lambda2, o.Lambda3, o.FixMatchWeight)
	case !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1):
		return fmt.Errorf("uda: objective: label smoothing %g is outside [0, 1]", o.LabelSmoothing)
	case !(o.FixMatchThreshold >= 0 && o.FixMatchThreshold <= 1):
		return fmt.Errorf("uda: objective: FixMatch threshold %g is outside [0, 1]", o.FixMatchThreshold)
	case o.Ramp.MaxIter < 0:
		return fmt.Errorf("uda: objective: ramp horizon %d is negative", o.Ramp.MaxIter)
	}
	return nil
}

// Logits are the outputs of one training iteration that the losses read.
// Every method needs Source; CMKD also needs Target, TeacherSource and
// TeacherTarget; FixMatch needs Target, TeacherTarget, TargetStrong and
// TeacherTargetStrong. Source rows go with the labels; the target batch
// size B_t may differ from the source's B_s.
type Logits struct {
	Source        *tensor.Tensor // z_s = h(f(x_s)), (B_s, C)
	Target        *tensor.Tensor // z_t = h(f(x_t)), weak view, (B_t, C)
	TeacherSource *tensor.Tensor // z_gs = TeacherLogits(f(x_s)), (B_s, C)
	TeacherTarget *tensor.Tensor // z_gt = TeacherLogits(f(x_t)), (B_t, C)
	// TargetStrong and TeacherTargetStrong are the two heads on the strong
	// view x_t^str, (B_t, C).
	TargetStrong, TeacherTargetStrong *tensor.Tensor
}

// Loss is one iteration's objective and its parts. A term the method does
// not have is nil. Every weighted term already includes its weight (and
// λ_dyn), so Total is their plain sum.
type Loss struct {
	// Total = Cls + Task + Distill + RegCE + RegGI + FixMatchHead +
	// FixMatchTeacher, the scalar to call Backward on.
	Total *tensor.Tensor
	// Cls is L_cls, the label-smoothed cross-entropy of the task head on
	// the source, averaged over B_s.
	Cls *tensor.Tensor
	// Task is λ1·λ_dyn·GIcal(p_h; α) and Distill λ1·λ_dyn·GIcal(p_m; 1−α)
	// with p_m = ½(p_h + sg(p_g)). (VariantPaper puts Gini for GIcal
	// here and in RegGI.)
	Task, Distill *tensor.Tensor
	// RegCE is λ2·CE(z_gs, y_s) (mean, no smoothing, not ramped) and RegGI
	// λ3·λ_dyn·GIcal(p_g; 1) with p_g not detached: together L_reg.
	RegCE, RegGI *tensor.Tensor
	// FixMatchHead and FixMatchTeacher are the FixMatch terms of the task
	// head and of the zero-shot head, each with λ_fm.
	FixMatchHead, FixMatchTeacher *tensor.Tensor

	// Lambda is λ_dyn(t).
	Lambda float64
	// AlphaMean is the batch mean of α (CMKD only).
	AlphaMean float64
	// MaskRateHead and MaskRateTeacher are the fractions of target samples
	// above the FixMatch threshold (FixMatch only).
	MaskRateHead, MaskRateTeacher float64
}

// Term is a named scalar part of a Loss.
type Term struct {
	Name  string
	Value *tensor.Tensor
}

// Terms returns the parts of l that are present, in the order cls, task,
// distill, reg_ce, reg_gi, fm_head, fm_teacher, and then total; the names
// are meant for logs.
func (l Loss) Terms() []Term {
	all := []Term{
		{"cls", l.Cls}, {"task", l.Task}, {"distill", l.Distill},
		{"reg_ce", l.RegCE}, {"reg_gi", l.RegGI},
		{"fm_head", l.FixMatchHead}, {"fm_teacher", l.FixMatchTeacher},
		{"total", l.Total},
	}
	var out []Term
	for _, t := range all {
		if t.Value != nil {
			out = append(out, t)
		}
	}
	return out
}

// CheckFinite returns a *NonFiniteError naming the first of l's terms (in
// the order of Terms) whose value is NaN or infinite, or nil.
func (l Loss) CheckFinite() error { return CheckFinite(l.Terms()...) }

// CheckFinite returns a *NonFiniteError naming the first term whose value
// is NaN or infinite, or nil if every element of every term is finite.
func CheckFinite(terms ...Term) error {
	for _, t := range terms {
		for _, v := range t.Value.Values() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return &NonFiniteError{Term: t.Name, Value: v}
			}
		}
	}
	return nil
}

// NonFiniteError reports a loss term that became NaN or infinite.
type NonFiniteError struct {
	Term  string  // the term's name, as in Loss.Terms
	Value float32 // the offending value
}

// Error names the term and its value.
func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("uda: loss term %s is %v", e.Term, e.Value)
}

// Loss computes the objective of one training iteration from the logits z,
// the source labels and t, the number of iterations completed before this
// one (it selects λ_dyn; see Ramp.At):
//
//	L = L_cls + L_task + L_distill + L_reg [+ L_fm_h + L_fm_g]
//
// with the CMKD terms as Loss documents them (spec §1.5) and the FixMatch
// terms from FixMatch (spec §1.6). It panics if a logits tensor the method
// needs is missing or the shapes disagree, and if a setting is out of range
// (check user input with Validate first).
func (o Objective) Loss(t int, z Logits, labels []int) Loss {
	const op = "uda: Objective.Loss"
	if err := o.Validate(); err != nil {
		panic(fmt.Sprintf("%s: %v", op, err))
	}
	// need panics unless x is present and (rows, C), C being the source's
	// number of classes; rows < 0 accepts any batch size.
	need := func(name string, x *tensor.Tensor, rows int) {
		switch {
		case x == nil:
			panic(fmt.Sprintf("%s: %v needs the logits %s", op, o.Method, name))
		case x.NDim() != 2 || (rows >= 0 && x.Dim(0) != rows) || x.Dim(1) != z.Source.Dim(1):
			panic(fmt.Sprintf("%s: logits %s have shape %s; want (%d, %d)", op, name, shapefmt.String(x.Shape()), rows, z.Source.Dim(1)))
		}
	}
	if z.Source == nil || z.Source.NDim() != 2 {
		panic(fmt.Sprintf("%s: source logits missing or not (B, C)", op))
	}
	if o.Method.cmkd() || o.Method.fixMatch() {
		need("Target", z.Target, -1)
		need("TeacherTarget", z.TeacherTarget, z.Target.Dim(0))
	}
	if o.Method.cmkd() {
		need("TeacherSource", z.TeacherSource, z.Source.Dim(0))
	}
	if o.Method.fixMatch() {
		need("TargetStrong", z.TargetStrong, z.Target.Dim(0))
		need("TeacherTargetStrong", z.TeacherTargetStrong, z.Target.Dim(0))
	}

	return o.loss(t, z, labels, o.stopGradient(z))
}

// stopped holds the values that the loss treats as constants (sg in the
// spec), all computed from the logits before the differentiable part, so
// that a test can hold them fixed while it differentiates numerically.
type stopped struct {
	// CMKD.
	alpha               *tensor.Tensor // α (B_t)
	pG                  *tensor.Tensor // sg(p_g) (B_t, C), for p_m
	massH, massM, massG *tensor.Tensor // S_c of p_h, p_m, p_g (1, C); VariantCode only
	// FixMatch.
	head, teacher pseudoLabels
}

// stopGradient computes the constants of the loss from z.
func (o Objective) stopGradient(z Logits) *stopped {
	c := &stopped{}
	if o.Method.cmkd() {
		zt, zg := z.Target.Detach(), z.TeacherTarget.Detach()
		c.alpha = Alpha(tensor.LogSoftmax(zt, 1), tensor.LogSoftmax(zg, 1), o.Variant)
		pH := tensor.Softmax(zt, 1)
		c.pG = tensor.Softmax(zg, 1)
		if o.Variant == VariantCode {
			c.massH = classMass(pH)
			c.massM = classMass(tensor.MulScalar(tensor.Add(pH, c.pG), 0.5))
			c.massG = classMass(c.pG)
		}
	}
	if o.Method.fixMatch() {
		c.head = newPseudoLabels(z.Target, o.FixMatchThreshold, o.Variant)
		c.teacher = newPseudoLabels(z.TeacherTarget, o.FixMatchThreshold, o.Variant)
	}
	return c
}

// loss is Loss with the constants c.
func (o Objective) loss(t int, z Logits, labels []int, c *stopped) Loss {
	var l Loss
	l.Cls = tensor.CrossEntropy(z.Source, labels, float32(o.LabelSmoothing))
	parts := []*tensor.Tensor{l.Cls}
	if o.Method.cmkd() {
		l.Lambda = o.Ramp.At(t)
		o.cmkd(&l, z, labels, c)
		parts = append(parts, l.Task, l.Distill, l.RegCE, l.RegGI)
	}
	if o.Method.fixMatch() {
		w := o.FixMatchWeight
		l.FixMatchHead, l.MaskRateHead = c.head.loss(z.TargetStrong, w), c.head.rate()
		l.FixMatchTeacher, l.MaskRateTeacher = c.teacher.loss(z.TeacherTargetStrong, w), c.teacher.rate()
		parts = append(parts, l.FixMatchHead, l.FixMatchTeacher)
	}
	l.Total = parts[0]
	for _, p := range parts[1:] {
		l.Total = tensor.Add(l.Total, p)
	}
	return l
}

// cmkd fills in the CMKD terms of l (Eqs. 8, 11–13; spec §1.5) for λ_dyn =
// l.Lambda.
func (o Objective) cmkd(l *Loss, z Logits, labels []int, c *stopped) {
	var sum float64
	for _, a := range c.alpha.Values() {
		sum += float64(a)
	}
	l.AlphaMean = sum / float64(c.alpha.Numel())

	pH := tensor.Softmax(z.Target, 1)
	pG := tensor.Softmax(z.TeacherTarget, 1)          // not detached: L_reg's GI trains f through it
	pM := tensor.MulScalar(tensor.Add(pH, c.pG), 0.5) // Eq. 8, teacher detached
	oneMinus := tensor.AddScalar(tensor.Neg(c.alpha), 1)

	gini := func(p, mass, w *tensor.Tensor) *tensor.Tensor {
		if o.Variant == VariantPaper {
			return Gini(p, w)
		}
		return giniCalibrated(p, mass, w)
	}
	w1 := float32(o.Lambda1 * l.Lambda)
	l.Task = tensor.MulScalar(gini(pH, c.massH, c.alpha), w1)
	l.Distill = tensor.MulScalar(gini(pM, c.massM, oneMinus), w1)
	l.RegCE = tensor.MulScalar(tensor.CrossEntropy(z.TeacherSource, labels, 0), float32(o.Lambda2))
	l.RegGI = tensor.MulScalar(gini(pG, c.massG, nil), float32(o.Lambda3*l.Lambda))
}

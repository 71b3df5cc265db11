package pretrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vlpuda/vlpuda/internal/detmath"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/tokenizer"
)

// Config configures Train. Zero fields take the defaults given.
type Config struct {
	// Model is the architecture (default ResNetConfig()).
	Model vlp.Config
	// Steps is the number of updates (default 3000) and Batch the
	// image–caption pairs per update (default 128).
	Steps, Batch int
	// LR is AdamW's peak learning rate (default 1e-4), reached after
	// Warmup steps (default Steps/20) and then decayed along a half cosine
	// to LR/100 at the last step.
	LR     float64
	Warmup int
	// WeightDecay applies to the weight matrices and convolution kernels,
	// not to biases, norms, embeddings or the logit scale (default 0.1).
	WeightDecay float64
	// ClipNorm bounds the gradient's global L2 norm (default 1).
	ClipNorm float64
	// Seed draws the initial weights and keys the corpus.
	Seed uint64
	// Corpus gives the faces and photos; Seed and HeldOut are set by
	// Train, Size by Model.
	Corpus CorpusOptions
	// AttrFrom is the fraction of Steps after which AttrShare of the
	// captions name the ink colour and the background (defaults 0.3 and
	// 0.2; AttrShare < 0 for none).
	AttrFrom, AttrShare float64

	// EvalSet, if not nil, is classified zero-shot with Prompt every
	// EvalEvery steps (default 100) for the log; at the model's resolution.
	EvalSet   *digits.Dataset
	EvalEvery int
	// CollapseAfter is the step from which Train watches for collapse
	// (default Steps/5, at least 300; a random text tower embeds the ten
	// prompts almost alike, and training takes a few hundred steps to tell
	// them apart): it stops with ErrCollapse when the mean loss of
	// the last 50 steps stays above 0.95·ln(Batch), chance level, or when
	// two of the ten digit prompts embed with a cosine above 0.99.
	CollapseAfter int

	// Log, if not nil, receives one JSON object per line: every LogEvery
	// steps (default 10) the mean loss since the last line, the learning
	// rate, logit scale and gradient norm; at each evaluation the
	// held-out accuracy and the prompts' largest cosine.
	Log      io.Writer
	LogEvery int
	// Progress, if not nil, is called after every step.
	Progress func(done, total int, loss float64)
	// Checkpoint, if not empty, is a path where the model is saved (with
	// Save, replacing) every CheckpointEvery steps (default 500), at the
	// end, and when Train's context stops the run.
	Checkpoint      string
	CheckpointEvery int
}

// withDefaults returns c with its zero fields set.
func (c Config) withDefaults() Config {
	if c.Model.VisionLayers == nil {
		c.Model = ResNetConfig()
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Steps, 3000)
	def(&c.Batch, 128)
	def(&c.Warmup, max(1, c.Steps/20))
	def(&c.EvalEvery, 100)
	def(&c.CollapseAfter, max(c.Steps/5, 300))
	def(&c.LogEvery, 10)
	def(&c.CheckpointEvery, 500)
	deff(&c.LR, 1e-4)
	deff(&c.WeightDecay, 0.1)
	deff(&c.ClipNorm, 1)
	deff(&c.AttrFrom, 0.3)
	deff(&c.AttrShare, 0.2)
	return c
}

// attrShare returns the share of attribute captions at step.
func (c Config) attrShare(step int) float64 {
	if c.AttrShare < 0 || float64(step) < c.AttrFrom*float64(c.Steps) {
		return 0
	}
	return c.AttrShare
}

// Result is the outcome of Train.
type Result struct {
	// Model is the trained model, in evaluation mode.
	Model *vlp.CLIP
	// Steps is the number of updates made.
	Steps int
	// FirstLoss is the mean loss of the first LogEvery steps, LastLoss of
	// the last 50, and ChanceLoss ln(Batch).
	FirstLoss, LastLoss, ChanceLoss float64
	// HeldOut is the last evaluation's accuracy on EvalSet (NaN without
	// one) and PromptCosine the last largest prompt cosine.
	HeldOut, PromptCosine float64
	// Faces lists the faces of the corpus.
	Faces []string
	// Wall is the training time.
	Wall time.Duration
}

// ErrCollapse is wrapped by Train's error when training collapsed.
var ErrCollapse = errors.New("contrastive training collapsed")

// logLine is one line of the JSON log.
type logLine struct {
	Step         int      `json:"step"`
	Loss         *float64 `json:"loss,omitempty"`
	LR           *float64 `json:"lr,omitempty"`
	Scale        *float64 `json:"logit_scale,omitempty"`
	GradNorm     *float64 `json:"grad_norm,omitempty"`
	AttrShare    *float64 `json:"attr_share,omitempty"`
	HeldOut      *float64 `json:"heldout_accuracy,omitempty"`
	PromptCosine *float64 `json:"prompt_max_cosine,omitempty"`
	Seconds      float64  `json:"seconds"`
}

// Train pretrains a CLIP model on the corpus with the contrastive loss;
// see Config. On collapse it returns the result so far and an error
// wrapping ErrCollapse. If ctx is cancelled, Train stops after the current
// step, saves the weights to the checkpoint (if Config names one) and
// returns the result so far and an error wrapping ctx.Err().
func Train(ctx context.Context, cfg Config) (*Result, error) {
	c := cfg.withDefaults()
	if c.Steps < 1 || c.Batch < 2 || c.LR <= 0 || c.Warmup < 0 {
		return nil, fmt.Errorf("pretrain: train: bad config (steps %d, batch %d, lr %g, warmup %d)", c.Steps, c.Batch, c.LR, c.Warmup)
	}
	co := c.Corpus
	co.Size, co.Seed, co.HeldOut = c.Model.ImageResolution, c.Seed, false
	corpus, err := NewCorpus(co)
	if err != nil {
		return nil, err
	}
	m, err := vlp.New(c.Model, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: train: %w", err)
	}
	tok, err := tokenizer.Default()
	if err != nil {
		return nil, fmt.Errorf("pretrain: train: %w", err)
	}
	t := &trainer{cfg: c, corpus: corpus, model: m, tok: tok, ids: map[string][]int32{}, start: time.Now()}
	t.setupOptimizer()
	res, err := t.run(ctx)
	nn.SetTraining(m, false)
	if res != nil {
		res.Model, res.Faces, res.Wall = m, corpus.Faces(), time.Since(t.start)
	}
	return res, err
}

// trainer holds the state of one Train call.
type trainer struct {
	cfg    Config
	corpus *Corpus
	model  *vlp.CLIP
	tok    *tokenizer.Tokenizer
	ids    map[string][]int32 // token ids of each caption seen
	opt    *nn.AdamW
	params []*tensor.Tensor
	start  time.Time
}

// setupOptimizer puts the weight matrices and kernels in a decayed group
// and everything else (biases, norms, embeddings, the logit scale) in an
// undecayed one, as CLIP's training does.
func (t *trainer) setupOptimizer() {
	var decay, keep []*tensor.Tensor
	for _, p := range nn.NamedParams(t.model) {
		t.params = append(t.params, p.Tensor)
		if p.Tensor.NDim() >= 2 && !strings.Contains(p.Name, "embedding") {
			decay = append(decay, p.Tensor)
		} else {
			keep = append(keep, p.Tensor)
		}
	}
	t.opt = &nn.AdamW{Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, Groups: []nn.ParamGroup{
		{Params: decay, LR: t.cfg.LR, WeightDecay: t.cfg.WeightDecay},
		{Params: keep, LR: t.cfg.LR},
	}}
}

// recentSteps is the number of last steps whose mean loss Result.LastLoss
// reports and the collapse watch judges.
const recentSteps = 50

// maxLogScale is ln 100: CLIP clamps its logit scale at 100.
var maxLogScale = float32(detmath.Log(100))

func (t *trainer) run(ctx context.Context) (*Result, error) {
	c := t.cfg
	sched := nn.WarmupCosine{Warmup: c.Warmup, Total: c.Steps, MinFactor: 0.01}
	res := &Result{ChanceLoss: detmath.Log(float64(c.Batch)), HeldOut: math.NaN(), PromptCosine: math.NaN()}
	samples := make([]Sample, c.Batch)
	var recent []float64 // the last recentSteps losses
	var sinceLog []float64
	nn.SetTraining(t.model, true)
	for step := range c.Steps {
		if err := ctx.Err(); err != nil {
			return res, t.stop(step, err)
		}
		share := c.attrShare(step)
		t.corpus.Fill(samples, step*c.Batch, share)
		loss, err := t.step(samples)
		if err != nil {
			return res, fmt.Errorf("pretrain: train: step %d: %w", step, err)
		}
		factor := sched.Factor(step)
		gn := nn.ClipGradNorm(t.params, c.ClipNorm)
		if math.IsNaN(gn) || math.IsInf(gn, 0) || math.IsNaN(loss) {
			return res, fmt.Errorf("pretrain: train: step %d: loss %g, gradient norm %g", step, loss, gn)
		}
		t.opt.Step(factor)
		t.opt.ZeroGrad()
		if s := t.model.LogitScale.Data(); s[0] > maxLogScale {
			s[0] = maxLogScale
		}
		res.Steps = step + 1

		if len(recent) == recentSteps {
			recent = append(recent[:0], recent[1:]...)
		}
		recent = append(recent, loss)
		res.LastLoss = mean(recent)
		sinceLog = append(sinceLog, loss)
		if step+1 == c.LogEvery || (res.FirstLoss == 0 && step+1 == c.Steps) {
			res.FirstLoss = mean(sinceLog)
		}
		if (step+1)%c.LogEvery == 0 || step+1 == c.Steps {
			l, lr := mean(sinceLog), c.LR*factor
			scale := detmath.Exp(float64(t.model.LogitScale.Item()))
			t.log(logLine{Step: step + 1, Loss: &l, LR: &lr, Scale: &scale, GradNorm: &gn, AttrShare: &share})
			sinceLog = sinceLog[:0]
		}
		if c.Progress != nil {
			c.Progress(step+1, c.Steps, loss)
		}

		if (step+1)%c.CheckpointEvery == 0 || step+1 == c.Steps {
			if err := t.checkpoint(step + 1); err != nil {
				return res, err
			}
		}
		cos := math.NaN()
		if (step+1)%c.EvalEvery == 0 || step+1 == c.Steps {
			if err := t.evaluate(step+1, res); err != nil {
				return res, err
			}
			cos = res.PromptCosine
		}
		if step+1 >= c.CollapseAfter {
			loss := math.NaN() // judged once 50 losses are in
			if len(recent) == recentSteps {
				loss = res.LastLoss
			}
			if err := collapsed(loss, res.ChanceLoss, cos); err != nil {
				return res, fmt.Errorf("pretrain: train: step %d: %w", step+1, err)
			}
		}
	}
	return res, nil
}

// checkpoint saves the weights after steps steps to Config.Checkpoint, if
// it names a file.
func (t *trainer) checkpoint(steps int) error {
	if t.cfg.Checkpoint == "" {
		return nil
	}
	return Save(t.cfg.Checkpoint, t.model, map[string]string{"vlpuda.pretrain.step": strconv.Itoa(steps)}, true)
}

// stop ends a run that ctx stopped, with err, after steps steps: the
// weights are saved for inspection (a run cannot be resumed).
func (t *trainer) stop(steps int, err error) error {
	if steps > 0 {
		if cerr := t.checkpoint(steps); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
	return fmt.Errorf("pretrain: train: stopped after step %d: %w", steps, err)
}

// step computes the loss of one batch and its gradients. The text tower
// encodes each distinct caption once; the batch's rows repeat them.
func (t *trainer) step(samples []Sample) (float64, error) {
	captions := make([]string, len(samples))
	var uniq []string
	row := map[string]int{}
	idx := make([]int, len(samples))
	for i, s := range samples {
		captions[i] = s.Caption
		r, ok := row[s.Caption]
		if !ok {
			r = len(uniq)
			row[s.Caption] = r
			uniq = append(uniq, s.Caption)
		}
		idx[i] = r
	}
	ids := make([][]int32, len(uniq))
	for i, cap := range uniq {
		if ids[i] = t.ids[cap]; ids[i] == nil {
			r, err := t.tok.Tokenize([]string{cap}, t.cfg.Model.ContextLength, false)
			if err != nil {
				return 0, err
			}
			ids[i] = r[0]
			t.ids[cap] = r[0]
		}
	}
	img := t.model.EncodeImage(sampleBatch(samples, t.corpus.Size()))
	txt, err := t.model.EncodeText(ids)
	if err != nil {
		return 0, err
	}
	logits := t.model.Logits(img, tensor.IndexSelect(txt, 0, idx))
	loss := ContrastiveLoss(logits, captions)
	loss.Backward()
	return float64(loss.Item()), nil
}

// evaluate measures the prompts' largest cosine and, with an EvalSet, the
// zero-shot accuracy on it, logs them, and returns to training mode.
func (t *trainer) evaluate(step int, res *Result) error {
	nn.SetTraining(t.model, false)
	defer nn.SetTraining(t.model, true)
	z, err := vlp.NewZeroShot(t.model, digits.Classes, []string{Prompt})
	if err != nil {
		return fmt.Errorf("pretrain: train: %w", err)
	}
	res.PromptCosine = MaxOffDiagonalCosine(z.Text)
	line := logLine{Step: step, PromptCosine: &res.PromptCosine}
	if t.cfg.EvalSet != nil {
		if res.HeldOut, err = ZeroShotAccuracy(z, t.cfg.EvalSet); err != nil {
			return err
		}
		line.HeldOut = &res.HeldOut
	}
	t.log(line)
	return nil
}

// collapsed returns an error wrapping ErrCollapse if the recent mean loss
// is above 0.95 of chance level or the largest digit prompt cosine is
// above 0.99; NaN stands for a number not measured.
func collapsed(recentLoss, chance, promptCosine float64) error {
	if recentLoss > 0.95*chance {
		return fmt.Errorf("the mean loss of the last steps, %.3f, is at chance level %.3f: %w", recentLoss, chance, ErrCollapse)
	}
	if promptCosine > 0.99 {
		return fmt.Errorf("two digit prompts embed with cosine %.4f: %w", promptCosine, ErrCollapse)
	}
	return nil
}

// log writes one line of the JSON log.
func (t *trainer) log(l logLine) {
	if t.cfg.Log == nil {
		return
	}
	l.Seconds = math.Round(time.Since(t.start).Seconds()*10) / 10
	b, _ := json.Marshal(l)
	t.cfg.Log.Write(append(b, '\n'))
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

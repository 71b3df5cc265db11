package vlp

import (
	"fmt"
	"image"
	"strings"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp/tokenizer"
)

// The prompt templates of the paper's code (models/backbone.py), one per
// benchmark. The paper's code uses one template per class, no ensemble.
const (
	// TemplatePhoto is used for Office-31, VisDA-2017, DomainNet and
	// ImageCLEF-DA (always "a", even before a vowel).
	TemplatePhoto = "a photo of a {}"
	// TemplateImage is used for Office-Home.
	TemplateImage = "an image of a {}"
	// TemplateNumber is used for the digits benchmarks, with the classes
	// "0" to "9".
	TemplateNumber = `a photo of the number: "{}"`
)

// ClassName turns a dataset's class folder name into the words a prompt
// uses, as the paper's prompt lists do: underscores become spaces. With
// lower set the result is lower-cased, as the paper's Office-Home prompts
// are; the CLIP tokenizer lower-cases every text anyway, so this changes
// only how prompts are shown, not the embeddings.
func ClassName(folder string, lower bool) string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(folder, "_", " ")), " ")
	if lower {
		s = strings.ToLower(s)
	}
	return s
}

// Prompt fills the placeholder of template, "{}" or "{class}", with class.
// The template must hold exactly one placeholder.
func Prompt(template, class string) (string, error) {
	n := strings.Count(template, "{}") + strings.Count(template, "{class}")
	if n != 1 {
		return "", fmt.Errorf("vlp: template %q has %d placeholders, want one {} or {class}", template, n)
	}
	if strings.Contains(template, "{}") {
		return strings.Replace(template, "{}", class, 1), nil
	}
	return strings.Replace(template, "{class}", class, 1), nil
}

// ZeroShot is CLIP's zero-shot classification head: the normalised text
// embeddings of one prompt per class (or of an ensemble of prompts per
// class), computed once, and the model's logit scale. It is the teacher
// head of the paper (§III-A, Eq. 2).
//
// CLASS ORDER: row k of Text, column k of the logits and label k of
// Predict and Evaluate all mean Classes[k], in the order the caller gave.
// Give the classes in the dataset's label order (for an image folder, the
// sorted folder names, as ImageFolder numbers them). ZeroShot never sorts
// or reorders them: a prompt list in any other order silently mislabels
// every class, which is what makes the paper's DomainNet zero-shot
// accuracy (6.6 %) wrong.
type ZeroShot struct {
	// Classes are the class names put into the templates, in label order.
	Classes []string
	// Templates are the prompt templates; with several, each class's
	// embedding is their ensemble.
	Templates []string
	// Text holds one unit-length embedding per class, (C, D). It does not
	// require gradients.
	Text *tensor.Tensor
	// Scale is exp(logit_scale) of the model when the head was built.
	Scale float32

	model *CLIP
}

// textBatch is the number of prompts NewZeroShot encodes at once.
const textBatch = 256

// NewZeroShot builds the zero-shot head of m for classes (in label order)
// and templates. Each class's prompts are encoded once, without recording
// gradients. With one template, Text row k is the normalised embedding of
// its prompt, as in the paper's code. With several, the normalised
// embeddings of a class's prompts are averaged and the mean normalised
// again, as CLIP's prompt-ensembling notebook does.
func NewZeroShot(m *CLIP, classes, templates []string) (*ZeroShot, error) {
	if len(classes) == 0 {
		return nil, fmt.Errorf("vlp: zero-shot: no classes")
	}
	if len(templates) == 0 {
		return nil, fmt.Errorf("vlp: zero-shot: no templates")
	}
	prompts := make([]string, 0, len(classes)*len(templates))
	first := map[string]int{} // the first class of each prompt set
	for k, c := range classes {
		if strings.TrimSpace(c) == "" {
			return nil, fmt.Errorf("vlp: zero-shot: class %d has an empty name", k)
		}
		var set []string
		for _, t := range templates {
			p, err := Prompt(t, c)
			if err != nil {
				return nil, err
			}
			set = append(set, p)
		}
		key := strings.ToLower(strings.Join(set, "\x00"))
		if j, ok := first[key]; ok {
			return nil, fmt.Errorf("vlp: zero-shot: classes %d (%q) and %d (%q) have the same prompts, so they cannot be told apart", j, classes[j], k, c)
		}
		first[key] = k
		prompts = append(prompts, set...)
	}
	ids, err := tokenizer.Tokenize(prompts, m.Config.ContextLength, false)
	if err != nil {
		return nil, fmt.Errorf("vlp: zero-shot: %w", err)
	}
	var rows []float32
	defer nn.PackWeights(m.Transformer)() // inference only, see nn.PackWeights
	for lo := 0; lo < len(ids); lo += textBatch {
		f, err := m.EncodeTextInference(ids[lo:min(lo+textBatch, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("vlp: zero-shot: %w", err)
		}
		rows = append(rows, Normalize(f).Data()...)
	}
	c, t := len(classes), len(templates)
	text := tensor.New(rows, c*t, len(rows)/(c*t))
	if t > 1 {
		text = Normalize(tensor.MeanDim(text.Reshape(c, t, -1), 1, false))
	}
	return &ZeroShot{
		Classes:   append([]string(nil), classes...),
		Templates: append([]string(nil), templates...),
		Text:      text.Contiguous(),
		Scale:     tensor.Exp(m.LogitScale.Detach()).Item(),
		model:     m,
	}, nil
}

// Logits returns the zero-shot logits of image features (N, D):
// Scale · normalise(features) · Textᵀ, (N, C). Gradients flow to features,
// so the head can sit on a trainable image tower.
func (z *ZeroShot) Logits(features *tensor.Tensor) *tensor.Tensor {
	return tensor.MulScalar(tensor.MatMul(Normalize(features), z.Text.T()), z.Scale)
}

// Predict classifies preprocessed images (N, 3, R, R) without recording
// gradients (it encodes images.Inference()). It returns each image's class
// (the first of equal logits) and the softmax probabilities over the
// classes, (N, C), an inference tensor.
func (z *ZeroShot) Predict(images *tensor.Tensor) ([]int, *tensor.Tensor) {
	logits := z.Logits(z.model.EncodeImage(images.Inference()))
	return tensor.Argmax(logits, 1), tensor.Softmax(logits, 1)
}

// EvalConfig configures ZeroShot.Evaluate.
type EvalConfig struct {
	// Transform brings images to the model's input size.
	Transform Transform
	// Batch is the number of images encoded at once; 0 means 32.
	Batch int
	// Progress, if not nil, is called after each batch with the number of
	// images done and the total.
	Progress func(done, total int)
}

// Evaluation is the outcome of a zero-shot evaluation.
type Evaluation struct {
	Images       int     `json:"images"`
	Correct      int     `json:"correct"`
	Top1         float64 `json:"top1"`           // Correct / Images
	MeanPerClass float64 `json:"mean_per_class"` // mean of the per-class accuracies of classes with images
	// PerClass has one entry per class, in label order.
	PerClass []ClassResult `json:"per_class"`
	// Predictions holds each image's predicted class and Confidence its
	// softmax probability, in the order of the paths.
	Predictions []int     `json:"-"`
	Confidence  []float32 `json:"-"`
}

// ClassResult is one class's share of an Evaluation. Accuracy is 0 for a
// class without images.
type ClassResult struct {
	Class    string  `json:"class"`
	Images   int     `json:"images"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// Accuracies fills in each class's Accuracy and returns the top-1 accuracy
// over all images and the mean of the accuracies of the classes that have
// images (VisDA-2017's metric, scikit-learn's balanced_accuracy_score).
func Accuracies(perClass []ClassResult) (top1, meanPerClass float64) {
	var images, correct, present int
	for k := range perClass {
		r := &perClass[k]
		images += r.Images
		correct += r.Correct
		if r.Images > 0 {
			r.Accuracy = float64(r.Correct) / float64(r.Images)
			meanPerClass += r.Accuracy
			present++
		}
	}
	if present > 0 {
		meanPerClass /= float64(present)
	}
	if images > 0 {
		top1 = float64(correct) / float64(images)
	}
	return top1, meanPerClass
}

// Evaluate classifies the image files at paths and compares the
// predictions with labels (indices into z.Classes). Images are decoded and
// preprocessed in parallel, a batch at a time, to the model's resolution.
// A file that cannot be decoded stops the evaluation with an error naming
// it.
func (z *ZeroShot) Evaluate(paths []string, labels []int, cfg EvalConfig) (*Evaluation, error) {
	if len(paths) != len(labels) {
		return nil, fmt.Errorf("vlp: evaluate: %d paths and %d labels", len(paths), len(labels))
	}
	for i, l := range labels {
		if l < 0 || l >= len(z.Classes) {
			return nil, fmt.Errorf("vlp: evaluate: %s has label %d, want [0, %d)", paths[i], l, len(z.Classes))
		}
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 32
	}
	size := z.model.Config.ImageResolution
	ev := &Evaluation{
		Images:      len(paths),
		PerClass:    make([]ClassResult, len(z.Classes)),
		Predictions: make([]int, len(paths)),
		Confidence:  make([]float32, len(paths)),
	}
	for k, c := range z.Classes {
		ev.PerClass[k].Class = c
	}
	per := 3 * size * size
	buf := make([]float32, batch*per)
	defer nn.PackWeights(z.model.Visual)() // inference only, see nn.PackWeights
	for lo := 0; lo < len(paths); lo += batch {
		n := min(batch, len(paths)-lo)
		if err := loadImages(buf[:n*per], paths[lo:lo+n], size, cfg.Transform); err != nil {
			return nil, err
		}
		pred, probs := z.Predict(tensor.New(buf[:n*per], n, 3, size, size))
		p := probs.Data()
		for i, k := range pred {
			ev.Predictions[lo+i] = k
			ev.Confidence[lo+i] = p[i*len(z.Classes)+k]
			r := &ev.PerClass[labels[lo+i]]
			r.Images++
			if k == labels[lo+i] {
				r.Correct++
				ev.Correct++
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(lo+n, len(paths))
		}
	}
	ev.Top1, ev.MeanPerClass = Accuracies(ev.PerClass)
	return ev, nil
}

// loadImages reads and preprocesses the images at paths into dst, in
// parallel. It returns the error of the first path that fails.
func loadImages(dst []float32, paths []string, size int, t Transform) error {
	per := 3 * size * size
	errs := make([]error, len(paths))
	kernels.ParallelFor(len(paths), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var img image.Image
			if img, errs[i] = ReadImage(paths[i]); errs[i] == nil {
				PreprocessImage(dst[i*per:(i+1)*per], img, size, t)
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

package vlp

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/vlp/tokenizer"
)

func TestClassName(t *testing.T) {
	tests := []struct {
		folder string
		lower  bool
		want   string
	}{
		{"back_pack", false, "back pack"},
		{"Alarm_Clock", true, "alarm clock"},
		{"Alarm_Clock", false, "Alarm Clock"},
		{"the_eiffel_tower", false, "the eiffel tower"},
		{"_odd__name_", false, "odd name"},
		{"7", false, "7"},
	}
	for _, tt := range tests {
		if got := ClassName(tt.folder, tt.lower); got != tt.want {
			t.Errorf("ClassName(%q, %v) = %q, want %q", tt.folder, tt.lower, got, tt.want)
		}
	}
}

func TestPrompt(t *testing.T) {
	tests := []struct {
		template, class, want string
		wantErr               bool
	}{
		{TemplatePhoto, "bike", "a photo of a bike", false},
		{TemplateImage, "alarm clock", "an image of a alarm clock", false},
		{TemplateNumber, "7", `a photo of the number: "7"`, false},
		{"a {class} in the wild.", "cat", "a cat in the wild.", false},
		{"no placeholder", "cat", "", true},
		{"{} and {}", "cat", "", true},
		{"{} and {class}", "cat", "", true},
	}
	for _, tt := range tests {
		got, err := Prompt(tt.template, tt.class)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Prompt(%q, %q) = %q, %v; want %q, error %v", tt.template, tt.class, got, err, tt.want, tt.wantErr)
		}
	}
}

// loadViT loads the tiny ViT fixture model.
func loadViT(t *testing.T) *CLIP {
	t.Helper()
	dir := tiny(t, "vit")
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	m, _, err := Load(filepath.Join(dir, "model.safetensors"), &cfg)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return m
}

// fixtureImages returns the fixture's preprocessed images (4, 3, 32, 32).
func fixtureImages(t *testing.T) *tensor.Tensor {
	t.Helper()
	return fixtureTensor(t, readSafetensors(t, tiny(t, "vit", "inputs.safetensors")), "images")
}

var testClasses = []string{"back pack", "bike", "calculator", "desk lamp", "alarm clock"}

// maxAbsDiff returns the largest |a−b| over two tensors of the same shape.
func maxAbsDiff(t *testing.T, a, b *tensor.Tensor) float64 {
	t.Helper()
	if sa, sb := a.Shape(), b.Shape(); len(sa) != len(sb) || a.Numel() != b.Numel() {
		t.Fatalf("shapes %v and %v differ", sa, sb)
	}
	av, bv := a.Values(), b.Values()
	var d float64
	for i := range av {
		d = math.Max(d, math.Abs(float64(av[i]-bv[i])))
	}
	return d
}

func TestZeroShotMatchesLogits(t *testing.T) {
	m := loadViT(t)
	z, err := NewZeroShot(m, testClasses, []string{TemplatePhoto})
	if err != nil {
		t.Fatal(err)
	}
	// The teacher's text is a constant that trained image features meet
	// (uda.TeacherLogits): an inference tensor would stop their gradients.
	if z.Text.IsInference() || z.Text.RequiresGrad() {
		t.Errorf("zero-shot text: inference %v, requires grad %v; want a plain constant", z.Text.IsInference(), z.Text.RequiresGrad())
	}
	prompts := make([]string, len(testClasses))
	for i, c := range testClasses {
		prompts[i] = "a photo of a " + c
	}
	ids, err := tokenizer.Tokenize(prompts, 77, false)
	if err != nil {
		t.Fatal(err)
	}
	images := fixtureImages(t)
	img := m.EncodeImage(images.Inference())
	txt, err := m.EncodeTextInference(ids)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Logits(img, txt)
	got := z.Logits(img)
	if s := got.Shape(); s[0] != 4 || s[1] != len(testClasses) {
		t.Fatalf("logits shape %v, want (4, %d)", s, len(testClasses))
	}
	// Logits are about 100× cosines: compare relative to the scale.
	if d := maxAbsDiff(t, got, want); d > 1e-5*float64(z.Scale) {
		t.Errorf("logits differ from CLIP.Logits by %g, want ≤ %g", d, 1e-5*float64(z.Scale))
	}
	pred, probs := z.Predict(images)
	wantPred := tensor.Argmax(want, 1)
	for i := range pred {
		if pred[i] != wantPred[i] {
			t.Errorf("image %d: predicted %d, want %d", i, pred[i], wantPred[i])
		}
		var sum float64
		for k := range testClasses {
			sum += float64(probs.At(i, k))
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("image %d: probabilities sum to %v", i, sum)
		}
	}
}

func TestZeroShotEnsemble(t *testing.T) {
	m := loadViT(t)
	templates := []string{TemplatePhoto, "a blurry photo of a {}.", "a drawing of the {class}"}
	z, err := NewZeroShot(m, testClasses, templates)
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range testClasses {
		// The ensemble by hand, in float64: mean of unit vectors, normalised.
		var mean []float64
		for _, tmpl := range templates {
			p, _ := Prompt(tmpl, c)
			ids, err := tokenizer.Tokenize([]string{p}, 77, false)
			if err != nil {
				t.Fatal(err)
			}
			e, err := m.EncodeTextInference(ids)
			if err != nil {
				t.Fatal(err)
			}
			f := e.Values()
			var norm float64
			for _, v := range f {
				norm += float64(v) * float64(v)
			}
			norm = math.Sqrt(norm)
			if mean == nil {
				mean = make([]float64, len(f))
			}
			for i, v := range f {
				mean[i] += float64(v) / norm / float64(len(templates))
			}
		}
		var norm float64
		for _, v := range mean {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for i, v := range mean {
			if got := float64(z.Text.At(k, i)); math.Abs(got-v/norm) > 1e-5 {
				t.Fatalf("class %d dim %d: %v, want %v", k, i, got, v/norm)
			}
		}
	}
}

func TestZeroShotOrder(t *testing.T) {
	m := loadViT(t)
	perm := []int{3, 0, 4, 1, 2} // new class i is old class perm[i]
	permuted := make([]string, len(perm))
	for i, p := range perm {
		permuted[i] = testClasses[p]
	}
	z1, err := NewZeroShot(m, testClasses, []string{TemplatePhoto})
	if err != nil {
		t.Fatal(err)
	}
	z2, err := NewZeroShot(m, permuted, []string{TemplatePhoto})
	if err != nil {
		t.Fatal(err)
	}
	images := fixtureImages(t)
	_, p1 := z1.Predict(images)
	pred2, p2 := z2.Predict(images)
	pred1, _ := z1.Predict(images)
	for n := range 4 {
		if perm[pred2[n]] != pred1[n] {
			t.Errorf("image %d: permuted head predicts %d (old class %d), want old class %d", n, pred2[n], perm[pred2[n]], pred1[n])
		}
		for i, p := range perm {
			if a, b := p2.At(n, i), p1.At(n, p); math.Abs(float64(a-b)) > 1e-6 {
				t.Errorf("image %d: probability of class %q is %v permuted, %v not", n, permuted[i], a, b)
			}
		}
	}
}

func TestZeroShotGradient(t *testing.T) {
	m := loadViT(t)
	z, err := NewZeroShot(m, testClasses, []string{TemplatePhoto})
	if err != nil {
		t.Fatal(err)
	}
	if z.Text.RequiresGrad() {
		t.Error("text embeddings require gradients")
	}
	f := tensor.RandN(tensor.NewRNG(1), 2, m.Config.EmbedDim).SetRequiresGrad(true)
	tensor.Sum(z.Logits(f)).Backward()
	if f.Grad() == nil {
		t.Fatal("no gradient reaches the image features")
	}
}

func TestZeroShotErrors(t *testing.T) {
	m := loadViT(t)
	tests := []struct {
		name      string
		classes   []string
		templates []string
		want      string
	}{
		{"no classes", nil, []string{TemplatePhoto}, "no classes"},
		{"no templates", testClasses, nil, "no templates"},
		{"bad template", testClasses, []string{"a photo"}, "placeholders"},
		{"empty class", []string{"cat", " "}, []string{TemplatePhoto}, "empty name"},
		{"same prompts", []string{"Bed", "cat", "bed"}, []string{TemplatePhoto}, `classes 0 ("Bed") and 2 ("bed")`},
		{"too long", []string{strings.Repeat("very ", 80) + "long"}, []string{TemplatePhoto}, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewZeroShot(m, tt.classes, tt.templates)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// writePNG writes a w×h image filled with c plus a pattern to path.
func writePNG(t *testing.T, path string, w, h int, c color.RGBA) image.Image {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{c.R ^ uint8(x*7), c.G ^ uint8(y*5), c.B, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestZeroShotEvaluate(t *testing.T) {
	m := loadViT(t)
	z, err := NewZeroShot(m, testClasses[:3], []string{TemplatePhoto})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	colors := []color.RGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}, {90, 90, 90, 255}, {250, 250, 0, 255}}
	var paths []string
	var imgs []image.Image
	labels := []int{0, 2, 2, 1, 0}
	for i, c := range colors {
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		imgs = append(imgs, writePNG(t, p, 40+i*3, 30+i, c))
		paths = append(paths, p)
	}
	var calls [][2]int
	ev, err := z.Evaluate(paths, labels, EvalConfig{Transform: ResizeSquash, Batch: 2, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := z.Predict(Preprocess(imgs, 32, ResizeSquash))
	correct := 0
	perClass := make([][2]int, 3)
	for i := range want {
		if ev.Predictions[i] != want[i] {
			t.Errorf("image %d: predicted %d, want %d", i, ev.Predictions[i], want[i])
		}
		perClass[labels[i]][0]++
		if want[i] == labels[i] {
			correct++
			perClass[labels[i]][1]++
		}
	}
	if ev.Images != 5 || ev.Correct != correct || ev.Top1 != float64(correct)/5 {
		t.Errorf("images %d, correct %d, top-1 %v; want 5, %d, %v", ev.Images, ev.Correct, ev.Top1, correct, float64(correct)/5)
	}
	var mean float64
	for k, r := range ev.PerClass {
		acc := float64(perClass[k][1]) / float64(perClass[k][0])
		mean += acc / 3
		if r.Class != testClasses[k] || r.Images != perClass[k][0] || r.Correct != perClass[k][1] || r.Accuracy != acc {
			t.Errorf("class %d: %+v, want %s with %d images, %d correct", k, r, testClasses[k], perClass[k][0], perClass[k][1])
		}
	}
	if math.Abs(ev.MeanPerClass-mean) > 1e-12 {
		t.Errorf("mean per-class accuracy %v, want %v", ev.MeanPerClass, mean)
	}
	if len(calls) != 3 || calls[2] != [2]int{5, 5} {
		t.Errorf("progress calls %v, want 3 ending with [5 5]", calls)
	}

	t.Run("bad file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.png")
		if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := z.Evaluate(append(paths, bad), append(labels, 1), EvalConfig{})
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("error %v, want one naming %s", err, bad)
		}
	})
	t.Run("bad label", func(t *testing.T) {
		_, err := z.Evaluate(paths[:1], []int{3}, EvalConfig{})
		if err == nil || !strings.Contains(err.Error(), "label 3") {
			t.Errorf("error %v, want one about label 3", err)
		}
	})
}

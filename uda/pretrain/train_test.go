package pretrain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/vlp"
)

// TestTrainTiny trains a tiny model for a few dozen steps and checks that
// the loss falls, the log and the progress report every step, and the
// checkpoint loads as a teacher. In so few steps the loss falls from the
// random model's level to about chance, ln 16; telling captions apart
// takes a few hundred steps (see uda/teacher/minclip.train.jsonl).
func TestTrainTiny(t *testing.T) {
	held, err := RenderHeldOut(digits.GoFaces()[:2], nil, 32, 20)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	var losses []float64
	ckpt := filepath.Join(t.TempDir(), "tiny.safetensors")
	const steps = 60
	res, err := Train(context.Background(), Config{
		Model: tinyConfig(), Steps: steps, Batch: 16, LR: 2e-3, Seed: 1,
		Corpus:  CorpusOptions{Faces: digits.GoFaces()[:4]},
		EvalSet: held, EvalEvery: 20, LogEvery: 10, Log: &log,
		CollapseAfter: steps + 1, // a random text tower embeds all prompts alike
		Progress:      func(done, total int, loss float64) { losses = append(losses, loss) },
		Checkpoint:    ckpt, CheckpointEvery: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != steps || len(losses) != steps {
		t.Fatalf("%d steps and %d progress calls, want %d", res.Steps, len(losses), steps)
	}
	if want := mean(losses[:10]); math.Abs(res.FirstLoss-want) > 1e-9 {
		t.Errorf("FirstLoss %g, want the mean of the first 10 steps %g", res.FirstLoss, want)
	}
	if want := mean(losses[steps-recentSteps:]); steps >= recentSteps && math.Abs(res.LastLoss-want) > 1e-9 {
		t.Errorf("LastLoss %g, want the mean of the last %d steps %g", res.LastLoss, recentSteps, want)
	}
	first, last := mean(losses[:10]), mean(losses[steps-10:])
	t.Logf("loss %.3f → %.3f (chance %.3f)", first, last, res.ChanceLoss)
	if !(last < first-0.1) {
		t.Errorf("loss did not fall: first 10 steps %.3f, last 10 %.3f", first, last)
	}
	if math.Abs(res.ChanceLoss-math.Log(16)) > 1e-12 || math.IsNaN(res.HeldOut) || math.IsNaN(res.PromptCosine) {
		t.Errorf("result %+v: want chance ln 16 and measured evaluations", res)
	}

	var lossLines, evalLines int
	sc := bufio.NewScanner(&log)
	for sc.Scan() {
		var l map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if _, ok := l["loss"]; ok {
			lossLines++
		}
		if _, ok := l["heldout_accuracy"]; ok {
			evalLines++
		}
	}
	if lossLines != steps/10 || evalLines != steps/20 {
		t.Errorf("log has %d loss lines and %d evaluations, want %d and %d", lossLines, evalLines, steps/10, steps/20)
	}

	m, meta, err := Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if meta["vlpuda.pretrain.step"] != "60" {
		t.Errorf("checkpoint step %q, want 60", meta["vlpuda.pretrain.step"])
	}
	want, got := nn.StateDict(res.Model), nn.StateDict(m)
	for name, w := range want {
		g := got[name].Data()
		for i, v := range w.Data() {
			if g[i] != v {
				t.Fatalf("checkpoint %s[%d] = %g, want %g", name, i, g[i], v)
			}
		}
	}
}

// TestTrainStopped cancels training after a few steps: Train must stop
// there, save the weights of that step and say why it stopped.
func TestTrainStopped(t *testing.T) {
	tests := []struct {
		name       string
		stopAfter  int
		checkpoint bool
	}{
		{"with checkpoint", 3, true},
		{"without checkpoint", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var ckpt string
			if tt.checkpoint {
				ckpt = filepath.Join(t.TempDir(), "tiny.safetensors")
			}
			res, err := Train(ctx, Config{
				Model: tinyConfig(), Steps: 50, Batch: 4, LR: 2e-3, Seed: 1,
				Corpus: CorpusOptions{Faces: digits.GoFaces()[:2]}, CollapseAfter: 51, EvalEvery: 100,
				Checkpoint: ckpt, CheckpointEvery: 100,
				Progress: func(done, _ int, _ float64) {
					if done == tt.stopAfter {
						cancel()
					}
				},
			})
			want := fmt.Sprintf("stopped after step %d", tt.stopAfter)
			if !errors.Is(err, context.Canceled) || !strings.Contains(fmt.Sprint(err), want) {
				t.Fatalf("error %v, want one saying %q and wrapping context.Canceled", err, want)
			}
			if res == nil || res.Steps != tt.stopAfter {
				t.Fatalf("result %+v, want %d steps", res, tt.stopAfter)
			}
			if !tt.checkpoint {
				return
			}
			_, meta, err := Load(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			if got := meta["vlpuda.pretrain.step"]; got != strconv.Itoa(tt.stopAfter) {
				t.Errorf("checkpoint of step %s, want %d", got, tt.stopAfter)
			}
		})
	}
}

func TestLoadRefusesOtherCheckpoints(t *testing.T) {
	m, err := vlp.New(tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plain.safetensors")
	if err := vlp.Save(path, m, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path); !errors.Is(err, ErrPreprocess) {
		t.Errorf("Load of a checkpoint without %s: %v, want ErrPreprocess", PreprocessKey, err)
	}
}

func TestCollapsed(t *testing.T) {
	chance := math.Log(128)
	tests := []struct {
		name      string
		loss, cos float64
		collapsed bool
	}{
		{"learning", 2.1, 0.7, false},
		{"nothing measured", math.NaN(), math.NaN(), false},
		{"loss at chance", 0.97 * chance, math.NaN(), true},
		{"prompts equal", 2.1, 0.999, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := collapsed(tt.loss, chance, tt.cos)
			if got := errors.Is(err, ErrCollapse); got != tt.collapsed {
				t.Errorf("collapsed(%g, %g, %g) = %v, want collapse %v", tt.loss, chance, tt.cos, err, tt.collapsed)
			}
		})
	}
}

func TestSupervisedCheckTiny(t *testing.T) {
	for _, clip := range []bool{false, true} {
		r, err := SupervisedCheck(SupervisedConfig{Model: tinyConfig(), Steps: 3, Batch: 8, Test: 30, CLIPNormalize: clip,
			Corpus: CorpusOptions{Faces: digits.GoFaces()[:1]}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Classes != len(Classes()) || r.Steps != 3 || r.Accuracy < 0 || r.Accuracy > 1 || math.IsNaN(r.Loss) {
			t.Errorf("CLIP normalisation %v: result %+v", clip, r)
		}
	}
}

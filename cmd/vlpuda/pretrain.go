package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/uda/pretrain"
	"github.com/vlpuda/vlpuda/vlp"
)

var cmdPretrain = &Command{
	UsageLine: "pretrain -out MODEL.safetensors [-tower resnet|vit] [-steps 3000] [-batch 128] [-lr 1e-4] [-seed 1] [-log FILE] [-checkpoint FILE] [-cache DIR] [-threads N] [-force] [-q] | pretrain -supervised [-tower resnet|vit] [-steps 200] [-batch 64] [-lr 1e-3] [-clip-normalize]",
	Short:     "pretrain the mini-CLIP teacher on rendered characters, and gate it",
	Long: `Pretrain trains a small CLIP (package uda/pretrain) with CLIP's contrastive
loss on an endless corpus of rendered digits, letters and symbols with
captions that name them, then measures it against the gate and writes
-out only if it passes: zero-shot accuracy with the prompt
'a photo of the number: "{}".' of at least 60 % on renders of held-out
faces, between 30 % and 80 % on MNIST's last 10000 training images (held
out of every task of the demo), and a largest cosine between
two digit prompts below 0.9. A model that fails is left in the
-checkpoint file (default: -out with .partial) and the command exits 1.
On SIGINT or SIGTERM training stops after the current step, the weights
go to the -checkpoint file, and the command exits with status 130 or 143
(a stopped pretraining cannot be resumed).

The corpus uses the Go fonts, and the Debian fonts and corpus photos when
they are fetched ('vlpuda fetch'). The images are prepared by per-image
standardisation, which the checkpoint's metadata records. -log receives
the training curve as JSON lines (default: -out with .train.jsonl).

-supervised instead runs the quick check that picks the image tower: the
tower with a linear head trained on the corpus classes by cross-entropy,
scored on fresh samples. -clip-normalize uses CLIP's fixed mean and std
there instead of per-image standardisation.`,
}

var (
	ptOut        = cmdPretrain.Flag.String("out", "", "write the gated model here")
	ptTower      = cmdPretrain.Flag.String("tower", "resnet", "image tower: resnet or vit")
	ptSteps      = cmdPretrain.Flag.Int("steps", 0, "updates (default 3000; 200 with -supervised)")
	ptBatch      = cmdPretrain.Flag.Int("batch", 0, "image–caption pairs per update (default 128; 64 with -supervised)")
	ptLR         = cmdPretrain.Flag.Float64("lr", 0, "peak learning rate (default 1e-4; 1e-3 with -supervised)")
	ptSeed       = cmdPretrain.Flag.Uint64("seed", 1, "seed of the weights and the corpus")
	ptAttrFrom   = cmdPretrain.Flag.Float64("attr-from", 0.3, "fraction of the steps after which captions may name colours and backgrounds")
	ptAttrShare  = cmdPretrain.Flag.Float64("attr-share", 0.2, "share of such captions after -attr-from (negative: none)")
	ptLog        = cmdPretrain.Flag.String("log", "", "training curve as JSON lines (default: -out with .train.jsonl)")
	ptCheckpoint = cmdPretrain.Flag.String("checkpoint", "", "checkpoint written during training (default: -out with .partial)")
	ptCache      = cmdPretrain.Flag.String("cache", "", "cache folder of the fetched Debian files (default: the user cache)")
	ptThreads    = cmdPretrain.Flag.Int("threads", 0, "threads (0: all cores)")
	ptForce      = cmdPretrain.Flag.Bool("force", false, "replace an existing -out file")
	ptQuiet      = cmdPretrain.Flag.Bool("q", false, "no progress bar")
	ptSupervised = cmdPretrain.Flag.Bool("supervised", false, "run the supervised check of the image tower instead")
	ptCLIPNorm   = cmdPretrain.Flag.Bool("clip-normalize", false, "with -supervised: CLIP's fixed normalisation instead of per-image standardisation")
)

var cmdCheckTeacher = &Command{
	UsageLine: "check-teacher [-cache DIR] [-threads N] [-json] [-write] MODEL",
	Short:     "measure a mini-CLIP teacher against the gate",
	Long: `Check-teacher loads a teacher written by 'vlpuda pretrain' and measures it
against the gate that pretrain applies before publishing: zero-shot
accuracy with 'a photo of the number: "{}".' on 1000 renders of held-out
faces (at least 60 %) and on MNIST's last 10000 training images, held
out of every task of the demo (30 % to 80 %), and the largest
cosine between two digit prompts (below 0.9). It exits 1 if the model
fails, naming each failed condition. -write records the numbers of a
model that passes in its metadata (vlpuda.gate), replacing the file
atomically with the same weights: what 'vlpuda demo' checks.`,
}

var (
	ctCache   = cmdCheckTeacher.Flag.String("cache", "", "cache folder of the fetched Debian files (default: the user cache)")
	ctThreads = cmdCheckTeacher.Flag.Int("threads", 0, "threads (0: all cores)")
	ctJSON    = cmdCheckTeacher.Flag.Bool("json", false, "print the result as JSON")
	ctWrite   = cmdCheckTeacher.Flag.Bool("write", false, "record the result of a model that passes in its metadata")
)

func init() {
	cmdPretrain.Run = runPretrain
	cmdCheckTeacher.Run = runCheckTeacher
	register(cmdPretrain)
	register(cmdCheckTeacher)
}

// towerConfig returns the architecture named by -tower.
func towerConfig(name string) (vlp.Config, error) {
	switch name {
	case "resnet":
		return pretrain.ResNetConfig(), nil
	case "vit":
		return pretrain.ViTConfig(), nil
	}
	return vlp.Config{}, fmt.Errorf("unknown -tower %q (want resnet or vit)", name)
}

func runPretrain(cmd *Command, args []string) error {
	if len(args) > 0 || (*ptOut == "") != *ptSupervised || *ptSteps < 0 || *ptBatch < 0 || *ptLR < 0 {
		fmt.Fprintln(cmd.Stderr, "vlpuda pretrain: give -out or -supervised, non-negative numbers, and no arguments")
		return errUsage
	}
	if err := checkBounds(bound{"batch", *ptBatch, 0, maxBatch}, bound{"threads", *ptThreads, 0, maxThreads}); err != nil {
		return err
	}
	model, err := towerConfig(*ptTower)
	if err != nil {
		return err
	}
	if *ptThreads > 0 {
		kernels.SetThreads(*ptThreads)
	}
	faces, err := pretrain.LoadFaces(*ptCache)
	if err != nil {
		return err
	}
	photos, err := pretrain.LoadPhotos(*ptCache)
	if err != nil {
		return err
	}
	train, _ := pretrain.SplitFaces(faces)
	corpus := pretrain.CorpusOptions{Faces: train, Photos: photos}
	if *ptSupervised {
		return runSupervised(cmd, model, corpus)
	}
	return runContrastive(cmd, model, corpus)
}

func runSupervised(cmd *Command, model vlp.Config, corpus pretrain.CorpusOptions) error {
	bar := newProgressBar(cmd.Stderr, "supervised", "step", *ptQuiet)
	r, err := pretrain.SupervisedCheck(pretrain.SupervisedConfig{
		Model: model, Steps: *ptSteps, Batch: *ptBatch, LR: *ptLR, Seed: *ptSeed, Corpus: corpus,
		CLIPNormalize: *ptCLIPNorm,
		Progress: func(done, total int, loss float64) {
			bar.SetExtra(fmt.Sprintf("loss %.3f", loss))
			bar.Update(done, total)
		},
	})
	if err != nil {
		return err
	}
	prep := pretrain.PreprocessStandardize
	if *ptCLIPNorm {
		prep = "clip-mean-std"
	}
	_, err = fmt.Fprintf(cmd.Stdout, "supervised check: %s tower, %s, %d steps of %d: accuracy %.1f %% over %d classes (chance %.1f %%), digits %.1f %%, final loss %.3f, %s\n",
		*ptTower, prep, r.Steps, r.Batch, 100*r.Accuracy, r.Classes, 100*r.Chance, 100*r.Digits, r.Loss, r.Wall.Round(time.Second))
	return err
}

func runContrastive(cmd *Command, model vlp.Config, corpus pretrain.CorpusOptions) error {
	out := *ptOut
	base := strings.TrimSuffix(out, filepath.Ext(out))
	logPath, ckpt := *ptLog, *ptCheckpoint
	if logPath == "" {
		logPath = base + ".train.jsonl"
	}
	if ckpt == "" {
		ckpt = out + ".partial"
	}
	// Refuse early, before an hour of training.
	if _, err := os.Lstat(out); err == nil && !*ptForce {
		return fmt.Errorf("%s: %w (use -force to replace it)", out, fs.ErrExist)
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("-out %s: no folder %s to write it in", out, filepath.Dir(out))
	}
	sets, err := pretrain.LoadGateSets(model.ImageResolution, pretrain.GateOptions{CacheDir: *ptCache})
	if err != nil {
		return err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	cfg := pretrain.Config{
		Model: model, Steps: *ptSteps, Batch: *ptBatch, LR: *ptLR, Seed: *ptSeed,
		AttrFrom: *ptAttrFrom, AttrShare: *ptAttrShare, Corpus: corpus,
		EvalSet: sets.HeldOut.Subset(seqInts(300)), Log: logFile, Checkpoint: ckpt,
	}
	bar := newProgressBar(cmd.Stderr, "pretrain", "step", *ptQuiet)
	cfg.Progress = func(done, total int, loss float64) {
		bar.SetExtra(fmt.Sprintf("loss %.3f", loss))
		bar.Update(done, total)
	}
	fmt.Fprintf(cmd.Stderr, "pretrain: %s, %d parameters; %d training faces, %d photos; log %s\n",
		model, paramCount(model), len(corpus.Faces), len(corpus.Photos), logPath)
	res, err := pretrain.Train(cmd.Context(), cfg)
	if err != nil {
		if _, serr := os.Stat(ckpt); serr == nil && res != nil {
			return fmt.Errorf("%w (after %d steps; the last checkpoint is %s)", err, res.Steps, ckpt)
		}
		return err
	}
	gate, gateErr := pretrain.CheckTeacher(res.Model, sets, pretrain.DefaultGate)
	fmt.Fprintf(cmd.Stdout, "trained %d steps in %s: loss %.3f → %.3f (chance %.3f)\ngate: %s\n",
		res.Steps, res.Wall.Round(time.Second), res.FirstLoss, res.LastLoss, res.ChanceLoss, gate)
	if gateErr != nil {
		return fmt.Errorf("%w; not published: the weights are in %s ('vlpuda check-teacher %s' measures them again)", gateErr, ckpt, ckpt)
	}
	meta, err := publishMetadata(cfg, res, gate)
	if err != nil {
		return err
	}
	if err := pretrain.Save(out, res.Model, meta, *ptForce); err != nil {
		return err
	}
	os.Remove(ckpt)
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.Stdout, "published %s (%.1f MB)\n", out, float64(st.Size())/1e6)
	return err
}

// publishMetadata records the recipe and the gate in the checkpoint.
func publishMetadata(cfg pretrain.Config, res *pretrain.Result, gate pretrain.GateResult) (map[string]string, error) {
	recipe := map[string]any{
		"command": strings.Join(os.Args, " "), "seed": cfg.Seed, "steps": res.Steps,
		"faces": res.Faces, "photos": len(cfg.Corpus.Photos), "wall_seconds": res.Wall.Seconds(),
		"first_loss": res.FirstLoss, "last_loss": res.LastLoss, "threads": kernels.Threads(),
	}
	r, err := json.Marshal(recipe)
	if err != nil {
		return nil, err
	}
	g, err := json.Marshal(gate)
	if err != nil {
		return nil, err
	}
	return map[string]string{"vlpuda.pretrain": string(r), pretrain.GateKey: string(g)}, nil
}

func paramCount(c vlp.Config) int {
	m, err := vlp.New(c, 0)
	if err != nil {
		return 0
	}
	return nn.CountParams(m)
}

func seqInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func runCheckTeacher(cmd *Command, args []string) error {
	args, err := parseInterspersed(&cmd.Flag, args)
	if err != nil {
		return errUsage
	}
	if len(args) != 1 {
		fmt.Fprintln(cmd.Stderr, "vlpuda check-teacher: give one model file")
		return errUsage
	}
	if err := checkBounds(bound{"threads", *ctThreads, 0, maxThreads}); err != nil {
		return err
	}
	if *ctThreads > 0 {
		kernels.SetThreads(*ctThreads)
	}
	m, _, err := pretrain.Load(args[0])
	if err != nil {
		return err
	}
	sets, err := pretrain.LoadGateSets(m.Config.ImageResolution, pretrain.GateOptions{CacheDir: *ctCache})
	if err != nil {
		return err
	}
	r, gateErr := pretrain.CheckTeacher(m, sets, pretrain.DefaultGate)
	if errors.Is(gateErr, pretrain.ErrGate) || gateErr == nil {
		if err := printGate(cmd.Stdout, args[0], r, gateErr == nil, *ctJSON); err != nil {
			return err
		}
	}
	if gateErr == nil && *ctWrite {
		return pretrain.RecordGate(args[0], r)
	}
	return gateErr
}

// printGate prints the gate's numbers as text or JSON.
func printGate(w io.Writer, path string, r pretrain.GateResult, pass, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(struct {
			Model string `json:"model"`
			pretrain.GateResult
			Pass bool `json:"pass"`
		}{path, r, pass})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	g := pretrain.DefaultGate
	verdict := map[bool]string{true: "ok", false: "FAIL"}
	fmt.Fprintf(w, "%s, prompt %q\n", path, r.Prompt)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "held-out renders\t%.1f %%\twant ≥ %.0f %%\t%s\n", 100*r.HeldOut, 100*g.MinHeldOut, verdict[r.HeldOut >= g.MinHeldOut])
	fmt.Fprintf(tw, "MNIST held-out train\t%.1f %%\twant %.0f %% to %.0f %%\t%s\n", 100*r.MNISTHeldOut, 100*g.MinMNIST, 100*g.MaxMNIST, verdict[r.MNISTHeldOut >= g.MinMNIST && r.MNISTHeldOut <= g.MaxMNIST])
	fmt.Fprintf(tw, "max prompt cosine\t%.3f\twant < %.2f\t%s\n", r.PromptCosine, g.MaxPromptCosine, verdict[r.PromptCosine < g.MaxPromptCosine])
	err := tw.Flush()
	return err
}

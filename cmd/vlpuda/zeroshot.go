package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/vlp"
)

var cmdZeroshot = &Command{
	UsageLine: "zeroshot -model MODEL [-config CONFIG.json] -data DIR [-template T]... [-lower] [-resize crop|squash] [-out RESULT.json] [-force] [-batch 32] [-threads N] [-q]",
	Short:     "zero-shot accuracy of a CLIP model on an image folder",
	Long: `Zeroshot classifies every image below DIR with CLIP's zero-shot head and
prints the top-1 accuracy, the mean per-class accuracy and a per-class table.

DIR has one sub-folder per class, as torchvision's ImageFolder reads it:
labels number the folder names sorted by their bytes (upper case first),
and the prompts are built in exactly that order. Underscores in folder
names become spaces in the prompts.

Each -template holds one placeholder, {} or {class}; the default is
"a photo of a {}", the paper's template for Office-31, VisDA, DomainNet and
ImageCLEF ("an image of a {}" for Office-Home, 'a photo of the number: "{}"'
for digits). Several -template flags form an ensemble: each class's
normalised prompt embeddings are averaged and normalised again.

-resize crop is CLIP's preprocessing (shorter side to the model's
resolution, then the centre square); -resize squash resizes both sides,
as the paper's test transform does.

With -out the result is also written as JSON; the file appears complete or
not at all, and an existing file is replaced only with -force.`,
}

var (
	zsModel     = cmdZeroshot.Flag.String("model", "", "CLIP checkpoint")
	zsConfig    = cmdZeroshot.Flag.String("config", "", "JSON file with the model's constructor arguments")
	zsData      = cmdZeroshot.Flag.String("data", "", "image folder: one sub-folder per class")
	zsTemplates templateList
	zsLower     = cmdZeroshot.Flag.Bool("lower", false, "lower-case class names in the prompts (the tokenizer does anyway)")
	zsResize    = cmdZeroshot.Flag.String("resize", "crop", "crop (CLIP) or squash (the paper's test transform)")
	zsOut       = cmdZeroshot.Flag.String("out", "", "write the result as JSON to this file")
	zsForce     = cmdZeroshot.Flag.Bool("force", false, "replace an existing -out file")
	zsBatch     = cmdZeroshot.Flag.Int("batch", 32, "images per forward pass")
	zsThreads   = cmdZeroshot.Flag.Int("threads", 0, "threads (0: all cores)")
	zsQuiet     = cmdZeroshot.Flag.Bool("q", false, "no progress bar")
)

// templateList collects the repeated -template flag. It is not a
// flag.Getter, so run does not reset it; runZeroshot empties it when done.
type templateList []string

func (l *templateList) String() string     { return strings.Join(*l, " | ") }
func (l *templateList) Set(s string) error { *l = append(*l, s); return nil }

func init() {
	cmdZeroshot.Flag.Var(&zsTemplates, "template", "prompt template with {} or {class}; repeat for an ensemble (default \"a photo of a {}\")")
	cmdZeroshot.Run = runZeroshot
	register(cmdZeroshot)
}

// zeroshotResult is the JSON the -out file holds.
type zeroshotResult struct {
	Model      string   `json:"model"`
	Data       string   `json:"data"`
	Templates  []string `json:"templates"`
	Transform  string   `json:"transform"`
	Resolution int      `json:"resolution"`
	Classes    []string `json:"classes"` // folder names, in label order
	Prompts    []string `json:"prompts"` // each class's prompt with the first template
	*vlp.Evaluation
	Seconds float64 `json:"seconds"`
}

func runZeroshot(cmd *Command, args []string) error {
	templates := zsTemplates
	zsTemplates = nil
	if len(args) > 0 || *zsModel == "" || *zsData == "" || *zsBatch < 1 {
		fmt.Fprintln(cmd.Stderr, "vlpuda zeroshot: -model and -data are required, -batch must be positive, and nothing else")
		return errUsage
	}
	if err := checkBounds(bound{"batch", *zsBatch, 1, maxBatch}, bound{"threads", *zsThreads, 0, maxThreads}); err != nil {
		return err
	}
	if len(templates) == 0 {
		templates = []string{vlp.TemplatePhoto}
	}
	transform, err := vlp.ParseTransform(*zsResize)
	if err != nil {
		return err
	}
	// Refuse early, before an evaluation that may take hours.
	if *zsOut != "" {
		if _, err := os.Lstat(*zsOut); err == nil && !*zsForce {
			return fmt.Errorf("%s: %w (use -force to replace it)", *zsOut, fs.ErrExist)
		}
		if st, err := os.Stat(filepath.Dir(*zsOut)); err != nil || !st.IsDir() {
			return fmt.Errorf("-out %s: no folder %s to write it in", *zsOut, filepath.Dir(*zsOut))
		}
	}
	if *zsThreads > 0 {
		kernels.SetThreads(*zsThreads)
	}
	bar := newProgressBar(cmd.Stderr, "zeroshot", "img", *zsQuiet)
	res, err := zeroshotEvaluate(cmd.Stderr, templates, vlp.EvalConfig{Transform: transform, Batch: *zsBatch, Progress: bar.Update})
	if err != nil {
		return err
	}
	if err := printZeroshot(cmd.Stdout, res); err != nil {
		return err
	}
	if *zsOut == "" {
		return nil
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(*zsOut, append(b, '\n'), *zsForce)
}

// zeroshotEvaluate lists the -data folder, loads the -model, builds the
// zero-shot head for the folder's classes in label order and evaluates it,
// printing the folder's warnings to stderr.
func zeroshotEvaluate(stderr io.Writer, templates []string, ec vlp.EvalConfig) (*zeroshotResult, error) {
	start := time.Now()
	ds, warns, err := data.ImageFolder(*zsData)
	printWarnings(stderr, "zeroshot", warns)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfigFlag(*zsConfig)
	if err != nil {
		return nil, err
	}
	m, _, err := vlp.Load(*zsModel, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkBatchImages("batch", ec.Batch, m.Config.ImageResolution); err != nil {
		return nil, err
	}
	names := make([]string, len(ds.Classes))
	prompts := make([]string, len(ds.Classes))
	for k, c := range ds.Classes {
		names[k] = vlp.ClassName(c, *zsLower)
		prompts[k], _ = vlp.Prompt(templates[0], names[k]) // NewZeroShot reports a bad template
	}
	z, err := vlp.NewZeroShot(m, names, templates)
	if err != nil {
		return nil, err
	}
	ev, err := z.Evaluate(ds.Paths(), ds.Labels(), ec)
	if err != nil {
		return nil, err
	}
	for k := range ev.PerClass {
		ev.PerClass[k].Class = ds.Classes[k]
	}
	return &zeroshotResult{Model: *zsModel, Data: *zsData, Templates: templates, Transform: ec.Transform.String(),
		Resolution: m.Config.ImageResolution, Classes: ds.Classes, Prompts: prompts, Evaluation: ev,
		Seconds: time.Since(start).Seconds()}, nil
}

// printZeroshot prints the per-class table and then the summary.
func printZeroshot(w io.Writer, r *zeroshotResult) error {
	if err := printPerClass(w, r.PerClass); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d images, %d classes, templates %q, resize %s to %d\ntop-1 accuracy:          %.2f %% (%d/%d)\nmean per-class accuracy: %.2f %%\n",
		r.Images, len(r.Classes), r.Templates, r.Transform, r.Resolution, 100*r.Top1, r.Correct, r.Images, 100*r.MeanPerClass)
	return err
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder that is synced and then moved into place, so that path holds the
// whole data or is left as it was. Without replace an existing path is an
// error wrapping fs.ErrExist.
func writeFileAtomic(path string, data []byte, replace bool) error {
	if err := writeAtomic(path, data, replace); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes data to path so that it appears complete or not at
// all, replacing an existing file only if replace is set.
func writeAtomic(path string, data []byte, replace bool) error {
	return atomicfile.WriteFile(path, data, replace)
}

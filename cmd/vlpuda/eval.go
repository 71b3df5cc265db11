package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda"
	"github.com/vlpuda/vlpuda/uda/augment"
	"github.com/vlpuda/vlpuda/uda/data"
	"github.com/vlpuda/vlpuda/vlp"
)

var cmdEval = &Command{
	UsageLine: "eval -model MODEL [-config C.json] (-residual TASK.vlpr | -checkpoint TASK.safetensors) -data DIR [-dataset NAME -t DOMAIN] [-batch 64] [-threads N] [-out RESULT.json] [-force] [-q]",
	Short:     "evaluate a stored task on a labelled image folder",
	Long: `Eval loads the base model MODEL, applies a task that adapt stored — an RST
residual (-residual, checked against MODEL's fingerprint) or a dense
tower-and-head file (-checkpoint) — and classifies every image of the test
set with the adapted image tower and task head. It prints the per-class
accuracy, the top-1 accuracy and the mean per-class accuracy (VisDA-2017's
metric).

The test set is the image folder DIR (one sub-folder per class), or with
-dataset and -t the domain of that benchmark below DIR. Its classes must be
those the task was trained on, in the same order. Images go through the
test transform of the benchmark the task was trained with, as adapt
evaluates them, so the last epoch's accuracy of a run is reproduced
exactly.

With -out the result is also written as JSON; the file appears complete or
not at all, and an existing file is replaced only with -force.`,
}

var (
	evModel    = cmdEval.Flag.String("model", "", "base CLIP checkpoint the task was adapted from")
	evConfig   = cmdEval.Flag.String("config", "", "JSON file with the model's constructor arguments")
	evResidual = cmdEval.Flag.String("residual", "", "RST task file (.vlpr)")
	evCkpt     = cmdEval.Flag.String("checkpoint", "", "dense task file (.safetensors)")
	evData     = cmdEval.Flag.String("data", "", "image folder, or the benchmark root with -dataset")
	evDataset  = cmdEval.Flag.String("dataset", "", "benchmark layout of -data")
	evTarget   = cmdEval.Flag.String("t", "", "domain to evaluate on, with -dataset")
	evBatch    = cmdEval.Flag.Int("batch", 64, "images per forward pass")
	evThreads  = cmdEval.Flag.Int("threads", 0, "threads (0: all cores)")
	evOut      = cmdEval.Flag.String("out", "", "write the result as JSON to this file")
	evForce    = cmdEval.Flag.Bool("force", false, "replace an existing -out file")
	evQuiet    = cmdEval.Flag.Bool("q", false, "no progress bar")
)

func init() {
	cmdEval.Run = runEval
	register(cmdEval)
}

// evalResult is what eval prints and writes with -out.
type evalResult struct {
	Model string       `json:"model"`
	Task  string       `json:"task"`
	Data  string       `json:"data"`
	Info  uda.TaskInfo `json:"task_info"`
	*uda.Evaluation
}

func runEval(cmd *Command, args []string) error {
	if len(args) > 0 || *evModel == "" || *evData == "" || (*evResidual == "") == (*evCkpt == "") || *evBatch < 1 {
		fmt.Fprintln(cmd.Stderr, "vlpuda eval: -model, -data and one of -residual and -checkpoint are required, and nothing else")
		return errUsage
	}
	if err := checkBounds(bound{"batch", *evBatch, 1, maxBatch}, bound{"threads", *evThreads, 0, maxThreads}); err != nil {
		return err
	}
	if *evOut != "" && !*evForce {
		if _, err := os.Lstat(*evOut); err == nil {
			return fmt.Errorf("%s: %w (use -force to replace it)", *evOut, fs.ErrExist)
		}
	}
	if *evThreads > 0 {
		kernels.SetThreads(*evThreads)
	}
	m, err := loadModel(*evModel, *evConfig)
	if err != nil {
		return err
	}
	if err := checkBatchImages("batch", *evBatch, m.Config.ImageResolution); err != nil {
		return err
	}
	path := *evResidual + *evCkpt
	task, err := uda.LoadTask(m, path)
	if err != nil {
		return err
	}
	if rst := task.Base != nil; rst != (*evResidual != "") {
		return fmt.Errorf("%s is a %s task file; pass it with -%s", path, map[bool]string{true: "residual", false: "dense"}[rst], map[bool]string{true: "residual", false: "checkpoint"}[rst])
	}
	ds, err := openTestSet(cmd.Stderr, task.Info.Classes)
	if err != nil {
		return err
	}
	recipe, err := augment.ForBenchmark(task.Info.Benchmark, m.Config.ImageResolution)
	if err != nil {
		return err
	}
	bar := newProgressBar(cmd.Stderr, "eval", "img", *evQuiet)
	set := uda.NewImageSet(ds, m.Config.ImageResolution, recipe.Test, nil)
	ev, err := uda.Evaluate(m, task.Head, task.Info.Classes, set, *evBatch, bar.Update)
	if err != nil {
		return err
	}
	res := evalResult{Model: *evModel, Task: path, Data: *evData, Info: task.Info, Evaluation: ev}
	if err := printEval(cmd.Stdout, &res); err != nil {
		return err
	}
	if *evOut == "" {
		return nil
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(*evOut, append(b, '\n'), *evForce)
}

// openTestSet opens the test set the flags name and checks its classes,
// printing warnings to stderr.
func openTestSet(stderr io.Writer, classes []string) (*data.Dataset, error) {
	var ds *data.Dataset
	var warns []string
	var err error
	switch {
	case *evDataset != "" && *evTarget != "":
		// A benchmark without a data preset keeps its domains in folders
		// named by -t.
		if p, perr := data.LookupPreset(*evDataset); perr == nil {
			ds, warns, err = p.Open(*evData, *evTarget)
		} else {
			ds, warns, err = data.ImageFolder(filepath.Join(*evData, *evTarget))
		}
	case *evDataset != "" || *evTarget != "":
		return nil, fmt.Errorf("-dataset and -t go together")
	default:
		ds, warns, err = data.ImageFolder(*evData)
	}
	printWarnings(stderr, "eval", warns)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(ds.Classes, classes) {
		return nil, fmt.Errorf("%s has classes %q; the task was trained on %q, in that order", ds.Root, ds.Classes, classes)
	}
	return ds, nil
}

// printPerClass prints a table of the per-class results: label, class,
// images, correct and accuracy ("-" for a class without images).
func printPerClass(w io.Writer, perClass []vlp.ClassResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "label\tclass\timages\tcorrect\taccuracy")
	for k, c := range perClass {
		acc := "-"
		if c.Images > 0 {
			acc = fmt.Sprintf("%.2f %%", 100*c.Accuracy)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", k, c.Class, c.Images, c.Correct, acc)
	}
	return tw.Flush()
}

// printEval prints the per-class table and the summary.
func printEval(w io.Writer, r *evalResult) error {
	if err := printPerClass(w, r.PerClass); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s (%s, %s, epoch %d) on %s: %d images\ntop-1 accuracy:          %.2f %% (%d/%d)\nmean per-class accuracy: %.2f %%\n",
		r.Task, r.Info.Benchmark, r.Info.Method, r.Info.Epoch, r.Data, r.Images, 100*r.Top1, r.Correct, r.Images, 100*r.MeanPerClass)
	return err
}

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
)

var cmdResidual = &Command{
	UsageLine: "residual inspect [-json] [-model MODEL [-config CONFIG.json]] TASK.vlpr",
	Short:     "describe a per-task RST residual file",
	Long: `Residual inspect reads TASK.vlpr, the sparse residual of one adapted
task (the image-tower weights RST changed, plus the dense task head), checks
its checksum and prints its size, the number of stored non-zeros and their
share of the image tower, the bytes each non-zero costs (gap-coded index
plus value), whether loading is bit-exact (float32 values) or lossy
(float16 differences), the fingerprint of the base model it was made for,
its metadata, a table of every image-tower tensor with its non-zeros and
density, and the dense tensors.

With -model it also loads the base checkpoint MODEL (and -config, as for
inspect) and checks that the residual was made for it, failing otherwise.

With -json it prints one JSON object with the fields path, bytes, version,
encoding, bit_exact, base_fingerprint, nonzero, numel, density,
index_bytes, value_bytes, bytes_per_nonzero, dense_numel, sparse (name,
shape, nonzero, numel, density, index_bytes), dense (name, shape, numel),
metadata and, with -model, base_model. Flags may also follow TASK.vlpr.`,
}

var (
	resJSON   = cmdResidual.Flag.Bool("json", false, "print one JSON object")
	resModel  = cmdResidual.Flag.String("model", "", "base CLIP checkpoint to check the residual against")
	resConfig = cmdResidual.Flag.String("config", "", "JSON file with the base model's constructor arguments")
)

func init() {
	cmdResidual.Run = runResidual
	register(cmdResidual)
}

// residualSummary is what residual inspect prints: the file's summary and,
// with -model, the base model it was checked against.
type residualSummary struct {
	*rst.Summary
	BaseModel string `json:"base_model,omitempty"`
}

func runResidual(cmd *Command, args []string) error {
	if len(args) == 0 || args[0] != "inspect" {
		return errUsage
	}
	// run parsed the flags before "inspect"; parse those after it.
	if err := cmd.Flag.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil // Parse printed the usage
	} else if err != nil {
		return errUsage
	}
	args, err := parseInterspersed(&cmd.Flag, cmd.Flag.Args())
	if err != nil || len(args) != 1 {
		return errUsage
	}
	s, err := rst.Inspect(args[0])
	if err != nil {
		return err
	}
	out := residualSummary{Summary: s}
	if *resModel != "" {
		if err := checkResidualBase(args[0], s.Base, *resModel, *resConfig); err != nil {
			return err
		}
		out.BaseModel = *resModel
	}
	if *resJSON {
		return json.NewEncoder(cmd.Stdout).Encode(out)
	}
	return printResidual(cmd.Stdout, out)
}

// checkResidualBase loads the base checkpoint and compares the fingerprint
// of its image tower with want, the residual's.
func checkResidualBase(path, want, model, config string) error {
	cfg, err := readConfigFlag(config)
	if err != nil {
		return err
	}
	m, _, err := vlp.Load(model, cfg)
	if err != nil {
		return err
	}
	if got := rst.FingerprintOf(rst.ImageTower(m)); got.String() != want {
		return fmt.Errorf("%s: %w: fingerprint %s, %s has %s", path, rst.ErrBaseMismatch, want, model, got)
	}
	return nil
}

func printResidual(w io.Writer, s residualSummary) error {
	exact := "bit-exact"
	if !s.BitExact {
		exact = "lossy differences"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "path\t%s\n", s.Path)
	fmt.Fprintf(tw, "size\t%s bytes\n", groupDigits(s.Bytes))
	fmt.Fprintf(tw, "values\t%s, %s (format version %d)\n", s.Encoding, exact, s.Version)
	fmt.Fprintf(tw, "base\t%s\n", s.Base)
	if s.BaseModel != "" {
		fmt.Fprintf(tw, "base model\tmatches %s\n", s.BaseModel)
	}
	fmt.Fprintf(tw, "non-zeros\t%s of %s (%s)\n", groupDigits(s.NonZero), groupDigits(s.Numel), percent(s.Density))
	fmt.Fprintf(tw, "bytes/non-zero\t%.3f (indices %s bytes, values %s bytes)\n", s.BytesPerNonZero, groupDigits(s.IndexBytes), groupDigits(s.ValueBytes))
	fmt.Fprintf(tw, "dense\t%d tensors, %s values\n", len(s.Dense), groupDigits(s.DenseNumel))
	for _, k := range slices.Sorted(maps.Keys(s.Meta)) {
		fmt.Fprintf(tw, "meta %s\t%s\n", k, s.Meta[k])
	}
	fmt.Fprintf(tw, "\nsparse tensor\tshape\tnon-zeros\tdensity\tindex bytes\n")
	for _, t := range s.Sparse {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, shapeText(t.Shape), groupDigits(t.NonZero), percent(t.Density), groupDigits(t.IndexBytes))
	}
	if len(s.Dense) > 0 {
		fmt.Fprintf(tw, "\ndense tensor\tshape\n")
		for _, t := range s.Dense {
			fmt.Fprintf(tw, "%s\t%s\n", t.Name, shapeText(t.Shape))
		}
	}
	return tw.Flush()
}

// percent formats a fraction as a percentage with four significant digits.
func percent(f float64) string { return fmt.Sprintf("%.4g %%", 100*f) }

// shapeText formats a shape as 768×3×16×16 ("scalar" for no dimensions).
func shapeText(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, "×")
}

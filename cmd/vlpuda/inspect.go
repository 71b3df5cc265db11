package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/vlp"
)

var cmdInspect = &Command{
	UsageLine: "inspect [-config CONFIG.json] [-json] MODEL",
	Short:     "describe a CLIP checkpoint",
	Long: `Inspect describes the CLIP checkpoint MODEL (an OpenAI TorchScript .pt, a
torch.save state dict such as open_clip's, or safetensors with OpenAI or
Hugging Face names) and prints its format, the element types it stores and
how many tensors of each, whether it uses Hugging Face names, the
architecture and where it came from, the parameter counts (total, image
tower, text tower) and the logit scale exp(logit_scale). It reads the file's index,
not its weights (only the logit scale's value), so it answers at once for
any size; it checks what loading checks first (names, shapes,
architecture), but not the weights' bytes.

The architecture is taken from -config, a JSON file holding CLIP's
constructor arguments or an object with a "constructor" field (the
fixtures' config.json); else from the metadata of a checkpoint vlpuda
saved; else it is inferred from the tensor shapes as OpenAI's build_model
does, which assumes width/64 text heads.

With -json it prints one JSON object with the fields path, format, dtypes,
hf_names, config_source, config, architecture, image_tower,
image_resolution, embed_dim, params, visual_params, text_params and
logit_scale. Flags may also follow MODEL.`,
}

var (
	inspectConfig = cmdInspect.Flag.String("config", "", "JSON file with the model's constructor arguments")
	inspectJSON   = cmdInspect.Flag.Bool("json", false, "print one JSON object")
)

func init() {
	cmdInspect.Run = runInspect
	register(cmdInspect)
}

func runInspect(cmd *Command, args []string) error {
	args, err := parseInterspersed(&cmd.Flag, args)
	if err != nil || len(args) != 1 {
		return errUsage
	}
	cfg, err := readConfigFlag(*inspectConfig)
	if err != nil {
		return err
	}
	s, err := vlp.Inspect(args[0], cfg)
	if err != nil {
		return err
	}
	if *inspectJSON {
		return json.NewEncoder(cmd.Stdout).Encode(s)
	}
	return printSummary(cmd.Stdout, s)
}

func printSummary(w io.Writer, s *vlp.Summary) error {
	var dtypes []string
	for _, d := range slices.Sorted(maps.Keys(s.DTypes)) {
		dtypes = append(dtypes, fmt.Sprintf("%s ×%d", d, s.DTypes[d]))
	}
	names := "OpenAI"
	if s.HF {
		names = "Hugging Face transformers (converted)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "path\t%s\n", s.Path)
	fmt.Fprintf(tw, "format\t%s\n", s.Format)
	fmt.Fprintf(tw, "dtypes\t%s\n", strings.Join(dtypes, ", "))
	fmt.Fprintf(tw, "names\t%s\n", names)
	fmt.Fprintf(tw, "config\t%s\n", configSources[s.ConfigSource])
	fmt.Fprintf(tw, "architecture\t%s\n", s.Architecture)
	fmt.Fprintf(tw, "image tower\t%s, resolution %d\n", s.ImageTower, s.Resolution)
	fmt.Fprintf(tw, "embed dim\t%d\n", s.EmbedDim)
	fmt.Fprintf(tw, "parameters\t%s (visual %s, text %s, logit scale 1)\n",
		groupDigits(s.Params), groupDigits(s.VisualParams), groupDigits(s.TextParams))
	fmt.Fprintf(tw, "logit scale\t%.6g\n", s.LogitScale)
	return tw.Flush()
}

// configSources words Summary.ConfigSource for people.
var configSources = map[string]string{
	"given":    "from -config",
	"saved":    "saved in the checkpoint by vlpuda",
	"inferred": "inferred from the tensor shapes",
}

// readConfigFlag reads the -config file; "" gives nil, for a config from
// the checkpoint itself.
func readConfigFlag(path string) (*vlp.Config, error) {
	if path == "" {
		return nil, nil
	}
	c, err := vlp.ReadConfig(path)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// parseInterspersed parses the flags that follow positional arguments,
// which the flag package leaves unparsed, and returns the positional
// arguments. An argument after "--" is always positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		rest := args[1:]
		if len(rest) > 0 && rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		args = fs.Args()
	}
	return pos, nil
}

// groupDigits formats n ≥ 0 with a comma between groups of three digits.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

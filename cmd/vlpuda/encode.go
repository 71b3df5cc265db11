package main

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/vlpuda/vlpuda/vlp"
)

var cmdEncode = &Command{
	UsageLine: "encode -model MODEL [-config CONFIG.json] -inputs IN.safetensors -out OUT.safetensors [-force]",
	Short:     "encode images and token ids with a CLIP model",
	Long: `Encode runs a CLIP model on the inputs in a safetensors file and writes
the features and logits to another, with the names and conventions of the
reference fixtures:

	images            F32 (N, 3, R, R), already normalised; R is the model's resolution
	text              I32 or I64 (M, context) token ids, as "vlpuda tokenize" makes them

Either input may be absent. The output holds image_features (N, embed) and
text_features (M, embed), not normalised, and logit_scale_exp; with both
inputs also logits_per_image (N, M) and logits_per_text (M, N).

MODEL is any checkpoint "vlpuda inspect" reads, and -config gives its
architecture as there. Every input is checked before anything runs. The
output appears complete or not at all, and an existing file is replaced
only with -force.`,
}

var (
	encodeModel  = cmdEncode.Flag.String("model", "", "CLIP checkpoint")
	encodeConfig = cmdEncode.Flag.String("config", "", "JSON file with the model's constructor arguments")
	encodeInputs = cmdEncode.Flag.String("inputs", "", "safetensors file with images and/or text")
	encodeOut    = cmdEncode.Flag.String("out", "", "safetensors file to write")
	encodeForce  = cmdEncode.Flag.Bool("force", false, "replace an existing output file")
)

func init() {
	cmdEncode.Run = runEncode
	register(cmdEncode)
}

func runEncode(cmd *Command, args []string) error {
	if len(args) > 0 || *encodeModel == "" || *encodeInputs == "" || *encodeOut == "" {
		fmt.Fprintln(cmd.Stderr, "vlpuda encode: -model, -inputs and -out are required, and nothing else")
		return errUsage
	}
	// Refuse early, before the model is loaded; EncodeFile checks again.
	if _, err := os.Lstat(*encodeOut); err == nil && !*encodeForce {
		return fmt.Errorf("%s: %w (use -force to replace it)", *encodeOut, fs.ErrExist)
	}
	cfg, err := readConfigFlag(*encodeConfig)
	if err != nil {
		return err
	}
	m, _, err := vlp.Load(*encodeModel, cfg)
	if err != nil {
		return err
	}
	if err := vlp.EncodeFile(m, *encodeInputs, *encodeOut, *encodeForce); err != nil {
		return err
	}
	fmt.Fprintf(cmd.Stdout, "wrote %s\n", *encodeOut)
	return nil
}

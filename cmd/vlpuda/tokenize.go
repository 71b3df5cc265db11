package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/tokenizer"
)

var cmdTokenize = &Command{
	UsageLine: "tokenize [-context 77] [-truncate] TEXT...",
	Short:     "print CLIP token ids of texts",
	Long: `Tokenize prints, for each TEXT, one line holding a JSON array of
-context token ids, as clip.tokenize makes them: the start-of-text id
49406, the BPE ids, the end-of-text id 49407, then zeros.

A text that needs more ids than -context is an error, unless -truncate is
set: then its first -context ids are kept and the last becomes 49407. Put
-- before a text that begins with "-".`,
}

var (
	tokenizeContext  = cmdTokenize.Flag.Int("context", 77, "ids per text, start and end tokens included")
	tokenizeTruncate = cmdTokenize.Flag.Bool("truncate", false, "truncate texts that do not fit")
)

func init() {
	cmdTokenize.Run = runTokenize
	register(cmdTokenize)
}

func runTokenize(cmd *Command, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	if err := checkBounds(bound{"context", *tokenizeContext, 1, vlp.MaxContext}); err != nil {
		return err
	}
	rows, err := tokenizer.Tokenize(args, *tokenizeContext, *tokenizeTruncate)
	if errors.Is(err, tokenizer.ErrTooLong) {
		return fmt.Errorf("%w (use -truncate to cut it)", err)
	}
	if err != nil {
		return err
	}
	for _, row := range rows {
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.Stdout, "%s\n", b)
	}
	return nil
}

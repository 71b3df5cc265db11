// Package tokenizer implements CLIP's byte-level BPE tokenizer, the Go
// counterpart of clip/simple_tokenizer.py and clip.tokenize in openai/CLIP.
//
// The vocabulary (49,408 ids: 256 byte symbols, the same with an
// end-of-word marker, 48,894 merges, <|startoftext|> and <|endoftext|>) is
// embedded; see README.md for its origin and licence.
//
// Encoding a text follows the reference step by step:
//
//  1. clean: ftfy.fix_text, html.unescape twice, collapse whitespace, trim,
//     lower-case (clean.go);
//  2. split into pieces: the special tokens, contractions, letter runs,
//     single digits and runs of other characters (split.go);
//  3. map each piece's UTF-8 bytes to symbols, mark the end of the word and
//     apply the merges by rank (tokenizer.go, vocab.go).
//
// # Difference from the reference
//
// ftfy is a large Python library with no Go port. fixText implements the
// parts of ftfy.fix_text that change real captions and prompts (HTML
// entities, Windows-1252 mojibake, curly quotes, ligatures, full-width
// forms, control characters, line breaks, NFC) and matches the reference on
// every string of the repository's golden files (testdata/tokenizer),
// including the 26 that ftfy changes. It does not score texts the way ftfy
// does before repairing mojibake, nor know encodings other than
// Windows-1252 and Latin-1; the fixText comment lists the consequences.
package tokenizer

package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// split cuts cleaned text into the pieces that BPE encodes separately. It
// does what the reference's findall does with the case-insensitive pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// At each position the alternatives are tried in that order and the first
// that matches is taken; a position where none matches (whitespace) is
// skipped. Go's regexp picks the leftmost-first match the same way, but the
// scanner below avoids building one and makes the letter and digit classes
// explicit.
func split(s string) []string {
	var pieces []string
	for i := 0; i < len(s); {
		n := matchAt(s[i:])
		if n == 0 {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		pieces = append(pieces, s[i:i+n])
		i += n
	}
	return pieces
}

// contractions are the apostrophe alternatives, in pattern order.
var contractions = []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// matchAt returns the length of the pattern's match at the start of s, or 0.
func matchAt(s string) int {
	if s[0] == '<' {
		for _, lit := range [...]string{sotText, eotText} {
			if n, ok := hasPrefixFold(s, lit); ok {
				return n
			}
		}
	}
	if s[0] == '\'' {
		for _, lit := range contractions {
			if n, ok := hasPrefixFold(s, lit); ok {
				return n
			}
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case isLetter(r):
		n := size
		for n < len(s) {
			r, size := utf8.DecodeRuneInString(s[n:])
			if !isLetter(r) {
				break
			}
			n += size
		}
		return n
	case isNumber(r):
		return size
	case isOther(r):
		n := size
		for n < len(s) {
			r, size := utf8.DecodeRuneInString(s[n:])
			if !isOther(r) {
				break
			}
			n += size
		}
		return n
	}
	return 0
}

// hasPrefixFold reports whether s starts with lit under simple case folding
// (the pattern is case-insensitive) and returns the length of that prefix in s.
func hasPrefixFold(s, lit string) (int, bool) {
	n := 0
	for _, want := range lit {
		if n >= len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(s[n:])
		if !equalFold(r, want) {
			return 0, false
		}
		n += size
	}
	return n, true
}

// equalFold reports whether a and b are equal under simple case folding.
func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// anyFold reports whether class holds r or any rune in r's case-folding
// orbit: with IGNORECASE the reference's regex module tests properties on
// every case variant of a character.
func anyFold(r rune, class func(rune) bool) bool {
	if class(r) {
		return true
	}
	if r < utf8.RuneSelf {
		return false // ASCII folds only to letters, which class(r) saw.
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if class(f) {
			return true
		}
	}
	return false
}

func isLetter(r rune) bool { return anyFold(r, unicode.IsLetter) }
func isNumber(r rune) bool { return anyFold(r, unicode.IsNumber) }

// isOther reports whether r is in [^\s\p{L}\p{N}].
func isOther(r rune) bool { return !isPySpace(r) && !isLetter(r) && !isNumber(r) }

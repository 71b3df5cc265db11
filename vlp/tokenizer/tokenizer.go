package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxCache bounds the number of pieces a Tokenizer remembers. When the cache
// is full it is emptied, so memory stays bounded on endless streams of text.
const maxCache = 1 << 16

// ErrTooLong is wrapped by the error Tokenize returns when a text does not
// fit the context and truncation is off.
var ErrTooLong = errors.New("too long for context length")

// Tokenizer is CLIP's byte-level BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	v *vocab

	mu    sync.RWMutex
	cache map[string][]int32 // piece → ids
}

// New returns a Tokenizer for CLIP's vocabulary (49,408 ids), which is
// embedded in the package.
func New() (*Tokenizer, error) {
	v, err := loadVocab()
	if err != nil {
		return nil, err
	}
	return &Tokenizer{v: v, cache: make(map[string][]int32)}, nil
}

var shared = sync.OnceValues(New)

// Default returns a Tokenizer shared by the whole program, built on first use.
func Default() (*Tokenizer, error) { return shared() }

// Tokenize tokenizes texts with the shared Tokenizer; see Tokenizer.Tokenize.
func Tokenize(texts []string, contextLength int, truncate bool) ([][]int32, error) {
	t, err := Default()
	if err != nil {
		return nil, err
	}
	return t.Tokenize(texts, contextLength, truncate)
}

// Encode returns the BPE ids of text without SOT, EOT or padding, as the
// reference SimpleTokenizer.encode does.
func (t *Tokenizer) Encode(text string) []int32 {
	var ids []int32
	for _, piece := range split(clean(text)) {
		ids = append(ids, t.encodePiece(piece)...)
	}
	return ids
}

// Tokenize encodes each text as one row of contextLength ids:
// SOT, the BPE ids, EOT, then zeros, like clip.tokenize.
//
// When a text needs more than contextLength ids, Tokenize returns an error
// wrapping ErrTooLong unless truncate is set; then the row keeps its first
// contextLength ids and its last id is replaced by EOT.
func (t *Tokenizer) Tokenize(texts []string, contextLength int, truncate bool) ([][]int32, error) {
	if contextLength < 2 {
		return nil, fmt.Errorf("tokenizer: context length %d, need at least 2 for SOT and EOT", contextLength)
	}
	rows := make([][]int32, len(texts))
	for i, text := range texts {
		ids := t.Encode(text)
		row := make([]int32, contextLength)
		row[0] = SOT
		if len(ids)+2 > contextLength {
			if !truncate {
				return nil, fmt.Errorf("tokenizer: input %q is %w %d", text, ErrTooLong, contextLength)
			}
			copy(row[1:], ids)
			row[contextLength-1] = EOT
		} else {
			copy(row[1:], ids)
			row[len(ids)+1] = EOT
		}
		rows[i] = row
	}
	return rows, nil
}

// Decode returns the text of ids: the symbols joined, mapped back to bytes
// and read as UTF-8 (each invalid sequence becomes U+FFFD), with every
// end-of-word marker replaced by a space. Ids outside the vocabulary, such
// as the zero padding's id 0, are not special: 0 is "!". Decode panics on an
// id outside [0, VocabSize).
func (t *Tokenizer) Decode(ids []int32) string {
	var sym strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.v.symbols) {
			panic(fmt.Sprintf("tokenizer: Decode: id %d out of range [0, %d)", id, len(t.v.symbols)))
		}
		sym.WriteString(t.v.symbols[id])
	}
	var raw []byte
	for _, r := range sym.String() {
		if b, ok := t.v.runeByte[r]; ok {
			raw = append(raw, b)
		}
	}
	return strings.ReplaceAll(decodeUTF8Replace(raw), endOfWord, " ")
}

// decodeUTF8Replace decodes b as UTF-8 the way Python's
// bytes.decode('utf-8', errors='replace') does: each maximal prefix of a
// valid sequence that is cut short, and each other invalid byte, becomes one
// U+FFFD.
func decodeUTF8Replace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			out.WriteRune(r)
			b = b[size:]
			continue
		}
		out.WriteRune(utf8.RuneError)
		b = b[invalidPrefix(b):]
	}
	return out.String()
}

// invalidPrefix returns how many bytes at the start of b form the maximal
// prefix of a well-formed UTF-8 sequence (at least 1), given that b does not
// start with a complete one.
func invalidPrefix(b []byte) int {
	lead := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xbf) // allowed range of the second byte
	switch {
	case 0xc2 <= lead && lead <= 0xdf:
		n = 2
	case lead == 0xe0:
		n, lo = 3, 0xa0
	case 0xe1 <= lead && lead <= 0xef:
		n = 3
		if lead == 0xed {
			hi = 0x9f
		}
	case lead == 0xf0:
		n, lo = 4, 0x90
	case 0xf1 <= lead && lead <= 0xf4:
		n = 4
		if lead == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1
	}
	i := 1
	for ; i < n && i < len(b); i++ {
		c := b[i]
		if i == 1 && (c < lo || c > hi) || i > 1 && (c < 0x80 || c > 0xbf) {
			break
		}
	}
	return i
}

// encodePiece returns the ids of one piece from split, using the cache.
func (t *Tokenizer) encodePiece(piece string) []int32 {
	switch piece {
	case sotText:
		return []int32{SOT}
	case eotText:
		return []int32{EOT}
	}
	t.mu.RLock()
	ids, ok := t.cache[piece]
	t.mu.RUnlock()
	if ok {
		return ids
	}
	ids = t.v.bpe(piece)
	t.mu.Lock()
	if len(t.cache) >= maxCache {
		clear(t.cache)
	}
	t.cache[piece] = ids
	t.mu.Unlock()
	return ids
}

// bpe applies the merges to the bytes of piece: start from one symbol per
// byte, the last one carrying </w>, then repeatedly take the adjacent pair
// with the lowest rank and merge every occurrence of it, left to right.
func (v *vocab) bpe(piece string) []int32 {
	word := make([]int32, len(piece))
	for i := 0; i < len(piece); i++ {
		word[i] = v.byteID[piece[i]]
	}
	word[len(word)-1] = v.byteEndID[piece[len(piece)-1]]
	for len(word) > 1 {
		best := merge{rank: -1}
		var first, second int32
		for i := 0; i+1 < len(word); i++ {
			m, ok := v.merges[pairKey(word[i], word[i+1])]
			if ok && (best.rank < 0 || m.rank < best.rank) {
				best, first, second = m, word[i], word[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		out := word[:0]
		for i := 0; i < len(word); i++ {
			if i+1 < len(word) && word[i] == first && word[i+1] == second {
				out = append(out, best.id)
				i++
				continue
			}
			out = append(out, word[i])
		}
		word = out
	}
	return word
}

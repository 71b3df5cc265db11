package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
)

// vocabGz is CLIP's merge list; see README.md for its provenance and licence.
//
//go:embed bpe_simple_vocab_16e6.txt.gz
var vocabGz []byte

// Special token ids and sizes of CLIP's vocabulary.
const (
	SOT        = 49406 // id of <|startoftext|>
	EOT        = 49407 // id of <|endoftext|>
	VocabSize  = 49408 // number of ids
	NumMerges  = 48894 // merges used from the file: 49152-256-2 (simple_tokenizer.py)
	sotText    = "<|startoftext|>"
	eotText    = "<|endoftext|>"
	endOfWord  = "</w>"
	firstMerge = 512 // id of the first merge: after 256 bytes and 256 bytes+</w>
)

// byteRunes returns GPT-2's byte→symbol table and the order in which the
// symbols receive ids 0..255. Printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ')
// stand for themselves, in byte order; the other 68 bytes, in byte order,
// are mapped to U+0100 onwards so that no symbol is whitespace or a control.
func byteRunes() (table [256]rune, order [256]byte) {
	printable := func(b int) bool {
		return '!' <= b && b <= '~' || 0xa1 <= b && b <= 0xac || 0xae <= b && b <= 0xff
	}
	n := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			table[b] = rune(b)
			order[n] = byte(b)
			n++
		}
	}
	extra := 0
	for b := 0; b < 256; b++ {
		if !printable(b) {
			table[b] = rune(256 + extra)
			extra++
			order[n] = byte(b)
			n++
		}
	}
	return table, order
}

// merge is what a ranked symbol pair becomes.
type merge struct {
	rank int32 // position in the merge list; lower merges first
	id   int32 // id of the concatenated symbol
}

// pairKey packs two symbol ids into one map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// vocab is the decoded vocabulary shared by every Tokenizer.
type vocab struct {
	byteRune  [256]rune
	runeByte  map[rune]byte
	byteID    [256]int32 // id of the symbol for a byte
	byteEndID [256]int32 // id of that symbol followed by </w>
	merges    map[uint64]merge
	symbols   []string // id → symbol, for decoding
}

// loadVocab builds the vocabulary from the embedded merge list, exactly as
// simple_tokenizer.py does: byte symbols, the same with </w>, one symbol per
// merge, then the two special tokens. Where two entries spell the same
// symbol, the later id wins, as in the reference's dict.
func loadVocab() (*vocab, error) {
	zr, err := gzip.NewReader(bytes.NewReader(vocabGz))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	defer zr.Close()

	v := &vocab{runeByte: make(map[rune]byte, 256), merges: make(map[uint64]merge, NumMerges)}
	var order [256]byte
	v.byteRune, order = byteRunes()
	v.symbols = make([]string, 0, VocabSize)
	for _, b := range order {
		v.symbols = append(v.symbols, string(v.byteRune[b]))
	}
	for _, b := range order {
		v.symbols = append(v.symbols, string(v.byteRune[b])+endOfWord)
	}

	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: missing header line: %v", sc.Err())
	}
	pairs := make([][2]string, 0, NumMerges)
	for len(pairs) < NumMerges && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, fmt.Errorf("tokenizer: embedded vocabulary: merge %d: %q is not two symbols", len(pairs), sc.Text())
		}
		pairs = append(pairs, [2]string{f[0], f[1]})
		v.symbols = append(v.symbols, f[0]+f[1])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	if len(pairs) != NumMerges {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %d merges, want %d", len(pairs), NumMerges)
	}
	v.symbols = append(v.symbols, sotText, eotText)

	ids := make(map[string]int32, VocabSize)
	for i, s := range v.symbols {
		ids[s] = int32(i)
	}
	for b := range 256 {
		v.runeByte[v.byteRune[b]] = byte(b)
		v.byteID[b] = ids[string(v.byteRune[b])]
		v.byteEndID[b] = ids[string(v.byteRune[b])+endOfWord]
	}
	for rank, p := range pairs {
		a, okA := ids[p[0]]
		b, okB := ids[p[1]]
		if !okA || !okB {
			// A merge whose parts are not symbols can never apply.
			continue
		}
		v.merges[pairKey(a, b)] = merge{rank: int32(rank), id: ids[p[0]+p[1]]}
	}
	return v, nil
}

package tokenizer

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
)

// readJSONL decodes every line of a golden file of the reference tokenizer
// (testdata/tokenizer/name; see fixture.Path) into a new T.
func readJSONL[T any](t testing.TB, name string) []T {
	t.Helper()
	path := fixture.Path(t, "tokenizer", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("fixture %s is missing or unreadable: %v", path, err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no lines", path)
	}
	return out
}

type goldenRow struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

type untruncatedRow struct {
	Text        string  `json:"text"`
	BPE         []int32 `json:"bpe_tokens"`
	Cleaned     string  `json:"cleaned"`
	FTFYChanged bool    `json:"ftfy_changed"`
}

func newTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVocabFile(t *testing.T) {
	sum := sha256.Sum256(vocabGz)
	const want = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 of the embedded vocabulary = %s, want %s", got, want)
	}
	v, err := loadVocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.symbols) != VocabSize {
		t.Fatalf("%d symbols, want %d", len(v.symbols), VocabSize)
	}
	// Spot checks from the reference's construction.
	checks := []struct {
		id   int
		want string
	}{
		{0, "!"}, {93, "~"}, {94, "¡"}, {187, "ÿ"}, {188, "Ā"}, {255, "Ń"},
		{256, "!</w>"}, {511, "Ń</w>"}, {512, "in"}, {SOT, sotText}, {EOT, eotText},
	}
	for _, c := range checks {
		if got := v.symbols[c.id]; got != c.want {
			t.Errorf("symbol %d = %q, want %q", c.id, got, c.want)
		}
	}
	if v.byteRune[' '] != 'Ġ' || v.byteRune['\n'] != 'Ċ' {
		t.Errorf("space → %q, newline → %q; want Ġ, Ċ", v.byteRune[' '], v.byteRune['\n'])
	}
}

func TestClean(t *testing.T) {
	rows := readJSONL[untruncatedRow](t, "golden_untruncated.jsonl")
	failed := 0
	for i, r := range rows {
		if got := clean(r.Text); got != r.Cleaned {
			failed++
			t.Errorf("line %d: clean(%q) = %q, want %q (ftfy_changed=%v)", i+1, r.Text, got, r.Cleaned, r.FTFYChanged)
		}
	}
	t.Logf("%d/%d cleaned strings match", len(rows)-failed, len(rows))
}

func TestEncodeGolden(t *testing.T) {
	tok := newTokenizer(t)
	rows := readJSONL[untruncatedRow](t, "golden_untruncated.jsonl")
	failed := 0
	for i, r := range rows {
		if got := tok.Encode(r.Text); !slices.Equal(got, r.BPE) {
			failed++
			t.Errorf("line %d: Encode(%q)\n got %v\nwant %v", i+1, r.Text, got, r.BPE)
		}
	}
	t.Logf("%d/%d encodings match", len(rows)-failed, len(rows))
}

func TestTokenizeGolden(t *testing.T) {
	tok := newTokenizer(t)
	rows := readJSONL[goldenRow](t, "golden.jsonl")
	texts := make([]string, len(rows))
	for i, r := range rows {
		texts[i] = r.Text
	}
	got, err := tok.Tokenize(texts, 77, true)
	if err != nil {
		t.Fatal(err)
	}
	failed, truncated := 0, 0
	for i, r := range rows {
		if !slices.Equal(got[i], r.IDs) {
			failed++
			t.Errorf("line %d: Tokenize(%q)\n got %v\nwant %v", i+1, r.Text, got[i], r.IDs)
		}
		if len(tok.Encode(r.Text)) > 75 {
			truncated++
		}
	}
	if truncated != 11 {
		t.Errorf("%d golden strings need truncation, the fixture README says 11", truncated)
	}
	t.Logf("%d/%d rows match (%d truncated)", len(rows)-failed, len(rows), truncated)
}

func TestTokenizeErrors(t *testing.T) {
	tok := newTokenizer(t)
	long := strings.Repeat("dog ", 76) // 76 ids + SOT + EOT = 78 > 77
	fits := strings.Repeat("dog ", 75)
	tests := []struct {
		name     string
		text     string
		ctx      int
		truncate bool
		wantErr  error
		wantLen  int
	}{
		{"fits exactly", fits, 77, false, nil, 77},
		{"too long", long, 77, false, ErrTooLong, 0},
		{"too long truncated", long, 77, true, nil, 77},
		{"short context", "a photo", 3, false, ErrTooLong, 0},
		{"empty text", "", 2, false, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := tok.Tokenize([]string{tt.text}, tt.ctx, tt.truncate)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "is too long for context length") {
					t.Errorf("error %q does not say what the reference says", err)
				}
				return
			}
			if len(rows[0]) != tt.wantLen || rows[0][0] != SOT || !slices.Contains(rows[0], EOT) {
				t.Errorf("row %v: want %d ids starting with SOT and holding EOT", rows[0], tt.wantLen)
			}
		})
	}
	if _, err := tok.Tokenize([]string{"a"}, 1, true); err == nil {
		t.Error("context length 1 accepted, want error")
	}
}

func TestDecode(t *testing.T) {
	tok := newTokenizer(t)
	tests := []struct {
		text string
		want string
	}{
		{"a photo of a back pack.", "a photo of a back pack . "},
		{"It's a DOG!!", "it 's a dog !! "},
		{"café 🐶 日本", "café 🐶 日本 "},
		{"<|startoftext|>x<|endoftext|>", "<|startoftext|>x <|endoftext|>"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := tok.Decode(tok.Encode(tt.text)); got != tt.want {
				t.Errorf("Decode(Encode(%q)) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestDecodeUTF8Replace(t *testing.T) {
	// Expected values follow Python's bytes.decode('utf-8', 'replace').
	tests := []struct {
		in   string
		want string
	}{
		{"abc", "abc"},
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x82a", "\uFFFDa"},       // cut-short 3-byte sequence: one U+FFFD
		{"\xe0\x80a", "\uFFFD\uFFFDa"}, // E0 80 is never valid: two
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xf0\x9f\x90", "\uFFFD"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xc3", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := decodeUTF8Replace([]byte(tt.in)); got != tt.want {
			t.Errorf("decodeUTF8Replace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"it's 2024!!", []string{"it", "'s", "2", "0", "2", "4", "!!"}},
		{"a<|endoftext|>b", []string{"a", "<|endoftext|>", "b"}},
		{"!!<|endoftext|>", []string{"!!<|", "endoftext", "|>"}},
		{"'st 'll '", []string{"'s", "t", "'ll", "'"}},
		{"x²½", []string{"x", "²", "½"}},
		{"  ", nil},
		{"'ſ", []string{"'ſ"}}, // long s folds to s: a contraction under IGNORECASE
	}
	for _, tt := range tests {
		if got := split(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPyLower(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABC", "abc"},
		{"İ", "i\u0307"},
		{"ΟΔΟΣ", "οδος"},
		{"ΟΔΟΣ ΟΔΟΣ.", "οδος οδος."},
		{"Σ", "σ"},
		{"ΑΣΑ", "ασα"},
	}
	for _, tt := range tests {
		if got := pyLower(tt.in); got != tt.want {
			t.Errorf("pyLower(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConcurrent runs encodes from several goroutines; with -race it checks
// the cache's locking.
func TestConcurrent(t *testing.T) {
	tok := newTokenizer(t)
	rows := readJSONL[untruncatedRow](t, "golden_untruncated.jsonl")
	var wg sync.WaitGroup
	errs := make(chan string, len(rows))
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(rows); i += 2 {
				if got := tok.Encode(rows[i].Text); !slices.Equal(got, rows[i].BPE) {
					errs <- rows[i].Text
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for text := range errs {
		t.Errorf("concurrent Encode(%q) differs from the golden ids", text)
	}
}

func BenchmarkEncode(b *testing.B) {
	tok := newTokenizer(b)
	rows := readJSONL[untruncatedRow](b, "golden_untruncated.jsonl")
	var bytes int64
	for _, r := range rows {
		bytes += int64(len(r.Text))
	}
	b.Run("cached", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			for _, r := range rows {
				tok.Encode(r.Text)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			tok.mu.Lock()
			clear(tok.cache)
			tok.mu.Unlock()
			for _, r := range rows {
				tok.Encode(r.Text)
			}
		}
	})
}

// FuzzTokenize feeds arbitrary bytes, invalid UTF-8 included, through the
// clean-up, the split, BPE and Decode: nothing may panic, every id must be
// in the vocabulary, and a truncated row must be SOT, ids, EOT.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"a photo of a dog.", "", "  ", "&amp;lt;3 ÉCOLE", "don't 123,456 naïve 日本語", "\xff\xfe\x00", strings.Repeat("ab", 200)} {
		f.Add(s)
	}
	tok, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= VocabSize {
				t.Fatalf("Encode(%q): id %d outside the vocabulary", text, id)
			}
		}
		_ = tok.Decode(ids)
		rows, err := tok.Tokenize([]string{text}, 16, true)
		if err != nil {
			t.Fatalf("Tokenize(%q, truncate): %v", text, err)
		}
		row := rows[0]
		n := min(len(ids), 14)
		if len(row) != 16 || row[0] != SOT || row[n+1] != EOT || !slices.Equal(row[1:n+1], ids[:n]) {
			t.Fatalf("Tokenize(%q) = %v for ids %v", text, row, ids)
		}
	})
}

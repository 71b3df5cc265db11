package main

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/fixture"
)

// goldenRow is one line of the tokenizer fixture: clip.tokenize(text,
// context_length=77, truncate=True).
type goldenRow struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

// goldenTokens returns the rows of golden.jsonl by index.
func goldenTokens(t *testing.T) []goldenRow {
	t.Helper()
	path := fixture.Path(t, "tokenizer", "golden.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r goldenRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestTokenizeGolden tokenizes a few golden lines in one call: plain
// prompts, HTML entities, non-ASCII, texts that begin with "-" (after --),
// the empty string, "dog "×75 which fills 77 ids exactly and "dog "×76
// which is truncated.
func TestTokenizeGolden(t *testing.T) {
	all := goldenTokens(t)
	pick := []int{0, 1, 2, 210, 233, 266, 269, 280, 327, 360, 361}
	if len(all) <= slices.Max(pick) {
		t.Fatalf("golden.jsonl has %d lines, want more than %d", len(all), slices.Max(pick))
	}
	args := []string{"tokenize", "-truncate", "--"}
	for _, i := range pick {
		args = append(args, all[i].Text)
	}
	code, stdout, stderr := runVlpuda(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(pick) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(pick), stdout)
	}
	for j, i := range pick {
		want, err := json.Marshal(all[i].IDs)
		if err != nil {
			t.Fatal(err)
		}
		if lines[j] != string(want) {
			t.Errorf("line %d (%q):\n got %s\nwant %s", i, all[i].Text, lines[j], want)
		}
	}
}

func TestTokenizeFlags(t *testing.T) {
	all := goldenTokens(t)
	backPack, fits, tooLong := all[0], all[360], all[361]
	ids := func(row []int32) string {
		b, _ := json.Marshal(row)
		return string(b) + "\n"
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, when code is 0
		errHas string
	}{
		{"fits exactly", []string{fits.Text}, 0, ids(fits.IDs), ""},
		{"too long", []string{fits.Text, tooLong.Text}, 1, "", "too long for context length 77 (use -truncate to cut it)"},
		{"context 10", []string{"-context", "10", backPack.Text}, 0, ids(backPack.IDs[:10]), ""},
		{"context 8 truncated", []string{"-context", "8", "-truncate", backPack.Text},
			0, ids(append(slices.Clone(backPack.IDs[:7]), 49407)), ""},
		{"context 1", []string{"-context", "1", "x"}, 1, "", "context length 1, need at least 2"},
		{"no text", nil, 2, "", "usage: vlpuda tokenize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runVlpuda(t, append([]string{"tokenize"}, tt.args...)...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.errHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
					code, stdout, stderr, tt.code, tt.stdout, tt.errHas)
			}
		})
	}
}

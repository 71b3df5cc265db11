package data

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestRandomSampler(t *testing.T) {
	tests := []struct{ n, batch int }{{10, 3}, {12, 4}, {7, 7}, {100, 32}}
	for _, tt := range tests {
		s, err := NewRandomSampler(tt.n, tt.batch, 42)
		if err != nil {
			t.Fatal(err)
		}
		per := tt.n / tt.batch
		if s.BatchesPerPass() != per {
			t.Errorf("n %d batch %d: %d batches per pass, want %d", tt.n, tt.batch, s.BatchesPerPass(), per)
		}
		var passes [][]int
		for pass := range 3 {
			var seen []int
			for b := range per {
				d, ok := s.Next()
				if !ok || len(d.Index) != tt.batch || d.Pass != pass || d.Pos != b*tt.batch {
					t.Fatalf("n %d batch %d: draw %+v, want pass %d position %d", tt.n, tt.batch, d, pass, b*tt.batch)
				}
				seen = append(seen, d.Index...)
			}
			// A pass draws distinct samples; the last n mod batch are dropped.
			sorted := slices.Sorted(slices.Values(seen))
			if len(slices.Compact(sorted)) != per*tt.batch || sorted[0] < 0 || sorted[len(sorted)-1] >= tt.n {
				t.Errorf("n %d batch %d pass %d: samples %v are not distinct indices", tt.n, tt.batch, pass, seen)
			}
			passes = append(passes, seen)
		}
		if tt.n > 3 && slices.Equal(passes[0], passes[1]) && slices.Equal(passes[1], passes[2]) {
			t.Errorf("n %d: every pass has the same order", tt.n)
		}
	}
}

func TestRandomSamplerSeeds(t *testing.T) {
	draws := func(seed uint64) []int {
		s, _ := NewRandomSampler(50, 8, seed)
		var out []int
		for range 10 {
			d, _ := s.Next()
			out = append(out, d.Index...)
		}
		return out
	}
	if !slices.Equal(draws(1), draws(1)) {
		t.Error("equal seeds give different batches")
	}
	if slices.Equal(draws(1), draws(2)) {
		t.Error("different seeds give the same batches")
	}
}

// TestRandomSamplerResume: a sampler restored to a state saved mid-pass
// draws the batches the original draws next, across pass boundaries.
func TestRandomSamplerResume(t *testing.T) {
	for _, stop := range []int{0, 1, 2, 3, 4, 7} { // 3 batches per pass
		orig, _ := NewRandomSampler(11, 3, 7)
		var st SamplerState
		for range stop {
			d, _ := orig.Next()
			st = d.State
		}
		if stop == 0 {
			st = orig.State()
		}
		if st != orig.State() {
			t.Fatalf("stop %d: draw state %+v, sampler state %+v", stop, st, orig.State())
		}
		raw, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var loaded SamplerState
		if err := json.Unmarshal(raw, &loaded); err != nil {
			t.Fatal(err)
		}
		resumed, _ := NewRandomSampler(11, 3, 7)
		if err := resumed.Restore(loaded); err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			a, _ := orig.Next()
			b, _ := resumed.Next()
			if !slices.Equal(a.Index, b.Index) || a.Pass != b.Pass || a.Pos != b.Pos || a.State != b.State {
				t.Fatalf("stop %d, batch %d after: original %+v, resumed %+v", stop, i, a, b)
			}
		}
	}
}

func TestSamplerErrors(t *testing.T) {
	if _, err := NewRandomSampler(3, 4, 1); err == nil || !strings.Contains(err.Error(), "fewer than one batch") {
		t.Errorf("n < batch: error %v", err)
	}
	if _, err := NewRandomSampler(3, 0, 1); err == nil {
		t.Error("batch 0: no error")
	}
	s, _ := NewRandomSampler(10, 2, 1)
	for _, st := range []SamplerState{
		{Seed: 2, N: 10, Batch: 2},
		{Seed: 1, N: 11, Batch: 2},
		{Seed: 1, N: 10, Batch: 5},
		{Seed: 1, N: 10, Batch: 2, Pos: 11},
		{Seed: 1, N: 10, Batch: 2, Pass: -1},
	} {
		if err := s.Restore(st); err == nil {
			t.Errorf("Restore(%+v): no error", st)
		}
	}
}

func TestSequentialSampler(t *testing.T) {
	s := NewSequentialSampler(7, 3)
	var got [][]int
	for {
		d, ok := s.Next()
		if !ok {
			break
		}
		if d.Pass != 0 || d.Pos != len(got)*3 {
			t.Errorf("draw %+v", d)
		}
		got = append(got, d.Index)
	}
	want := [][]int{{0, 1, 2}, {3, 4, 5}, {6}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches %v, want %v", got, want)
	}
	if _, ok := NewSequentialSampler(0, 3).Next(); ok {
		t.Error("empty sampler drew a batch")
	}
}

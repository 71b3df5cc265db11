package main

import (
	"strings"
	"testing"
)

// TestFlagLimits gives every flag that sizes an allocation or a number of
// goroutines a value out of its range: each command must exit 2 naming the
// flag and its range, before it opens any file.
func TestFlagLimits(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tokenize", "-context", "1000000000000", "hi"}, "-context 1000000000000 is out of range: want 1 to 4096"},
		{[]string{"tokenize", "-context", "0", "hi"}, "-context 0 is out of range"},
		{[]string{"zeroshot", "-model", "m", "-data", "d", "-batch", "100000000"}, "-batch 100000000 is out of range: want 1 to 4096"},
		{[]string{"zeroshot", "-model", "m", "-data", "d", "-threads", "1000000"}, "-threads 1000000 is out of range: want 0 to 256"},
		{[]string{"zeroshot", "-model", "m", "-data", "d", "-threads", "-1"}, "-threads -1 is out of range"},
		{[]string{"eval", "-model", "m", "-data", "d", "-residual", "r", "-batch", "5000"}, "-batch 5000 is out of range"},
		{[]string{"eval", "-model", "m", "-data", "d", "-residual", "r", "-threads", "1000"}, "-threads 1000 is out of range"},
		{[]string{"adapt", "-model", "m", "-data", "d", "-out", "o", "-dataset", "office31", "-s", "A", "-t", "W", "-workers", "1000000"}, "-workers 1000000 is out of range: want 0 to 256"},
		{[]string{"adapt", "-model", "m", "-data", "d", "-out", "o", "-dataset", "office31", "-s", "A", "-t", "W", "-threads", "300"}, "-threads 300 is out of range"},
		{[]string{"adapt", "-model", "m", "-data", "d", "-out", "o", "-dataset", "office31", "-s", "A", "-t", "W", "-batch", "100000"}, "-batch 100000 is out of range"},
		{[]string{"adapt", "-model", "m", "-data", "d", "-out", "o", "-dataset", "office31", "-s", "A", "-t", "W", "-target-batch", "0"}, "-target-batch 0 is out of range"},
		{[]string{"adapt", "-model", "m", "-data", "d", "-out", "o", "-dataset", "office31", "-s", "A", "-t", "W", "-eval-batch", "1000000"}, "-eval-batch 1000000 is out of range"},
		{[]string{"pretrain", "-out", "o", "-batch", "100000"}, "-batch 100000 is out of range"},
		{[]string{"pretrain", "-out", "o", "-threads", "100000"}, "-threads 100000 is out of range"},
		{[]string{"check-teacher", "-threads", "100000", "m"}, "-threads 100000 is out of range"},
		{[]string{"demo", "-seeds", "1000000"}, "-seeds 1000000 is out of range: want 1 to 100"},
		{[]string{"demo", "-threads", "100000"}, "-threads 100000 is out of range"},
		{[]string{"demo", "-batch", "100000"}, "-batch 100000 is out of range"},
		{[]string{"demo", "-train-images", "1000000000"}, "-train-images 1000000000 is out of range: want 0 to 100000"},
		{[]string{"demo", "-test-images", "1000000000"}, "-test-images 1000000000 is out of range"},
		{[]string{"bench", "gemm", "-threads", "1,100000"}, "-threads 100000 is out of range: want 1 to 256"},
		{[]string{"bench", "clip", "-threads", "100000"}, "-threads 100000 is out of range"},
		{[]string{"bench", "gemm", "-shapes", "100000x100000x100000"}, "-shapes 100000x100000x100000: a matrix of more than 67108864 elements"},
		{[]string{"bench", "gemm", "-shapes", "64x64x64,1x100000000x1"}, "-shapes 1x100000000x1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runVlpuda(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "usage: vlpuda "+tt.args[0]) {
				t.Errorf("exit %d, stderr %q; want exit 2, %q and the usage", code, stderr, tt.want)
			}
		})
	}
}

// TestCheckBatchImages checks the bound on a batch's pixels at several
// resolutions.
func TestCheckBatchImages(t *testing.T) {
	tests := []struct {
		batch, res int
		ok         bool
	}{
		{891, 224, true},
		{892, 224, false},
		{4096, 32, true},
		{1, 10000, true}, // one image always passes
		{2, 10000, false},
	}
	for _, tt := range tests {
		err := checkBatchImages("batch", tt.batch, tt.res)
		if (err == nil) != tt.ok {
			t.Errorf("batch %d at %d: error %v, want ok %v", tt.batch, tt.res, err, tt.ok)
		}
		if err != nil && (usageMessage(err) == "" || !strings.Contains(err.Error(), "-batch")) {
			t.Errorf("batch %d at %d: error %v is not a usage error naming -batch", tt.batch, tt.res, err)
		}
	}
}

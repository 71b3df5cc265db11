//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/internal/zipbomb"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// limitASEnv holds the address-space limit in bytes of a child that runs
// the test binary as vlpuda (envRunMain; see TestMain and limitChild).
const limitASEnv = "VLPUDA_TEST_LIMIT_AS"

// Resource bounds of a refusal: the peak resident memory every refusal
// must stay under, the address space the child may reserve (a hard stop,
// so that a refusal that fails cannot exhaust the machine) and its time.
const (
	maxRefusalRSS  int64  = 2 << 30
	childAddrSpace uint64 = 3 << 30
	maxRefusalTime        = 20 * time.Second
)

// limitChild applies the address-space limit of limitASEnv, if set, to
// this process, a child that is about to run as vlpuda.
func limitChild() {
	n, err := strconv.ParseUint(os.Getenv(limitASEnv), 10, 64)
	if err != nil {
		return
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		os.Stderr.WriteString("setrlimit: " + err.Error() + "\n")
		os.Exit(3)
	}
}

// runLimited runs a vlpuda command line in a child process limited to
// childAddrSpace bytes of address space, and returns its exit status, its
// stderr and its peak resident memory in bytes.
func runLimited(t *testing.T, args ...string) (code int, stderr string, rss int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1", limitASEnv+"="+strconv.FormatUint(childAddrSpace, 10), "GOGC=")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cmd.ProcessState.ExitCode(), errOut.String(), int64(ru.Maxrss) << 10 // KiB on Linux
}

// TestRefusalsUnderMemoryLimit runs the hostile inputs and flags of issue
// 14 through the command in a child process: each must be refused with
// its exit status and a message naming the cause, in little time and
// under maxRefusalRSS of peak resident memory.
func TestRefusalsUnderMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	model := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")

	bomb, err := zipbomb.Archive(zipbomb.Entry{Name: "bomb/data.pkl", Zeros: 10 << 30})
	if err != nil {
		t.Fatal(err)
	}
	bombPath := filepath.Join(dir, "bomb.pt")
	write(t, bombPath, bomb)

	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	configs := map[string]func(c *vlp.Config){
		"layers.json":     func(c *vlp.Config) { c.VisionLayers = []int{1e7} },
		"vocab.json":      func(c *vlp.Config) { c.VocabSize = vlp.MaxVocab + 1 },
		"mismatched.json": func(c *vlp.Config) { c.TransformerLayers = 200 },
	}
	for name, change := range configs {
		c, err := vlp.ReadConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		change(&c)
		js, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), js)
	}
	f, err := safetensors.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "saved.safetensors")
	js, err := os.ReadFile(filepath.Join(dir, "layers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(saved, f.Tensors, map[string]string{vlp.ConfigKey: string(js)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"data.pkl bomb", []string{"inspect", "-config", config, bombPath}, 1, "bomb/data.pkl: entry of 10737418240 bytes"},
		{"data.pkl bomb, inferred config", []string{"inspect", bombPath}, 1, "bomb/data.pkl: entry of 10737418240 bytes"},
		{"config vision_layers 1e7", []string{"inspect", "-config", filepath.Join(dir, "layers.json"), model}, 1, "vision_layers [10000000], want each 0 to 256"},
		{"config vocab_size 2^40", []string{"inspect", "-config", filepath.Join(dir, "vocab.json"), model}, 1, "vocab_size = 1048577, want 1 to 1048576"},
		{"config transformer_layers 200", []string{"inspect", "-config", filepath.Join(dir, "mismatched.json"), model}, 1, "transformer_layers 200 but the checkpoint holds 2"},
		{"saved config vision_layers 1e7", []string{"inspect", saved}, 1, "vision_layers [10000000], want each 0 to 256"},
		{"tokenize -context", []string{"tokenize", "-context", "1000000000000", "a photo"}, 2, "-context 1000000000000 is out of range"},
		{"zeroshot -batch", []string{"zeroshot", "-model", model, "-data", dir, "-batch", "100000000"}, 2, "-batch 100000000 is out of range"},
		{"zeroshot -threads", []string{"zeroshot", "-model", model, "-data", dir, "-threads", "1000000"}, 2, "-threads 1000000 is out of range"},
		{"adapt -workers", []string{"adapt", "-model", model, "-data", dir, "-dataset", "office31", "-s", "A", "-t", "W", "-out", filepath.Join(dir, "out"), "-workers", "1000000"}, 2, "-workers 1000000 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, stderr, rss := runLimited(t, tt.args...)
			elapsed := time.Since(start)
			t.Logf("exit %d in %v, peak RSS %.1f MiB", code, elapsed.Round(time.Millisecond), float64(rss)/(1<<20))
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if rss > maxRefusalRSS {
				t.Errorf("peak RSS %d bytes, want at most %d", rss, maxRefusalRSS)
			}
			if elapsed > maxRefusalTime {
				t.Errorf("refusal took %v, want at most %v", elapsed, maxRefusalTime)
			}
		})
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

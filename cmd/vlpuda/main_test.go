package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// envRunMain makes the test binary run vlpuda's main with its arguments
// instead of the tests, so that tests can run vlpuda as a child process.
const envRunMain = "VLPUDA_TEST_RUN_MAIN"

// TestMain runs the test binary as the vlpuda command when envRunMain is
// set (under the limits of limitChild), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		limitChild()
		main()
	}
	os.Exit(m.Run())
}

// runVlpuda runs a vlpuda command line through run and returns its exit
// status and what it printed.
func runVlpuda(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runCommand(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// dirNames returns the sorted names in dir, hidden ones included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{nil, 2, "The commands are", ""},
		{[]string{"help"}, 0, "tokenize", ""},
		{[]string{"help", "encode"}, 0, "usage: vlpuda encode -model", ""},
		{[]string{"help", "nosuch"}, 2, "", "unknown command"},
		{[]string{"nosuch"}, 2, "", "vlpuda nosuch: unknown command"},
		{[]string{"inspect"}, 2, "", "usage: vlpuda inspect"},
		{[]string{"inspect", "-nosuchflag", "x"}, 2, "", "flag provided but not defined: -nosuchflag"},
		{[]string{"tokenize", "-h"}, 0, "", "usage: vlpuda tokenize"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runVlpuda(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestStartCPUProfile(t *testing.T) {
	stop, err := startCPUProfile("")
	if err != nil || stop() != nil {
		t.Fatalf("no profile: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err = startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("profile %s: %v, %v", path, fi, err)
	}
	if _, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.prof")); err == nil {
		t.Fatal("a profile in a missing folder started")
	}
}

func TestChildEnv(t *testing.T) {
	tests := []struct {
		env, want []string
	}{
		{[]string{"HOME=/root", "VLPUDA_CPUPROFILE=cpu.prof"}, []string{"HOME=/root", "VLPUDA_CPUPROFILE=cpu.prof.rn50-fwd-8"}},
		{[]string{"VLPUDA_CPUPROFILE="}, []string{"VLPUDA_CPUPROFILE="}},
		{[]string{"GOGC=50", "XVLPUDA_CPUPROFILE=x"}, []string{"GOGC=50", "XVLPUDA_CPUPROFILE=x"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		if got := childEnv(tt.env, "rn50-fwd-8"); !slices.Equal(got, tt.want) {
			t.Errorf("childEnv(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

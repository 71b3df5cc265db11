//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vlpuda/vlpuda/internal/fixture"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/uda/run"
)

// TestAdaptSignal runs adapt as a child process, stops it with a real
// signal in its second epoch, and checks the exit status, the checkpoint,
// and that -resume ends with the bytes of an uninterrupted run.
func TestAdaptSignal(t *testing.T) {
	root := t.TempDir()
	writeShapeDomains(t, root, 6)
	model := fixture.Path(t, "clip-tiny", "vit", "model.safetensors")
	config := fixture.Path(t, "clip-tiny", "vit", "config.json")
	adaptArgs := func(out string, extra ...string) []string {
		return append([]string{"adapt", "-model", model, "-config", config, "-data", root, "-preset", "office31",
			"-s", "src", "-t", "tgt", "-method", "cmkd", "-rst", "1e-4", "-epochs", "4", "-iters", "4", "-batch", "6",
			"-target-batch", "6", "-lr", "1e-3", "-head-lr-mult", "30", "-ramp-iters", "6", "-eval-batch", "8",
			"-seed", "3", "-threads", strconv.Itoa(kernels.Threads()), "-out", out}, extra...)
	}
	straight := filepath.Join(t.TempDir(), "straight")
	if code, _, stderr := runVlpuda(t, adaptArgs(straight, "-q")...); code != 0 {
		t.Fatalf("uninterrupted adapt: exit %d\n%s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join(straight, run.FileTask+".vlpr"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGTERM, 143},
		{syscall.SIGINT, 130},
	}
	for _, tt := range tests {
		t.Run(tt.sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			code, stderr := runStopped(t, adaptArgs(out), "epoch 1/4", tt.sig)
			if code != tt.code || !strings.Contains(stderr, "stopped after iteration") {
				t.Fatalf("exit %d, want %d and a message saying where it stopped; stderr:\n%s", code, tt.code, stderr)
			}
			t.Logf("stderr:\n%s", stderr)
			for _, name := range dirNames(t, out) {
				if strings.HasPrefix(name, ".") {
					t.Errorf("%s left behind", name)
				}
			}
			if _, err := os.Stat(filepath.Join(out, run.FileResult)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the stopped run wrote %s (%v): it was not stopped mid-run", run.FileResult, err)
			}
			if code, _, stderr := runVlpuda(t, adaptArgs(out, "-resume", "-q")...); code != 0 {
				t.Fatalf("adapt -resume: exit %d\n%s", code, stderr)
			}
			got, err := os.ReadFile(filepath.Join(out, run.FileTask+".vlpr"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the resumed run's task file differs from the uninterrupted run's")
			}
		})
	}
}

// runStopped runs vlpuda with args as a child process, sends it sig once
// its standard error shows a line containing after, and returns its exit
// status and standard error.
func runStopped(t *testing.T, args []string, after string, sig syscall.Signal) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var buf strings.Builder
	sent := false
	sc := bufio.NewScanner(io.TeeReader(pipe, &buf))
	for sc.Scan() {
		if !sent && strings.Contains(sc.Text(), after) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
	}
	err = cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("vlpuda %s was killed after a minute; stderr:\n%s", args[0], buf.String())
	}
	if !sent {
		t.Fatalf("vlpuda %s never printed %q; stderr:\n%s", args[0], after, buf.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), buf.String()
}

func TestSignalStatus(t *testing.T) {
	tests := []struct {
		sig  os.Signal
		want int
	}{
		{os.Interrupt, 130},
		{syscall.SIGTERM, 143},
		{syscall.SIGHUP, 129},
		{os.Kill, 137},
		{otherSignal{}, 1},
	}
	for _, tt := range tests {
		if got := signalStatus(tt.sig); got != tt.want {
			t.Errorf("signalStatus(%v) = %d, want %d", tt.sig, got, tt.want)
		}
	}
}

// otherSignal is a signal without a number.
type otherSignal struct{}

func (otherSignal) String() string { return "other" }
func (otherSignal) Signal()        {}

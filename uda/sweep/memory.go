package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/internal/peakmem"
	"github.com/vlpuda/vlpuda/uda/run"
)

// The files that record memory: the sweep's request and how it was
// chosen, and each run's measured peak.
const (
	FileMemory = "memory.json"
	FileUsage  = "usage.json"
)

// How a sweep's memory request was chosen (Memory.Source).
const (
	MemoryProbe    = "probe"    // measured by MeasureMemory
	MemoryFlag     = "flag"     // given by the user
	MemoryEstimate = "estimate" // EstimateMemoryMiB, where the peak cannot be measured
)

// Memory is the memory request of a sweep's workers and where it came
// from, as written to DIR/memory.json.
type Memory struct {
	RequestMiB int    `json:"request_mib"`
	Source     string `json:"source"`
	// Probes are the runs measured when Source is MemoryProbe.
	Probes []Probe `json:"probes,omitempty"`
}

// Probe is what one shortened run (run.Probe) measured: the peak memory,
// the time the probe took, and its estimate of the whole run's time on
// the machine and threads it ran on (zero if it timed no training step).
type Probe struct {
	Run        int     `json:"run"`
	Method     string  `json:"method"`
	Steps      int     `json:"steps"`
	PeakMiB    float64 `json:"peak_mib"`
	Seconds    float64 `json:"seconds"`
	RunSeconds float64 `json:"run_seconds_estimate"`
}

// PeakMiB returns the largest peak of the probes.
func (m *Memory) PeakMiB() float64 {
	peak := 0.0
	for _, p := range m.Probes {
		peak = max(peak, p.PeakMiB)
	}
	return peak
}

// Headroom over a measured peak: the heap the garbage collector lets
// grow between collections varies from run to run, and other tasks of
// the grid may hold more images than the probed one.
const (
	headroomFactor = 1.25
	headroomMiB    = 256
)

// RequestMiB returns the memory to ask for a worker whose measured peak
// is peakMiB: a quarter more and 256 MiB, rounded up to 64 MiB.
func RequestMiB(peakMiB float64) int {
	need := peakMiB*headroomFactor + headroomMiB
	return int(math.Ceil(need/64)) * 64
}

// MeasureMemory measures the peak resident memory of the plan p's
// workers, and estimates their time: for each method of the grid it runs a shortened version of
// the method's first run (run.Probe with steps iterations) in a
// temporary folder under dir, in this process, and measures the
// process's peak while it runs. The request is RequestMiB of the largest
// peak. report, if not nil, is told about each probe as it ends. Where
// the peak cannot be measured (not Linux) it returns an error wrapping
// peakmem.ErrUnsupported.
func MeasureMemory(ctx context.Context, dir string, p *run.Plan, steps int, opt run.PlanOptions, report func(Probe)) (*Memory, error) {
	m := &Memory{Source: MemoryProbe}
	seen := map[string]bool{}
	for _, r := range p.Runs {
		if seen[r.Method] {
			continue
		}
		seen[r.Method] = true
		pr, err := probe(ctx, dir, p, r, steps, opt)
		if err != nil {
			return nil, err
		}
		m.Probes = append(m.Probes, pr)
		if report != nil {
			report(pr)
		}
	}
	m.RequestMiB = RequestMiB(m.PeakMiB())
	return m, nil
}

// probe measures one shortened run in a temporary folder under dir.
func probe(ctx context.Context, dir string, p *run.Plan, r run.Planned, steps int, opt run.PlanOptions) (Probe, error) {
	pr := Probe{Run: r.Index, Method: r.Method, Steps: steps}
	tmp, err := os.MkdirTemp(dir, ".probe-")
	if err != nil {
		return pr, fmt.Errorf("sweep: memory probe: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := peakmem.Reset(); err != nil {
		return pr, err
	}
	start := time.Now()
	res, err := run.Probe(ctx, p, r.Index, filepath.Join(tmp, "run"), steps, opt)
	if err != nil {
		return pr, fmt.Errorf("sweep: memory probe: %w", err)
	}
	pr.Seconds, pr.RunSeconds = time.Since(start).Seconds(), res.Seconds()
	if pr.PeakMiB, err = peakmem.PeakMiB(); err != nil {
		return pr, err
	}
	return pr, nil
}

// WriteMemory writes m to dir/memory.json.
func WriteMemory(dir string, m *Memory) error {
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, FileMemory), append(js, '\n'), true)
}

// ReadMemory reads dir/memory.json; it returns nil, nil if there is none
// (a plan made before the file existed).
func ReadMemory(dir string) (*Memory, error) {
	m := new(Memory)
	if ok, err := readJSON(filepath.Join(dir, FileMemory), m); !ok {
		return nil, err
	}
	return m, nil
}

// Usage is what a worker measured while it ran a run, as written to the
// run's usage.json.
type Usage struct {
	// PeakMiB is the largest peak resident memory of the workers that
	// ran the run (after a requeue, of either attempt).
	PeakMiB float64 `json:"peak_mib"`
}

// recordUsage raises the peak in out/usage.json to this process's peak
// since the last peakmem.Reset. It does nothing where the peak is not
// measured.
func recordUsage(out string) error {
	peak, err := peakmem.PeakMiB()
	if errors.Is(err, peakmem.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	u, err := ReadUsage(out)
	if err != nil {
		return err
	}
	if u != nil && u.PeakMiB >= peak {
		return nil
	}
	js, err := json.Marshal(Usage{PeakMiB: peak})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(out, FileUsage), append(js, '\n'), true)
}

// ReadUsage reads a run's usage.json from its folder out; it returns nil,
// nil if there is none.
func ReadUsage(out string) (*Usage, error) {
	u := new(Usage)
	if ok, err := readJSON(filepath.Join(out, FileUsage), u); !ok {
		return nil, err
	}
	return u, nil
}

// readJSON decodes the file at path into v; ok is false if the file does
// not exist or (with an error) cannot be read.
func readJSON(path string, v any) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("sweep: %s: %w", path, err)
	}
	return true, nil
}

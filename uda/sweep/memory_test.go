package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/internal/peakmem"
	"github.com/vlpuda/vlpuda/uda/run"
)

func TestRequestMiB(t *testing.T) {
	for _, tc := range []struct {
		peak float64
		want int
	}{
		{0, 256},
		{100, 384},   // 381 rounded up
		{1000, 1536}, // 1506 rounded up
		{3072, 4096}, // 4096 exactly
	} {
		if got := RequestMiB(tc.peak); got != tc.want {
			t.Errorf("RequestMiB(%v) = %d, want %d", tc.peak, got, tc.want)
		}
	}
}

// skipWithoutPeak skips a test where this system does not measure peaks.
func skipWithoutPeak(t *testing.T) {
	if err := peakmem.Reset(); errors.Is(err, peakmem.ErrUnsupported) {
		t.Skipf("the peak memory is not measured here: %v", err)
	}
}

// TestMeasureMemory probes a two-method grid: one probe per method, the
// request from the largest peak, no folder left behind, and a request
// that covers what a worker then measures running the same run for
// real.
func TestMeasureMemory(t *testing.T) {
	skipWithoutPeak(t)
	dir, p := planned(t, tinyGrid(t))
	var reported []Probe
	m, err := MeasureMemory(context.Background(), dir, p, 2, run.PlanOptions{}, func(pr Probe) { reported = append(reported, pr) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Probes) != 2 || m.Probes[0].Method != "cmkd" || m.Probes[1].Method != "source-only+rst" ||
		m.Probes[0].Run != 0 || m.Probes[1].Run != 2 || len(reported) != 2 {
		t.Fatalf("probes %+v (reported %d), want runs 0 (cmkd) and 2 (source-only+rst)", m.Probes, len(reported))
	}
	for _, pr := range m.Probes {
		if pr.PeakMiB <= 0 || pr.Steps != 2 {
			t.Errorf("probe %+v", pr)
		}
	}
	if m.Source != MemoryProbe || m.RequestMiB != RequestMiB(m.PeakMiB()) {
		t.Errorf("memory %+v, want the request of the peak %v", m, m.PeakMiB())
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if e.Name() != run.FilePlan {
			t.Errorf("the probes left %s in the sweep folder", e.Name())
		}
	}
	if err := WriteMemory(dir, m); err != nil {
		t.Fatal(err)
	}
	back, err := ReadMemory(dir)
	if err != nil || back.RequestMiB != m.RequestMiB || len(back.Probes) != 2 {
		t.Fatalf("read back %+v, %v", back, err)
	}

	if _, err := RunIndex(context.Background(), dir, p, 0, run.PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].PeakMiB <= 0 || st[0].PeakMiB > float64(m.RequestMiB) || st[1].PeakMiB != 0 {
		t.Errorf("status peaks %v and %v MiB; want the first measured, within the %d MiB asked for, and none for the second",
			st[0].PeakMiB, st[1].PeakMiB, m.RequestMiB)
	}
}

// TestRecordUsage checks that a run's usage keeps the larger peak of its
// attempts.
func TestRecordUsage(t *testing.T) {
	skipWithoutPeak(t)
	now, err := peakmem.PeakMiB()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		earlier string // usage.json before, "" for none
		keep    bool   // the earlier peak stays
	}{
		{"first attempt", "", false},
		{"earlier attempt larger", `{"peak_mib": 1e9}`, true},
		{"earlier attempt smaller", `{"peak_mib": 1}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if tc.earlier != "" {
				if err := os.WriteFile(filepath.Join(out, FileUsage), []byte(tc.earlier), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := recordUsage(out); err != nil {
				t.Fatal(err)
			}
			u, err := ReadUsage(out)
			if err != nil || u == nil {
				t.Fatalf("usage %v, %v", u, err)
			}
			if tc.keep && u.PeakMiB != 1e9 || !tc.keep && u.PeakMiB < now {
				t.Errorf("peak %v MiB after recording this process's %v MiB over %s", u.PeakMiB, now, tc.earlier)
			}
		})
	}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, FileUsage), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recordUsage(out); err == nil || !strings.Contains(err.Error(), FileUsage) {
		t.Errorf("a corrupt usage.json: error %v, want one naming it", err)
	}
}

package peakmem

import (
	"errors"
	"runtime"
	"testing"
)

func TestParseHWM(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         float64
		err          bool
	}{
		{"kB", "Name:\tx\nVmPeak:\t 9999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n", 2, false},
		{"last line without newline", "VmHWM:\t1536 kB", 1.5, false},
		{"missing", "Name:\tx\nVmRSS:\t 1024 kB\n", 0, true},
		{"other unit", "VmHWM:\t2 MB\n", 0, true},
		{"not a number", "VmHWM:\tlots kB\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHWM([]byte(tc.status))
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("parseHWM = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestPeakFollowsAllocation touches 256 MiB and checks that the peak
// rises by about that much and that Reset brings it down again.
func TestPeakFollowsAllocation(t *testing.T) {
	if err := Reset(); errors.Is(err, ErrUnsupported) {
		t.Skipf("this kernel cannot reset the peak: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	before, err := PeakMiB()
	if err != nil {
		t.Fatal(err)
	}
	during := touchAndMeasure(t, 256<<20)
	if during-before < 240 {
		t.Fatalf("peak %0.f MiB before touching 256 MiB, %0.f MiB after", before, during)
	}
	if err := Reset(); err != nil {
		t.Fatal(err)
	}
	after, err := PeakMiB()
	if err != nil {
		t.Fatal(err)
	}
	if after > during-200 {
		t.Fatalf("peak %0.f MiB after Reset, %0.f MiB with the buffer", after, during)
	}
}

// touchAndMeasure touches n fresh bytes and returns the peak then; the
// bytes are garbage when it returns.
func touchAndMeasure(t *testing.T, n int) float64 {
	buf := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		buf[i] = 1
	}
	peak, err := PeakMiB()
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(buf)
	return peak
}

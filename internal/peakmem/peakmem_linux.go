package peakmem

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

func peakMiB() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peakmem: %w", err)
	}
	return parseHWM(b)
}

// parseHWM returns the VmHWM line's value of a /proc/PID/status file in MiB.
func parseHWM(status []byte) (float64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("peakmem: /proc/self/status: VmHWM line %q", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peakmem: /proc/self/status: VmHWM: %w", err)
		}
		return float64(kb) / 1024, nil
	}
	return 0, fmt.Errorf("peakmem: /proc/self/status has no VmHWM line: %w", ErrUnsupported)
}

func reset() error {
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets the high-water mark (Linux 4.0 and
	// later; see proc(5)).
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("peakmem: reset: %w: %w", err, ErrUnsupported)
	}
	_, werr := f.WriteString("5")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("peakmem: reset: %w: %w", werr, ErrUnsupported)
	}
	return nil
}

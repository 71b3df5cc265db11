// Package peakmem measures the peak resident memory of this process, the
// figure a scheduler's memory limit (a Slurm job's --mem, a Kubernetes
// container's limit) holds a process to.
//
// On Linux the peak is the kernel's high-water mark of the resident set
// (VmHWM in /proc/self/status), which Reset brings down to the present
// resident set; elsewhere both return ErrUnsupported.
package peakmem

import "errors"

// ErrUnsupported is returned where the peak cannot be read or reset.
var ErrUnsupported = errors.New("peakmem: the peak resident memory is not measured on this system")

// PeakMiB returns the largest resident set of this process, in MiB, since
// it started or since the last Reset.
func PeakMiB() (float64, error) { return peakMiB() }

// Reset returns what memory it can to the system and starts a new peak
// from the present resident set, so that PeakMiB measures what comes
// next.
func Reset() error { return reset() }

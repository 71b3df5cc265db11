//go:build !linux

package peakmem

func peakMiB() (float64, error) { return 0, ErrUnsupported }

func reset() error { return ErrUnsupported }

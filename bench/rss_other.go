//go:build !linux

package bench

// peakRSSMiB returns 0: only Linux reports the peak resident set here.
func peakRSSMiB() float64 { return 0 }

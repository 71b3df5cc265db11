// Package seedstat summarises a result over seeds, as the demo's and the
// sweep's tables print it: the mean and the sample standard deviation.
package seedstat

import "math"

// Mean returns the mean of x (NaN for no values).
func Mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Std returns the sample standard deviation of x (divisor n−1), 0 for
// fewer than two values.
func Std(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m, ss := Mean(x), 0.0
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

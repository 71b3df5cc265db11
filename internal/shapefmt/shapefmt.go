// Package shapefmt formats tensor shapes for error messages, keeping them
// short whatever the rank: a damaged file can declare a shape of a
// hundred thousand dimensions, and its error should still fit on a line.
package shapefmt

import (
	"fmt"
	"strconv"
	"strings"
)

// Dim is the type of a dimension: int for tensors, a fixed-size integer
// as a file declares it.
type Dim interface {
	~int | ~int32 | ~int64 | ~uint32 | ~uint64
}

// Shown dimensions of a long shape: the first head and the last tail.
const (
	head = 6
	tail = 2
)

// String formats shape as fmt's %v formats an []int, "[2 3 4]". A shape
// of more than 8 dimensions shows its first 6 and last 2 around an
// ellipsis, then its rank: "[1 1 1 1 1 1 … 1 1] (rank 100000)".
func String[D Dim](shape []D) string { return format(shape, "[", " ", "]") }

// Tuple is String in the notation of package tensor's messages: "(2,3,4)",
// or "(1,1,1,1,1,1,…,1,1) (rank 100000)".
func Tuple[D Dim](shape []D) string { return format(shape, "(", ",", ")") }

func format[D Dim](shape []D, open, sep, close string) string {
	var b strings.Builder
	b.WriteString(open)
	long := len(shape) > head+tail
	for i, d := range shape {
		if long && i >= head && i < len(shape)-tail {
			if i == head {
				b.WriteString(sep + "…")
			}
			continue
		}
		if i > 0 {
			b.WriteString(sep)
		}
		fmt.Fprint(&b, d)
	}
	b.WriteString(close)
	if long {
		b.WriteString(" (rank " + strconv.Itoa(len(shape)) + ")")
	}
	return b.String()
}

package shapefmt

import (
	"fmt"
	"slices"
	"testing"
)

func TestFormat(t *testing.T) {
	huge := slices.Repeat([]int{1}, 100000)
	huge[99999] = 7
	tests := []struct {
		shape         []int
		str, tuple    string
		matchesFmtStr bool
	}{
		{nil, "[]", "()", true},
		{[]int{5}, "[5]", "(5)", true},
		{[]int{2, 3, 4}, "[2 3 4]", "(2,3,4)", true},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8}, "[1 2 3 4 5 6 7 8]", "(1,2,3,4,5,6,7,8)", true},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, "[1 2 3 4 5 6 … 8 9] (rank 9)", "(1,2,3,4,5,6,…,8,9) (rank 9)", false},
		{[]int{-1, 0}, "[-1 0]", "(-1,0)", true},
		{huge, "[1 1 1 1 1 1 … 1 7] (rank 100000)", "(1,1,1,1,1,1,…,1,7) (rank 100000)", false},
	}
	if got := String([]int64{2, -3, 1 << 40}); got != "[2 -3 1099511627776]" {
		t.Errorf("String of int64 dimensions = %q", got)
	}
	for _, tt := range tests {
		if got := String(tt.shape); got != tt.str {
			t.Errorf("String(rank %d) = %q, want %q", len(tt.shape), got, tt.str)
		}
		if got := Tuple(tt.shape); got != tt.tuple {
			t.Errorf("Tuple(rank %d) = %q, want %q", len(tt.shape), got, tt.tuple)
		}
		if tt.matchesFmtStr && String(tt.shape) != fmt.Sprint(append([]int{}, tt.shape...)) {
			t.Errorf("String(%v) = %q differs from fmt's %v", tt.shape, String(tt.shape), tt.shape)
		}
	}
}

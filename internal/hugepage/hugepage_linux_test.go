package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestAdviseMarksTheMapping advises a fresh 16 MiB buffer and reads
// /proc/self/smaps: the mapping that holds its middle must be eligible for
// transparent huge pages (THPeligible: 1) where the system's setting lets
// madvise choose, and small buffers must be left alone.
func TestAdviseMarksTheMapping(t *testing.T) {
	thpByMadvise(t)
	p := fresh(4 << 20)
	mid := uintptr(unsafe.Pointer(&p[len(p)/2]))
	if got := eligible(t, mid); got {
		t.Fatal("a fresh heap mapping is already eligible: the test could not tell Advise's effect")
	}
	Advise(p)
	if got := eligible(t, mid); !got {
		t.Error("after Advise the buffer's mapping is not eligible for huge pages")
	}
	p[len(p)/2] = 1
}

// TestAdviseJoinsNeighbours cuts a fresh 16 MiB buffer in two in the
// middle of a huge page and advises the halves together: that page,
// whole inside neither half, must be marked as well.
func TestAdviseJoinsNeighbours(t *testing.T) {
	thpByMadvise(t)
	p := fresh(4 << 20)
	base := uintptr(unsafe.Pointer(&p[0]))
	first := (base + Size - 1) &^ (Size - 1)  // the first whole huge page of p
	cut := int(first-base)/4 + Size/4/2       // halfway through it
	mid := uintptr(unsafe.Pointer(&p[cut-1])) // in that page, in the first half
	if eligible(t, mid) {
		t.Fatal("a fresh heap mapping is already eligible: the test could not tell Advise's effect")
	}
	Advise(p[cut:], p[:cut])
	if !eligible(t, mid) {
		t.Error("the huge page across the two buffers is not eligible after Advise")
	}
	p[cut] = 1
}

// kept holds every buffer fresh returned, so that none is freed and its
// memory, advised, handed to a later test.
var kept [][]float32

// fresh returns a new buffer of n values that no earlier test has used.
func fresh(n int) []float32 {
	p := make([]float32, n)
	kept = append(kept, p)
	return p
}

// thpByMadvise skips the test unless the system's transparent huge page
// setting is madvise, where Advise's effect shows in /proc/self/smaps.
func thpByMadvise(t *testing.T) {
	t.Helper()
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(setting), "[madvise]") {
		t.Skipf("transparent huge pages are not chosen by madvise here (%q, %v): nothing to observe", setting, err)
	}
}

// eligible reports the THPeligible field of the mapping of /proc/self/smaps
// that holds addr.
func eligible(t *testing.T, addr uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && strings.Contains(line[:strings.IndexByte(line, ' ')], "-") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")) == "1"
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping of /proc/self/smaps holds %#x", addr)
	return false
}

//go:build race

package vlp

// raceEnabled reports that the race detector is on: it changes what the
// compiler can keep off the heap, so allocation counts do not hold.
const raceEnabled = true

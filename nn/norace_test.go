//go:build !race

package nn

// raceEnabled reports that the race detector is on: sync.Pool then drops a
// quarter of what it is given, so recycling saves less.
const raceEnabled = false

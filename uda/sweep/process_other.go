//go:build !unix

package sweep

// processExists reports whether a process with id pid exists on this
// host. Where that cannot be asked, every process is taken to exist, so a
// stale lock must be removed by hand.
func processExists(pid int) bool { return true }

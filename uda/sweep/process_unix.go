//go:build unix

package sweep

import (
	"errors"
	"syscall"
)

// processExists reports whether a process with id pid exists on this
// host (signal 0 checks without sending anything).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

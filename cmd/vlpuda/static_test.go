package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoCgo checks that no package of the command uses cgo, so that a
// plain `go build` links statically even where cgo is on. archive/tar
// once brought in os/user, whose cgo lookups linked the C library.
func TestNoCgo(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.CgoFiles}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		pkg, files, _ := strings.Cut(strings.TrimSpace(line), " ")
		if files != "[]" {
			t.Errorf("%s uses cgo (%s)", pkg, files)
		}
	}
}

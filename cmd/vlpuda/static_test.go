package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCgoOnlyThroughKube checks that the only packages of the command that
// use cgo are those that k8s.io/api brings in through uda/sweep/kube (net
// and os/user, whose resolvers link the C library when cgo is on), so that
// CGO_ENABLED=0, as make release builds, is all a static binary takes.
// archive/tar once brought in os/user outside it.
func TestCgoOnlyThroughKube(t *testing.T) {
	cgo := cgoPackages(t, ".")
	viaKube := cgoPackages(t, "../../uda/sweep/kube")
	for pkg, files := range cgo {
		if _, ok := viaKube[pkg]; !ok {
			t.Errorf("%s uses cgo (%s) and does not come from uda/sweep/kube", pkg, files)
		}
	}
}

// cgoPackages returns the packages that pkg depends on which use cgo when
// it is on, with their cgo files.
func cgoPackages(t *testing.T, pkg string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.CgoFiles}}", pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	found := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, files, _ := strings.Cut(strings.TrimSpace(line), " ")
		if files != "[]" {
			found[name] = files
		}
	}
	return found
}

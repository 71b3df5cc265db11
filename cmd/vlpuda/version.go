package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/vlpuda/vlpuda/kernels"
)

// version and commit are stamped by `make release` with
// -ldflags "-X main.version=... -X main.commit=...". Other builds leave
// them empty and the version command reads the build information instead.
var version, commit string

var cmdVersion = &Command{
	UsageLine: "version",
	Short:     "print the version, the build and the kernels' view of this CPU",
	Long: `Version prints vlpuda's version and commit, the Go version that built
it, the OS and architecture, and what the kernels chose on this machine:
the instruction-set path (avx512, avx2, neon or generic; VLPUDA_ISA forces one),
the threads and logical CPUs, the L2 cache size that the SGEMM
blocking's MC is derived from, and the blocking. "vlpuda -version" is
the same.

A release binary (make release) carries the version git describe gave;
other builds report the module version and the VCS revision Go recorded,
"modified" when the tree had uncommitted changes.`,
}

func init() {
	cmdVersion.Run = runVersion
	register(cmdVersion)
}

func runVersion(cmd *Command, args []string) error {
	if len(args) != 0 {
		return errUsage
	}
	info, _ := debug.ReadBuildInfo()
	v := resolveVersion(version, commit, info)
	writeVersion(cmd.Stdout, v, kernels.Info())
	return nil
}

// buildVersion is what a binary knows of its own build.
type buildVersion struct {
	Version  string // a release's git describe, a module version, or "(devel)"
	Commit   string // the VCS revision, "" when unknown
	Modified bool   // built from a tree with uncommitted changes
}

// resolveVersion returns the stamped version and commit where set, and
// what info (nil when the binary has none) records otherwise.
func resolveVersion(stamped, stampedCommit string, info *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: stamped, Commit: stampedCommit}
	if info == nil {
		if v.Version == "" {
			v.Version = "unknown"
		}
		return v
	}
	if v.Version == "" {
		v.Version = info.Main.Version
		if v.Version == "" {
			v.Version = "(devel)"
		}
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && v.Commit == "":
			v.Commit = s.Value
		case s.Key == "vcs.modified" && stamped == "":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// writeVersion prints v and the kernels' view of the machine.
func writeVersion(w io.Writer, v buildVersion, k kernels.CPUInfo) {
	line := "vlpuda " + v.Version
	if v.Commit != "" {
		line += " commit " + v.Commit
	}
	if v.Modified {
		line += " (modified)"
	}
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "go        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	names := make([]string, len(k.Supported))
	for i, isa := range k.Supported {
		names[i] = isa.String()
	}
	fmt.Fprintf(w, "kernels   %s (supported: %s)\n", k.ISA, strings.Join(names, ", "))
	fmt.Fprintf(w, "threads   %d of %d logical CPUs\n", k.Threads, k.CPUs)
	if k.Brand != "" {
		fmt.Fprintf(w, "cpu       %s\n", k.Brand)
	}
	fmt.Fprintf(w, "caches    L2 %s per core; SGEMM blocking KC %d, MC %d (KC is the same on every machine)\n",
		cacheSize(k.L2, k.L2Assumed), k.Blocking.KC, k.Blocking.MC)
}

// cacheSize formats a cache's size, saying when it is assumed.
func cacheSize(n int, assumed bool) string {
	if assumed {
		return byteSize(int64(n)) + " (assumed: cpuid reports none)"
	}
	return byteSize(int64(n))
}

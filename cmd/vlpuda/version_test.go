package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/vlpuda/vlpuda/kernels"
)

func TestVersionCommand(t *testing.T) {
	k := kernels.Info()
	want := []string{
		"vlpuda ",
		runtime.Version(),
		runtime.GOOS + "/" + runtime.GOARCH,
		"kernels   " + k.ISA.String(),
		fmt.Sprintf("threads   %d of %d logical CPUs", k.Threads, k.CPUs),
		fmt.Sprintf("KC %d, MC %d", k.Blocking.KC, k.Blocking.MC),
	}
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := runVlpuda(t, args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, w := range want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	if code, _, stderr := runVlpuda(t, "version", "extra"); code != 2 || !strings.Contains(stderr, "usage: vlpuda version") {
		t.Errorf("version extra: exit %d, stderr %q; want 2 and the usage", code, stderr)
	}
}

func TestResolveVersion(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/vlpuda/vlpuda", Version: "(devel)"}}
		info.Settings = []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
		return info
	}
	tests := []struct {
		name            string
		stamped, commit string
		info            *debug.BuildInfo
		want            buildVersion
	}{
		{"release", "v1.2.0-3-gabc1234-dirty", "abc1234def", vcs("ignored", "true"), buildVersion{"v1.2.0-3-gabc1234-dirty", "abc1234def", false}},
		{"release without build info", "v1.2.0", "", nil, buildVersion{"v1.2.0", "", false}},
		{"go build in a clean clone", "", "", vcs("0123abcd", "false"), buildVersion{"(devel)", "0123abcd", false}},
		{"go build with changes", "", "", vcs("0123abcd", "true"), buildVersion{"(devel)", "0123abcd", true}},
		{"go install module@version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, buildVersion{"v1.3.0", "", false}},
		{"no build info", "", "", nil, buildVersion{"unknown", "", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveVersion(tt.stamped, tt.commit, tt.info); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

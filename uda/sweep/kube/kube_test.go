package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/uda/sweep"
)

// plan returns a plan of n runs whose files lie below root.
func plan(root string, n, threads int) *run.Plan {
	p := &run.Plan{Grid: run.Grid{Model: filepath.Join(root, "m.safetensors"), Data: filepath.Join(root, "data"), Threads: threads}}
	for i := range n {
		p.Runs = append(p.Runs, run.Planned{Index: i})
	}
	return p
}

// TestJob writes the manifest, decodes it with the same typed structs and
// checks the fields the cluster relies on.
func TestJob(t *testing.T) {
	tests := []struct {
		name         string
		runs         int
		parallel     int
		wantParallel int32
	}{
		{"limited", 12, 3, 3},
		{"unlimited", 5, 0, 5},
		{"more than runs", 2, 8, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "sweep")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			c := sweep.Cluster{Vlpuda: "/usr/local/bin/vlpuda", Parallel: tt.parallel, GraceSeconds: 90, MemoryMiB: 3072}
			o := Options{Image: "registry.example/vlpuda:1", Claim: "uda-data", MountPath: root, BackoffLimitPerIndex: 2}
			job, err := Job(dir, plan(root, tt.runs, 4), c, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := Write(dir, job); err != nil {
				t.Fatal(err)
			}
			got, err := Read(filepath.Join(dir, FileJob))
			if err != nil {
				t.Fatal(err)
			}
			s := got.Spec
			if got.Kind != "Job" || got.APIVersion != "batch/v1" {
				t.Errorf("kind %s %s", got.APIVersion, got.Kind)
			}
			if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
				t.Errorf("completionMode %v, want Indexed", s.CompletionMode)
			}
			if s.Completions == nil || *s.Completions != int32(tt.runs) {
				t.Errorf("completions %v, want %d", s.Completions, tt.runs)
			}
			if s.Parallelism == nil || *s.Parallelism != tt.wantParallel {
				t.Errorf("parallelism %v, want %d", s.Parallelism, tt.wantParallel)
			}
			if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 2 {
				t.Errorf("backoffLimitPerIndex %v, want 2", s.BackoffLimitPerIndex)
			}
			if r := s.PodFailurePolicy.Rules; len(r) != 1 || r[0].Action != batchv1.PodFailurePolicyActionIgnore ||
				r[0].OnPodConditions[0].Type != corev1.DisruptionTarget {
				t.Errorf("podFailurePolicy %+v: want evictions ignored", r)
			}
			pod := s.Template.Spec
			if pod.RestartPolicy != corev1.RestartPolicyNever || *pod.TerminationGracePeriodSeconds != 90 {
				t.Errorf("restartPolicy %s, grace %d", pod.RestartPolicy, *pod.TerminationGracePeriodSeconds)
			}
			ctr := pod.Containers[0]
			wantCmd := "/usr/local/bin/vlpuda sweep run " + dir + " -index $(JOB_COMPLETION_INDEX) -q"
			if strings.Join(ctr.Command, " ") != wantCmd || ctr.Image != o.Image {
				t.Errorf("command %q in %s, want %q", ctr.Command, ctr.Image, wantCmd)
			}
			if len(ctr.Env) != 1 || ctr.Env[0].Name != IndexEnv ||
				ctr.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("env %+v: want the completion index", ctr.Env)
			}
			for _, rl := range []corev1.ResourceList{ctr.Resources.Requests, ctr.Resources.Limits} {
				if rl.Cpu().Value() != 4 || rl.Memory().Value() != 3072<<20 {
					t.Errorf("resources cpu %s memory %s, want 4 and 3Gi", rl.Cpu(), rl.Memory())
				}
			}
			if len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "uda-data" ||
				ctr.VolumeMounts[0].MountPath != root || ctr.VolumeMounts[0].Name != pod.Volumes[0].Name {
				t.Errorf("volume %+v mounted %+v, want claim uda-data at %s", pod.Volumes, ctr.VolumeMounts, root)
			}
		})
	}
}

func TestJobBadInput(t *testing.T) {
	root := t.TempDir()
	good := Options{Image: "img", Claim: "c", MountPath: root}
	tests := []struct {
		name string
		dir  string
		o    Options
		want string
	}{
		{"no claim", root, Options{Image: "img", MountPath: root}, "volume claim"},
		{"sweep outside the volume", "/elsewhere/sweep", good, "/elsewhere/sweep is not below"},
		{"sibling with the same prefix", root + "x/sweep", good, "is not below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Job(tt.dir, plan(root, 2, 1), sweep.Cluster{}, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Job: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

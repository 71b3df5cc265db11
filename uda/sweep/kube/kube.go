// Package kube writes a sweep as a Kubernetes Indexed Job: one completion
// index per planned run, each running "vlpuda sweep run DIR -index I".
//
// It is a package of its own because k8s.io/api, whose typed structs make
// the manifest, adds about 10 MB to a binary: only the vlpuda command
// links it, not programs that use package sweep.
package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/uda/run"
	"github.com/vlpuda/vlpuda/uda/sweep"
)

// FileJob is the name of the manifest in a sweep folder.
const FileJob = "sweep-job.yaml"

// IndexEnv is the variable that holds a pod's completion index.
const IndexEnv = "JOB_COMPLETION_INDEX"

// Options says where the Job's pods find vlpuda and the files.
type Options struct {
	// Image is the container image, which holds vlpuda at Cluster.Vlpuda
	// (or on its PATH as "vlpuda").
	Image string
	// Claim is the PersistentVolumeClaim that holds the sweep folder, the
	// model and the data, mounted at MountPath: the paths in the plan
	// must lie below MountPath, as on the machine that planned it.
	Claim, MountPath string
	// BackoffLimitPerIndex is how often a run may fail before its index
	// is given up. Evictions and preemptions (a DisruptionTarget
	// condition) do not count: the run resumes from its checkpoint.
	BackoffLimitPerIndex int32
}

// Job returns the Indexed Job of the plan in dir: a completion per run,
// at most c.Parallel at a time (0: all), each pod with the grid's threads
// as its CPUs, c.MemoryMiB of memory and c.GraceSeconds between SIGTERM
// and SIGKILL.
func Job(dir string, p *run.Plan, c sweep.Cluster, o Options) (*batchv1.Job, error) {
	if o.Image == "" || o.Claim == "" || o.MountPath == "" {
		return nil, errors.New("kube: an image, a volume claim and its mount path are required")
	}
	for _, path := range []string{dir, p.Grid.Model, p.Grid.Config, p.Grid.Data} {
		if path != "" && !within(path, o.MountPath) {
			return nil, fmt.Errorf("kube: %s is not below the volume's mount path %s", path, o.MountPath)
		}
	}
	n := int32(len(p.Runs))
	parallel := n
	if c.Parallel > 0 {
		parallel = min(n, int32(c.Parallel))
	}
	vlpuda := c.Vlpuda
	if vlpuda == "" {
		vlpuda = "vlpuda"
	}
	grace := int64(c.GraceSeconds)
	indexed := batchv1.IndexedCompletion
	backoff := o.BackoffLimitPerIndex
	res := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(p.Grid.Threads), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(c.MemoryMiB)<<20, resource.BinarySI),
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "vlpuda-sweep-", Labels: map[string]string{"app": "vlpuda-sweep"}},
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &n,
			Parallelism:          &parallel,
			BackoffLimitPerIndex: &backoff,
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "vlpuda-sweep"}},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:    "run",
						Image:   o.Image,
						Command: []string{vlpuda, "sweep", "run", dir, "-index", "$(" + IndexEnv + ")", "-q"},
						Env: []corev1.EnvVar{{Name: IndexEnv, ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"},
						}}},
						Resources:    corev1.ResourceRequirements{Requests: res, Limits: res},
						VolumeMounts: []corev1.VolumeMount{{Name: "sweep", MountPath: o.MountPath}},
					}},
					Volumes: []corev1.Volume{{Name: "sweep", VolumeSource: corev1.VolumeSource{
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.Claim},
					}}},
				},
			},
		},
	}, nil
}

// within reports whether path lies in the folder dir.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Write writes the Job as YAML to dir/sweep-job.yaml, replacing an
// earlier one.
func Write(dir string, job *batchv1.Job) error {
	b, err := yaml.Marshal(job)
	if err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, FileJob), b, true)
}

// Read reads a manifest that Write wrote.
func Read(path string) (*batchv1.Job, error) {
	var job batchv1.Job
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &job); err != nil {
		return nil, fmt.Errorf("kube: %s: %w", path, err)
	}
	return &job, nil
}

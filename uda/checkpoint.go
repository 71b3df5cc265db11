package uda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/vlpuda/vlpuda/internal/shapefmt"
	"github.com/vlpuda/vlpuda/kernels"
	"github.com/vlpuda/vlpuda/nn"
	"github.com/vlpuda/vlpuda/tensor"
	"github.com/vlpuda/vlpuda/uda/rst"
	"github.com/vlpuda/vlpuda/vlp"
	"github.com/vlpuda/vlpuda/vlp/safetensors"
)

// Metadata keys of the safetensors files this package writes.
const (
	// MetaTrainer holds a checkpoint's trainer state as JSON.
	MetaTrainer = "vlpuda.trainer"
	// MetaRun holds the state of the run that wrote a checkpoint (sources,
	// log position, epoch results), as the caller gave it.
	MetaRun = "vlpuda.run"
	// MetaTask holds a task file's TaskInfo as JSON, in dense task files
	// and in the metadata of residual files.
	MetaTask = "vlpuda.task"
	// MetaChecksums holds, in checkpoints and dense task files, the
	// CRC-32C (Castagnoli) of every tensor's data and of every other
	// metadata value, as JSON: {"tensors": {name: crc}, "metadata":
	// {key: crc}}.
	MetaChecksums = "vlpuda.crc32c"
)

// Tensor name prefixes in checkpoints and dense task files.
const (
	prefixTower = "visual."
	prefixHead  = "head."
	prefixOptim = "optim."
)

// checkpointVersion is the version of the trainer state in checkpoints:
// 2 added the checksums and the kernel settings.
const checkpointVersion = 2

// trainerState is what a checkpoint stores besides tensors.
type trainerState struct {
	Version int    `json:"version"`
	Iter    int    `json:"iter"`
	Config  Config `json:"config"`
	// Base is the fingerprint of the pre-trained tower the run started
	// from (rst.Fingerprint): a resumed run must start from the same.
	Base    string   `json:"base_fingerprint"`
	Classes []string `json:"classes"`
	// Kernels are the kernel settings the run used.
	Kernels kernelSettings `json:"kernels"`
}

// kernelSettings are the kernel settings a run used, recorded for the
// reader: the thread count and the implementation path. A resume need not
// match them, since the kernels give the same bits under every setting
// (TestTrainDigests).
type kernelSettings struct {
	Threads int    `json:"threads"`
	ISA     string `json:"isa"`
}

// currentKernels returns the kernel settings in use.
func currentKernels() kernelSettings {
	return kernelSettings{Threads: kernels.Threads(), ISA: kernels.Current().String()}
}

// String formats k as "threads=2 isa=avx2".
func (k kernelSettings) String() string { return fmt.Sprintf("threads=%d isa=%s", k.Threads, k.ISA) }

// WriteCheckpoint writes everything the trainer's future depends on to
// path, atomically (the old file stays until the new one is complete): the
// tower's parameters and buffers, the head's, SGD's momentum buffers and
// the iteration count, with run, the caller's own state (such as the
// sources' states), stored as is. The pre-trained weights are not stored:
// a resumed run rebuilds the trainer from the same base model. It fails,
// leaving path alone, if a weight is not finite.
func (t *Trainer) WriteCheckpoint(path string, run []byte) error {
	if err := t.checkFinite(); err != nil {
		return fmt.Errorf("%w; checkpoint %s not written", err, path)
	}
	st := trainerState{Version: checkpointVersion, Iter: t.iter, Config: t.cfg, Base: t.baseFingerprint().String(),
		Classes: t.Teacher.Classes, Kernels: currentKernels()}
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("uda: checkpoint: %w", err)
	}
	tensors := stateTensors(prefixTower, t.Model.Visual)
	tensors = append(tensors, stateTensors(prefixHead, t.Head)...)
	for k, buf := range t.Optimizer.State() {
		if buf != nil {
			tensors = append(tensors, safetensors.FromFloat32(prefixOptim+strconv.Itoa(k), []int{len(buf)}, buf))
		}
	}
	meta := map[string]string{"format": "pt", MetaTrainer: string(js), MetaRun: string(run)}
	if err := addChecksums(tensors, meta); err != nil {
		return fmt.Errorf("uda: checkpoint: %w", err)
	}
	if err := safetensors.ReplaceFile(path, tensors, meta); err != nil {
		return fmt.Errorf("uda: checkpoint: %w", err)
	}
	return nil
}

// ReadCheckpoint restores the state WriteCheckpoint stored at path into a
// trainer built as the one that wrote it (same base model, classes and
// configuration; only Epochs may differ, to extend a run) and running
// under the same kernel settings (thread count and path), and returns the
// caller's run state. It verifies every checksum first, and refuses a
// checkpoint without them (one of an earlier vlpuda): its weights could
// not be trusted.
func (t *Trainer) ReadCheckpoint(path string) (run []byte, err error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("uda: checkpoint: %w", err)
	}
	if err := verifyChecksums(f, true); err != nil {
		return nil, fmt.Errorf("uda: checkpoint %s: %w", path, err)
	}
	var st trainerState
	if err := json.Unmarshal([]byte(f.Metadata[MetaTrainer]), &st); err != nil {
		return nil, fmt.Errorf("uda: checkpoint %s: no trainer state: %w", path, err)
	}
	if st.Version != checkpointVersion {
		return nil, fmt.Errorf("uda: checkpoint %s: version %d, want %d", path, st.Version, checkpointVersion)
	}
	if fp := t.baseFingerprint().String(); st.Base != fp {
		return nil, fmt.Errorf("uda: checkpoint %s was made from a different base model (image tower %s, this one %s)", path, st.Base, fp)
	}
	if !slices.Equal(st.Classes, t.Teacher.Classes) {
		return nil, fmt.Errorf("uda: checkpoint %s has classes %q, this run %q", path, st.Classes, t.Teacher.Classes)
	}
	if diff := configDiff(st.Config, t.cfg); len(diff) > 0 {
		return nil, fmt.Errorf("uda: checkpoint %s was made with a different configuration: %s", path, strings.Join(diff, "; "))
	}
	tower, head, optim := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}, map[int][]float32{}
	for _, x := range f.Tensors {
		switch name := x.Name; {
		case strings.HasPrefix(name, prefixTower):
			tower[strings.TrimPrefix(name, prefixTower)] = tensor.New(x.Float32(), x.Shape...)
		case strings.HasPrefix(name, prefixHead):
			head[strings.TrimPrefix(name, prefixHead)] = tensor.New(x.Float32(), x.Shape...)
		case strings.HasPrefix(name, prefixOptim):
			k, err := strconv.Atoi(strings.TrimPrefix(name, prefixOptim))
			if err != nil || k < 0 {
				return nil, fmt.Errorf("uda: checkpoint %s: unexpected tensor %q", path, name)
			}
			optim[k] = x.Float32()
		default:
			return nil, fmt.Errorf("uda: checkpoint %s: unexpected tensor %q", path, name)
		}
	}
	state := make([][]float32, len(t.Optimizer.State()))
	for k, buf := range optim {
		if k >= len(state) {
			return nil, fmt.Errorf("uda: checkpoint %s: momentum buffer %d of %d parameters", path, k, len(state))
		}
		state[k] = buf
	}
	// Check everything before changing anything.
	if err := checkStateDict(t.Model.Visual, tower); err != nil {
		return nil, fmt.Errorf("uda: checkpoint %s: tower: %w", path, err)
	}
	if err := checkStateDict(t.Head, head); err != nil {
		return nil, fmt.Errorf("uda: checkpoint %s: head: %w", path, err)
	}
	old := t.Optimizer.State()
	if err := t.Optimizer.SetState(state); err != nil {
		return nil, fmt.Errorf("uda: checkpoint %s: %w", path, err)
	}
	if err := nn.LoadStateDict(t.Model.Visual, tower, false); err != nil {
		t.Optimizer.SetState(old)
		return nil, fmt.Errorf("uda: checkpoint %s: tower: %w", path, err)
	}
	if err := nn.LoadStateDict(t.Head, head, false); err != nil {
		panic("uda: ReadCheckpoint: head state dict passed the check but did not load: " + err.Error())
	}
	t.iter = st.Iter
	if t.Projector != nil {
		t.nonZero = t.Projector.Density().NonZero
	}
	return []byte(f.Metadata[MetaRun]), nil
}

// checkStateDict reports whether values holds exactly m's tensors with
// their shapes, as nn.LoadStateDict requires, without loading them.
func checkStateDict(m nn.Module, values map[string]*tensor.Tensor) error {
	sd := nn.StateDict(m)
	for name, v := range values {
		dst, ok := sd[name]
		if !ok {
			return fmt.Errorf("unexpected tensor %q", name)
		}
		if !slices.Equal(dst.Shape(), v.Shape()) {
			return fmt.Errorf("tensor %q has shape %s, want %s", name, shapefmt.String(v.Shape()), shapefmt.String(dst.Shape()))
		}
	}
	for name := range sd {
		if _, ok := values[name]; !ok {
			return fmt.Errorf("tensor %q is missing", name)
		}
	}
	return nil
}

// configDiff lists the settings in which a differs from b, ignoring
// Epochs, as "name a ≠ b".
func configDiff(a, b Config) []string {
	a.Epochs, b.Epochs = 0, 0
	var out []string
	var walk func(prefix string, x, y reflect.Value)
	walk = func(prefix string, x, y reflect.Value) {
		for i := range x.NumField() {
			f := x.Type().Field(i)
			name := prefix + f.Name
			if f.Type.Kind() == reflect.Struct {
				walk(name+".", x.Field(i), y.Field(i))
				continue
			}
			if xv, yv := x.Field(i).Interface(), y.Field(i).Interface(); xv != yv {
				out = append(out, fmt.Sprintf("%s %v ≠ %v", name, xv, yv))
			}
		}
	}
	walk("", reflect.ValueOf(a), reflect.ValueOf(b))
	return out
}

// baseFingerprint returns the fingerprint of the pre-trained tower.
func (t *Trainer) baseFingerprint() rst.Fingerprint {
	if t.Projector != nil {
		return t.Projector.Fingerprint()
	}
	return t.base
}

// stateTensors returns m's parameters and buffers as float32 safetensors
// tensors named prefix + state-dict name.
func stateTensors(prefix string, m nn.Module) []safetensors.Tensor {
	sd := nn.StateDict(m)
	out := make([]safetensors.Tensor, 0, len(sd))
	for name, x := range sd {
		out = append(out, safetensors.FromFloat32(prefix+name, x.Shape(), x.Values()))
	}
	return out
}

// TaskInfo describes an adapted task; task files store it, so that a task
// can be evaluated without knowing how it was trained.
type TaskInfo struct {
	// Classes are the class names in label order, as the dataset names
	// them (folder names).
	Classes []string `json:"classes"`
	// Template and LowerNames made the teacher's prompts.
	Template   string `json:"template"`
	LowerNames bool   `json:"lower_names,omitempty"`
	// Benchmark names the data recipe (augment.ForBenchmark) whose test
	// transform the task is evaluated with.
	Benchmark string `json:"benchmark"`
	Method    string `json:"method"`
	// Epoch and Iter say when the weights were taken.
	Epoch int `json:"epoch"`
	Iter  int `json:"iter"`
	// Meta holds free-form facts: data set, domains, model file.
	Meta map[string]string `json:"meta,omitempty"`
}

// StoredTask describes a task file.
type StoredTask struct {
	Path string `json:"path"`
	// Format is "rst" (a residual file over the base model) or "dense" (a
	// safetensors file of the whole tower and head).
	Format string `json:"format"`
	Bytes  int64  `json:"bytes"`
	// Params counts the stored values: tower non-zeros (RST) or tower
	// elements (dense), plus every head tensor element.
	Params int `json:"params"`
	// TowerNumel is the tower's size. For RST, TowerNonZero is the number
	// of its elements that differ from the base model and Density their
	// share; a dense file stores every element.
	TowerNumel   int     `json:"tower_numel"`
	TowerNonZero int     `json:"tower_nonzero,omitempty"`
	Density      float64 `json:"tower_density,omitempty"`
	// BytesPerNonZero is what a stored tower non-zero costs, index and
	// value (RST only).
	BytesPerNonZero float64 `json:"bytes_per_nonzero,omitempty"`
}

// WriteTask writes the trainer's current task model to path: with RST, a
// residual file (package rst, Float32 encoding: loading is bit-exact)
// holding the changed tower elements and the head as dense tensors
// ("head.0.weight", …); without, a safetensors file of the tower's and the
// head's state dicts ("visual.…", "head.…"). Both carry info. The file
// appears complete or not at all; an existing file is replaced only with
// overwrite.
func (t *Trainer) WriteTask(path string, info TaskInfo, overwrite bool) (*StoredTask, error) {
	if err := t.checkFinite(); err != nil {
		return nil, fmt.Errorf("%w; task %s not written", err, path)
	}
	js, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("uda: task: %w", err)
	}
	headTensors := nn.StateDict(t.Head)
	headNumel := 0
	for _, x := range headTensors {
		headNumel += x.Numel()
	}
	s := &StoredTask{Path: path}
	if t.Projector != nil {
		var dense []nn.Named
		for name, x := range headTensors {
			dense = append(dense, nn.Named{Name: prefixHead + name, Tensor: x})
		}
		r := t.Projector.Residual(rst.Float32, rst.DenseTensors(dense), map[string]string{MetaTask: string(js)})
		if err := rst.WriteFile(path, r, overwrite); err != nil {
			return nil, err
		}
		s.Format, s.TowerNonZero = "rst", r.NonZero()
	} else {
		tensors := stateTensors(prefixTower, t.Model.Visual)
		tensors = append(tensors, stateTensors(prefixHead, t.Head)...)
		meta := map[string]string{"format": "pt", MetaTask: string(js), "vlpuda.base_fingerprint": t.base.String()}
		if err := addChecksums(tensors, meta); err != nil {
			return nil, fmt.Errorf("uda: task: %w", err)
		}
		write := safetensors.WriteFile
		if overwrite {
			write = safetensors.ReplaceFile
		}
		if err := write(path, tensors, meta); err != nil {
			return nil, fmt.Errorf("uda: task: %w", err)
		}
		s.Format = "dense"
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("uda: task: %w", err)
	}
	s.Bytes = st.Size()
	s.TowerNumel = nn.CountParams(t.Model.Visual)
	if s.Format == "rst" {
		s.Density = float64(s.TowerNonZero) / float64(s.TowerNumel)
		s.Params = s.TowerNonZero + headNumel
		if sum, err := rst.Inspect(path); err == nil {
			s.BytesPerNonZero = sum.BytesPerNonZero
		}
	} else {
		s.Params = s.TowerNumel + headNumel
	}
	return s, nil
}

// LoadedTask is a stored task loaded over a base model.
type LoadedTask struct {
	Head *Head
	Info TaskInfo
	// Base is the base model's tower with the residual applied, for RST
	// task files (Revert restores the base weights); nil for dense ones.
	Base *rst.Base
}

// LoadTask reads the task file at path (either format of WriteTask) and
// writes its tower weights into m, which must hold the base model the task
// was adapted from: a residual is applied after checking the base
// fingerprint (bit-exact for Float32 residuals), a dense file replaces the
// tower. It returns the task's head, in evaluation mode, and its info.
func LoadTask(m *vlp.CLIP, path string) (*LoadedTask, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("uda: task: %w", err)
	}
	magic := make([]byte, 4)
	n, err := io.ReadFull(f, magic)
	f.Close()
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		size := "empty file"
		if n > 0 {
			size = fmt.Sprintf("%d-byte file", n)
		}
		return nil, fmt.Errorf("uda: task %s: %s, not a task file (an RST residual or a safetensors checkpoint)", path, size)
	case err != nil:
		return nil, fmt.Errorf("uda: task %s: %w", path, err)
	}
	if bytes.Equal(magic, []byte("VLPR")) {
		return loadResidualTask(m, path)
	}
	return loadDenseTask(m, path)
}

func loadResidualTask(m *vlp.CLIP, path string) (*LoadedTask, error) {
	r, err := rst.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info, err := parseTaskInfo(path, r.Meta[MetaTask])
	if err != nil {
		return nil, err
	}
	head := map[string]*tensor.Tensor{}
	for name, x := range r.DenseStateDict() {
		if !strings.HasPrefix(name, prefixHead) {
			return nil, fmt.Errorf("uda: task %s: unexpected dense tensor %q", path, name)
		}
		head[strings.TrimPrefix(name, prefixHead)] = x
	}
	h, err := loadHead(path, head)
	if err != nil {
		return nil, err
	}
	base := rst.NewBase(rst.ImageTower(m))
	if err := base.Apply(r); err != nil {
		return nil, fmt.Errorf("uda: task %s: %w", path, err)
	}
	return &LoadedTask{Head: h, Info: info, Base: base}, nil
}

func loadDenseTask(m *vlp.CLIP, path string) (*LoadedTask, error) {
	f, err := readDenseTask(path)
	if err != nil {
		return nil, err
	}
	info, err := parseTaskInfo(path, f.Metadata[MetaTask])
	if err != nil {
		return nil, err
	}
	tower, head := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for _, x := range f.Tensors {
		switch {
		case strings.HasPrefix(x.Name, prefixTower):
			tower[strings.TrimPrefix(x.Name, prefixTower)] = tensor.New(x.Float32(), x.Shape...)
		case strings.HasPrefix(x.Name, prefixHead):
			head[strings.TrimPrefix(x.Name, prefixHead)] = tensor.New(x.Float32(), x.Shape...)
		default:
			return nil, fmt.Errorf("uda: task %s: unexpected tensor %q", path, x.Name)
		}
	}
	h, err := loadHead(path, head)
	if err != nil {
		return nil, err
	}
	if err := checkStateDict(m.Visual, tower); err != nil {
		return nil, fmt.Errorf("uda: task %s does not fit this model's image tower: %w", path, err)
	}
	if err := nn.LoadStateDict(m.Visual, tower, false); err != nil {
		return nil, fmt.Errorf("uda: task %s: %w", path, err)
	}
	return &LoadedTask{Head: h, Info: info}, nil
}

// readDenseTask reads a dense task file and verifies its checksums, if it
// has them (files of earlier versions have none).
func readDenseTask(path string) (*safetensors.File, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("uda: task: %w", err)
	}
	if err := verifyChecksums(f, false); err != nil {
		return nil, fmt.Errorf("uda: task %s: %w", path, err)
	}
	return f, nil
}

// VerifyTask reports whether the task file at path is intact: a residual
// passes its CRC-32C, a dense file its per-tensor checksums. It does not
// check that the task fits a model.
func VerifyTask(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("uda: task: %w", err)
	}
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	f.Close()
	if err != nil {
		return fmt.Errorf("uda: task %s: %w", path, err)
	}
	if bytes.Equal(magic, []byte("VLPR")) {
		_, err = rst.ReadFile(path)
		return err
	}
	_, err = readDenseTask(path)
	return err
}

// parseTaskInfo decodes a task file's TaskInfo.
func parseTaskInfo(path, js string) (TaskInfo, error) {
	var info TaskInfo
	if js == "" {
		return info, fmt.Errorf("uda: task %s: no %s metadata (not a task file)", path, MetaTask)
	}
	if err := json.Unmarshal([]byte(js), &info); err != nil {
		return info, fmt.Errorf("uda: task %s: metadata %s: %w", path, MetaTask, err)
	}
	if len(info.Classes) == 0 {
		return info, fmt.Errorf("uda: task %s: no classes in the metadata", path)
	}
	return info, nil
}

// loadHead builds a head from its state dict, its sizes taken from the
// Linear weight (C, D).
func loadHead(path string, sd map[string]*tensor.Tensor) (*Head, error) {
	w, ok := sd["2.weight"]
	if !ok || w.NDim() != 2 {
		return nil, fmt.Errorf("uda: task %s: no head weight 2.weight (C, D)", path)
	}
	h := NewHead(tensor.NewRNG(0), w.Dim(1), w.Dim(0))
	if err := nn.LoadStateDict(h, sd, false); err != nil {
		return nil, fmt.Errorf("uda: task %s: head: %w", path, err)
	}
	nn.SetTraining(h, false)
	return h, nil
}

// castagnoli is the CRC-32C table, the checksum of .vlpr files too.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksums is the value of MetaChecksums.
type checksums struct {
	Tensors  map[string]uint32 `json:"tensors"`
	Metadata map[string]uint32 `json:"metadata"`
}

// addChecksums stores in meta, under MetaChecksums, the CRC-32C of every
// tensor's data and of every value already in meta.
func addChecksums(tensors []safetensors.Tensor, meta map[string]string) error {
	sums := checksums{Tensors: map[string]uint32{}, Metadata: map[string]uint32{}}
	for _, x := range tensors {
		sums.Tensors[x.Name] = crc32.Checksum(x.Data, castagnoli)
	}
	for k, v := range meta {
		sums.Metadata[k] = crc32.Checksum([]byte(v), castagnoli)
	}
	js, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	meta[MetaChecksums] = string(js)
	return nil
}

// verifyChecksums checks f against its MetaChecksums, naming the first
// tensor or metadata value that fails. A file without checksums fails if
// required is set and passes otherwise.
func verifyChecksums(f *safetensors.File, required bool) error {
	js, ok := f.Metadata[MetaChecksums]
	if !ok {
		if required {
			return fmt.Errorf("no checksums (%s): it was written by an earlier vlpuda, or not by vlpuda, and cannot be verified; start the run over", MetaChecksums)
		}
		return nil
	}
	var sums checksums
	if err := json.Unmarshal([]byte(js), &sums); err != nil {
		return fmt.Errorf("checksums %s: %w (the file is corrupt)", MetaChecksums, err)
	}
	if len(sums.Tensors) != len(f.Tensors) {
		return fmt.Errorf("%d tensors, checksums for %d (the file is corrupt)", len(f.Tensors), len(sums.Tensors))
	}
	for _, x := range f.Tensors {
		want, ok := sums.Tensors[x.Name]
		if !ok {
			return fmt.Errorf("tensor %q has no checksum (the file is corrupt)", x.Name)
		}
		if got := crc32.Checksum(x.Data, castagnoli); got != want {
			return fmt.Errorf("tensor %q: CRC-32C %08x, the file says %08x (the file is corrupt)", x.Name, got, want)
		}
	}
	if len(sums.Metadata) != len(f.Metadata)-1 {
		return fmt.Errorf("%d metadata values, checksums for %d (the file is corrupt)", len(f.Metadata)-1, len(sums.Metadata))
	}
	for k, want := range sums.Metadata {
		v, ok := f.Metadata[k]
		if !ok {
			return fmt.Errorf("metadata %q is missing (the file is corrupt)", k)
		}
		if got := crc32.Checksum([]byte(v), castagnoli); got != want {
			return fmt.Errorf("metadata %q: CRC-32C %08x, the file says %08x (the file is corrupt)", k, got, want)
		}
	}
	return nil
}

package run

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vlpuda/vlpuda/uda"
)

// The log of a run (log.jsonl in its output folder) holds one JSON object
// per line: an IterRecord every Config.LogEvery iterations and at the end
// of each epoch, and an EpochRecord after each evaluation, told apart by
// their "type". Only the fields TimingFields lists depend on the machine's
// speed; the rest of a line is the same in every run with the same inputs,
// seed and thread count, resumed or not.

// TimingFields are the log fields that measure time.
var TimingFields = []string{"images_per_s", "seconds", "eval_seconds"}

// IterRecord is a log line about training iterations: the mean of each
// loss term and statistic over the iterations since the previous record,
// and the learning rates, λ and RST density of the last of them.
type IterRecord struct {
	Type  string `json:"type"` // "iter"
	Iter  int    `json:"iter"` // iterations done
	Epoch int    `json:"epoch"`
	// Window is the number of iterations the means cover.
	Window int     `json:"window"`
	LR     float64 `json:"lr"`
	HeadLR float64 `json:"head_lr"`
	// Loss maps each term's name (Loss.Terms) to its mean.
	Loss   map[string]float64 `json:"loss"`
	Lambda float64            `json:"lambda"`
	// AlphaMean is present for CMKD, the mask rates for FixMatch.
	AlphaMean       *float64 `json:"alpha_mean,omitempty"`
	MaskRateHead    *float64 `json:"mask_rate_head,omitempty"`
	MaskRateTeacher *float64 `json:"mask_rate_teacher,omitempty"`
	// RSTNonZero and RSTDensity count the tower elements that differ from
	// the pre-trained weights (RST only).
	RSTNonZero *int     `json:"rst_nonzero,omitempty"`
	RSTDensity *float64 `json:"rst_density,omitempty"`
	// ImagesPerSecond is the training throughput over the window.
	ImagesPerSecond float64 `json:"images_per_s"`
}

// EpochRecord is a log line about the evaluation after an epoch.
type EpochRecord struct {
	Type         string  `json:"type"` // "epoch"
	Epoch        int     `json:"epoch"`
	Iter         int     `json:"iter"`
	Top1         float64 `json:"top1"`
	MeanPerClass float64 `json:"mean_per_class"`
	// BestEpoch and Best are the best epoch so far by the run's metric,
	// selected with target labels (oracle), and its value.
	BestEpoch int     `json:"best_epoch"`
	Best      float64 `json:"best"`
	// PerClass holds each class's accuracy, in label order.
	PerClass []float64 `json:"per_class"`
	// Seconds is the time since the run (or its resumption) started and
	// EvalSeconds the time the evaluation took.
	Seconds     float64 `json:"seconds"`
	EvalSeconds float64 `json:"eval_seconds"`
}

// window accumulates step statistics between two IterRecords. It is part
// of a checkpoint, so a resumed run writes the same records.
type window struct {
	N           int       `json:"n"`
	Images      int       `json:"images"`
	Names       []string  `json:"names"`
	Sums        []float64 `json:"sums"`
	Alpha       float64   `json:"alpha"`
	MaskHead    float64   `json:"mask_head"`
	MaskTeacher float64   `json:"mask_teacher"`
	start       time.Time // of the window, or of the resumption
}

// add accumulates one step.
func (w *window) add(s uda.StepStats) {
	if len(w.Names) != len(s.Terms) {
		w.Names, w.Sums = nil, nil
		for _, t := range s.Terms {
			w.Names = append(w.Names, t.Name)
			w.Sums = append(w.Sums, 0)
		}
	}
	for i, t := range s.Terms {
		w.Sums[i] += t.Value
	}
	w.N++
	w.Images += s.Images
	w.Alpha += s.AlphaMean
	w.MaskHead += s.MaskRateHead
	w.MaskTeacher += s.MaskRateTeacher
}

// record returns the IterRecord of the window and empties it.
func (w *window) record(s uda.StepStats, epoch int, obj uda.Objective, rstNumel int) IterRecord {
	n := float64(w.N)
	r := IterRecord{
		Type: "iter", Iter: s.Iter, Epoch: epoch, Window: w.N,
		LR: s.LR, HeadLR: s.HeadLR, Lambda: s.Lambda, Loss: map[string]float64{},
	}
	for i, name := range w.Names {
		r.Loss[name] = w.Sums[i] / n
	}
	if obj.Method.Distills() {
		a := w.Alpha / n
		r.AlphaMean = &a
	}
	if obj.Method.UsesStrongView() {
		h, t := w.MaskHead/n, w.MaskTeacher/n
		r.MaskRateHead, r.MaskRateTeacher = &h, &t
	}
	if rstNumel > 0 {
		nz, d := s.NonZero, float64(s.NonZero)/float64(rstNumel)
		r.RSTNonZero, r.RSTDensity = &nz, &d
	}
	if sec := time.Since(w.start).Seconds(); sec > 0 {
		r.ImagesPerSecond = float64(w.Images) / sec
	}
	*w = window{start: time.Now()}
	return r
}

// logWriter appends JSON lines to a run's log file.
type logWriter struct {
	f   *os.File
	buf *bufio.Writer
}

// openLog opens the log at path for appending after cutting it to offset
// bytes, the length it had when the checkpoint being resumed was written
// (0 for a new run). Lines written after that checkpoint are rewritten by
// the resumed run.
func openLog(path string, offset int64) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("uda: log: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() < offset {
		err = fmt.Errorf("%s has %d bytes, shorter than the %d the checkpoint recorded", path, st.Size(), offset)
	}
	if err == nil {
		err = f.Truncate(offset)
	}
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("uda: log: %w", err)
	}
	return &logWriter{f: f, buf: bufio.NewWriter(f)}, nil
}

// write appends v as one line.
func (l *logWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("uda: log: %w", err)
	}
	if _, err := l.buf.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("uda: log: %w", err)
	}
	return nil
}

// sync writes out the buffered lines, flushes them to disk and returns the
// log's length.
func (l *logWriter) sync() (int64, error) {
	if err := l.buf.Flush(); err != nil {
		return 0, fmt.Errorf("uda: log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return 0, fmt.Errorf("uda: log: %w", err)
	}
	off, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, fmt.Errorf("uda: log: %w", err)
	}
	return off, nil
}

// close flushes and closes the log; closing it again does nothing.
func (l *logWriter) close() error {
	if l.f == nil {
		return nil
	}
	err := l.buf.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("uda: log: %w", err)
	}
	return nil
}

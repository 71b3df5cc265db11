package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vlpuda/vlpuda/internal/barchart"
	"github.com/vlpuda/vlpuda/internal/seedstat"
)

// Report is the outcome of Run: every run's result and what they were run
// with. results.json holds it.
type Report struct {
	Settings           Settings `json:"settings"`
	Teacher            string   `json:"teacher"`
	TeacherFingerprint string   `json:"teacher_fingerprint"`
	// TeacherParams is the teacher's number of parameters, both towers
	// (0 if unknown).
	TeacherParams int      `json:"teacher_params,omitempty"`
	Tasks         []Task   `json:"tasks"`
	Methods       []Method `json:"methods"`
	Seeds         []uint64 `json:"seeds"`
	// Notes are the messages Run gave, such as a fallback task.
	Notes []string    `json:"notes,omitempty"`
	Runs  []RunResult `json:"runs"`
	// Seconds is the wall time of the call that finished the demo.
	Seconds float64 `json:"seconds"`
}

// Cell is one method on one task (or the average over the tasks), over
// the seeds: the mean, and the standard deviation over seeds (sample,
// n−1; 0 for one seed).
type Cell struct {
	AccuracyLast    float64   `json:"accuracy_last"`
	AccuracyLastStd float64   `json:"accuracy_last_std"`
	AccuracyBest    float64   `json:"accuracy_best"`
	StoredParams    float64   `json:"stored_params"`
	StoredBytes     float64   `json:"stored_bytes"`
	Density         float64   `json:"tower_density,omitempty"`
	Seeds           []float64 `json:"accuracy_last_per_seed,omitempty"`
}

// Cell returns method m on task t over the seeds; ok is false if there is
// no such run.
func (r *Report) Cell(t Task, m Method) (c Cell, ok bool) {
	var last, best, params, bytes, density []float64
	for _, run := range r.Runs {
		if run.Task == t && run.Method == m {
			last = append(last, run.AccuracyLast)
			best = append(best, run.AccuracyBest)
			params = append(params, float64(run.StoredParams))
			bytes = append(bytes, float64(run.StoredBytes))
			density = append(density, run.Density)
		}
	}
	if len(last) == 0 {
		return c, false
	}
	c = Cell{
		AccuracyLast: seedstat.Mean(last), AccuracyLastStd: seedstat.Std(last), AccuracyBest: seedstat.Mean(best),
		StoredParams: seedstat.Mean(params), StoredBytes: seedstat.Mean(bytes), Density: seedstat.Mean(density),
	}
	if len(last) > 1 {
		c.Seeds = last
	}
	return c, true
}

// Average returns method m averaged over the tasks, as the paper's "Avg"
// column: per seed the mean over tasks, then mean and deviation over
// seeds. Stored parameters and bytes are per task.
func (r *Report) Average(m Method) Cell {
	var cells []Cell
	for _, t := range r.Tasks {
		if c, ok := r.Cell(t, m); ok {
			cells = append(cells, c)
		}
	}
	var a Cell
	if len(cells) == 0 {
		return a
	}
	perSeed := map[uint64][]float64{}
	for _, run := range r.Runs {
		if run.Method == m {
			perSeed[run.Seed] = append(perSeed[run.Seed], run.AccuracyLast)
		}
	}
	var seedMeans []float64
	for _, s := range r.Seeds {
		if v := perSeed[s]; len(v) > 0 {
			seedMeans = append(seedMeans, seedstat.Mean(v))
		}
	}
	for _, c := range cells {
		a.AccuracyLast += c.AccuracyLast / float64(len(cells))
		a.AccuracyBest += c.AccuracyBest / float64(len(cells))
		a.StoredParams += c.StoredParams / float64(len(cells))
		a.StoredBytes += c.StoredBytes / float64(len(cells))
		a.Density += c.Density / float64(len(cells))
	}
	a.AccuracyLastStd = seedstat.Std(seedMeans)
	if len(seedMeans) > 1 {
		a.Seeds = seedMeans
	}
	return a
}

// Label returns method m's name in the table, the chart and the JSON
// summary, as the paper writes it, saying what the demo runs: the
// zero-shot row is the mini-CLIP teacher (with its size), not CLIP, and
// each RST row gives its τ and whether a cap decides what is stored.
func (r *Report) Label(m Method) string {
	s := r.Settings
	switch m {
	case ZeroShot:
		if r.TeacherParams > 0 {
			return fmt.Sprintf("mini-CLIP zero-shot (%.1f M)", float64(r.TeacherParams)/1e6)
		}
		return "mini-CLIP zero-shot"
	case SourceOnly:
		return "Source only"
	case CMKD:
		return "CMKD"
	case CMKDRST:
		if s.MaxDensity > 0 {
			return fmt.Sprintf("CMKD+RST (τ %s, top %s %%/step cap)", shortFloat(s.Tau), shortFloat(100*s.MaxDensity))
		}
		return fmt.Sprintf("CMKD+RST (τ %s, no cap)", shortFloat(s.Tau))
	case CMKDRSTPaper:
		return fmt.Sprintf("CMKD+RST (paper: τ %s only)", shortFloat(s.PaperTau))
	case CMKDFixMatch:
		return "CMKD+FixMatch"
	}
	return string(m)
}

// shortFloat formats v in the fewest digits, below 0.001 with an exponent
// written as 1e-6 rather than 1e-06.
func shortFloat(v float64) string {
	format := byte('g')
	if v != 0 && math.Abs(v) < 1e-3 {
		format = 'e'
	}
	f := strconv.FormatFloat(v, format, -1, 64)
	if mant, exp, ok := strings.Cut(f, "e"); ok {
		sign := exp[:1]
		exp = strings.TrimLeft(exp[1:], "0")
		if sign == "+" {
			sign = ""
		}
		return mant + "e" + sign + exp
	}
	return f
}

// WriteTable prints the report in the paper's layout: one row per method,
// the last-iteration target accuracy (%) per task and their average, and
// what each task stores beyond the shared teacher (parameters and bytes,
// per task). With several seeds each accuracy is mean ± standard
// deviation.
func (r *Report) WriteTable(w io.Writer) error {
	seeds := len(r.Seeds) > 1
	acc := func(c Cell) string {
		if seeds {
			return fmt.Sprintf("%.1f±%.1f", 100*c.AccuracyLast, 100*c.AccuracyLastStd)
		}
		return fmt.Sprintf("%.1f", 100*c.AccuracyLast)
	}
	fmt.Fprintf(w, "Target accuracy (%%) after the last iteration, %d iterations, %s\n",
		r.Settings.Iterations, seedWords(r.Seeds))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"Method"}
	for _, t := range r.Tasks {
		head = append(head, t.Label())
	}
	head = append(head, "Avg", "params/task", "bytes/task", "")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, m := range r.Methods {
		row := []string{r.Label(m)}
		for _, t := range r.Tasks {
			c, _ := r.Cell(t, m)
			row = append(row, acc(c))
		}
		a := r.Average(m)
		params := fmt.Sprintf("%.0f", a.StoredParams)
		if (m == CMKDRST || m == CMKDRSTPaper) && len(r.Runs) > 0 {
			params += fmt.Sprintf(" (%.2f %% of the tower)", 100*a.Density)
		}
		row = append(row, acc(a), params, byteSize(a.StoredBytes), "")
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Best epoch (selected with target labels, an oracle):")
	for _, m := range r.Methods {
		if m != ZeroShot {
			fmt.Fprintf(w, " %s %.1f", r.Label(m), 100*r.Average(m).AccuracyBest)
		}
	}
	_, err := fmt.Fprintln(w)
	for _, n := range r.Notes {
		if err == nil {
			_, err = fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	return err
}

func seedWords(seeds []uint64) string {
	if len(seeds) == 1 {
		return fmt.Sprintf("seed %d", seeds[0])
	}
	return fmt.Sprintf("mean ± std over %d seeds", len(seeds))
}

// byteSize formats n bytes with a binary unit.
func byteSize(n float64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}

// Summary is the JSON form of the table: per task key (Task.String) and
// method, a Cell, and the average over the tasks under "average"; Labels
// gives each method's row name (Report.Label).
type Summary struct {
	Iterations int                        `json:"iterations"`
	Seeds      []uint64                   `json:"seeds"`
	Tasks      []string                   `json:"tasks"`
	Methods    []Method                   `json:"methods"`
	Labels     map[Method]string          `json:"labels"`
	Results    map[string]map[Method]Cell `json:"results"`
	Notes      []string                   `json:"notes,omitempty"`
	Settings   Settings                   `json:"settings"`
}

// Summary returns the table as a Summary.
func (r *Report) Summary() Summary {
	s := Summary{Iterations: r.Settings.Iterations, Seeds: r.Seeds, Methods: r.Methods, Notes: r.Notes,
		Settings: r.Settings, Results: map[string]map[Method]Cell{}, Labels: map[Method]string{}}
	for _, m := range r.Methods {
		s.Labels[m] = r.Label(m)
	}
	for _, t := range r.Tasks {
		s.Tasks = append(s.Tasks, t.String())
		s.Results[t.String()] = map[Method]Cell{}
		for _, m := range r.Methods {
			if c, ok := r.Cell(t, m); ok {
				s.Results[t.String()][m] = c
			}
		}
	}
	s.Results["average"] = map[Method]Cell{}
	for _, m := range r.Methods {
		s.Results["average"][m] = r.Average(m)
	}
	return s
}

// write stores the report and its chart in out.
func (r *Report) write(out string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: results: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, r.Chart()); err != nil {
		return fmt.Errorf("demo: chart: %w", err)
	}
	// The chart first: results.json marks the demo finished.
	if err := writeFileAtomic(filepath.Join(out, FileChart), buf.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(out, FileResults), append(js, '\n'))
}

// chartLegendWidth is the width of the chart's legend, which holds the
// longest label (Report.Label) at 7 pixels a character after its swatch.
const chartLegendWidth = 320

// chartColours are the methods' colours in the chart, zero-shot first.
var chartColours = []color.RGBA{
	{127, 127, 127, 255}, {31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
	{214, 39, 40, 255}, {148, 103, 189, 255},
}

// Chart draws the table's accuracies as grouped bars: one group per task
// and one for the average, one bar per method, 0 to 100 %, with the
// standard deviation over seeds as a whisker.
func (r *Report) Chart() *image.RGBA {
	groups := make([]string, 0, len(r.Tasks)+1)
	for _, task := range r.Tasks {
		groups = append(groups, task.String())
	}
	series := make([]string, len(r.Methods))
	for k, m := range r.Methods {
		series[k] = strings.ReplaceAll(r.Label(m), "τ", "tau") // the chart's font is ASCII
	}
	c := barchart.Chart{
		Title:       "target accuracy (%) after the last iteration",
		Groups:      append(groups, "Avg"),
		Series:      series,
		Colours:     chartColours,
		LegendWidth: chartLegendWidth,
		Value: func(g, s int) barchart.Bar {
			m := r.Methods[s]
			c := r.Average(m)
			if g < len(r.Tasks) {
				c, _ = r.Cell(r.Tasks[g], m)
			}
			return barchart.Bar{Mean: c.AccuracyLast, Std: c.AccuracyLastStd, OK: true}
		},
	}
	return c.Draw()
}

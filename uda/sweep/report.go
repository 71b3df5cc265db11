package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vlpuda/vlpuda/internal/seedstat"
	"github.com/vlpuda/vlpuda/uda/run"
)

// Report is the paper's table from the finished runs of a sweep: a row per
// method, a cell per task, each over the seeds. A cell with a seed
// missing has no numbers: it is marked, never averaged over the runs it
// has.
type Report struct {
	// Metric is the number reported: top1 or mean_per_class (the
	// preset's).
	Metric  string   `json:"metric"`
	Tasks   []string `json:"tasks"`
	Seeds   []uint64 `json:"seeds"`
	Rows    []Row    `json:"rows"`
	Done    int      `json:"done"`
	Planned int      `json:"planned"`
}

// Row is one method on every task, and averaged over the tasks.
type Row struct {
	Method string `json:"method"`
	Cells  []Cell `json:"cells"`
	// Average is, per seed, the mean over the tasks, then mean and
	// deviation over the seeds, as the paper's "Avg" column; it is
	// missing unless every cell is complete.
	Average Cell `json:"average"`
	// StoredParams and StoredBytes are what a task stores beyond the
	// shared model (the task file's values and bytes), over the finished
	// runs.
	StoredParams float64 `json:"stored_params"`
	StoredBytes  float64 `json:"stored_bytes"`
}

// Cell is a method on a task over the seeds. Last is the accuracy after
// the last iteration (the result), Best that of the best epoch, chosen
// with the target labels (an oracle). Both are nil unless every seed has
// finished.
type Cell struct {
	Finished    int       `json:"finished"`
	Planned     int       `json:"planned"`
	Last        *Stat     `json:"last,omitempty"`
	Best        *Stat     `json:"best_oracle,omitempty"`
	PerSeed     []float64 `json:"last_per_seed,omitempty"`
	perSeedBest []float64
}

// Stat is a mean and the standard deviation over seeds (sample, n−1; 0
// for one seed), as fractions.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// ReadReport builds the report from the finished runs of the plan in dir.
func ReadReport(dir string, p *run.Plan) (*Report, error) {
	rep := &Report{Seeds: p.Grid.Seeds, Planned: len(p.Runs)}
	if preset, err := run.LookupPreset(p.Grid.Preset); err == nil {
		rep.Metric = preset.Metric
	}
	for _, t := range p.Tasks() {
		rep.Tasks = append(rep.Tasks, t.String())
	}
	rows := map[string]*Row{}
	for _, m := range p.Grid.Methods {
		row := &Row{Method: m, Cells: make([]Cell, len(rep.Tasks))}
		rows[m] = row
		rep.Rows = append(rep.Rows, Row{})
	}
	taskIndex := map[run.Pair]int{}
	for k, t := range p.Tasks() {
		taskIndex[t] = k
	}
	stored := map[string][2]float64{}
	count := map[string]int{}
	for i, r := range p.Runs {
		res, ok, err := run.ReadResult(run.Dir(dir, i))
		if err != nil {
			return nil, err
		}
		c := &rows[r.Method].Cells[taskIndex[r.Task]]
		c.Planned++
		if !ok {
			continue
		}
		rep.Done++
		if res.Config != nil { // nil for zero-shot runs, which use the preset's metric
			rep.Metric = res.Config.Metric
		}
		c.Finished++
		c.PerSeed = append(c.PerSeed, res.Last.Metric(rep.Metric))
		c.perSeedBest = append(c.perSeedBest, res.Best.Metric(rep.Metric))
		s := stored[r.Method]
		if res.Stored != nil {
			s[0] += float64(res.Stored.Params)
			s[1] += float64(res.Stored.Bytes)
		}
		stored[r.Method] = s
		count[r.Method]++
	}
	for k, m := range p.Grid.Methods {
		row := rows[m]
		for j := range row.Cells {
			row.Cells[j].summarize()
		}
		row.Average = average(row.Cells)
		if n := count[m]; n > 0 {
			row.StoredParams, row.StoredBytes = stored[m][0]/float64(n), stored[m][1]/float64(n)
		}
		rep.Rows[k] = *row
	}
	return rep, nil
}

// summarize fills in Last and Best when every seed has finished.
func (c *Cell) summarize() {
	if c.Finished < c.Planned || c.Planned == 0 {
		return
	}
	c.Last = &Stat{seedstat.Mean(c.PerSeed), seedstat.Std(c.PerSeed)}
	c.Best = &Stat{seedstat.Mean(c.perSeedBest), seedstat.Std(c.perSeedBest)}
}

// average returns the cells' average over tasks per seed, then over the
// seeds; it has no numbers unless every cell is complete.
func average(cells []Cell) Cell {
	var a Cell
	complete := true
	for _, c := range cells {
		a.Finished += c.Finished
		a.Planned += c.Planned
		complete = complete && c.Last != nil
	}
	if !complete {
		return a
	}
	seeds := len(cells[0].PerSeed)
	last, best := make([]float64, seeds), make([]float64, seeds)
	for _, c := range cells {
		for s := range seeds {
			last[s] += c.PerSeed[s] / float64(len(cells))
			best[s] += c.perSeedBest[s] / float64(len(cells))
		}
	}
	a.Last = &Stat{seedstat.Mean(last), seedstat.Std(last)}
	a.Best = &Stat{seedstat.Mean(best), seedstat.Std(best)}
	a.PerSeed = last
	return a
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("sweep: report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteMarkdown writes the report as two Markdown tables: the accuracy
// after the last iteration, with what each task stores, and the best
// epoch's, labelled as the oracle it is. Accuracies are percentages, mean
// ± std over the seeds; a cell with runs missing says how many finished.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	metric := "top-1"
	if r.Metric == "mean_per_class" {
		metric = "mean per-class"
	}
	fmt.Fprintf(&b, "Target %s accuracy (%%) after the last iteration, mean ± std over seeds %s; %d of %d runs finished.\n\n",
		metric, seedList(r.Seeds), r.Done, r.Planned)
	r.table(&b, func(c Cell) *Stat { return c.Last }, true)
	fmt.Fprintf(&b, "\nBest epoch, selected with the target labels (an oracle, not a result):\n\n")
	r.table(&b, func(c Cell) *Stat { return c.Best }, false)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) table(b *strings.Builder, stat func(Cell) *Stat, stored bool) {
	head := append(append([]string{"method"}, r.Tasks...), "average")
	if stored {
		head = append(head, "stored per task")
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range r.Rows {
		cols := []string{row.Method}
		for _, c := range append(row.Cells, row.Average) {
			cols = append(cols, cellText(c, stat(c)))
		}
		switch {
		case stored && row.Average.Finished == 0:
			cols = append(cols, "no run finished")
		case stored:
			cols = append(cols, fmt.Sprintf("%.0f values, %s", row.StoredParams, byteSize(row.StoredBytes)))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cols, " | "))
	}
}

// cellText formats a cell: "mean ± std" in percent, or how many runs
// finished.
func cellText(c Cell, s *Stat) string {
	switch {
	case s == nil:
		return fmt.Sprintf("missing (%d/%d runs)", c.Finished, c.Planned)
	case c.Planned > 1 && len(c.PerSeed) > 1:
		return fmt.Sprintf("%.1f ± %.1f", 100*s.Mean, 100*s.Std)
	}
	return fmt.Sprintf("%.1f", 100*s.Mean)
}

func seedList(seeds []uint64) string {
	s := make([]string, len(seeds))
	for i, v := range seeds {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
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

package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The published table: results/full-seeds3.results.json is the results.json
// of "vlpuda demo -full -seeds 3", and results/full-seeds3.json what its
// -json flag printed. The README's table is drawn from them.
const (
	publishedReport  = "results/full-seeds3.results.json"
	publishedSummary = "results/full-seeds3.json"
	readme           = "../../README.md"
)

// TestPublishedTable checks that the committed -json output is the summary
// of the committed per-seed results, value for value, and that the README
// shows exactly that table.
func TestPublishedTable(t *testing.T) {
	b, err := os.ReadFile(publishedReport)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", publishedReport, err)
	}
	if n := len(rep.Tasks) * len(rep.Methods) * len(rep.Seeds); len(rep.Runs) != n || len(rep.Seeds) != 3 {
		t.Fatalf("%s holds %d runs over %d seeds, want every task, method and seed (%d) over 3", publishedReport, len(rep.Runs), len(rep.Seeds), n)
	}
	if rep.Settings != DefaultSettings() {
		t.Errorf("%s was run with settings %+v, not today's defaults %+v", publishedReport, rep.Settings, DefaultSettings())
	}

	got, err := json.Marshal(rep.Summary())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(publishedSummary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("%s is not the summary of %s", publishedSummary, publishedReport)
	}

	table := markdownTable(&rep)
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), table) {
		t.Errorf("the README does not show the published table; it should hold\n%s", table)
	}
}

// domainNames are the domains as the README writes them.
var domainNames = map[string]string{"mnist": "MNIST", "mnistm": "MNIST-M", "opencv": "OpenCV", "fonts": "fonts"}

// markdownTable renders r as the README's table: one row per method, the
// mean ± standard deviation over seeds of the last iteration's accuracy
// per task and averaged over tasks, and what a task stores.
func markdownTable(r *Report) string {
	var b strings.Builder
	b.WriteString("| method |")
	for _, t := range r.Tasks {
		fmt.Fprintf(&b, " %s→%s |", domainNames[t.Source], domainNames[t.Target])
	}
	b.WriteString(" average | stored per task |\n|---|")
	for range r.Tasks {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	acc := func(c Cell) string {
		// The seeds of a zero-shot run agree; their deviation is rounding.
		if 100*c.AccuracyLastStd < 0.05 {
			return fmt.Sprintf("%.1f", 100*c.AccuracyLast)
		}
		return fmt.Sprintf("%.1f ± %.1f", 100*c.AccuracyLast, 100*c.AccuracyLastStd)
	}
	for _, m := range r.Methods {
		fmt.Fprintf(&b, "| %s |", r.Label(m))
		for _, t := range r.Tasks {
			c, _ := r.Cell(t, m)
			fmt.Fprintf(&b, " %s |", acc(c))
		}
		a := r.Average(m)
		stored := "0"
		switch {
		case a.StoredParams >= 1e6:
			stored = fmt.Sprintf("%.2f M values, %s", a.StoredParams/1e6, byteSize(a.StoredBytes))
		case a.StoredParams > 0:
			stored = fmt.Sprintf("%s values (%.2f %% of the tower), %s", thousands(a.StoredParams), 100*a.Density, byteSize(a.StoredBytes))
		}
		fmt.Fprintf(&b, " %s | %s |\n", acc(a), stored)
	}
	return b.String()
}

// thousands formats v rounded to an integer with commas between groups of
// three digits.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

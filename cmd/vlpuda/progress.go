package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws "label [#####-----] done/total rate ETA" on one line of w,
// at most every 100 ms. It draws nothing when disabled (quiet mode, or w is
// not a terminal), so piped output stays clean.
type progressBar struct {
	w       io.Writer
	label   string
	unit    string
	start   time.Time
	last    time.Time
	enabled bool
	extra   string
}

func newProgressBar(w io.Writer, label, unit string, quiet bool) *progressBar {
	return &progressBar{w: w, label: label, unit: unit, start: time.Now(), enabled: !quiet && isTerminal(w)}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// SetExtra sets text shown after the rate, such as the current loss terms.
func (p *progressBar) SetExtra(s string) { p.extra = s }

// Update redraws the bar for done of total steps; it is the Progress
// callback handed to library functions.
func (p *progressBar) Update(done, total int) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 24
	filled := 0
	if total > 0 {
		filled = width * done / total
	}
	elapsed := now.Sub(p.start).Seconds()
	rate, eta := 0.0, "?"
	if elapsed > 0 && done > 0 {
		rate = float64(done) / elapsed
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.2f %s/s ETA %s %s\x1b[K", p.label,
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), done, total, rate, p.unit, eta, p.extra)
	if done >= total {
		fmt.Fprintln(p.w)
	}
}

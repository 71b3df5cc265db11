package run

import (
	"bytes"
	"encoding/csv"
	"strconv"

	"github.com/vlpuda/vlpuda/uda"
)

// confusionCSV returns e's confusion matrix as CSV: a header row
// "true\predicted" followed by the class names, then one row per true
// class, its name followed by the counts.
func confusionCSV(e *uda.Evaluation) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{`true\predicted`}
	for _, c := range e.PerClass {
		head = append(head, c.Class)
	}
	w.Write(head)
	for i, row := range e.Confusion {
		rec := []string{e.PerClass[i].Class}
		for _, n := range row {
			rec = append(rec, strconv.Itoa(n))
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

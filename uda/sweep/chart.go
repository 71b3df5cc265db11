package sweep

import (
	"fmt"
	"image/color"
	"image/png"
	"io"
	"slices"

	"github.com/vlpuda/vlpuda/internal/barchart"
)

// chartColours are the methods' colours in the chart.
var chartColours = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {127, 127, 127, 255},
}

// WritePNG draws the last-iteration accuracies as grouped bars, one group
// per task and one for the average, one bar per method, with the standard
// deviation over seeds as a whisker. A missing cell has no bar.
func (r *Report) WritePNG(w io.Writer) error {
	series := make([]string, len(r.Rows))
	for k, row := range r.Rows {
		series[k] = row.Method
	}
	c := barchart.Chart{
		Title:       "target accuracy (%) after the last iteration; no bar: runs missing",
		Groups:      append(slices.Clone(r.Tasks), "average"),
		Series:      series,
		Colours:     chartColours,
		LegendWidth: 170,
		Value: func(g, s int) barchart.Bar {
			c := r.Rows[s].Average
			if g < len(r.Tasks) {
				c = r.Rows[s].Cells[g]
			}
			if c.Last == nil {
				return barchart.Bar{}
			}
			return barchart.Bar{Mean: c.Last.Mean, Std: c.Last.Std, OK: true}
		},
	}
	if err := png.Encode(w, c.Draw()); err != nil {
		return fmt.Errorf("sweep: chart: %w", err)
	}
	return nil
}

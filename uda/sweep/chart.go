package sweep

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Chart layout, in pixels.
const (
	chartHeight = 420
	chartTop    = 40
	chartBottom = 60
	chartLeft   = 50
	chartLegend = 170
	chartBar    = 18
	chartGap    = 24
)

var chartColours = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {127, 127, 127, 255},
}

// WritePNG draws the last-iteration accuracies as grouped bars, one group
// per task and one for the average, one bar per method, with the standard
// deviation over seeds as a whisker. A missing cell has no bar.
func (r *Report) WritePNG(w io.Writer) error {
	groups := len(r.Tasks) + 1
	groupW := len(r.Rows)*chartBar + chartGap
	width := chartLeft + groups*groupW + chartLegend
	img := image.NewRGBA(image.Rect(0, 0, width, chartHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	plotH := chartHeight - chartTop - chartBottom
	y := func(acc float64) int { return chartTop + plotH - int(math.Round(acc*float64(plotH))) }
	label(img, chartLeft, 20, "target accuracy (%) after the last iteration; no bar: runs missing", color.Black)
	for v := 0; v <= 100; v += 20 {
		yy := y(float64(v) / 100)
		fillRect(img, image.Rect(chartLeft, yy, width-chartLegend, yy+1), color.RGBA{220, 220, 220, 255})
		label(img, 10, yy+4, fmt.Sprintf("%3d", v), color.Black)
	}
	for g := range groups {
		x0 := chartLeft + g*groupW + chartGap/2
		name := "average"
		if g < len(r.Tasks) {
			name = r.Tasks[g]
		}
		label(img, x0, chartHeight-chartBottom+18, name, color.Black)
		for k, row := range r.Rows {
			c := row.Average
			if g < len(r.Tasks) {
				c = row.Cells[g]
			}
			if c.Last == nil {
				continue
			}
			x, s := x0+k*chartBar, c.Last
			fillRect(img, image.Rect(x+1, y(s.Mean), x+chartBar-1, y(0)), chartColours[k%len(chartColours)])
			if s.Std > 0 {
				mid := x + chartBar/2
				fillRect(img, image.Rect(mid, y(s.Mean+s.Std), mid+1, y(s.Mean-s.Std)+1), color.Black)
			}
		}
	}
	fillRect(img, image.Rect(chartLeft, y(0), width-chartLegend, y(0)+1), color.Black)
	for k, row := range r.Rows {
		x, yy := width-chartLegend+10, chartTop+k*20
		fillRect(img, image.Rect(x, yy, x+12, yy+12), chartColours[k%len(chartColours)])
		label(img, x+18, yy+11, row.Method, color.Black)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("sweep: chart: %w", err)
	}
	return nil
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// label draws s with its baseline at (x, y) in the 7×13 bitmap face.
func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

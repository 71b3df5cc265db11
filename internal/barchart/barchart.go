// Package barchart draws the grouped bar charts of accuracies that the
// packaged demo and sweep reports write as PNG: one group of bars per
// task, one bar per method, 0 to 100 %, with the standard deviation over
// seeds as a whisker and a legend on the right.
package barchart

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Layout, in pixels.
const (
	height = 420
	top    = 40
	bottom = 60
	left   = 50
	bar    = 18
	gap    = 24
)

// Bar is one bar's value: a mean accuracy in [0, 1] and its standard
// deviation. A bar that is not OK is left out (a missing cell).
type Bar struct {
	Mean, Std float64
	OK        bool
}

// Chart describes a chart.
type Chart struct {
	// Title is drawn above the plot.
	Title string
	// Groups name the groups along the x axis; Series name the bars of a
	// group, as the legend lists them.
	Groups, Series []string
	// Colours are the series' colours, repeated when there are more
	// series.
	Colours []color.RGBA
	// LegendWidth is the width of the legend column.
	LegendWidth int
	// Value returns the bar of series s in group g.
	Value func(g, s int) Bar
}

// Draw draws the chart.
func (c *Chart) Draw() *image.RGBA {
	groupW := len(c.Series)*bar + gap
	width := left + len(c.Groups)*groupW + c.LegendWidth
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	plotH := height - top - bottom
	y := func(acc float64) int { return top + plotH - int(math.Round(acc*float64(plotH))) }
	label(img, left, 20, c.Title, color.Black)
	for v := 0; v <= 100; v += 20 {
		yy := y(float64(v) / 100)
		fillRect(img, image.Rect(left, yy, width-c.LegendWidth, yy+1), color.RGBA{220, 220, 220, 255})
		label(img, 10, yy+4, fmt.Sprintf("%3d", v), color.Black)
	}
	for g, name := range c.Groups {
		x0 := left + g*groupW + gap/2
		label(img, x0, height-bottom+18, name, color.Black)
		for s := range c.Series {
			b := c.Value(g, s)
			if !b.OK {
				continue
			}
			x := x0 + s*bar
			fillRect(img, image.Rect(x+1, y(b.Mean), x+bar-1, y(0)), c.colour(s))
			if b.Std > 0 {
				mid := x + bar/2
				fillRect(img, image.Rect(mid, y(b.Mean+b.Std), mid+1, y(b.Mean-b.Std)+1), color.Black)
			}
		}
	}
	fillRect(img, image.Rect(left, y(0), width-c.LegendWidth, y(0)+1), color.Black)
	for s, name := range c.Series {
		x, yy := width-c.LegendWidth+10, top+s*20
		fillRect(img, image.Rect(x, yy, x+12, yy+12), c.colour(s))
		label(img, x+18, yy+11, name, color.Black)
	}
	return img
}

func (c *Chart) colour(s int) color.RGBA { return c.Colours[s%len(c.Colours)] }

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// label draws s with its baseline at (x, y) in the 7×13 bitmap face.
func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

package run

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot is drawn with the standard library's image packages and the
// 7×13 bitmap face of golang.org/x/image (already a dependency, for WebP):
// two line charts need axes, ticks, polylines and labels, a few hundred
// lines, where a plotting library would bring a vector graphics stack
// and fonts for the same picture.

// Plot size and layout, in pixels.
const (
	plotWidth   = 960
	plotHeight  = 760
	plotMarginL = 70
	plotMarginR = 20
	plotGap     = 60 // between the panels, for the lower panel's title
	plotTop     = 40
	plotBottom  = 50
)

// termOrder is the order of the loss curves and of their colours.
var termOrder = []string{"total", "cls", "task", "distill", "reg_ce", "reg_gi", "fm_head", "fm_teacher"}

var palette = []color.RGBA{
	{0, 0, 0, 255}, {31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
	{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255},
	{127, 127, 127, 255}, {188, 189, 34, 255},
}

// series is one curve.
type series struct {
	name string
	x, y []float64
	dots bool // mark each point
}

// PlotLog draws the curves of a run's log (log.jsonl) into a PNG file at
// path, written atomically: above, every loss term's mean per log record
// against the iteration, on a logarithmic scale; below, the target's top-1
// and mean per-class accuracy after each epoch, in percent.
func PlotLog(logPath, path string) error {
	loss, acc, maxIter, err := readCurves(logPath)
	if err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	h := (plotHeight - plotTop - plotGap - plotBottom) / 2
	upper := image.Rect(plotMarginL, plotTop, plotWidth-plotMarginR, plotTop+h)
	lower := image.Rect(plotMarginL, plotTop+h+plotGap, plotWidth-plotMarginR, plotTop+2*h+plotGap)
	xmax := float64(max(maxIter, 1))
	drawPanel(img, upper, "loss terms (mean per log record, log scale)", loss, xmax, true)
	drawPanel(img, lower, "target accuracy after each epoch (%)", acc, xmax, false)
	text(img, plotWidth/2-30, plotHeight-12, "iteration", color.Black)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("uda: plot: %w", err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// readCurves reads the loss and accuracy curves of a log.
func readCurves(path string) (loss, acc []series, maxIter int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("uda: plot: %w", err)
	}
	defer f.Close()
	terms := map[string]*series{}
	top1 := series{name: "top-1", dots: true}
	mpc := series{name: "mean per class", dots: true}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Type         string             `json:"type"`
			Iter         int                `json:"iter"`
			Loss         map[string]float64 `json:"loss"`
			Top1         float64            `json:"top1"`
			MeanPerClass float64            `json:"mean_per_class"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, nil, 0, fmt.Errorf("uda: plot: %s:%d: %w", path, line, err)
		}
		maxIter = max(maxIter, rec.Iter)
		switch rec.Type {
		case "iter":
			for name, v := range rec.Loss {
				s := terms[name]
				if s == nil {
					s = &series{name: name}
					terms[name] = s
				}
				s.x = append(s.x, float64(rec.Iter))
				s.y = append(s.y, v)
			}
		case "epoch":
			top1.x, top1.y = append(top1.x, float64(rec.Iter)), append(top1.y, 100*rec.Top1)
			mpc.x, mpc.y = append(mpc.x, float64(rec.Iter)), append(mpc.y, 100*rec.MeanPerClass)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("uda: plot: %w", err)
	}
	names := make([]string, 0, len(terms))
	for name := range terms {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(termOrder, a), slices.Index(termOrder, b)
		if ia < 0 {
			ia = len(termOrder)
		}
		if ib < 0 {
			ib = len(termOrder)
		}
		if ia != ib {
			return ia - ib
		}
		return cmp.Compare(a, b)
	})
	for _, name := range names {
		loss = append(loss, *terms[name])
	}
	return loss, []series{top1, mpc}, maxIter, nil
}

// drawPanel draws the axes, ticks, curves and legend of one chart in r
// for x in [0, xmax]. With logY the y axis is logarithmic and points that
// are not positive are left out; otherwise y spans [0, 100].
func drawPanel(img *image.RGBA, r image.Rectangle, title string, ss []series, xmax float64, logY bool) {
	text(img, r.Min.X, r.Min.Y-10, title, color.Black)
	ylo, yhi := 0.0, 100.0
	if logY {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range ss {
			for _, v := range s.y {
				if v > 0 && !math.IsInf(v, 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		if lo > hi {
			lo, hi = 0.1, 10
		}
		ylo, yhi = math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if ylo == yhi {
			ylo, yhi = ylo-1, yhi+1
		}
	}
	grid := color.RGBA{225, 225, 225, 255}
	px := func(x float64) int { return r.Min.X + int(math.Round(x/xmax*float64(r.Dx()-1))) }
	py := func(y float64) int {
		return r.Max.Y - 1 - int(math.Round((y-ylo)/(yhi-ylo)*float64(r.Dy()-1)))
	}
	for _, x := range ticks(0, xmax, 6) {
		vline(img, px(x), r.Min.Y, r.Max.Y, grid)
		label := strconv.FormatFloat(x, 'f', -1, 64)
		text(img, px(x)-3*len(label), r.Max.Y+15, label, color.Black)
	}
	var yt []float64
	if logY {
		for e := ylo; e <= yhi; e++ {
			yt = append(yt, e)
		}
	} else {
		yt = ticks(ylo, yhi, 5)
	}
	for _, y := range yt {
		hline(img, r.Min.X, r.Max.X, py(y), grid)
		label := strconv.FormatFloat(y, 'f', -1, 64)
		if logY {
			label = strconv.FormatFloat(math.Pow(10, y), 'g', 3, 64)
		}
		text(img, r.Min.X-8-7*len(label), py(y)+4, label, color.Black)
	}
	frame := color.RGBA{60, 60, 60, 255}
	hline(img, r.Min.X, r.Max.X, r.Min.Y, frame)
	hline(img, r.Min.X, r.Max.X, r.Max.Y-1, frame)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, frame)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y, frame)
	// Draw the first series last, on top of the others.
	for i := len(ss) - 1; i >= 0; i-- {
		s, c := ss[i], palette[i%len(palette)]
		prev, havePrev := image.Point{}, false
		for k, x := range s.x {
			y := s.y[k]
			if logY {
				if !(y > 0) || math.IsInf(y, 0) {
					havePrev = false
					continue
				}
				y = math.Log10(y)
			}
			p := image.Pt(px(x), py(y))
			if havePrev {
				line(img, prev, p, c)
			}
			if s.dots {
				fill(img, image.Rect(p.X-2, p.Y-2, p.X+3, p.Y+3), c)
			}
			prev, havePrev = p, true
		}
	}
	// Legend, top right, on white.
	lx := r.Max.X - 150
	fill(img, image.Rect(lx-6, r.Min.Y+4, r.Max.X-6, r.Min.Y+8+15*len(ss)), color.RGBA{255, 255, 255, 255})
	for i, s := range ss {
		ly := r.Min.Y + 16 + 15*i
		fill(img, image.Rect(lx, ly-6, lx+18, ly-3), palette[i%len(palette)])
		text(img, lx+24, ly, s.name, color.Black)
	}
}

// ticks returns about n round values from lo to hi.
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if !(span > 0) {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// line draws a two-pixel-wide segment from a to b (Bresenham).
func line(img *image.RGBA, a, b image.Point, c color.RGBA) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	for x, y := a.X, a.Y; ; {
		img.SetRGBA(x, y, c)
		img.SetRGBA(x, y+1, c)
		if x == b.X && y == b.Y {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x += sx
		}
		if e2 <= dx {
			e += dx
			y += sy
		}
	}
}

func abs(x int) int { return max(x, -x) }

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, image.Rect(x0, y, x1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, image.Rect(x, y0, x+1, y1), c) }

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// text draws s with its baseline starting at (x, y).
func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

package run

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlotLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.jsonl")
	content := `{"type":"iter","iter":2,"loss":{"cls":1.1,"task":0,"total":1.2}}
{"type":"iter","iter":4,"loss":{"cls":0.5,"task":0.01,"total":0.6}}
{"type":"epoch","iter":4,"top1":0.5,"mean_per_class":0.4}
`
	if err := os.WriteFile(log, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "curves.png")
	if err := PlotLog(log, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, plotWidth, plotHeight) {
		t.Errorf("plot is %v, want %dx%d", got, plotWidth, plotHeight)
	}
	// The curves use the palette: the total's black and cls's blue appear.
	seen := map[[3]uint32]bool{}
	for y := range plotHeight {
		for x := range plotWidth {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	if c := palette[1]; !seen[[3]uint32{uint32(c.R), uint32(c.G), uint32(c.B)}] {
		t.Errorf("no pixel of the second curve's colour")
	}
	if err := os.WriteFile(log, []byte(content+"{bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PlotLog(log, out); err == nil || !strings.Contains(err.Error(), "log.jsonl:4") {
		t.Errorf("bad log line: error %v, want one naming line 4", err)
	}
}

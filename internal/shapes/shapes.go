// Package shapes writes a tiny two-domain image-classification dataset for
// tests and CI: coloured squares, one class per colour, on a dark source
// and a light target background.
package shapes

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Domains are the folders Write creates below its root, Classes the
// sub-folders of each.
var (
	Domains = []string{"src", "tgt"}
	Classes = []string{"blue", "green", "red"}
)

// Write writes domains src and tgt of 36×36 PNG images below root, each
// with classes red, green and blue (squares of that colour at random
// places; the target's background is light and its colours paler), n
// images per class. The images depend on n only.
func Write(root string, n int) error {
	inks := map[string][2]color.RGBA{
		"red":   {{220, 40, 40, 255}, {240, 130, 110, 255}},
		"green": {{40, 200, 60, 255}, {120, 210, 130, 255}},
		"blue":  {{50, 70, 230, 255}, {130, 140, 240, 255}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for d, domain := range Domains {
		bg := []color.RGBA{{30, 30, 40, 255}, {210, 210, 200, 255}}[d]
		for _, class := range Classes {
			ink := inks[class]
			dir := filepath.Join(root, domain, class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("shapes: %w", err)
			}
			for i := range n {
				img := image.NewRGBA(image.Rect(0, 0, 36, 36))
				x0, y0, s := rng.IntN(12), rng.IntN(12), 12+rng.IntN(10)
				for y := range 36 {
					for x := range 36 {
						c := bg
						if x >= x0 && x < x0+s && y >= y0 && y < y0+s {
							c = ink[d]
						}
						img.SetRGBA(x, y, c)
					}
				}
				if err := writePNG(filepath.Join(dir, strconv.Itoa(i)+".png"), img); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("shapes: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("shapes: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("shapes: %w", err)
	}
	return nil
}

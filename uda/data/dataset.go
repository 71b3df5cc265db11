package data

import (
	"image"
	"strings"

	"github.com/vlpuda/vlpuda/vlp"
)

// Extensions are the file name endings, compared case-insensitively, that
// ImageFolder takes for images: torchvision's IMG_EXTENSIONS.
var Extensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// IsImageFile reports whether name ends with one of Extensions, in any
// case.
func IsImageFile(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range Extensions {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// Sample is one image file and its class.
type Sample struct {
	Path  string
	Label int // index into Dataset.Classes
}

// Dataset is a list of labelled image files.
type Dataset struct {
	// Root is the folder the dataset was read from.
	Root string
	// Classes names the classes: label k is Classes[k].
	Classes []string
	// Samples are the images in their canonical order.
	Samples []Sample
}

// Len returns the number of images.
func (d *Dataset) Len() int { return len(d.Samples) }

// Label returns the label of image i.
func (d *Dataset) Label(i int) int { return d.Samples[i].Label }

// Paths returns the image paths in order.
func (d *Dataset) Paths() []string {
	out := make([]string, len(d.Samples))
	for i, s := range d.Samples {
		out[i] = s.Path
	}
	return out
}

// Labels returns the labels in order.
func (d *Dataset) Labels() []int {
	out := make([]int, len(d.Samples))
	for i, s := range d.Samples {
		out[i] = s.Label
	}
	return out
}

// Counts returns the number of images of each class.
func (d *Dataset) Counts() []int {
	out := make([]int, len(d.Classes))
	for _, s := range d.Samples {
		out[s.Label]++
	}
	return out
}

// Image decodes image i; the error names the file.
func (d *Dataset) Image(i int) (image.Image, error) {
	return vlp.ReadImage(d.Samples[i].Path)
}

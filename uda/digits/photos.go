package digits

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // photos are JPEG or PNG
	_ "image/png"
	"slices"
)

// Pool names one of the two disjoint sets of photos.
type Pool int

const (
	// MNISTMPool holds the photos whose crops form the MNIST-M-style
	// domain: astronaut, chelsea, coffee, rocket (scikit-image) and china,
	// flower (scikit-learn), all colour.
	MNISTMPool Pool = iota
	// CorpusPool holds the photos reserved for uses outside the MNIST-M
	// domain, such as a pretraining corpus: brick, camera, grass, gravel,
	// hubble_deep_field (scikit-image) and baboon, fruits, building,
	// butterfly, home, orange, starry_night (OpenCV).
	CorpusPool
)

// String returns "mnistm" or "corpus".
func (p Pool) String() string {
	switch p {
	case MNISTMPool:
		return "mnistm"
	case CorpusPool:
		return "corpus"
	}
	return fmt.Sprintf("Pool(%d)", int(p))
}

// files returns the pinned photo files of the pool.
func (p Pool) files() []debFile {
	switch p {
	case MNISTMPool:
		return filesOf(kindMNISTM)
	case CorpusPool:
		return filesOf(kindCorpus)
	}
	panic(fmt.Sprintf("digits: unknown %v", p))
}

// Photos returns the file names of the pool's photos, such as "coffee.png".
// No name is in both pools.
func (p Pool) Photos() []string {
	var names []string
	for _, f := range p.files() {
		names = append(names, f.base())
	}
	return names
}

// Contains reports whether the photo with the given file name is in the pool.
func (p Pool) Contains(name string) bool {
	return slices.Contains(p.Photos(), name)
}

// Photo is a decoded photo of a pool.
type Photo struct {
	// Name is the file name, such as "coffee.png".
	Name string
	// Image holds the pixels; grey photos are converted to RGB.
	Image *image.RGBA
}

// LoadPhotos decodes every photo of pool p from the cache under cacheDir
// (empty: DefaultCacheDir), or from the installed packages, checking each
// file's SHA-256.
func LoadPhotos(cacheDir string, p Pool) ([]Photo, error) {
	cacheDir, err := resolveCacheDir(cacheDir)
	if err != nil {
		return nil, err
	}
	var photos []Photo
	for _, f := range p.files() {
		b, err := readDebFile(cacheDir, f)
		if err != nil {
			return nil, err
		}
		m, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("digits: decoding %s: %w", f.name(), err)
		}
		rgba := image.NewRGBA(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
		draw.Draw(rgba, rgba.Rect, m, m.Bounds().Min, draw.Src)
		photos = append(photos, Photo{Name: f.base(), Image: rgba})
	}
	return photos, nil
}

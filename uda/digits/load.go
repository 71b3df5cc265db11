package digits

import (
	"errors"
	"fmt"
	"slices"
)

// The domain names.
const (
	MNIST     = "mnist"
	MNISTM    = "mnistm"
	OpenCV    = "opencv"
	Optdigits = "optdigits"
	Fonts     = "fonts"
)

// Domains returns the names of every domain, in a fixed order.
func Domains() []string { return []string{MNIST, MNISTM, OpenCV, Optdigits, Fonts} }

// Options configures Load. The zero value uses the default cache folder,
// the MNIST files in the Go module cache, seed 0, 500 rendered images per
// class, and every available font face.
type Options struct {
	// CacheDir holds the fetched Debian files (empty: DefaultCacheDir).
	CacheDir string
	// MNISTDir holds MNIST's four .gz files (empty: MNISTDir()).
	MNISTDir string
	// Seed selects the MNIST-M crops and the rendered digits.
	Seed uint64
	// FontsPerClass is the number of rendered images per digit (default 500).
	FontsPerClass int
	// Faces are the faces to render (nil: GoFaces and whichever
	// DebianFaces are fetched or installed).
	Faces []Face
}

// Load returns one split of the named domain in its native size; see the
// package documentation for sizes and splits. Use Dataset.Resize to bring
// domains to a common size.
func Load(domain string, split Split, o Options) (*Dataset, error) {
	if !slices.Contains([]Split{Train, Test, All}, split) {
		return nil, fmt.Errorf("digits: unknown split %q (want train, test or all)", split)
	}
	switch domain {
	case MNIST:
		return LoadMNIST(o.MNISTDir, split)
	case MNISTM:
		if split == All {
			// Each split is blended with its own streams: All is Train then Test.
			train, err := Load(MNISTM, Train, o)
			if err != nil {
				return nil, err
			}
			test, err := Load(MNISTM, Test, o)
			if err != nil {
				return nil, err
			}
			return concat(train, test), nil
		}
		m, err := LoadMNIST(o.MNISTDir, split)
		if err != nil {
			return nil, err
		}
		photos, err := LoadPhotos(o.CacheDir, MNISTMPool)
		if err != nil {
			return nil, err
		}
		return BlendMNISTM(m, photos, o.Seed), nil
	case OpenCV:
		return LoadOpenCV(o.CacheDir, split)
	case Optdigits:
		if split != All {
			return nil, fmt.Errorf("digits: optdigits defines no %s split; load %q", split, All)
		}
		return LoadOptdigits(o.CacheDir)
	case Fonts:
		faces := o.Faces
		if faces == nil {
			// The Go faces always work; Debian faces that are not fetched are
			// left out (Sources lists the faces used), damaged ones are an error.
			deb, errs := debianFaces(o.CacheDir)
			for _, err := range errs {
				if !errors.Is(err, ErrNotFetched) {
					return nil, err
				}
			}
			faces = append(GoFaces(), deb...)
		}
		return RenderDigits(faces, RenderOptions{PerClass: o.FontsPerClass, Seed: o.Seed, Split: split})
	}
	return nil, fmt.Errorf("digits: unknown domain %q (want one of %v)", domain, Domains())
}

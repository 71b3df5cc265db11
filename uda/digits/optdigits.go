package digits

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// optdigitsSide is the side of an optdigits image; values run from 0 to optdigitsMax.
const (
	optdigitsSide = 8
	optdigitsMax  = 16
)

// ParseOptdigits reads the UCI optdigits data as scikit-learn ships it
// (digits.csv.gz): a gzip-compressed CSV with one image per line, 64 values
// 0..16 in row-major order, then the label. Each value v becomes the grey
// level round(v*255/16), so 16 is white ink on a black ground as in MNIST.
func ParseOptdigits(r io.Reader) (*Dataset, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("digits: optdigits: %w", err)
	}
	const n = optdigitsSide * optdigitsSide
	d := &Dataset{
		Name: Optdigits, Split: All,
		Width: optdigitsSide, Height: optdigitsSide, Channels: 1,
		Classes: Classes,
	}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != n+1 {
			return nil, fmt.Errorf("digits: optdigits line %d: %d fields, want %d: %w", line, len(fields), n+1, ErrCorrupt)
		}
		for i, s := range fields {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			switch {
			case err != nil:
				return nil, fmt.Errorf("digits: optdigits line %d field %d: %w (%w)", line, i+1, ErrCorrupt, err)
			case i < n && (v < 0 || v > optdigitsMax):
				return nil, fmt.Errorf("digits: optdigits line %d field %d: value %d outside 0..%d: %w", line, i+1, v, optdigitsMax, ErrCorrupt)
			case i == n && (v < 0 || v >= len(Classes)):
				return nil, fmt.Errorf("digits: optdigits line %d: label %d is not a digit: %w", line, v, ErrCorrupt)
			case i < n:
				d.Pixels = append(d.Pixels, uint8((v*255+optdigitsMax/2)/optdigitsMax))
			default:
				d.Labels = append(d.Labels, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("digits: optdigits: %w", truncated(err))
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("digits: optdigits: no images: %w", ErrCorrupt)
	}
	return d, nil
}

// LoadOptdigits reads UCI optdigits (Debian python3-sklearn) from the cache
// under cacheDir (empty: DefaultCacheDir), or from the installed package.
// The file holds 1,797 images and defines no split.
func LoadOptdigits(cacheDir string) (*Dataset, error) {
	cacheDir, err := resolveCacheDir(cacheDir)
	if err != nil {
		return nil, err
	}
	f := fileOf(kindOptdigits)
	b, err := readDebFile(cacheDir, f)
	if err != nil {
		return nil, err
	}
	d, err := ParseOptdigits(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	d.Sources = []string{"Debian " + f.pkg + ": " + f.member}
	return d, nil
}

package vlp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// MaxImagePixels is the largest width×height DecodeImage accepts. It is
// the size at which PIL refuses an image as a decompression bomb.
const MaxImagePixels = 178956970

// imageFormat is one file format DecodeImage reads, recognised by its
// first bytes.
type imageFormat struct {
	name   string
	match  func(head []byte) bool
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}

var imageFormats = []imageFormat{
	{"JPEG", prefix("\xff\xd8"), decodeJPEG, jpeg.DecodeConfig},
	{"PNG", prefix("\x89PNG\r\n\x1a\n"), png.Decode, png.DecodeConfig},
	{"GIF", func(h []byte) bool {
		return bytes.HasPrefix(h, []byte("GIF87a")) || bytes.HasPrefix(h, []byte("GIF89a"))
	},
		decodeGIF, gif.DecodeConfig},
	{"BMP", prefix("BM"), bmp.Decode, bmp.DecodeConfig},
	{"TIFF", func(h []byte) bool {
		return bytes.HasPrefix(h, []byte("II*\x00")) || bytes.HasPrefix(h, []byte("MM\x00*"))
	},
		tiff.Decode, tiff.DecodeConfig},
	{"WebP", func(h []byte) bool { return len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WEBP" },
		decodeWebP, webp.DecodeConfig},
	{"Netpbm", func(h []byte) bool { return len(h) >= 2 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6' },
		decodeNetpbm, decodeNetpbmConfig},
}

func prefix(p string) func([]byte) bool {
	return func(h []byte) bool { return bytes.HasPrefix(h, []byte(p)) }
}

// ReadImage reads and decodes the image file at path (see DecodeImage).
func ReadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vlp: read image: %w", err)
	}
	defer f.Close()
	return DecodeImage(f, path)
}

// DecodeImage decodes a JPEG, PNG, GIF (first frame), BMP, TIFF, WebP or
// Netpbm (PBM, PGM, PPM) image from r, recognised by its first bytes, not by
// a file name. name is the file's name for error messages. Images with
// more than MaxImagePixels pixels are refused before their pixels are
// decoded. Like PIL, DecodeImage does not apply an EXIF orientation.
//
// The pixels are those PIL gives, for RGB to convert: colour JPEG and lossy
// WebP files come back as *image.RGBA, converted from YCbCr the way libjpeg
// and libwebp convert them (see decodeJPEG and decodeWebP); other images
// keep the type their decoder returns.
func DecodeImage(r io.Reader, name string) (image.Image, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(16)
	if len(head) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("vlp: decode image %s: empty file", name)
		}
		return nil, fmt.Errorf("vlp: decode image %s: %w", name, err)
	}
	var f *imageFormat
	for i := range imageFormats {
		if imageFormats[i].match(head) {
			f = &imageFormats[i]
			break
		}
	}
	if f == nil {
		return nil, fmt.Errorf("vlp: decode image %s: not a JPEG, PNG, GIF, BMP, TIFF, WebP or Netpbm file (starts with %q)", name, head[:min(len(head), 8)])
	}
	// Read the whole file so that the header can be checked before the
	// pixels are decoded.
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("vlp: decode image %s: %w", name, err)
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("vlp: decode image %s: %s header: %w", name, f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("vlp: decode image %s: %s image of size %dx%d", name, f.name, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxImagePixels {
		return nil, fmt.Errorf("vlp: decode image %s: %dx%d is %d pixels, more than the limit of %d", name, cfg.Width, cfg.Height, px, MaxImagePixels)
	}
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("vlp: decode image %s: %s: %w", name, f.name, err)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("vlp: decode image %s: %s image is empty", name, f.name)
	}
	return img, nil
}

// decodeGIF returns a GIF's first frame. image/gif blanks the palette entry
// of the transparent index, while PIL keeps the colour the file stores there
// and RGB then shows it. When the frame's palette is the global colour table
// with one entry blanked, that entry is restored from the table.
func decodeGIF(r io.Reader) (image.Image, error) {
	g, err := gif.DecodeAll(r)
	if err != nil {
		return nil, err
	}
	if len(g.Image) == 0 {
		return nil, errors.New("gif: no frames")
	}
	m := g.Image[0]
	global, _ := g.Config.ColorModel.(color.Palette)
	if len(m.Palette) != len(global) {
		return m, nil
	}
	blank := -1
	for i, c := range m.Palette {
		if c == global[i] {
			continue
		}
		if c != (color.RGBA{}) || blank >= 0 {
			return m, nil // a local colour table
		}
		blank = i
	}
	if blank < 0 {
		return m, nil
	}
	out := *m
	out.Palette = append(color.Palette(nil), m.Palette...)
	out.Palette[blank] = global[blank]
	return &out, nil
}

package vlp

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// Netpbm images (PBM P1/P4, PGM P2/P5, PPM P3/P6), which torchvision's
// ImageFolder accepts as .pbm/.pgm/.ppm. Samples are scaled to 8 bits as
// (v·255 + maxval/2) / maxval, which equals PIL for maxval ≤ 255. For
// 16-bit files (maxval > 255) PIL keeps 32-bit integers and its RGB
// conversion clips them at 255; this reader scales them instead.

// netpbmHeader is the part of a Netpbm file before the raster.
type netpbmHeader struct {
	kind          byte // '1' to '6'
	width, height int
	maxval        int
}

func (h netpbmHeader) plain() bool  { return h.kind <= '3' }
func (h netpbmHeader) bitmap() bool { return h.kind == '1' || h.kind == '4' }
func (h netpbmHeader) channels() int {
	if h.kind == '3' || h.kind == '6' {
		return 3
	}
	return 1
}

// readNetpbmHeader reads the magic number, the sizes and the maxval, and
// the single whitespace byte that ends the header of a binary file.
func readNetpbmHeader(r *bufio.Reader) (netpbmHeader, error) {
	var h netpbmHeader
	magic := make([]byte, 2)
	if _, err := io.ReadFull(r, magic); err != nil {
		return h, fmt.Errorf("netpbm: %w", noEOF(err))
	}
	if magic[0] != 'P' || magic[1] < '1' || magic[1] > '6' {
		return h, fmt.Errorf("netpbm: bad magic number %q", magic)
	}
	h.kind = magic[1]
	fields := []*int{&h.width, &h.height}
	if !h.bitmap() {
		fields = append(fields, &h.maxval)
	} else {
		h.maxval = 1
	}
	for _, f := range fields {
		v, err := readNetpbmInt(r, true)
		if err != nil {
			return h, err
		}
		*f = v
	}
	if h.width <= 0 || h.height <= 0 {
		return h, fmt.Errorf("netpbm: bad size %dx%d", h.width, h.height)
	}
	if h.maxval < 1 || h.maxval > 65535 {
		return h, fmt.Errorf("netpbm: maxval %d outside [1, 65535]", h.maxval)
	}
	if !h.plain() {
		// Exactly one whitespace byte separates the header from the raster.
		c, err := r.ReadByte()
		if err != nil {
			return h, fmt.Errorf("netpbm: %w", noEOF(err))
		}
		if !isNetpbmSpace(c) {
			return h, fmt.Errorf("netpbm: no whitespace after the header")
		}
	}
	return h, nil
}

func isNetpbmSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// readNetpbmInt skips whitespace (and comments, in the header) and reads a
// decimal number. It leaves the byte after the number unread.
func readNetpbmInt(r *bufio.Reader, header bool) (int, error) {
	var c byte
	var err error
	for {
		if c, err = r.ReadByte(); err != nil {
			return 0, fmt.Errorf("netpbm: %w", noEOF(err))
		}
		if c == '#' && header {
			// A comment runs to the end of the line.
			for c != '\n' && c != '\r' {
				if c, err = r.ReadByte(); err != nil {
					return 0, fmt.Errorf("netpbm: %w", noEOF(err))
				}
			}
			continue
		}
		if !isNetpbmSpace(c) {
			break
		}
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("netpbm: unexpected byte %q where a number belongs", c)
	}
	v := 0
	for {
		v = v*10 + int(c-'0')
		if v > 1<<30 {
			return 0, errors.New("netpbm: number too large")
		}
		if c, err = r.ReadByte(); err != nil {
			if errors.Is(err, io.EOF) {
				return v, nil
			}
			return 0, fmt.Errorf("netpbm: %w", err)
		}
		if c < '0' || c > '9' {
			return v, r.UnreadByte()
		}
	}
}

func decodeNetpbmConfig(r io.Reader) (image.Config, error) {
	h, err := readNetpbmHeader(bufio.NewReader(r))
	if err != nil {
		return image.Config{}, err
	}
	model := color.GrayModel
	if h.channels() == 3 {
		model = color.RGBAModel
	}
	return image.Config{ColorModel: model, Width: h.width, Height: h.height}, nil
}

// decodeNetpbm decodes a Netpbm image into an *image.Gray (P1, P2, P4, P5)
// or an opaque *image.RGBA (P3, P6). In bitmaps 1 is black.
func decodeNetpbm(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	h, err := readNetpbmHeader(br)
	if err != nil {
		return nil, err
	}
	n := h.width * h.height * h.channels()
	samples := make([]uint8, n)
	scale := func(v int) (uint8, error) {
		if v > h.maxval {
			return 0, fmt.Errorf("netpbm: sample %d exceeds maxval %d", v, h.maxval)
		}
		if h.maxval == 255 {
			return uint8(v), nil
		}
		return uint8((v*255 + h.maxval/2) / h.maxval), nil
	}
	switch {
	case h.kind == '1':
		for i := range samples {
			var c byte
			for c, err = br.ReadByte(); err == nil && isNetpbmSpace(c); c, err = br.ReadByte() {
			}
			if err != nil {
				return nil, fmt.Errorf("netpbm: %w", noEOF(err))
			}
			if c != '0' && c != '1' {
				return nil, fmt.Errorf("netpbm: unexpected byte %q in a plain bitmap", c)
			}
			samples[i] = 255 * ('1' - c)
		}
	case h.plain():
		for i := range samples {
			v, err := readNetpbmInt(br, false)
			if err != nil {
				return nil, err
			}
			if samples[i], err = scale(v); err != nil {
				return nil, err
			}
		}
	case h.kind == '4':
		row := make([]byte, (h.width+7)/8)
		for y := range h.height {
			if _, err := io.ReadFull(br, row); err != nil {
				return nil, fmt.Errorf("netpbm: %w", noEOF(err))
			}
			for x := range h.width {
				if row[x/8]&(0x80>>(x%8)) == 0 {
					samples[y*h.width+x] = 255
				}
			}
		}
	default:
		width := 1
		if h.maxval > 255 {
			width = 2
		}
		raw := make([]byte, n*width)
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, fmt.Errorf("netpbm: %w", noEOF(err))
		}
		for i := range samples {
			v := int(raw[i])
			if width == 2 {
				v = int(raw[2*i])<<8 | int(raw[2*i+1])
			}
			if samples[i], err = scale(v); err != nil {
				return nil, err
			}
		}
	}
	rect := image.Rect(0, 0, h.width, h.height)
	if h.channels() == 1 {
		return &image.Gray{Pix: samples, Stride: h.width, Rect: rect}, nil
	}
	m := image.NewRGBA(rect)
	for i, j := 0, 0; i < len(samples); i, j = i+3, j+4 {
		m.Pix[j], m.Pix[j+1], m.Pix[j+2], m.Pix[j+3] = samples[i], samples[i+1], samples[i+2], 255
	}
	return m, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: a file that ends inside an
// image is truncated.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

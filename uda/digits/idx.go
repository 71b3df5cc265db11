package digits

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IDX is an array of unsigned bytes read from an IDX file, the format of
// the MNIST distribution: a big-endian magic number 0x000008NN (0x08 marks
// unsigned bytes, NN is the number of dimensions), NN big-endian uint32
// sizes, then the values in row-major order.
type IDX struct {
	// Dims holds the size of each dimension, outermost first.
	Dims []int
	// Data holds the values, len(Data) = the product of Dims.
	Data []byte
}

// Magic numbers of the two MNIST files.
const (
	idxLabelsMagic = 0x801 // unsigned bytes, one dimension
	idxImagesMagic = 0x803 // unsigned bytes, three dimensions
)

// maxIDXBytes bounds the data an IDX header may announce, so that a corrupt
// header is an error and not an attempt at a huge allocation.
const maxIDXBytes = 1 << 30

// ErrCorrupt reports data that does not have the expected format.
var ErrCorrupt = errors.New("corrupt data")

// ReadIDX reads one IDX array of unsigned bytes from r and checks that r
// ends right after it. It reads the data in pieces, so a truncated file is
// reported without first allocating the size its header announces.
func ReadIDX(r io.Reader) (*IDX, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("digits: idx: reading magic: %w", truncated(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] == 0 || hdr[3] > 4 {
		return nil, fmt.Errorf("digits: idx: magic %#08x is not 0x000008NN (unsigned bytes, 1 to 4 dims): %w",
			binary.BigEndian.Uint32(hdr[:]), ErrCorrupt)
	}
	dims := make([]int, hdr[3])
	size := 1
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("digits: idx: reading size of dimension %d: %w", i, truncated(err))
		}
		dims[i] = int(binary.BigEndian.Uint32(b[:]))
		if dims[i] > 0 && size > maxIDXBytes/dims[i] {
			return nil, fmt.Errorf("digits: idx: dimensions %v exceed %d bytes: %w", dims[:i+1], maxIDXBytes, ErrCorrupt)
		}
		size *= dims[i]
	}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, int64(size))
	if err != nil {
		return nil, fmt.Errorf("digits: idx: dims %v need %d bytes of data, got %d: %w", dims, size, n, truncated(err))
	}
	var extra [1]byte
	switch k, err := io.ReadFull(r, extra[:]); {
	case k > 0:
		return nil, fmt.Errorf("digits: idx: data continues past the %d bytes of dims %v: %w", size, dims, ErrCorrupt)
	case err != io.EOF:
		return nil, fmt.Errorf("digits: idx: after the data: %w", err)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

// magic returns the IDX magic number of x.
func (x *IDX) magic() int { return 0x800 | len(x.Dims) }

// truncated turns an unexpected end of input into an error that says so.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", ErrCorrupt)
	}
	return err
}

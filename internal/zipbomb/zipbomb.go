// Package zipbomb builds zip archives whose entries inflate to far more
// bytes than they take, or than they declare, for tests of the limits of
// zip readers. A 10 GiB entry of zeros takes about 10 MiB and is built in
// milliseconds, by repeating one compressed block.
package zipbomb

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
)

// Entry is one file of an archive. An entry with Zeros > 0 is a run of that
// many zero bytes, deflated, and declares Declared bytes (Zeros if
// Declared is 0); otherwise it is Data, stored.
type Entry struct {
	Name     string
	Data     []byte
	Zeros    int64
	Declared uint64
}

// chunk is the number of zeros one repeated block inflates to.
const chunk = 1 << 20

// Archive returns a zip archive of entries, in order. The CRCs of the
// runs of zeros are left 0: a reader that reads one whole fails on it, after
// it has inflated everything.
func Archive(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.Zeros == 0 {
			f, err := w.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Store})
			if err != nil {
				return nil, err
			}
			if _, err := f.Write(e.Data); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := deflatedZeros(e.Zeros)
		if err != nil {
			return nil, fmt.Errorf("zipbomb: %s: %w", e.Name, err)
		}
		declared := e.Declared
		if declared == 0 {
			declared = uint64(e.Zeros)
		}
		f, err := w.CreateRaw(&zip.FileHeader{
			Name: e.Name, Method: zip.Deflate,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: declared,
		})
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(raw); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deflatedZeros returns a raw deflate stream of n zero bytes. It deflates
// one chunk of zeros to fill the window, then one more chunk, which,
// ending in a sync flush on a byte boundary and referring back only to
// zeros, can be repeated as often as needed.
func deflatedZeros(n int64) ([]byte, error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, min(n, chunk))
	write := func(p []byte) error {
		if _, err := fw.Write(p); err != nil {
			return err
		}
		return fw.Flush()
	}
	if err := write(zeros); err != nil {
		return nil, err
	}
	n -= int64(len(zeros))
	if n >= chunk {
		start := buf.Len()
		if err := write(zeros); err != nil {
			return nil, err
		}
		block := bytes.Clone(buf.Bytes()[start:])
		n -= chunk
		buf.Grow(int(n/chunk) * len(block))
		for ; n >= chunk; n -= chunk {
			buf.Write(block)
		}
	}
	if err := write(zeros[:n]); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

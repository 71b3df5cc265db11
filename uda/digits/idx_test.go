package digits

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// idxBytes encodes an IDX file: magic, dims, data.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	be := func(v uint32) { b.Write([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) }
	be(magic)
	for _, d := range dims {
		be(d)
	}
	b.Write(data)
	return b.Bytes()
}

// gz compresses b.
func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	images := idxBytes(0x803, []uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	for _, tc := range []struct {
		name     string
		in       []byte
		wantDims []int
		wantData []byte
	}{
		{"images", images, []int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"labels", idxBytes(0x801, []uint32{3}, []byte{7, 0, 9}), []int{3}, []byte{7, 0, 9}},
		{"empty", idxBytes(0x801, []uint32{0}, nil), []int{0}, []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x.Dims, tc.wantDims) || !bytes.Equal(x.Data, tc.wantData) {
				t.Errorf("got dims %v data %v, want %v %v", x.Dims, x.Data, tc.wantDims, tc.wantData)
			}
		})
	}
}

func TestReadIDXCorrupt(t *testing.T) {
	good := idxBytes(0x803, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty file", nil},
		{"short magic", good[:3]},
		{"short dims", good[:10]},
		{"short data", good[:len(good)-1]},
		{"trailing data", append(slices.Clone(good), 0)},
		{"float type", idxBytes(0x0d03, []uint32{1, 1, 1}, []byte{0, 0, 0, 0})},
		{"high magic bytes", idxBytes(0x01000801, []uint32{1}, []byte{0})},
		{"zero dims", idxBytes(0x800, nil, nil)},
		{"five dims", idxBytes(0x805, []uint32{1, 1, 1, 1, 1}, []byte{0})},
		{"huge dims", idxBytes(0x803, []uint32{1 << 20, 1 << 20, 1 << 20}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.in))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, %v; want an ErrCorrupt error", x, err)
			}
		})
	}
}

// TestReadIDXFile covers the gzip layer and the magic check of the MNIST files.
func TestReadIDXFile(t *testing.T) {
	dir := t.TempDir()
	labels := gz(t, idxBytes(0x801, []uint32{2}, []byte{3, 4}))
	badCRC := slices.Clone(labels)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	for _, tc := range []struct {
		name   string
		data   []byte
		magic  int
		wantOK bool
	}{
		{"ok", labels, idxLabelsMagic, true},
		{"wrong magic", labels, idxImagesMagic, false},
		{"gzip crc", badCRC, idxLabelsMagic, false},
		{"gzip truncated", labels[:len(labels)-12], idxLabelsMagic, false},
		{"not gzip", []byte("hello"), idxLabelsMagic, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".gz")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			x, err := readIDXFile(p, tc.magic)
			if (err == nil) != tc.wantOK {
				t.Fatalf("got %v, %v; want ok=%v", x, err, tc.wantOK)
			}
			if err != nil && !bytes.Contains([]byte(err.Error()), []byte(p)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestFromIDX(t *testing.T) {
	images := &IDX{Dims: []int{2, 1, 1}, Data: []byte{10, 20}}
	for _, tc := range []struct {
		name   string
		labels *IDX
		images *IDX
		wantOK bool
	}{
		{"ok", &IDX{Dims: []int{2}, Data: []byte{0, 9}}, images, true},
		{"count", &IDX{Dims: []int{1}, Data: []byte{0}}, images, false},
		{"label 10", &IDX{Dims: []int{2}, Data: []byte{0, 10}}, images, false},
		{"images 1-d", &IDX{Dims: []int{2}, Data: []byte{0, 1}}, &IDX{Dims: []int{2}, Data: []byte{0, 1}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := fromIDX(tc.images, tc.labels)
			if (err == nil) != tc.wantOK {
				t.Fatalf("got err %v, want ok=%v", err, tc.wantOK)
			}
			if err == nil && (d.Len() != 2 || d.Labels[1] != 9 || d.Image(1)[0] != 20) {
				t.Errorf("got %+v", d)
			}
		})
	}
}

package zipbomb

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"testing"
)

// TestDeflatedZeros inflates streams of several lengths, around the chunk
// size, and counts their bytes.
func TestDeflatedZeros(t *testing.T) {
	for _, n := range []int64{1, chunk - 1, chunk, chunk + 1, 3*chunk + 7, 40 * chunk} {
		raw, err := deflatedZeros(n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, flate.NewReader(bytes.NewReader(raw)))
		if err != nil || got != n {
			t.Errorf("%d zeros: inflated %d bytes, err %v", n, got, err)
		}
		if n >= 40*chunk && int64(len(raw)) > n/500 {
			t.Errorf("%d zeros take %d bytes, want at most %d", n, len(raw), n/500)
		}
	}
}

// TestArchive checks the declared sizes and that the readers of
// archive/zip see the entries.
func TestArchive(t *testing.T) {
	b, err := Archive(Entry{Name: "a", Data: []byte("hi")}, Entry{Name: "b", Zeros: 5 * chunk, Declared: 10})
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.File) != 2 || z.File[0].UncompressedSize64 != 2 || z.File[1].UncompressedSize64 != 10 {
		t.Fatalf("entries %v", z.File)
	}
	rc, err := z.File[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("reading an entry that inflates past its declared size succeeded")
	}
}

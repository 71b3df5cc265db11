package digits

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// tarFile is one entry written by archive/tar for the tests.
type tarFile struct {
	name, body string
	typ        byte
}

// writeTar returns an archive of files in format, written by archive/tar.
func writeTar(t *testing.T, format tar.Format, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: 0o644, Size: int64(len(f.body)), Format: format}
		if f.typ == tar.TypeSymlink {
			h.Linkname = "target"
			if format != tar.FormatUSTAR {
				h.Linkname = strings.Repeat("target/", 20) // long: a header of its own
			}
		}
		if f.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("%v: %s: %v", format, f.name, err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil && f.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTar reads every entry of an archive with tarReader, reading the
// data of only every other regular file (the others are skipped).
func readTar(r io.Reader) ([]tarFile, error) {
	tr := newTarReader(r)
	var got []tarFile
	for i := 0; ; i++ {
		h, err := tr.next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		f := tarFile{name: h.name, typ: tar.TypeDir}
		if h.regular {
			f.typ = tar.TypeReg
			if i%2 == 0 {
				b, err := io.ReadAll(tr)
				if err != nil {
					return got, err
				}
				f.body = string(b)
			}
		}
		got = append(got, f)
	}
}

func TestTarReader(t *testing.T) {
	long := "./usr/share/" + strings.Repeat("very-long-folder-name/", 6) + "file.png" // over 100 bytes
	files := []tarFile{
		{name: "./usr/", typ: tar.TypeDir},
		{name: "./usr/a.txt", body: "hello", typ: tar.TypeReg},
		{name: "./usr/empty", typ: tar.TypeReg},
		{name: "./usr/skipped", body: strings.Repeat("s", 700), typ: tar.TypeReg},
		{name: long, body: strings.Repeat("x", tarBlock), typ: tar.TypeReg},
		{name: "./usr/link", typ: tar.TypeSymlink},
		{name: "./usr/big", body: strings.Repeat("0123456789", 300), typ: tar.TypeReg},
		{name: "./usr/" + strings.Repeat("ü", 60), body: "pax", typ: tar.TypeReg}, // non-ASCII: PAX and GNU
	}
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		fs := files
		if format == tar.FormatUSTAR {
			fs = fs[:len(fs)-1] // ustar cannot hold the non-ASCII name
		}
		t.Run(format.String(), func(t *testing.T) {
			archive := writeTar(t, format, fs)
			got, err := readTar(bytes.NewReader(archive))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(fs) {
				t.Fatalf("read %d entries, want %d: %v", len(got), len(fs), got)
			}
			for i, f := range fs {
				want := f
				if want.typ != tar.TypeReg {
					want.typ = tar.TypeDir // tarReader tells regular files only
				} else if i%2 != 0 {
					want.body = ""
				}
				if got[i] != want {
					t.Errorf("entry %d: got %q %c %d bytes, want %q %c %d bytes", i, got[i].name, got[i].typ, len(got[i].body), want.name, want.typ, len(want.body))
				}
			}
			// Without its end blocks the archive still reads whole.
			if got, err := readTar(bytes.NewReader(archive[:len(archive)-2*tarBlock])); err != nil || len(got) != len(fs) {
				t.Errorf("without end blocks: %d entries, %v", len(got), err)
			}
		})
	}
}

func TestTarReaderErrors(t *testing.T) {
	files := []tarFile{{name: "./a", body: strings.Repeat("a", 1000), typ: tar.TypeReg}, {name: "./b", body: "b", typ: tar.TypeReg}}
	good := writeTar(t, tar.FormatGNU, files)
	pax := writeTar(t, tar.FormatPAX, []tarFile{{name: "./" + strings.Repeat("p", 120), body: "p", typ: tar.TypeReg}})
	// set returns archive with b written at off and the header's checksum
	// made right again.
	set := func(archive []byte, off int, b string) []byte {
		a := bytes.Clone(archive)
		copy(a[off:], b)
		hdr := off &^ (tarBlock - 1)
		copy(a[hdr+148:hdr+156], "        ")
		var sum int64
		for _, c := range a[hdr : hdr+tarBlock] {
			sum += int64(c)
		}
		copy(a[hdr+148:], fmt.Sprintf("%06o\x00 ", sum))
		return a
	}
	tests := []struct {
		name    string
		archive []byte
		want    error
	}{
		{"cut in a header", good[:100], io.ErrUnexpectedEOF},
		{"cut in data", good[:tarBlock+600], io.ErrUnexpectedEOF},
		{"cut in skipped data", good[:tarBlock+1000], io.ErrUnexpectedEOF},
		{"bad checksum", append([]byte{'X'}, good[1:]...), errTarHeader},
		{"bad size", set(good, 124, "9999"), errTarHeader},
		{"negative base-256 size", set(good, 124, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), errTarHeader},
		{"huge base-256 size", set(good, 124, "\x80\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), errTarHeader},
		{"huge extended header", set(pax, 124, "77777777777"), errTarHeader},
		{"bad PAX record", set(pax, tarBlock, "99 path"), errTarHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readTar(bytes.NewReader(tt.archive))
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

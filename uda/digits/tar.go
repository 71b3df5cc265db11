package digits

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// tarReader reads the entries of a tar archive: the part of the format
// that `dpkg-deb --fsys-tarfile` writes (ustar and GNU headers, GNU long
// names, PAX path and size records). Fetch uses it rather than
// archive/tar, which imports os/user and so makes every cgo-enabled build
// of the command link the C library dynamically.
type tarReader struct {
	r    io.Reader
	body io.LimitedReader // the current entry's data
	pad  int64            // the zeros that fill its last block
}

// tarEntry is an entry's header as far as Fetch needs it.
type tarEntry struct {
	name    string
	regular bool // a regular file (not a folder, link or device)
}

const (
	tarBlock   = 512
	tarMetaMax = 1 << 20 // the largest long-name or PAX header read
)

// errTarHeader marks an archive whose header cannot be read.
var errTarHeader = errors.New("tar: bad header")

func newTarReader(r io.Reader) *tarReader {
	return &tarReader{r: r, body: io.LimitedReader{R: r}}
}

// next skips what is left of the current entry and returns the next
// one's header; the entry's data is then read from t. It returns io.EOF
// at the end of the archive.
func (t *tarReader) next() (tarEntry, error) {
	var longName string
	paxSize := int64(-1)
	for {
		if _, err := io.CopyN(io.Discard, t.r, t.body.N+t.pad); err != nil {
			return tarEntry{}, eofIsUnexpected(err)
		}
		var blk [tarBlock]byte
		if _, err := io.ReadFull(t.r, blk[:]); err != nil {
			if err == io.EOF {
				return tarEntry{}, io.EOF // no end blocks: archive/tar accepts that too
			}
			return tarEntry{}, err
		}
		if blk == [tarBlock]byte{} {
			return tarEntry{}, io.EOF
		}
		h, size, err := parseTarHeader(&blk)
		if err != nil {
			return tarEntry{}, err
		}
		typ := blk[156]
		if paxSize >= 0 && typ != 'x' && typ != 'L' {
			size = paxSize
		}
		t.body.N, t.pad = size, -size&(tarBlock-1)
		switch typ {
		case 'L': // GNU: the next entry's name
			b, err := t.meta()
			if err != nil {
				return tarEntry{}, err
			}
			longName = string(bytes.TrimRight(b, "\x00"))
		case 'x': // PAX: the next entry's records
			b, err := t.meta()
			if err != nil {
				return tarEntry{}, err
			}
			if longName, paxSize, err = parsePAX(b, longName, paxSize); err != nil {
				return tarEntry{}, err
			}
		case 'K', 'g': // a long link name, PAX global records: not needed
		default:
			if longName != "" {
				h.name = longName
				h.regular = h.regular && !strings.HasSuffix(longName, "/")
			}
			return h, nil
		}
	}
}

// Read reads the current entry's data.
func (t *tarReader) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if err == io.EOF && t.body.N > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// meta reads the current entry's data whole: a long name or PAX records.
func (t *tarReader) meta() ([]byte, error) {
	if t.body.N > tarMetaMax {
		return nil, fmt.Errorf("%w: a %d-byte extended header", errTarHeader, t.body.N)
	}
	b := make([]byte, t.body.N)
	if _, err := io.ReadFull(&t.body, b); err != nil {
		return nil, eofIsUnexpected(err)
	}
	return b, nil
}

// parseTarHeader returns the header in blk and its data's size.
func parseTarHeader(blk *[tarBlock]byte) (tarEntry, int64, error) {
	want, err := tarNumber(blk[148:156])
	if err != nil {
		return tarEntry{}, 0, err
	}
	var unsigned, signed int64
	for i, c := range blk {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if want != unsigned && want != signed {
		return tarEntry{}, 0, fmt.Errorf("%w: checksum %d, want %d", errTarHeader, want, unsigned)
	}
	size, err := tarNumber(blk[124:136])
	if err != nil {
		return tarEntry{}, 0, err
	}
	name := cString(blk[0:100])
	if string(blk[257:263]) == "ustar\x00" { // POSIX: a prefix; GNU ("ustar  ") has none
		if prefix := cString(blk[345:500]); prefix != "" {
			name = prefix + "/" + name
		}
	}
	typ := blk[156]
	regular := typ == '0' || typ == 0 && !strings.HasSuffix(name, "/")
	return tarEntry{name: name, regular: regular}, size, nil
}

// tarNumber parses a numeric field: octal digits between spaces or NULs,
// or GNU's base-256 with the top bit of the first byte set.
func tarNumber(f []byte) (int64, error) {
	if len(f) > 0 && f[0]&0x80 != 0 {
		b := append([]byte{f[0] & 0x7f}, f[1:]...)
		var n uint64
		for i, c := range b {
			if i < len(b)-8 && c != 0 {
				return 0, fmt.Errorf("%w: base-256 number % x out of range", errTarHeader, f)
			}
			n = n<<8 | uint64(c)
		}
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: base-256 number % x out of range", errTarHeader, f)
		}
		return int64(n), nil
	}
	s := strings.Trim(string(f), " \x00")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: number %q", errTarHeader, s)
	}
	return n, nil
}

// parsePAX reads the path and size records of a PAX header, each
// "LEN KEY=VALUE\n", returning name and size changed by them.
func parsePAX(b []byte, name string, size int64) (string, int64, error) {
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		n, err := strconv.Atoi(string(b[:max(sp, 0)]))
		if sp < 0 || err != nil || n <= sp+1 || n > len(b) || b[n-1] != '\n' {
			return "", 0, fmt.Errorf("%w: PAX record %.40q", errTarHeader, b)
		}
		key, value, ok := strings.Cut(string(b[sp+1:n-1]), "=")
		if !ok {
			return "", 0, fmt.Errorf("%w: PAX record %.40q", errTarHeader, b[:n])
		}
		switch key {
		case "path":
			name = value
		case "size":
			if size, err = strconv.ParseInt(value, 10, 64); err != nil || size < 0 {
				return "", 0, fmt.Errorf("%w: PAX size %q", errTarHeader, value)
			}
		}
		b = b[n:]
	}
	return name, size, nil
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// eofIsUnexpected turns io.EOF, an archive cut short, into
// io.ErrUnexpectedEOF.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

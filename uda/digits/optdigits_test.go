package digits

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// optdigitsLine returns a CSV line of 64 values all v, then label.
func optdigitsLine(v, label string) string {
	return strings.Repeat(v+",", 64) + label
}

func TestParseOptdigits(t *testing.T) {
	csv := optdigitsLine("16", "3") + "\n" + optdigitsLine("8", "0") + "\n" + optdigitsLine("0", "9") + "\n"
	d, err := ParseOptdigits(bytes.NewReader(gz(t, []byte(csv))))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Width != 8 || d.Height != 8 || d.Channels != 1 {
		t.Fatalf("got %d images of %dx%dx%d, want 3 of 8x8x1", d.Len(), d.Width, d.Height, d.Channels)
	}
	if !slices.Equal(d.Labels, []int{3, 0, 9}) {
		t.Errorf("got labels %v, want [3 0 9]", d.Labels)
	}
	for i, want := range []uint8{255, 128, 0} {
		for _, v := range d.Image(i) {
			if v != want {
				t.Fatalf("image %d: got pixel %d, want %d", i, v, want)
			}
		}
	}
}

func TestParseOptdigitsBad(t *testing.T) {
	good := gz(t, []byte(optdigitsLine("1", "1")+"\n"))
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"short line", gz(t, []byte("1,2,3\n"))},
		{"value 17", gz(t, []byte(optdigitsLine("17", "1")))},
		{"negative", gz(t, []byte(optdigitsLine("-1", "1")))},
		{"label 10", gz(t, []byte(optdigitsLine("1", "10")))},
		{"not a number", gz(t, []byte(optdigitsLine("x", "1")))},
		{"no images", gz(t, nil)},
		{"truncated gzip", good[:len(good)-6]},
		{"not gzip", []byte(optdigitsLine("1", "1"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseOptdigits(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("got %d images, want an error", d.Len())
			}
			if strings.HasPrefix(tc.name, "not gzip") {
				return
			}
			if !errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), "gzip") {
				t.Errorf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

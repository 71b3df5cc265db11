package digits

import (
	"context"
	"flag"
	"slices"
	"testing"
)

var (
	fetchFlag = flag.Bool("fetch", false, "fetch the Debian files into the default cache before the Real tests (needs apt-get and the network)")
	sheetFlag = flag.String("sheet", "", "write a contact sheet of every domain to this PNG file")
)

// realFetchCommand fetches what the Real tests need.
const realFetchCommand = "go test ./uda/digits -run Real -fetch"

// realCache returns the default cache folder, after fetching into it when
// -fetch is given. It skips the test, naming the command that fetches,
// when a pinned Debian file is neither cached nor installed. The parsers
// are tested on synthetic files in every run; these tests add the real files.
func realCache(t *testing.T) string {
	t.Helper()
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Skipf("no default cache folder: %v", err)
	}
	if *fetchFlag {
		r, err := Fetch(context.Background(), dir, func(s string) { t.Log(s) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fetch report:\n%s", r)
	}
	for _, f := range debFiles {
		if _, err := readDebFile(dir, f); err != nil {
			t.Skipf("real Debian files not available (%v); fetch them with: %s", err, realFetchCommand)
		}
	}
	return dir
}

func TestRealOpenCV(t *testing.T) {
	dir := realCache(t)
	for _, tc := range []struct {
		split    Split
		perClass int
	}{{All, 500}, {Train, 250}, {Test, 250}} {
		d, err := LoadOpenCV(dir, tc.split)
		if err != nil {
			t.Fatal(err)
		}
		for c, n := range d.ClassCounts() {
			if n != tc.perClass {
				t.Errorf("%s: class %d has %d images, want %d", tc.split, c, n, tc.perClass)
			}
		}
	}
}

func TestRealOptdigits(t *testing.T) {
	d, err := LoadOptdigits(realCache(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180} // 1797 in all
	if got := d.ClassCounts(); !slices.Equal(got, want) {
		t.Errorf("got class counts %v, want %v", got, want)
	}
}

func TestRealMNISTM(t *testing.T) {
	dir := realCache(t)
	photos, err := LoadPhotos(dir, MNISTMPool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPhotos(dir, CorpusPool); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMNIST("", Test)
	if err != nil {
		t.Fatal(err)
	}
	m = m.Subset(allIndices(2000))
	a, b := BlendMNISTM(m, photos, 1), BlendMNISTM(m, photos, 1)
	if !slices.Equal(a.Pixels, b.Pixels) {
		t.Errorf("seed 1 gave two different blends")
	}
	// The photos are in colour: most pixels differ between channels.
	coloured := 0
	for i := 0; i < len(a.Pixels); i += 3 {
		p := a.Pixels[i : i+3]
		if max(p[0], p[1], p[2])-min(p[0], p[1], p[2]) > 20 {
			coloured++
		}
	}
	if frac := float64(coloured) / float64(len(a.Pixels)/3); frac < 0.3 {
		t.Errorf("%.0f%% of MNIST-M pixels are coloured, want at least 30%%", 100*frac)
	}
}

func TestRealFonts(t *testing.T) {
	faces, err := DebianFaces(realCache(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != len(filesOf(kindFont)) {
		t.Errorf("got %d Debian faces, want %d", len(faces), len(filesOf(kindFont)))
	}
	for _, f := range faces {
		if _, err := RenderDigits([]Face{f}, RenderOptions{PerClass: 1}); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}

// TestRealContactSheet loads a sample of every domain and draws them; with
// -sheet it writes the sheet, which should be looked at.
func TestRealContactSheet(t *testing.T) {
	dir := realCache(t)
	var sets []*Dataset
	for _, name := range Domains() {
		split := Test
		if name == Optdigits {
			split = All
		}
		d, err := Load(name, split, Options{CacheDir: dir, FontsPerClass: 20, Seed: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sets = append(sets, d)
	}
	m := ContactSheet(sets, 10)
	if *sheetFlag != "" {
		if err := SavePNG(*sheetFlag, m); err != nil {
			t.Fatal(err)
		}
	}
}

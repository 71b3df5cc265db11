package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPresetTable(t *testing.T) {
	totals := map[string]int{"office31": 4110, "officehome": 15588, "visda": 152397 + 55388, "domainnet": 586575, "imageclef": 2400}
	for _, p := range Presets {
		sum := 0
		owner := map[string]string{} // lower-case name → domain code
		for _, d := range p.Domains {
			sum += d.Images
			for _, n := range append(append([]string{d.Code}, d.Folders...), d.Aliases...) {
				if c, ok := owner[strings.ToLower(n)]; ok && c != d.Code {
					t.Errorf("%s: name %q names domains %s and %s", p.Name, n, c, d.Code)
				}
				owner[strings.ToLower(n)] = d.Code
			}
		}
		if sum != totals[p.Name] {
			t.Errorf("%s: %d images in all, want %d", p.Name, sum, totals[p.Name])
		}
	}
}

func TestLookupPreset(t *testing.T) {
	for name, want := range map[string]string{
		"office31": "office31", "Office-31": "office31", "office_home": "officehome", "OfficeHome": "officehome",
		"VisDA-2017": "visda", "visda": "visda", "DomainNet": "domainnet", "image_clef": "imageclef", "ImageCLEF-DA": "imageclef",
	} {
		p, err := LookupPreset(name)
		if err != nil || p.Name != want {
			t.Errorf("LookupPreset(%q) = %v, %v; want %s", name, p, err, want)
		}
	}
	if _, err := LookupPreset("office"); err == nil || !strings.Contains(err.Error(), "office31, officehome") {
		t.Errorf("unknown preset: error %v, want one listing the names", err)
	}
}

func TestPresetDomain(t *testing.T) {
	tests := []struct{ preset, name, want string }{
		{"office31", "A", "amazon"}, {"office31", "w", "webcam"}, {"office31", "dslr", "dslr"},
		{"officehome", "Rw", "Real World"}, {"officehome", "real_world", "Real World"}, {"officehome", "cl", "Clipart"},
		{"visda", "Synthetic", "train"}, {"visda", "real", "validation"}, {"visda", "T", ""},
		{"domainnet", "q", "quickdraw"}, {"domainnet", "Sketch", "sketch"},
		{"imageclef", "b", "b"}, {"imageclef", "Pascal", "p"}, {"imageclef", "x", ""},
	}
	for _, tt := range tests {
		p, _ := LookupPreset(tt.preset)
		d, err := p.Domain(tt.name)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "domains: ") {
				t.Errorf("%s %q: error %v, want one listing the domains", tt.preset, tt.name, err)
			}
			continue
		}
		if err != nil || d.Name() != tt.want {
			t.Errorf("%s %q: %v, %v; want %s", tt.preset, tt.name, d.Folders, err, tt.want)
		}
	}
}

func TestPresetOpen(t *testing.T) {
	root := t.TempDir()
	// Office-31 as its archive lays it out, with an images level; webcam
	// without; dslr missing.
	makeTree(t, root, map[string]string{
		"amazon/images/back_pack/1.jpg": "", "amazon/images/bike/1.jpg": "", "amazon/images/bike/2.jpg": "",
		"webcam/back_pack/1.jpg": "", "webcam/bike/1.jpg": "",
		"image_list/amazon.txt": "",
	})
	p, _ := LookupPreset("office31")
	ds, warns, err := p.Open(root, "A")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "amazon", "images"); ds.Root != want || ds.Len() != 3 || !slices.Equal(ds.Classes, []string{"back_pack", "bike"}) {
		t.Errorf("opened %s with %d images, classes %v", ds.Root, ds.Len(), ds.Classes)
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "2 class folders; the benchmark has 31") ||
		!strings.Contains(warns[1], "3 images; a complete download has 2817") {
		t.Errorf("warnings %q", warns)
	}
	_, err = func() (*Dataset, error) { d, _, err := p.Open(root, "D"); return d, err }()
	if err == nil || !strings.Contains(err.Error(), "no folder dslr") || !strings.Contains(err.Error(), "holds: amazon, image_list, webcam") {
		t.Errorf("missing domain: error %v, want one listing the folders", err)
	}
	if _, _, err := p.Open(filepath.Join(root, "nope"), "D"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing root: error %v", err)
	}
	src, tgt, warns, err := p.OpenPair(root, "A", "W")
	if err != nil || src.Len() != 3 || tgt.Len() != 2 || len(warns) != 4 {
		t.Errorf("OpenPair: %v, %d warnings", err, len(warns))
	}

	// Office-Home's "Real World" also as Real_World.
	makeTree(t, root, map[string]string{"oh/Real_World/Alarm_Clock/1.png": "", "oh/Art/Alarm_Clock/1.png": "", "oh/Art/TV/1.png": ""})
	oh, _ := LookupPreset("officehome")
	rw, _, err := oh.Open(filepath.Join(root, "oh"), "Rw")
	if err != nil || rw.Len() != 1 {
		t.Fatalf("Real_World: %v", err)
	}
	_, _, _, err = oh.OpenPair(filepath.Join(root, "oh"), "Ar", "Rw")
	if !errors.Is(err, ErrClassMismatch) || !strings.Contains(err.Error(), "1 only in "+filepath.Join(root, "oh", "Art")+": TV") {
		t.Errorf("class mismatch: error %v", err)
	}
}

func TestSameClasses(t *testing.T) {
	a := &Dataset{Root: "src", Classes: []string{"a", "b", "c"}}
	tests := []struct {
		classes []string
		want    string
	}{
		{[]string{"a", "b", "c"}, ""},
		{[]string{"a", "c"}, "1 only in src: b"},
		{[]string{"a", "b", "c", "d"}, "1 only in tgt: d"},
		{[]string{"c", "b", "a"}, "different order"},
	}
	for _, tt := range tests {
		err := SameClasses(a, &Dataset{Root: "tgt", Classes: tt.classes})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.classes, err)
			}
			continue
		}
		if !errors.Is(err, ErrClassMismatch) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one saying %q", tt.classes, err, tt.want)
		}
	}
}

func TestClassNames(t *testing.T) {
	got := ClassNames([]string{"Alarm_Clock", "TV", "Postit_Notes", "t-shirt", "The_Eiffel_Tower", "back_pack"})
	want := []string{"alarm clock", "tv", "postit notes", "t-shirt", "the eiffel tower", "back pack"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLists(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, map[string]string{
		"amazon/images/bike/2.jpg": "", "amazon/images/bike/1.jpg": "", "amazon/images/Cup/1.jpg": "",
		"Real World/bike/x y.png": "", "Real World/Cup/a.png": "",
		".cache/bike/1.jpg": "", "image_list/old.txt": "", "notes.txt": "",
	})
	domains, _, err := ReadDomains(root, filepath.Join(root, "image_list"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range domains {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"Real World", "amazon"}) {
		t.Fatalf("domains %q", names)
	}
	var b bytes.Buffer
	if err := domains[1].WriteList(&b, root); err != nil {
		t.Fatal(err)
	}
	want := "amazon/images/Cup/1.jpg 0\namazon/images/bike/1.jpg 1\namazon/images/bike/2.jpg 1\n"
	if b.String() != want {
		t.Errorf("list\n%s\nwant\n%s", b.String(), want)
	}
	// The list reads back to the same dataset.
	dir := t.TempDir()
	list, classes := filepath.Join(dir, "rw.txt"), filepath.Join(dir, "classes.txt")
	b.Reset()
	if err := domains[0].WriteList(&b, root); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(list, b.Bytes(), 0o644)
	b.Reset()
	if err := WriteClasses(&b, domains[0].Classes); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(classes, b.Bytes(), 0o644)
	cls, err := ReadClasses(classes)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadList(list, root, cls)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Samples, domains[0].Samples) || !slices.Equal(back.Classes, domains[0].Classes) {
		t.Errorf("read back %v, want %v", back.Samples, domains[0].Samples)
	}

	if err := (&Dataset{Samples: []Sample{{Path: "/elsewhere/a.png"}}}).WriteList(&b, root); err == nil {
		t.Error("a path outside the base: no error")
	}
	if err := WriteClasses(&b, []string{"a\nb"}); err == nil {
		t.Error("a class name with a line break: no error")
	}
	os.WriteFile(classes, []byte("\n"), 0o644)
	if _, err := ReadClasses(classes); err == nil {
		t.Error("empty classes file: no error")
	}

	makeTree(t, root, map[string]string{"webcam/bike/1.jpg": ""})
	if _, _, err := ReadDomains(root, "image_list"); !errors.Is(err, ErrClassMismatch) || !strings.Contains(err.Error(), "Cup") {
		t.Errorf("mismatched domains: error %v", err)
	}
	if _, _, err := ReadDomains(filepath.Join(root, ".cache", "bike")); err == nil || !strings.Contains(err.Error(), "no domain folders") {
		t.Errorf("no domains: error %v", err)
	}
}

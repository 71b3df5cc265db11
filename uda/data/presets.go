package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Domain is one domain of a benchmark.
type Domain struct {
	// Code is tllib's short code ("A", "Ar", "c").
	Code string
	// Folders are the names of folders that hold the domain below the
	// dataset root, the usual one first; Open takes the first that exists.
	Folders []string
	// Aliases are further names accepted for the domain, such as VisDA's
	// "Synthetic" and "Real".
	Aliases []string
	// Images is the number of images of a complete download; 0 if unknown.
	Images int
}

// Name returns the domain's usual folder name.
func (d Domain) Name() string { return d.Folders[0] }

// Preset describes a benchmark's layout: its domains, each an image folder
// (root/<domain>/<class>/<image>), and its class count.
type Preset struct {
	Name    string // as ForBenchmark and the command line spell it: "office31"
	Title   string // "Office-31"
	Classes int
	Domains []Domain
}

// Presets are the folder-based benchmarks of the paper. The digit domains
// are built by package digits.
//
// The image counts are those of the datasets' public descriptions:
// Office-31 (Saenko et al. 2010; 4,110 images), Office-Home (Venkateswara
// et al. 2017 and its website; 15,588), VisDA-2017 classification (Peng et
// al. 2017; 152,397 synthetic training and 55,388 real validation images),
// DomainNet (Peng et al. 2019, the cleaned release listed on its website;
// 586,575 in all) and ImageCLEF-DA (the 2014 challenge's release: 50
// images in each of 12 classes per domain). The per-domain DomainNet
// counts are the website's table for the cleaned version and their sum
// matches the published total; the original, uncleaned archives hold more
// images and will draw a warning.
var Presets = []*Preset{
	{Name: "office31", Title: "Office-31", Classes: 31, Domains: []Domain{
		{Code: "A", Folders: []string{"amazon"}, Images: 2817},
		{Code: "D", Folders: []string{"dslr"}, Images: 498},
		{Code: "W", Folders: []string{"webcam"}, Images: 795},
	}},
	{Name: "officehome", Title: "Office-Home", Classes: 65, Domains: []Domain{
		{Code: "Ar", Folders: []string{"Art"}, Images: 2427},
		{Code: "Cl", Folders: []string{"Clipart"}, Images: 4365},
		{Code: "Pr", Folders: []string{"Product"}, Images: 4439},
		{Code: "Rw", Folders: []string{"Real World", "Real_World", "RealWorld"}, Images: 4357},
	}},
	{Name: "visda", Title: "VisDA-2017", Classes: 12, Domains: []Domain{
		{Code: "S", Folders: []string{"train"}, Aliases: []string{"Synthetic"}, Images: 152397},
		{Code: "R", Folders: []string{"validation"}, Aliases: []string{"Real"}, Images: 55388},
	}},
	{Name: "domainnet", Title: "DomainNet", Classes: 345, Domains: []Domain{
		{Code: "c", Folders: []string{"clipart"}, Images: 48129},
		{Code: "i", Folders: []string{"infograph"}, Images: 51605},
		{Code: "p", Folders: []string{"painting"}, Images: 72266},
		{Code: "q", Folders: []string{"quickdraw"}, Images: 172500},
		{Code: "r", Folders: []string{"real"}, Images: 172947},
		{Code: "s", Folders: []string{"sketch"}, Images: 69128},
	}},
	{Name: "imageclef", Title: "ImageCLEF-DA", Classes: 12, Domains: []Domain{
		{Code: "c", Folders: []string{"c"}, Aliases: []string{"Caltech"}, Images: 600},
		{Code: "i", Folders: []string{"i"}, Aliases: []string{"ImageNet"}, Images: 600},
		{Code: "p", Folders: []string{"p"}, Aliases: []string{"Pascal"}, Images: 600},
		{Code: "b", Folders: []string{"b"}, Aliases: []string{"Bing"}, Images: 600},
	}},
}

// LookupPreset returns the preset of a benchmark. Case, dashes and
// underscores are ignored: "office31", "Office-31" and "office_home" all
// work.
func LookupPreset(name string) (*Preset, error) {
	key := presetKey(name)
	var names []string
	for _, p := range Presets {
		if presetKey(p.Name) == key || presetKey(p.Title) == key {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("data: unknown dataset %q (want one of %s)", name, strings.Join(names, ", "))
}

func presetKey(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s))
}

// Domain returns the domain named by its code, a folder name or an alias,
// compared without regard to case.
func (p *Preset) Domain(name string) (Domain, error) {
	for _, d := range p.Domains {
		for _, n := range append(append([]string{d.Code}, d.Folders...), d.Aliases...) {
			if strings.EqualFold(n, name) {
				return d, nil
			}
		}
	}
	var known []string
	for _, d := range p.Domains {
		known = append(known, d.Code+" ("+d.Name()+")")
	}
	return Domain{}, fmt.Errorf("data: %s has no domain %q (domains: %s)", p.Title, name, strings.Join(known, ", "))
}

// Open reads domain name of the benchmark stored at root as an image
// folder. The folder is the first of the domain's Folders that exists
// below root; the Office-31 archive's extra level (amazon/images/<class>)
// is stepped into. A missing folder is an error that lists what root
// holds.
//
// The returned warnings are ImageFolder's, then what looks like an
// incomplete download, in words: an image count other than the domain's
// Images, or a class count other than the preset's. Open does not print
// them.
func (p *Preset) Open(root, name string) (*Dataset, []string, error) {
	d, err := p.Domain(name)
	if err != nil {
		return nil, nil, err
	}
	dir := ""
	for _, f := range d.Folders {
		if st, err := os.Stat(filepath.Join(root, f)); err == nil && st.IsDir() {
			dir = filepath.Join(root, f)
			break
		}
	}
	if dir == "" {
		return nil, nil, missingDomain(p, d, root)
	}
	dir = stepIntoImages(dir)
	ds, warns, err := ImageFolder(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s domain %s: %w", p.Title, d.Code, err)
	}
	if len(ds.Classes) != p.Classes {
		warns = append(warns, fmt.Sprintf("%s domain %s (%s) has %d class folders; the benchmark has %d (incomplete download?)",
			p.Title, d.Code, dir, len(ds.Classes), p.Classes))
	}
	if d.Images > 0 && ds.Len() != d.Images {
		warns = append(warns, fmt.Sprintf("%s domain %s (%s) has %d images; a complete download has %d (incomplete download?)",
			p.Title, d.Code, dir, ds.Len(), d.Images))
	}
	return ds, warns, nil
}

// missingDomain is Open's error for a domain folder that is not there.
func missingDomain(p *Preset, d Domain, root string) error {
	want := strings.Join(d.Folders, " or ")
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("data: %s domain %s: want folder %s in %s: %w", p.Title, d.Code, want, root, err)
	}
	var have []string
	for _, e := range entries {
		if isDir(root, e) {
			have = append(have, e.Name())
		}
	}
	if len(have) == 0 {
		return fmt.Errorf("data: %s domain %s: no folder %s in %s, which holds no folders", p.Title, d.Code, want, root)
	}
	return fmt.Errorf("data: %s domain %s: no folder %s in %s, which holds: %s", p.Title, d.Code, want, root, strings.Join(have, ", "))
}

// stepIntoImages returns dir/images if that is dir's only entry and a
// folder, as in the Office-31 archive; dir otherwise.
func stepIntoImages(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "images" || !isDir(dir, entries[0]) {
		return dir
	}
	return filepath.Join(dir, "images")
}

// OpenPair opens a source and a target domain and checks that they have
// the same classes, so that a label means the same class in both. The
// warnings are Open's for both domains.
func (p *Preset) OpenPair(root, source, target string) (src, tgt *Dataset, warns []string, err error) {
	src, w1, err := p.Open(root, source)
	if err != nil {
		return nil, nil, nil, err
	}
	tgt, w2, err := p.Open(root, target)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := SameClasses(src, tgt); err != nil {
		return nil, nil, nil, err
	}
	return src, tgt, append(w1, w2...), nil
}

// ErrClassMismatch is wrapped by SameClasses' errors.
var ErrClassMismatch = errors.New("classes differ")

// SameClasses checks that two datasets have the same classes in the same
// order. Its error names the classes only one of them has.
func SameClasses(a, b *Dataset) error {
	if slices.Equal(a.Classes, b.Classes) {
		return nil
	}
	onlyA, onlyB := difference(a.Classes, b.Classes), difference(b.Classes, a.Classes)
	var parts []string
	if len(onlyA) > 0 {
		parts = append(parts, fmt.Sprintf("%d only in %s: %s", len(onlyA), a.Root, listSome(onlyA)))
	}
	if len(onlyB) > 0 {
		parts = append(parts, fmt.Sprintf("%d only in %s: %s", len(onlyB), b.Root, listSome(onlyB)))
	}
	if len(parts) == 0 {
		parts = append(parts, "same names in a different order")
	}
	return fmt.Errorf("data: %w: %s (labels number the class folders in order, so both domains need the same ones)",
		ErrClassMismatch, strings.Join(parts, "; "))
}

func difference(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func listSome(names []string) string {
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

// ClassNames returns the names of classes for prompts, in label order:
// each folder name lower-cased with underscores turned into spaces, as
// the paper's prompt lists are written ("Alarm_Clock" → "alarm clock").
func ClassNames(classes []string) []string {
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = strings.ToLower(strings.ReplaceAll(c, "_", " "))
	}
	return out
}

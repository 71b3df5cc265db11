package data

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DomainFolder is one domain folder of a dataset root read as an image
// folder.
type DomainFolder struct {
	Name string // the folder's name below the root
	*Dataset
}

// ReadDomains reads every folder directly below root, except those named
// in exclude and hidden ones (names starting with "."), as one domain's
// image folder, stepping into a lone "images" folder as Office-31's
// archive has. Domains come in the order of their names' bytes. All
// domains must have the same classes (SameClasses), so that one list of
// class names serves every list file. The warnings are ImageFolder's.
func ReadDomains(root string, exclude ...string) ([]DomainFolder, []string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("data: domains: %w", err)
	}
	var out []DomainFolder
	var warns []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !isDir(root, e) || excluded(root, name, exclude) {
			continue
		}
		ds, w, err := ImageFolder(stepIntoImages(filepath.Join(root, name)))
		if err != nil {
			return nil, nil, fmt.Errorf("data: domain %s: %w", name, err)
		}
		if len(out) > 0 {
			if err := SameClasses(out[0].Dataset, ds); err != nil {
				return nil, nil, fmt.Errorf("data: domains %s and %s: %w", out[0].Name, name, err)
			}
		}
		out = append(out, DomainFolder{Name: name, Dataset: ds})
		warns = append(warns, w...)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("data: domains: no domain folders in %s (want %s/<domain>/<class>/<image>)", root, root)
	}
	return out, warns, nil
}

// excluded reports whether root/name is one of the paths in exclude.
func excluded(root, name string, exclude []string) bool {
	p := filepath.Clean(filepath.Join(root, name))
	for _, e := range exclude {
		if filepath.Clean(e) == p || e == name {
			return true
		}
	}
	return false
}

// WriteList writes d as a tllib image list: one "path label" line per
// image, in d's order, the path relative to base with "/" separators.
func (d *Dataset) WriteList(w io.Writer, base string) error {
	bw := bufio.NewWriter(w)
	for _, s := range d.Samples {
		rel, err := filepath.Rel(base, s.Path)
		if err != nil {
			return fmt.Errorf("data: list: %w", err)
		}
		if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("data: list: %s is not below %s", s.Path, base)
		}
		fmt.Fprintf(bw, "%s %d\n", filepath.ToSlash(rel), s.Label)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("data: list: %w", err)
	}
	return nil
}

// WriteClasses writes class names one per line, in label order: the
// companion of a list file, which holds only label numbers.
func WriteClasses(w io.Writer, classes []string) error {
	for _, c := range classes {
		if strings.ContainsAny(c, "\n\r") {
			return fmt.Errorf("data: class name %q holds a line break", c)
		}
	}
	_, err := io.WriteString(w, strings.Join(classes, "\n")+"\n")
	return err
}

// ReadClasses reads a file written by WriteClasses.
func ReadClasses(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: classes: %w", err)
	}
	text := strings.TrimSuffix(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	if text == "" {
		return nil, fmt.Errorf("data: classes %s: empty", path)
	}
	return strings.Split(text, "\n"), nil
}

package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadList reads an image-list file of the Transfer-Learning-Library
// (tllib's ImageList): one image per line, its path and then its label, an
// integer, separated by white space. Relative paths are relative to root.
// Blank lines are skipped. classes names the classes in label order; every
// label must be in [0, len(classes)).
//
// tllib splits a line at every run of white space and joins all fields
// but the last with single spaces; ReadList keeps the path as written
// (trimmed), so names holding runs of spaces are found too. Files are not
// opened: one that is missing or cannot be decoded is reported, with its
// name, when it is loaded.
func ReadList(listFile, root string, classes []string) (*Dataset, error) {
	if len(classes) == 0 {
		return nil, fmt.Errorf("data: list %s: no classes given", listFile)
	}
	f, err := os.Open(listFile)
	if err != nil {
		return nil, fmt.Errorf("data: list: %w", err)
	}
	defer f.Close()
	d := &Dataset{Root: root, Classes: append([]string(nil), classes...)}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		cut := strings.LastIndexFunc(text, isSpace)
		if cut < 0 {
			return nil, fmt.Errorf("data: list %s:%d: %q is not \"path label\"", listFile, line, text)
		}
		path, field := strings.TrimSpace(text[:cut]), text[cut+1:]
		label, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("data: list %s:%d: label %q is not an integer", listFile, line, field)
		}
		if label < 0 || label >= len(classes) {
			return nil, fmt.Errorf("data: list %s:%d: label %d outside [0, %d) for %d classes", listFile, line, label, len(classes), len(classes))
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		d.Samples = append(d.Samples, Sample{Path: path, Label: label})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: list %s: %w", listFile, err)
	}
	if len(d.Samples) == 0 {
		return nil, fmt.Errorf("data: list %s: no images", listFile)
	}
	return d, nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\v' || r == '\f' || r == '\r' }

package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ImageFolder lists the dataset at root laid out as torchvision's
// ImageFolder expects: one sub-folder per class holding that class's
// images, at any depth below it.
//
// It numbers classes and orders files exactly as torchvision does: the
// classes are the sub-folders of root (symbolic links to folders count,
// hidden folders too) sorted by their bytes, so upper case comes first;
// within a class the folders below it are taken in the order of their
// paths' bytes, and each folder's files in the order of their names'
// bytes. Files whose names end with one of Extensions are images; other
// files, and files directly in root, are ignored.
//
// ImageFolder fails if root is missing, has no class folders, or has a
// class folder without any image (torchvision refuses that too), or if a
// folder cannot be read; torchvision skips unreadable folders. Below a
// class folder, a symbolic link to a folder of the dataset (root, a class
// folder or anything below them, wherever a class folder's link leads) or
// to a folder it is in is not followed: torchvision would list the images
// it reaches again, under the wrong class, or loop. Each such link is named
// in the returned warnings; links to files, and to folders outside the
// dataset, are followed. Images are not opened: a file that cannot be
// decoded is reported, with its name, when it is loaded.
func ImageFolder(root string) (*Dataset, []string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("data: image folder: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("data: image folder %s: not a directory", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("data: image folder: %w", err)
	}
	var classes []string
	for _, e := range entries {
		if isDir(root, e) {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("data: image folder %s: no class folders (want %s/<class>/<image>)", root, root)
	}
	slices.Sort(classes) // os.ReadDir sorts already; torchvision's order is byte order
	w := &walker{root: root}
	for _, dir := range append([]string{""}, classes...) {
		real, err := filepath.EvalSymlinks(filepath.Join(root, dir))
		if err != nil {
			return nil, nil, fmt.Errorf("data: image folder: %w", err)
		}
		w.tree = append(w.tree, real)
	}
	d := &Dataset{Root: root, Classes: classes}
	var empty []string
	for k, c := range classes {
		files, err := w.classFiles(filepath.Join(root, c))
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			empty = append(empty, c)
		}
		for _, f := range files {
			d.Samples = append(d.Samples, Sample{Path: f, Label: k})
		}
	}
	if len(empty) > 0 {
		shown := empty
		if len(shown) > 10 {
			shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(empty)-10))
		}
		return nil, nil, fmt.Errorf("data: image folder %s: no image files in %d class folder(s): %s (image extensions: %s)",
			root, len(empty), strings.Join(shown, ", "), strings.Join(Extensions, " "))
	}
	return d, w.warns, nil
}

// isDir reports whether the entry e of folder dir is a folder or a
// symbolic link to one.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

// walker lists the image files of an ImageFolder's classes.
type walker struct {
	root  string
	tree  []string // the real paths of root and of its class folders
	warns []string // the links not followed
}

// classFiles returns the image files below dir in torchvision's order:
// folders by path, then files by name.
func (w *walker) classFiles(dir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	var walk func(path string, ancestors []string) error
	walk = func(path string, ancestors []string) error {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("data: image folder: %w", err)
		}
		ancestors = append(ancestors, real)
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("data: image folder: %w", err)
		}
		f := folder{path: path}
		var subs []string
		for _, e := range entries {
			switch {
			case isDir(path, e):
				if ok, err := w.follow(filepath.Join(path, e.Name()), e, ancestors); err != nil || !ok {
					if err != nil {
						return err
					}
					continue
				}
				subs = append(subs, e.Name())
			case IsImageFile(e.Name()):
				f.files = append(f.files, filepath.Join(path, e.Name()))
			}
		}
		folders = append(folders, f)
		for _, s := range subs {
			if err := walk(filepath.Join(path, s), ancestors); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir, nil); err != nil {
		return nil, err
	}
	slices.SortStableFunc(folders, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	var files []string
	for _, f := range folders {
		files = append(files, f.files...)
	}
	return files, nil
}

// follow reports whether the walk enters the folder path, the entry e of
// its parent: a folder, or a link to a folder outside the dataset's tree
// that is none of the folders the walk is in (ancestors, real paths). A
// link it does not follow is added to the warnings.
func (w *walker) follow(path string, e os.DirEntry, ancestors []string) (bool, error) {
	if e.Type()&os.ModeSymlink == 0 {
		return true, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, fmt.Errorf("data: image folder: %w", err)
	}
	inTree := slices.ContainsFunc(w.tree, func(dir string) bool { return within(real, dir) })
	if !inTree && !slices.Contains(ancestors, real) {
		return true, nil
	}
	shown := path
	if r, err := filepath.Rel(w.root, path); err == nil {
		shown = r
	}
	w.warns = append(w.warns, fmt.Sprintf("image folder %s: not following the link %s: it leads back into the dataset (%s)", w.root, shown, real))
	return false, nil
}

// within reports whether path is dir or below it; both are clean.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

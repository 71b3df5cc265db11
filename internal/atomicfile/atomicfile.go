// Package atomicfile writes files so that they appear complete or not at
// all, and never replace an existing file unless asked to: vlpuda's rule
// for every checkpoint, residual and result it writes.
//
// The data goes to a temporary file in the destination's folder, which is
// synced and then linked into place (a link, unlike a rename, fails if a
// file of that name appeared meanwhile) or, to replace, renamed over the
// old file. The folder is synced afterwards where the system allows.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write creates path with the bytes that write produces. If path exists,
// Write fails with an error wrapping fs.ErrExist unless replace is set. On
// any error nothing is left behind: no partial file, no temporary file.
func Write(path string, replace bool, write func(w io.Writer) error) (err error) {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write %s: %w", path, fs.ErrExist)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
		switch {
		case err == nil:
			os.Remove(tmp.Name())
		case !errors.Is(err, fs.ErrExist):
			// No hard links on this file system: check again, then rename.
			if _, statErr := os.Lstat(path); errors.Is(statErr, fs.ErrNotExist) {
				err = os.Rename(tmp.Name(), path)
			}
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable where the system allows
		d.Close()
	}
	return nil
}

// WriteFile is Write with the file's bytes given.
func WriteFile(path string, data []byte, replace bool) error {
	return Write(path, replace, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tempPrefix returns the start of the names of path's temporary files;
// os.CreateTemp appends random decimal digits.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp" }

// RemoveStale removes the temporary files that writes of path left behind
// in path's folder when their process was killed before it could clean up,
// and returns their paths. It removes only names of the form
// ".NAME.tmpDIGITS", the pattern Write uses for path's base name NAME, and
// must not run while another write of path is under way.
func RemoveStale(path string) (removed []string, err error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("remove stale temporary files of %s: %w", path, err)
	}
	for _, e := range entries {
		if !isTemp(path, e.Name()) || !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove stale temporary file: %w", err)
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// isTemp reports whether name, in path's folder, is one of path's
// temporary files.
func isTemp(path, name string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix(path))
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

package main

import (
	"fmt"
	"path/filepath"

	"github.com/vlpuda/vlpuda/uda/digits"
	"github.com/vlpuda/vlpuda/uda/teacher"
)

// teacherPath returns the teacher checkpoint the demo starts from: path
// if given, otherwise the embedded mini-CLIP, written once into the cache
// folder (cache, or the default) so that vlp.Load reads it like any
// checkpoint.
func teacherPath(path, cache string) (string, error) {
	if path != "" {
		return path, nil
	}
	if cache == "" {
		d, err := digits.DefaultCacheDir()
		if err != nil {
			return "", fmt.Errorf("%w (or pass -teacher MODEL)", err)
		}
		cache = d
	}
	p, err := teacher.Path(filepath.Join(cache, "teacher"))
	if err != nil {
		return "", fmt.Errorf("%w (pass -teacher MODEL, or a writable -cache)", err)
	}
	return p, nil
}

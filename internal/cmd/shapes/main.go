// Command shapes writes the tiny two-domain dataset of package shapes for
// CI scripts: shapes [-n N] DIR.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vlpuda/vlpuda/internal/shapes"
)

func main() {
	n := flag.Int("n", 8, "images per class and domain")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: shapes [-n N] DIR")
		os.Exit(2)
	}
	if err := shapes.Write(flag.Arg(0), *n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

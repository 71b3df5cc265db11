// Command ptxgen writes kernels/cuda/kernels.ptx, the PTX of package
// cuda's kernels, from the constants of the CPU kernels:
//
//	go run ./internal/cmd/ptxgen -consts kernels/eltwise_consts.go -o kernels/cuda/kernels.ptx
//
// `go generate ./kernels/cuda` runs it; `make check-generate` fails when
// the committed file differs from what it writes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vlpuda/vlpuda/internal/atomicfile"
	"github.com/vlpuda/vlpuda/internal/ptxgen"
)

func main() {
	consts := flag.String("consts", "", "the Go file of the CPU kernels' constants (kernels/eltwise_consts.go)")
	out := flag.String("o", "", "the PTX file to write")
	flag.Parse()
	if *consts == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: ptxgen -consts eltwise_consts.go -o kernels.ptx")
		os.Exit(2)
	}
	if err := run(*consts, *out); err != nil {
		fmt.Fprintln(os.Stderr, "ptxgen:", err)
		os.Exit(1)
	}
}

func run(constsPath, out string) error {
	src, err := os.ReadFile(constsPath)
	if err != nil {
		return err
	}
	c, err := ptxgen.ReadConsts(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", constsPath, err)
	}
	return atomicfile.WriteFile(out, ptxgen.Generate(c), true)
}

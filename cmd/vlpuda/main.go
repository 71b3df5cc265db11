// Command vlpuda adapts CLIP-style vision-language models to an unlabeled
// image domain, and measures the engine it runs on.
//
// Usage:
//
//	vlpuda <command> [arguments]
//
// Run "vlpuda help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/vlpuda/vlpuda/tensor/gcpace"
)

// A Command is one vlpuda subcommand, in the manner of cmd/go's base.Command.
type Command struct {
	// Run runs the command with the arguments that follow its name.
	// Flag.Parse has already been called.
	Run func(cmd *Command, args []string) error
	// UsageLine is the one-line usage message; its first word is the name.
	UsageLine string
	// Short is the short description shown in "vlpuda help".
	Short string
	// Long is the long message shown in "vlpuda help <command>".
	Long string
	// Flag is the set of flags specific to this command.
	Flag flag.FlagSet
	// Stdout receives the command's results and Stderr its progress and
	// diagnostics; run sets both before calling Run.
	Stdout, Stderr io.Writer

	signals *signalWatch
}

// Context returns the context a long-running command runs under: it is
// cancelled when the process receives SIGINT or SIGTERM. The command is
// then expected to checkpoint, if it can, and return an error wrapping
// context.Canceled, and vlpuda exits with 130 after SIGINT or 143 after
// SIGTERM (128 plus the signal's number, as a shell reports a process the
// signal killed). Only the first call starts watching for the signals: a
// command that never asks for its Context keeps their default behaviour,
// and after the first signal a second one ends the process at once.
func (c *Command) Context() context.Context { return c.signals.context() }

// Name returns the command's name: the first word of its usage line.
func (c *Command) Name() string {
	name, _, _ := strings.Cut(c.UsageLine, " ")
	return name
}

// errUsage makes main print the command's usage and exit with status 2;
// usagef adds a message.
var errUsage = errors.New("usage")

// errUsageShown makes main exit with status 2 without printing the
// command's usage: the command has printed the usage that applies (a
// verb's, say).
var errUsageShown = fmt.Errorf("%w, shown", errUsage)

// commands lists every command, in the order "vlpuda help" shows them.
// Each is defined in its own file and registered in that file's init.
var commands []*Command

func register(c *Command) { commands = append(commands, c) }

// gcPercent is the garbage collector's headroom above the peak live heap
// when GOGC is not set (see package gcpace). Tensor storage holds no
// pointers, so a collection costs little, but Go's default of GOGC=100 lets
// the heap of a training step grow to about twice its live tensors: a
// ViT-B/16 training step at batch 8 peaks at 4.7 GiB resident with GOGC=100
// and 2.2 GiB with gcpace at 10 %, and GOGC=10 alone faulted the activations'
// pages back in on every step (vlpuda bench clip -cases vit-b16-train-8).
const gcPercent = 10

func main() {
	if os.Getenv("GOGC") == "" {
		gcpace.Start(gcPercent)
	}
	stop, err := startCPUProfile(os.Getenv("VLPUDA_CPUPROFILE"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "vlpuda: %v\n", err)
		os.Exit(1)
	}
	code := runCommand(os.Args[1:], os.Stdout, os.Stderr)
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "vlpuda: %v\n", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// startCPUProfile starts writing a CPU profile of the whole command to
// path ("go tool pprof vlpuda path" reads it) and returns the function that
// finishes it. An empty path profiles nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				printCommandUsage(stdout, c)
				return 0
			}
			fmt.Fprintf(stderr, "vlpuda help %s: unknown command\n", args[1])
			return 2
		}
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-version" || args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "vlpuda %s: unknown command\nRun 'vlpuda help' for usage.\n", args[0])
		return 2
	}
	c.Flag.Init(c.Name(), flag.ContinueOnError)
	c.Flag.SetOutput(stderr)
	c.Flag.Usage = func() { printCommandUsage(stderr, c) }
	// Start from the defaults, so that one process can run a command twice
	// (as the tests do) without one run's flags leaking into the next. Only
	// the flag package's own values (Getters) are reset: Set on a list value
	// would append to it instead.
	c.Flag.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(flag.Getter); ok {
			f.Value.Set(f.DefValue)
		}
	})
	c.Stdout, c.Stderr = stdout, stderr
	if err := c.Flag.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	c.signals = new(signalWatch)
	defer c.signals.stop()
	if err := c.Run(c, c.Flag.Args()); err != nil {
		if errors.Is(err, errUsage) {
			if msg := usageMessage(err); msg != "" {
				fmt.Fprintf(stderr, "vlpuda %s: %s\n", c.Name(), msg)
			}
			if !errors.Is(err, errUsageShown) {
				printCommandUsage(stderr, c)
			}
			return 2
		}
		fmt.Fprintf(stderr, "vlpuda %s: %v\n", c.Name(), err)
		if sig := c.signals.received(); sig != nil && errors.Is(err, context.Canceled) {
			code := signalStatus(sig)
			fmt.Fprintf(stderr, "vlpuda %s: stopped by a signal (%v); exit status %d\n", c.Name(), sig, code)
			return code
		}
		return 1
	}
	return 0
}

func lookup(name string) *Command {
	for _, c := range commands {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "vlpuda adapts CLIP-style models to an unlabeled image domain.\n\nUsage:\n\n\tvlpuda <command> [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-14s %s\n", c.Name(), c.Short)
	}
	fmt.Fprintf(w, "\nUse \"vlpuda help <command>\" for more information about a command.\n")
}

func printCommandUsage(w io.Writer, c *Command) {
	fmt.Fprintf(w, "usage: vlpuda %s\n", c.UsageLine)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Long))
	}
	var hasFlags bool
	c.Flag.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		c.Flag.SetOutput(w)
		c.Flag.PrintDefaults()
	}
}

// printWarnings prints each warning to w as "vlpuda NAME: warning: …".
func printWarnings(w io.Writer, name string, warns []string) {
	for _, s := range warns {
		fmt.Fprintf(w, "vlpuda %s: warning: %s\n", name, s)
	}
}

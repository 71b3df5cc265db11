package demo

import (
	"fmt"
	"strings"

	"github.com/vlpuda/vlpuda/uda/digits"
)

// Task is a source → target pair of digit domains (digits.Domains).
type Task struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// String returns "source->target", the task's key in results.
func (t Task) String() string { return t.Source + "->" + t.Target }

// Label returns "source→target", the task's name in the table.
func (t Task) Label() string { return t.Source + "→" + t.Target }

// ParseTask parses "source->target" (or "source→target").
func ParseTask(s string) (Task, error) {
	src, tgt, ok := strings.Cut(strings.ReplaceAll(s, "→", "->"), "->")
	if !ok || src == "" || tgt == "" {
		return Task{}, fmt.Errorf("demo: task %q: want source->target", s)
	}
	return Task{src, tgt}, nil
}

// The tasks of the demo. MainTask is the classic large shift; FullTasks
// adds two more for -full; ValidationTask chooses the hyper-parameters
// (PROTOCOL.md) and is never reported in the table; FallbackTask replaces
// MainTask on a machine without the photos MNIST-M is blended with.
var (
	MainTask       = Task{digits.MNIST, digits.MNISTM}
	FullTasks      = []Task{MainTask, {digits.OpenCV, digits.MNIST}, {digits.Fonts, digits.MNIST}}
	ValidationTask = Task{digits.Fonts, digits.OpenCV}
	FallbackTask   = Task{digits.Fonts, digits.MNIST}
)

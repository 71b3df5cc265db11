package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// stopSignals are the signals that stop a long-running command cleanly:
// SIGINT (Ctrl-C) and SIGTERM, which batch systems such as Slurm and
// Kubernetes send before they kill a job.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signalWatch is the one place vlpuda turns stopSignals into a cancelled
// context. Unlike signal.NotifyContext, it keeps the signal itself, from
// which the exit status follows.
type signalWatch struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal

	mu  sync.Mutex
	sig os.Signal
}

// context starts watching, on its first call, and returns the context
// that the first stop signal cancels. Once that signal has arrived, the
// signals' default behaviour returns, so that a second one ends the
// process at once.
func (w *signalWatch) context() context.Context {
	w.once.Do(func() {
		w.ctx, w.cancel = context.WithCancel(context.Background())
		w.ch = make(chan os.Signal, 1)
		signal.Notify(w.ch, stopSignals...)
		go func() {
			select {
			case s := <-w.ch:
				signal.Stop(w.ch)
				w.mu.Lock()
				w.sig = s
				w.mu.Unlock()
				w.cancel()
			case <-w.ctx.Done():
			}
		}()
	})
	return w.ctx
}

// received returns the stop signal that cancelled the context, or nil.
func (w *signalWatch) received() os.Signal {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sig
}

// stop stops watching and restores the signals' default behaviour.
func (w *signalWatch) stop() {
	w.once.Do(func() {}) // a later context call starts nothing
	if w.ch != nil {
		signal.Stop(w.ch)
		w.cancel()
	}
}

// signalStatus returns the exit status after sig stopped a command: 128
// plus the signal's number (130 for SIGINT, 143 for SIGTERM), or 1 for a
// signal without a number.
func signalStatus(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

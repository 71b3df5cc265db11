package main

import (
	"errors"
	"fmt"
)

// Limits on the flags that size an allocation or a number of goroutines.
// A value outside its range is a usage error: the command names the flag
// and the range and exits with status 2 before it reads anything.
const (
	// maxThreads bounds -threads (0 means all cores). It is above any core
	// count, so that a run can be reproduced, thread count and all, on a
	// smaller machine.
	maxThreads = 256
	// maxWorkers bounds adapt's -workers, the image decoders per domain.
	maxWorkers = 256
	// maxBatch bounds every batch size flag.
	maxBatch = 4096
	// maxBatchBytes bounds the float32 pixels of one batch of images at
	// the model's resolution: 512 MiB, 891 images at 224×224.
	maxBatchBytes = 512 << 20
	// maxDigitImages bounds the demo's -train-images and -test-images
	// (MNIST has 60,000 training images).
	maxDigitImages = 100_000
	// maxSeeds bounds the demo's -seeds.
	maxSeeds = 100
	// maxGEMMElements bounds each matrix of a bench gemm shape: 64 M
	// float32 elements, 256 MiB.
	maxGEMMElements = 1 << 26
)

// usageError is a usage error with a message: run prints the message and
// the command's usage, and exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Is makes errors.Is(err, errUsage) hold for a usageError.
func (e *usageError) Is(target error) bool { return target == errUsage }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// usageMessage returns the message of a usage error err, or "" for the
// bare errUsage.
func usageMessage(err error) string {
	var u *usageError
	if errors.As(err, &u) {
		return u.msg
	}
	return ""
}

// bound is the allowed range of one integer flag.
type bound struct {
	name     string
	v        int
	min, max int
}

// checkBounds returns a usage error naming the first flag outside its
// range, or nil.
func checkBounds(bounds ...bound) error {
	for _, b := range bounds {
		if b.v < b.min || b.v > b.max {
			return usagef("-%s %d is out of range: want %d to %d", b.name, b.v, b.min, b.max)
		}
	}
	return nil
}

// optBound returns the bound of an optional flag: when it is not set, its
// value is taken to be min, which passes.
func optBound(name string, o optInt, min, max int) bound {
	if !o.set {
		return bound{name, min, min, max}
	}
	return bound{name, o.v, min, max}
}

// checkBatchImages returns a usage error if batch images of resolution
// res, as float32 RGB, would take more than maxBatchBytes.
func checkBatchImages(flag string, batch, res int) error {
	limit := max(1, maxBatchBytes/(3*4*max(res*res, 1)))
	if batch > limit {
		return usagef("-%s %d: %d images of %d×%d take more than %d MiB; want at most %d",
			flag, batch, batch, res, res, maxBatchBytes>>20, limit)
	}
	return nil
}

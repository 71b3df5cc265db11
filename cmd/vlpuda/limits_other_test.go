//go:build !linux

package main

// limitChild does nothing where the tests set no resource limits.
func limitChild() {}

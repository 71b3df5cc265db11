// Package teacher embeds vlpuda's mini-CLIP, the teacher of the packaged
// digits benchmark: the checkpoint that `vlpuda pretrain` trained and the
// gate passed (README.md beside it gives the command, seed, curve and gate
// results). `vlpuda demo` starts from it.
package teacher

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed minclip.safetensors
var weights []byte

// Size returns the size of the embedded checkpoint in bytes.
func Size() int { return len(weights) }

// Path writes the embedded checkpoint into dir, created if needed, as
// minclip-<first 12 hex digits of its SHA-256>.safetensors, and returns
// the file's path; a file already there with the same content is reused.
// The teacher is thus read by vlp.Load like any CLIP checkpoint.
func Path(dir string) (string, error) {
	sum := sha256.Sum256(weights)
	path := filepath.Join(dir, "minclip-"+hex.EncodeToString(sum[:6])+".safetensors")
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, weights) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("teacher: writing the embedded teacher: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".minclip-*.tmp")
	if err != nil {
		return "", fmt.Errorf("teacher: writing the embedded teacher: %w", err)
	}
	_, err = tmp.Write(weights)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("teacher: writing the embedded teacher to %s: %w", path, err)
	}
	return path, nil
}

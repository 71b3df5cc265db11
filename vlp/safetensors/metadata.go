package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// ReadMetadata returns the "__metadata__" map of the safetensors file at
// path, or nil if it has none, reading only the header. It checks the
// header length against the file size and the header's JSON, not the
// tensors: ReadFile does that.
func ReadMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("safetensors: truncated file: %d bytes, need at least 8 for the header length (file %s)", st.Size(), path)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d is larger than the limit of %d (file %s)", n, MaxHeaderSize, path)
	}
	if n > uint64(st.Size()-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes after it (truncated file?) (file %s)", n, st.Size()-8, path)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("safetensors: read header of %s: %w", path, err)
	}
	var h struct {
		Metadata map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w (file %s)", err, path)
	}
	return h.Metadata, nil
}

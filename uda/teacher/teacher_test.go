package teacher

import (
	"bytes"
	"os"
	"testing"
)

func TestPath(t *testing.T) {
	dir := t.TempDir()
	p, err := Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(b, weights) || len(b) != Size() {
		t.Fatalf("%s holds %d bytes (%v), want the %d embedded ones", p, len(b), err, Size())
	}
	st, _ := os.Stat(p)
	again, err := Path(dir)
	if err != nil || again != p {
		t.Fatalf("second call: %q, %v; want %q", again, err, p)
	}
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("second call rewrote the file")
	}
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Path(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, weights) {
		t.Error("a damaged file was not replaced")
	}
}

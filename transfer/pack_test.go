package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// A binary is compressed once per process and reused while the file stays
// the same; a rebuilt binary is compressed anew.
func TestPackBinaryReused(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shift")
	want := bytes.Repeat([]byte("an agent binary, or nearly "), 40000)
	if err := os.WriteFile(bin, want, 0o755); err != nil {
		t.Fatal(err)
	}
	unpack := func(p *packedBinary) []byte {
		t.Helper()
		<-p.done
		if p.err != nil {
			t.Fatal(p.err)
		}
		d, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		got, err := d.DecodeAll(p.data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	p1 := packBinary(bin)
	if got := unpack(p1); !bytes.Equal(got, want) {
		t.Fatalf("the packed binary unpacks to %d bytes, want the file's %d", len(got), len(want))
	}
	if p2 := packBinary(bin); p2 != p1 {
		t.Error("the same binary was compressed twice")
	}

	// Rebuilt: new content and a new modification time.
	want = append(want, "rebuilt"...)
	if err := os.WriteFile(bin, want, 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(bin, later, later); err != nil {
		t.Fatal(err)
	}
	p3 := packBinary(bin)
	if p3 == p1 {
		t.Fatal("a rebuilt binary came from the old copy")
	}
	if got := unpack(p3); !bytes.Equal(got, want) {
		t.Fatalf("the rebuilt binary unpacks to %d bytes, want %d", len(got), len(want))
	}

	// A binary that is gone is an error, and is not kept.
	os.Remove(bin)
	if p := packBinary(bin); func() error { <-p.done; return p.err }() == nil {
		t.Error("a missing binary packed without an error")
	}
}

package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shift-migrate/shift/disk"
)

const mib = 1 << 20

// makeImage writes a sparse image of size bytes with random data at the
// given chunk indexes (whole chunks), and returns its path.
func makeImage(t testing.TB, dir string, size int64, dataChunks []int64) string {
	t.Helper()
	p := filepath.Join(dir, "source.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, ChunkSize)
	for _, i := range dataChunks {
		// Half random, half text-like: compressible data, as real disks hold.
		rand.Read(buf[:ChunkSize/2])
		for k := ChunkSize / 2; k < ChunkSize; k += 64 {
			copy(buf[k:], "log line: service started, pid 4242, status ok ................\n")
		}
		n := chunkLen(i, size)
		if _, err := f.WriteAt(buf[:n], i*ChunkSize); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// spread returns k distinct chunk indexes spread over n chunks, in order.
func spread(n, k int64) []int64 {
	out := make([]int64, 0, k)
	for j := range k {
		i := min(j*n/k+(j%3), n-1)
		if len(out) > 0 && i <= out[len(out)-1] {
			i = out[len(out)-1] + 1
		}
		out = append(out, i)
	}
	if out[len(out)-1] >= n {
		panic("spread: too many chunks")
	}
	return out
}

// overwrite writes random bytes into chunk i of the image at path.
func overwrite(t testing.TB, path string, i int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	rand.Read(b)
	if _, err := f.WriteAt(b, i*ChunkSize+12345); err != nil {
		t.Fatal(err)
	}
}

// sameFiles fails unless a and b hold the same bytes (cmp, in Go).
func sameFiles(t testing.TB, a, b string) {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ba, bb := make([]byte, mib), make([]byte, mib)
	var off int64
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, _ := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			t.Fatalf("%s and %s differ in the MiB at offset %d", a, b, off)
		}
		if ea != nil {
			return
		}
		off += int64(na)
	}
}

// localAgent runs ServeAgent in-process on the image at path, connected by
// pipes; wrap (optional) sits between the agent's output and the session.
func localAgent(t testing.TB, path string, wrap func(io.Reader) io.Reader) *Session {
	t.Helper()
	src, err := disk.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := ServeAgent(ctx, src, reqR, repW, AgentOptions{Name: path})
		repW.CloseWithError(err)
		reqR.CloseWithError(err)
		done <- err
	}()
	var r io.Reader = repR
	if wrap != nil {
		r = wrap(repR)
	}
	s, err := Open(ctx, r, reqW)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		repR.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
		cancel()
		src.Close()
	})
	return s
}

// frameMangler passes frames through and damages some of them.
type frameMangler struct {
	r   io.Reader
	buf bytes.Buffer
	// damage is called for each frame (header and body, without the body
	// CRC) and may change it in place.
	damage func(hdr, body []byte)
}

func (m *frameMangler) Read(p []byte) (int, error) {
	if m.buf.Len() == 0 {
		var h [headerLen]byte
		if _, err := io.ReadFull(m.r, h[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint32(h[2:])
		body := make([]byte, n+4)
		if _, err := io.ReadFull(m.r, body); err != nil {
			return 0, err
		}
		m.damage(h[:], body[:n])
		m.buf.Write(h[:])
		m.buf.Write(body)
	}
	return m.buf.Read(p)
}

func openSink(t testing.TB, dir string, size int64) *FileSink {
	t.Helper()
	s, err := OpenFileSink(filepath.Join(dir, "target.raw"), size, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

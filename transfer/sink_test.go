package transfer

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FileSink writes aligned chunks past the page cache (O_DIRECT on Linux)
// and everything else through it; either way the image holds exactly what
// was written, also where the two kinds of write meet and around a short
// last chunk.
func TestFileSinkWrites(t *testing.T) {
	dir := t.TempDir()
	size := int64(3*ChunkSize + 3*4096 + 512)
	path := filepath.Join(dir, "img.raw")
	s, err := OpenImageSink(path, size, ImageOptions{Fresh: true, Area: size + 1000, Trailer: []byte("footer")})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && s.direct == nil {
		t.Logf("%s refuses O_DIRECT: only buffered writes are tested", dir)
	}
	want := make([]byte, size)
	rng := rand.New(rand.NewPCG(3, 4))
	put := func(off int64, b []byte) {
		t.Helper()
		if n, err := s.WriteAt(b, off); err != nil || n != len(b) {
			t.Fatalf("write %d bytes at %d: %d, %v", len(b), off, n, err)
		}
		copy(want[off:], b)
	}
	chunk := func(n int) []byte {
		bp := getBuf() // pool buffers are page-aligned, as in a pass
		b := (*bp)[:n]
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	put(0, chunk(ChunkSize))                       // aligned: direct
	put(2*ChunkSize, chunk(ChunkSize))             // aligned: direct
	put(ChunkSize+100, chunk(5000))                // unaligned offset
	put(3*ChunkSize, chunk(int(size-3*ChunkSize))) // short last chunk, unaligned length
	put(2*ChunkSize+4096, chunk(8192))             // aligned, over a direct write
	if err := s.WriteZeroes(ChunkSize+4096, 4096); err != nil {
		t.Fatal(err)
	}
	clear(want[ChunkSize+4096 : ChunkSize+8192])
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != size+1000+6 || !bytes.Equal(got[size+1000:], []byte("footer")) {
		t.Fatalf("image of %d bytes, tail %q", len(got), got[len(got)-6:])
	}
	if !bytes.Equal(got[:size], want) || !bytes.Equal(got[size:size+1000], make([]byte, 1000)) {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("image differs from what was written first at byte %d", i)
			}
		}
		t.Fatal("padding is not zero")
	}
}

// The spelled-out hash of a zero chunk is blake3 of ChunkSize zero bytes,
// and ZeroHash of a short chunk is the hash of that many zeros.
func TestZeroHash(t *testing.T) {
	if got := hashChunk(make([]byte, ChunkSize)); ZeroHash(ChunkSize) != got {
		t.Fatalf("ZeroHash(ChunkSize) = %s, blake3 of %d zero bytes is %s", ZeroHash(ChunkSize), ChunkSize, got)
	}
	if got := hashChunk(make([]byte, 4096)); ZeroHash(4096) != got || got == fullZeroHash {
		t.Fatalf("ZeroHash(4096) = %s, want %s", ZeroHash(4096), got)
	}
}

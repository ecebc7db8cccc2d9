package transfer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shift-migrate/shift/disk"
)

// A disk whose size is not a whole number of chunks, with data spread over
// it: the first pass copies the data and skips the holes, later passes move
// only what changed, including data that became zero.
func TestPassesLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(64*ChunkSize + 3*mib + 512)
	data := append(spread(64, 12), 64) // 64 is the short last chunk
	img := makeImage(t, dir, size, data)
	s := localAgent(t, img, nil)
	if s.Disk().Size != size {
		t.Fatalf("hello size %d, want %d", s.Disk().Size, size)
	}
	sink := openSink(t, dir, size)
	j := NewMemJournal(size)

	r, err := s.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pass != 1 || r.Sent != int64(len(data)) || r.Sent+r.Zero != r.Chunks || r.ZeroWritten != 0 {
		t.Fatalf("pass 1: %+v", r)
	}
	if !r.Verified || r.WireBytes >= r.DataBytes || r.PayloadBytes >= r.DataBytes {
		t.Errorf("pass 1: want a verified, compressed copy: %+v", r)
	}
	sameFiles(t, img, sink.Name())
	src, _ := disk.OpenFile(img)
	defer src.Close()
	if d, err := SourceDigest(ctx, src, 2); err != nil || d != r.Digest {
		t.Fatalf("source digest %s (%v), pass digest %s", d, err, r.Digest)
	}

	// A pass without change moves nothing but frames.
	r, err = s.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pass != 2 || r.Sent != 0 || r.Unchanged != int64(len(data)) || r.WireBytes > 64<<10 {
		t.Fatalf("pass 2 without change: %+v", r)
	}

	// Change one data chunk, write zeros over another (the agent finds
	// them), punch a hole into a third (the extent map says zero), add
	// data in a hole.
	overwrite(t, img, data[1], 1000)
	f, _ := os.OpenFile(img, os.O_WRONLY, 0)
	f.WriteAt(make([]byte, ChunkSize), data[2]*ChunkSize)
	punchHole(f, data[3]*ChunkSize, ChunkSize)
	f.Close()
	overwrite(t, img, 5, 100)

	r, err = s.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 2 || r.ZeroWritten != 2 || r.Unchanged != int64(len(data))-3 {
		t.Fatalf("pass 3: want 2 sent, 2 zeroed: %+v", r)
	}
	sameFiles(t, img, sink.Name())
	if st := j.State(); st.LastPass != 3 || st.Open != 0 || st.LastDigest != r.Digest {
		t.Fatalf("journal after pass 3: last %d open %d", st.LastPass, st.Open)
	}
}

// Bits flipped in chunk payloads on the wire are detected (frame CRC, and
// blake3 after decompression when the CRC is recomputed by the attacker)
// and the chunks are requested again.
func TestCorruptChunkResent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(32 * ChunkSize)
	data := spread(32, 8)
	img := makeImage(t, dir, size, data)
	damaged := 0
	s := localAgent(t, img, func(r io.Reader) io.Reader {
		return &frameMangler{r: r, damage: func(hdr, body []byte) {
			if hdr[0] == frameReply && len(body) > replyHeaderLen+100 && damaged < 3 {
				damaged++
				body[replyHeaderLen+50] ^= 0x10
			}
		}}
	})
	sink := openSink(t, dir, size)
	r, err := s.Pass(ctx, sink, NewMemJournal(size), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if damaged != 3 || r.Retried != 3 || r.Sent != int64(len(data)) {
		t.Fatalf("damaged %d, result %+v", damaged, r)
	}
	sameFiles(t, img, sink.Name())
}

// A payload damaged before its CRC was computed (so the frame is intact)
// still fails blake3 after decompression and is resent.
func TestCorruptPayloadBehindGoodCRC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(8 * ChunkSize)
	img := makeImage(t, dir, size, []int64{1, 5})
	damaged := false
	s := localAgent(t, img, func(r io.Reader) io.Reader {
		return &frameMangler{r: r, damage: func(hdr, body []byte) {
			if hdr[0] == frameReply && len(body) > replyHeaderLen+100 && !damaged {
				damaged = true
				body[1] ^= 1 // the hash itself
				fixCRC(body)
			}
		}}
	})
	sink := openSink(t, dir, size)
	r, err := s.Pass(ctx, sink, NewMemJournal(size), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Retried != 1 {
		t.Fatalf("want one retry: %+v", r)
	}
	sameFiles(t, img, sink.Name())
}

// A damaged frame header cannot be resynchronised: the pass fails with
// ErrCorrupt, keeps what it finished, and a new session resumes.
func TestCorruptHeaderFailsResumable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(32 * ChunkSize)
	data := spread(32, 16)
	img := makeImage(t, dir, size, data)
	replies := 0
	s := localAgent(t, img, func(r io.Reader) io.Reader {
		return &frameMangler{r: r, damage: func(hdr, body []byte) {
			if hdr[0] == frameReply {
				replies++
				if replies == 10 {
					hdr[7] ^= 0x40 // the tag
				}
			}
		}}
	})
	sink := openSink(t, dir, size)
	j, err := OpenJournal(filepath.Join(dir, "j"), size)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Pass(ctx, sink, j, Options{Window: 4, Workers: 1})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	if _, err := s.Pass(ctx, sink, j, Options{}); err == nil {
		t.Fatal("a session with a corrupted stream was used again")
	}
	j.Close()
	j, err = OpenJournal(filepath.Join(dir, "j"), size)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := localAgent(t, img, nil).Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resumed || r.Skipped < 5 || r.Sent > int64(len(data))-5 {
		t.Fatalf("resume: %+v", r)
	}
	sameFiles(t, img, sink.Name())
}

// fullSink fails with ENOSPC once more than room bytes were written: a
// fault injector for when a small tmpfs cannot be mounted.
type fullSink struct {
	*FileSink
	room int64
}

func (s *fullSink) WriteAt(p []byte, off int64) (int, error) {
	if s.room < int64(len(p)) {
		return 0, &os.PathError{Op: "write", Path: s.Name(), Err: syscall.ENOSPC}
	}
	s.room -= int64(len(p))
	return s.FileSink.WriteAt(p, off)
}

// A full target fails the pass with ENOSPC, keeps the finished chunks in
// the journal, and a rerun with room resumes. The target is a real 24 MiB
// tmpfs when this process may mount one, else the ENOSPC fault injector.
func TestTargetFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(16 * ChunkSize)
	data := spread(16, 10) // 40 MiB of data
	img := makeImage(t, dir, size, data)
	tdir := filepath.Join(dir, "target")
	os.Mkdir(tdir, 0o755)
	var sink Sink
	fs, err := OpenFileSink(filepath.Join(tdir, "t.raw"), size, false)
	if err != nil {
		t.Fatal(err)
	}
	fs.Close()
	if err := syscall.Mount("tmpfs", tdir, "tmpfs", 0, "size=24m"); err == nil {
		t.Cleanup(func() { syscall.Unmount(tdir, syscall.MNT_DETACH) })
		t.Log("target on a 24 MiB tmpfs")
		if fs, err = OpenFileSink(filepath.Join(tdir, "t.raw"), size, false); err != nil {
			t.Fatal(err)
		}
		sink = fs
	} else {
		t.Logf("cannot mount tmpfs (%v): ENOSPC fault injector", err)
		if fs, err = OpenFileSink(filepath.Join(tdir, "t.raw"), size, false); err != nil {
			t.Fatal(err)
		}
		sink = &fullSink{FileSink: fs, room: 24 * mib}
	}
	jpath := filepath.Join(dir, "j")
	j, _ := OpenJournal(jpath, size)
	_, err = localAgent(t, img, nil).Pass(ctx, sink, j, Options{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	t.Log(err)
	j.Close()
	done := 0
	j, _ = OpenJournal(jpath, size)
	for _, c := range j.State().Chunks {
		if c.Known {
			done++
		}
	}
	if done < 3 {
		t.Fatalf("only %d chunks kept after ENOSPC", done)
	}

	// Room again: move the image to a roomy directory and resume.
	big := filepath.Join(dir, "t.raw")
	copyFile(t, fs.Name(), big)
	fs.Close()
	fs2, err := OpenFileSink(big, size, false)
	if err != nil {
		t.Fatal(err)
	}
	defer fs2.Close()
	var rep countReporter
	r, err := localAgent(t, img, nil).Pass(ctx, fs2, j, Options{Reporter: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resumed || r.Skipped != int64(done) || r.Sent > int64(len(data)) {
		t.Fatalf("resume after ENOSPC: %+v (done before %d)", r, done)
	}
	// The resumed pass's progress counts what the first run finished, and
	// only the space in use: the data chunks, not the holes.
	inUse := int64(len(data)) * ChunkSize
	if len(rep.got) < 2 || rep.got[0].Done <= ChunkSize || !rep.got[len(rep.got)-1].Final {
		t.Fatalf("resumed pass reports: %+v", rep.got)
	}
	for _, g := range rep.got {
		if g.Total != inUse || g.Done > g.Total {
			t.Errorf("resumed pass report %+v: want %d bytes in use in all", g, inUse)
		}
	}
	if last := rep.got[len(rep.got)-1]; last.Done != inUse {
		t.Errorf("final report of the resumed pass: %+v", last)
	}
	sameFiles(t, img, big)
	j.Close()
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A target that lost a write is caught by the end-of-pass digest, and the
// chunk is copied again by the next pass: with Options.ReadBack by the pass
// that wrote it, by default by the next pass, which reads back every chunk
// it does not write itself.
func TestDigestMismatchHeals(t *testing.T) {
	ctx := context.Background()
	for _, readBack := range []bool{true, false} {
		dir := t.TempDir()
		size := int64(8 * ChunkSize)
		img := makeImage(t, dir, size, []int64{2, 6})
		sink := &lossySink{FileSink: openSink(t, dir, size), drop: 6 * ChunkSize}
		j := NewMemJournal(size)
		s := localAgent(t, img, nil)
		opts := Options{ReadBack: readBack}
		r, err := s.Pass(ctx, sink, j, opts)
		if !readBack {
			// The lost write is hashed as written: this pass cannot see it.
			if err != nil || !r.Verified || r.ReadBack != 0 {
				t.Fatalf("default pass 1: %+v, %v", r, err)
			}
			r, err = s.Pass(ctx, sink, j, opts)
		}
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "first chunk 6 ") {
			t.Fatalf("read back %v: err = %v, want ErrDigestMismatch at chunk 6", readBack, err)
		}
		if readBack && r.ReadBack != 1 {
			t.Fatalf("read back: %d chunks read, want 1: chunk 2 (the lost chunk 6 is a hole, like the rest)", r.ReadBack)
		}
		sink.drop = -1
		r, err = s.Pass(ctx, sink, j, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Resumed || r.Sent != 1 {
			t.Fatalf("read back %v: healing pass: %+v", readBack, r)
		}
		sameFiles(t, img, sink.Name())
	}
}

// A target image changed behind the journal's back between passes (a test
// boot of the copy, say) is caught by the next pass even where the source
// did not change, and the pass after that copies the chunk again.
func TestTargetChangedBetweenPasses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(8 * ChunkSize)
	img := makeImage(t, dir, size, []int64{1, 4})
	sink := openSink(t, dir, size)
	j := NewMemJournal(size)
	s := localAgent(t, img, nil)
	if _, err := s.Pass(ctx, sink, j, Options{}); err != nil {
		t.Fatal(err)
	}
	// One data chunk and one zero chunk of the copy change.
	overwrite(t, sink.Name(), 4, 512)
	overwrite(t, sink.Name(), 7, 512)
	_, err := s.Pass(ctx, sink, j, Options{})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "in 2 chunk(s), first chunk 4 ") {
		t.Fatalf("err = %v, want a mismatch in chunks 4 and 7", err)
	}
	r, err := s.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 1 || r.ZeroWritten != 1 || r.ReadBack != 1 {
		t.Fatalf("healing pass: want chunk 4 sent, 7 zeroed, 1 read back: %+v", r)
	}
	sameFiles(t, img, sink.Name())
}

// lossySink silently drops the write at offset drop.
type lossySink struct {
	*FileSink
	drop int64
}

func (s *lossySink) WriteAt(p []byte, off int64) (int, error) {
	if off == s.drop {
		return len(p), nil
	}
	return s.FileSink.WriteAt(p, off)
}

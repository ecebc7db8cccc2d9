package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/shift-migrate/shift/disk"
)

// Sink receives a disk. A cloud target's disk and a local file both satisfy
// it. Writes come from several goroutines at once, to distinct chunks.
type Sink interface {
	// WriteAt writes p at off, as io.WriterAt.
	WriteAt(p []byte, off int64) (int, error)
	// WriteZeroes makes [off, off+n) read as zeros. A delta pass calls it
	// where data became zero; a first pass never does, since a new sink
	// reads as zeros.
	WriteZeroes(off, n int64) error
	// Size is the disk's size in bytes.
	Size() int64
}

// Syncer is a sink that can make its writes durable. The journal records a
// chunk as finished only after the sink's Sync, so that a crash never
// leaves a chunk recorded that the sink lost.
type Syncer interface {
	Sync() error
}

// ReadableSink is a sink that can be read back. The end-of-pass digest is
// then computed from what the sink actually holds; otherwise from the hashes
// of what was written to it.
type ReadableSink interface {
	Sink
	io.ReaderAt
}

// Extenter is a readable sink that knows which of its ranges are holes, so
// that verification need not read them.
type Extenter interface {
	Extents(ctx context.Context) ([]disk.Extent, error)
}

// Finisher is a sink that completes its container once a pass has been
// verified: an image sink writes its trailer (a VHD footer). Pass calls
// Finish after the digests matched and before the journal records the pass
// as complete, so a complete pass in the journal means a complete image.
type Finisher interface {
	Finish() error
}

// FileSink is a sink backed by a sparse image file: the disk's bytes from
// offset 0, optionally padded to a larger data area and followed by a
// trailer (a fixed VHD is the raw disk, padded to a whole MiB, then its
// footer).
//
// On Linux, chunk writes whose buffer, offset and length are aligned to
// 4 KiB go to the file with O_DIRECT: a copy writes each byte once and
// never reads it again in the pass, so copying it into the page cache
// first is wasted work (it cost the appliance a quarter of its CPU), and a
// copy of a large disk does not evict everything else from the cache.
// Other writes, and all writes where the filesystem refuses O_DIRECT, go
// through the page cache. Sync makes both durable.
type FileSink struct {
	f       *os.File
	size    int64
	area    int64
	trailer []byte
	// direct is f opened with O_DIRECT, nil when not available; noDirect
	// is set once a direct write failed with EINVAL (alignment the
	// filesystem does not accept): the sink then stops using it.
	direct   *os.File
	noDirect atomic.Bool
}

var (
	_ Sink         = (*FileSink)(nil)
	_ Syncer       = (*FileSink)(nil)
	_ ReadableSink = (*FileSink)(nil)
	_ Extenter     = (*FileSink)(nil)
	_ Finisher     = (*FileSink)(nil)
)

// ImageOptions shape the file of an image sink. The zero value is a raw
// image that keeps the file's existing content.
type ImageOptions struct {
	// Fresh discards any existing content: the file becomes all holes.
	Fresh bool
	// Area is the size of the data area, at least the disk's size; bytes
	// between the disk's end and Area read as zeros. 0 means the disk's size.
	Area int64
	// Trailer is written right after the data area by Finish, at the end of
	// every pass; nil means none. The file is Area + len(Trailer) bytes
	// from the start: until the first pass ends the trailer reads as zeros.
	Trailer []byte
}

// OpenFileSink opens or creates the raw image at path for a disk of size
// bytes. With fresh, any existing content is discarded (the file becomes
// all holes); otherwise an existing file must already have that size.
func OpenFileSink(path string, size int64, fresh bool) (*FileSink, error) {
	return OpenImageSink(path, size, ImageOptions{Fresh: fresh})
}

// OpenImageSink opens or creates the image at path for a disk of size bytes,
// shaped by opts. An existing file that is kept must already have the
// shape's length.
func OpenImageSink(path string, size int64, opts ImageOptions) (*FileSink, error) {
	area := opts.Area
	if area == 0 {
		area = size
	}
	if area < size {
		return nil, fmt.Errorf("target image %s: data area of %d bytes is smaller than the disk's %d", path, area, size)
	}
	want := area + int64(len(opts.Trailer))
	flag := os.O_RDWR | os.O_CREATE
	if opts.Fresh {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("target image: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("target image: %w", err)
	}
	switch {
	case st.Size() == want:
	case st.Size() == 0:
		if err := f.Truncate(want); err != nil {
			f.Close()
			return nil, fmt.Errorf("target image %s: set size %d: %w", path, want, err)
		}
	default:
		f.Close()
		return nil, fmt.Errorf("target image %s has %d bytes but a copy of the source disk (%d bytes) takes %d: the source disk changed size, or the file is not this disk's copy; move the image away to start over", path, st.Size(), size, want)
	}
	return &FileSink{f: f, size: size, area: area, trailer: opts.Trailer, direct: openDirect(path)}, nil
}

// Finish writes the trailer, if any, after the data area and flushes the
// file to stable storage.
func (s *FileSink) Finish() error {
	if len(s.trailer) > 0 {
		if _, err := s.f.WriteAt(s.trailer, s.area); err != nil {
			return fmt.Errorf("target image %s: write trailer: %w", s.f.Name(), err)
		}
	}
	return s.f.Sync()
}

// writePiece is the largest single write to the image file. Buffered
// writes of 4 MiB into new page-cache pages cost Linux (6.x, ext4) three to
// four times the CPU of the same bytes written 1 MiB at a time: measured,
// not guessed (see the transfer benchmarks).
const writePiece = 1 << 20

// directAlign is the alignment of O_DIRECT writes: buffer address, offset
// and length.
const directAlign = 4096

// WriteAt writes p at off: directly when aligned (see FileSink), otherwise
// in pieces of at most writePiece bytes through the page cache.
func (s *FileSink) WriteAt(p []byte, off int64) (int, error) {
	if s.direct != nil && !s.noDirect.Load() && len(p) > 0 && len(p)%directAlign == 0 && off%directAlign == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0 {
		n, err := s.direct.WriteAt(p, off)
		if !errors.Is(err, syscall.EINVAL) {
			return n, err
		}
		s.noDirect.Store(true)
	}
	n := 0
	for n < len(p) {
		m, err := s.f.WriteAt(p[n:min(n+writePiece, len(p))], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadAt reads from the image.
func (s *FileSink) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// WriteZeroes punches a hole where the filesystem can, and writes zeros
// otherwise.
func (s *FileSink) WriteZeroes(off, n int64) error {
	if punchHole(s.f, off, n) == nil {
		return nil
	}
	for n > 0 {
		m := min(n, writePiece)
		if _, err := s.f.WriteAt(zeroChunk[:m], off); err != nil {
			return err
		}
		off += m
		n -= m
	}
	return nil
}

// Size returns the disk's size.
func (s *FileSink) Size() int64 { return s.size }

// Sync flushes the image to stable storage.
func (s *FileSink) Sync() error { return s.f.Sync() }

// Extents maps the image's holes.
func (s *FileSink) Extents(ctx context.Context) ([]disk.Extent, error) {
	d, err := disk.OpenFile(s.f.Name())
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Extents(ctx)
}

// Name returns the image's path.
func (s *FileSink) Name() string { return s.f.Name() }

// Close closes the image.
func (s *FileSink) Close() error {
	if s.direct != nil {
		s.direct.Close()
	}
	return s.f.Close()
}

package transfer

import (
	"context"
	"fmt"
	"io"
	"os"

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

// FileSink is a sink backed by a sparse raw image file.
type FileSink struct {
	f    *os.File
	size int64
}

var (
	_ Sink         = (*FileSink)(nil)
	_ Syncer       = (*FileSink)(nil)
	_ ReadableSink = (*FileSink)(nil)
	_ Extenter     = (*FileSink)(nil)
)

// OpenFileSink opens or creates the raw image at path for a disk of size
// bytes. With fresh, any existing content is discarded (the file becomes
// all holes); otherwise an existing file must already have that size.
func OpenFileSink(path string, size int64, fresh bool) (*FileSink, error) {
	flag := os.O_RDWR | os.O_CREATE
	if fresh {
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
	case st.Size() == size:
	case st.Size() == 0:
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("target image %s: set size %d: %w", path, size, err)
		}
	default:
		f.Close()
		return nil, fmt.Errorf("target image %s has %d bytes but the source disk has %d: the source disk changed size; move the image away to start over", path, st.Size(), size)
	}
	return &FileSink{f: f, size: size}, nil
}

// WriteAt writes p at off.
func (s *FileSink) WriteAt(p []byte, off int64) (int, error) { return s.f.WriteAt(p, off) }

// ReadAt reads from the image.
func (s *FileSink) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// WriteZeroes punches a hole where the filesystem can, and writes zeros
// otherwise.
func (s *FileSink) WriteZeroes(off, n int64) error {
	if punchHole(s.f, off, n) == nil {
		return nil
	}
	for n > 0 {
		m := min(n, ChunkSize)
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
func (s *FileSink) Close() error { return s.f.Close() }

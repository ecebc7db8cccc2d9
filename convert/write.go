package convert

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/disk"
)

// Format is an output format.
type Format string

// Output formats.
const (
	// FormatRaw is a raw disk image, sparse where the source is zero.
	FormatRaw Format = "raw"
	// FormatVHD is a fixed VHD as Azure takes it for upload: the raw data
	// padded to a whole MiB, then a 512-byte footer.
	FormatVHD Format = "vhd"
)

// ParseFormat returns the format named s ("raw" or "vhd").
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatRaw, FormatVHD:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q: want raw or vhd", s)
}

// Progress is a snapshot of a running write.
type Progress struct {
	// Done is how many bytes of the data extents have been read.
	Done int64
	// Total is the sum of the data extents: Done reaches it at the end.
	Total int64
	// Written is how many of the Done bytes were not zero and so were
	// written.
	Written int64
}

// Reporter receives progress. Calls come from one goroutine, at most every
// ProgressInterval, and once more at the end. A nil Reporter is allowed.
type Reporter interface {
	Progress(Progress)
}

// ProgressInterval is how often Write reports progress.
const ProgressInterval = 100 * time.Millisecond

// Target is where Write puts an image. It must read as zeros where Write
// does not write (a new file): zero ranges are skipped, not written.
type Target interface {
	io.WriterAt
	Truncate(size int64) error
}

var _ Target = (*os.File)(nil)

// WriteOptions tune Write. The zero value writes a raw image.
type WriteOptions struct {
	// Format is the output format; empty means FormatRaw.
	Format Format
	// Reporter receives progress; nil means none.
	Reporter Reporter
	// Workers is how many chunks are read and written at once; zero means
	// DefaultWorkers.
	Workers int
	// ChunkSize is the unit of reading, zero detection and writing; zero
	// means DefaultChunkSize.
	ChunkSize int64
	// Now is the VHD footer's timestamp; zero means the current time.
	Now time.Time
	// UniqueID is the VHD footer's unique id; zero means a random one.
	UniqueID [16]byte
	// NoSync makes WriteFile skip the fsync before its rename, as qemu-img
	// convert does by default (cache=unsafe): faster, but a crash soon
	// after can leave a complete-looking output with data missing. False
	// (the default) syncs.
	NoSync bool
}

// Defaults for WriteOptions.
const (
	DefaultWorkers   = 4
	DefaultChunkSize = 4 << 20
)

// WriteResult says what Write wrote.
type WriteResult struct {
	Format Format `json:"format"`
	// SourceSize is the source disk's size.
	SourceSize int64 `json:"source_size"`
	// VirtualSize is the size of the disk the image describes: the source
	// size, rounded up to a whole MiB for VHD.
	VirtualSize int64 `json:"virtual_size"`
	// FileSize is the output file's length (VirtualSize, plus the footer
	// for VHD); holes make it take less space.
	FileSize int64 `json:"file_size"`
	// ReadBytes is what was read from the source: the data extents.
	ReadBytes int64 `json:"read_bytes"`
	// WrittenBytes is what was written: read bytes that were not zero.
	WrittenBytes int64 `json:"written_bytes"`
	// Footer is the VHD footer written; nil for raw.
	Footer *VHDFooter `json:"vhd_footer,omitempty"`
	// Duration is how long the write took.
	Duration time.Duration `json:"duration_ns"`
}

// Write copies the data extents of src (size bytes) into dst in the given
// format. Extents must cover [0, size) as disk.Normalize returns them;
// ranges outside data extents, and chunks that read as zero, are left as
// holes. dst must be empty (see Target).
func Write(ctx context.Context, src io.ReaderAt, size int64, ext []disk.Extent, dst Target, opts WriteOptions) (WriteResult, error) {
	start := time.Now()
	if opts.Format == "" {
		opts.Format = FormatRaw
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return WriteResult{}, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	res := WriteResult{Format: opts.Format, SourceSize: size, VirtualSize: size}
	if opts.Format == FormatVHD {
		res.VirtualSize = vhdSize(size)
	}
	res.FileSize = res.VirtualSize
	if opts.Format == FormatVHD {
		res.FileSize += VHDFooterSize
	}
	// Setting the length first makes every skipped range a hole.
	if err := dst.Truncate(res.FileSize); err != nil {
		return res, fmt.Errorf("set output size to %d: %w", res.FileSize, err)
	}

	type job struct{ off, n int64 }
	jobs := make(chan job, workers)
	var total, done, written atomic.Int64
	for _, e := range ext {
		if e.Data && e.Offset < size {
			total.Add(min(e.End(), size) - e.Offset)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		for _, e := range ext {
			if !e.Data {
				continue
			}
			for off := e.Offset; off < min(e.End(), size); {
				// Chunks end on chunk-size boundaries, so that the same
				// disk chunks the same way whatever its extent map.
				n := min((off/chunk+1)*chunk, e.End(), size) - off
				select {
				case jobs <- job{off, n}:
				case <-gctx.Done():
					return gctx.Err()
				}
				off += n
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			buf := make([]byte, chunk)
			for j := range jobs {
				b := buf[:j.n]
				if n, err := src.ReadAt(b, j.off); n < len(b) {
					if err == nil || errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return fmt.Errorf("read source at byte %d: %w", j.off, err)
				}
				if !isZero(b) {
					if _, err := dst.WriteAt(b, j.off); err != nil {
						return fmt.Errorf("write output at byte %d: %w", j.off, err)
					}
					written.Add(j.n)
				}
				done.Add(j.n)
			}
			return nil
		})
	}
	report := func() {
		if opts.Reporter != nil {
			opts.Reporter.Progress(Progress{Done: done.Load(), Total: total.Load(), Written: written.Load()})
		}
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-stop:
				return
			}
		}
	}()
	err := g.Wait()
	close(stop)
	<-ticked
	res.ReadBytes, res.WrittenBytes = done.Load(), written.Load()
	if err != nil {
		return res, err
	}
	report()

	if opts.Format == FormatVHD {
		now := opts.Now
		if now.IsZero() {
			now = time.Now()
		}
		id := opts.UniqueID
		if id == ([16]byte{}) {
			_, _ = rand.Read(id[:])
		}
		f := NewVHDFooter(res.VirtualSize, now, id)
		b, err := f.MarshalBinary()
		if err != nil {
			return res, err
		}
		if _, err := dst.WriteAt(b, res.VirtualSize); err != nil {
			return res, fmt.Errorf("write VHD footer at byte %d: %w", res.VirtualSize, err)
		}
		f.Checksum = vhdChecksum(b)
		res.Footer = &f
	}
	res.Duration = time.Since(start)
	return res, nil
}

// ErrExists is returned by WriteFile when the output exists and
// overwriting was not asked for.
var ErrExists = errors.New("output exists")

// WriteFile writes an image of src to path: into path + ".tmp" first, synced
// (unless opts.NoSync), then renamed, so that path never holds half an image. An existing path is
// replaced only when force is set; otherwise the error wraps ErrExists. On
// failure the temporary file is removed and path is untouched.
func WriteFile(ctx context.Context, src disk.Source, ext []disk.Extent, path string, force bool, opts WriteOptions) (WriteResult, error) {
	if _, err := os.Lstat(path); err == nil && !force {
		return WriteResult{}, fmt.Errorf("%s: %w", path, ErrExists)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return WriteResult{}, fmt.Errorf("create %s: %w", tmp, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	res, err := Write(ctx, src, src.Size(), ext, f, opts)
	if err != nil {
		return res, fmt.Errorf("write %s: %w", tmp, err)
	}
	if !opts.NoSync {
		if err := f.Sync(); err != nil {
			return res, fmt.Errorf("sync %s: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return res, fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("rename %s to %s: %w", tmp, filepath.Base(path), err)
	}
	ok = true
	return res, nil
}

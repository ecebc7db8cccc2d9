package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Extent is a byte range of a disk. Data false means the range is known to
// read as zeros (a hole in a sparse file, unallocated filesystem space, free
// space between partitions): a copy may skip it on a new target.
type Extent struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	Data   bool  `json:"data"`
}

// End returns the offset just past the extent.
func (e Extent) End() int64 { return e.Offset + e.Length }

// Source is a disk to read: random access, a size, and a map of which ranges
// hold data.
type Source interface {
	io.ReaderAt
	// Size is the disk's size in bytes.
	Size() int64
	// Extents returns extents that cover [0, Size) in order, without gaps or
	// overlaps. A source that knows nothing returns one data extent.
	Extents(ctx context.Context) ([]Extent, error)
}

// Normalize sorts extents, merges neighbours of the same kind, fills gaps
// with data extents (what is not known to be zero must be read) and clips the
// result to [0, size). The result covers [0, size) exactly.
func Normalize(in []Extent, size int64) []Extent {
	ext := make([]Extent, 0, len(in))
	for _, e := range in {
		if e.Length <= 0 || e.Offset >= size || e.End() <= 0 {
			continue
		}
		if e.Offset < 0 {
			e.Length += e.Offset
			e.Offset = 0
		}
		if e.End() > size {
			e.Length = size - e.Offset
		}
		ext = append(ext, e)
	}
	sort.SliceStable(ext, func(i, j int) bool { return ext[i].Offset < ext[j].Offset })
	var out []Extent
	add := func(e Extent) {
		if e.Length <= 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Data == e.Data && out[n-1].End() == e.Offset {
			out[n-1].Length += e.Length
			return
		}
		out = append(out, e)
	}
	var pos int64
	for _, e := range ext {
		if e.End() <= pos {
			continue
		}
		if e.Offset > pos {
			add(Extent{Offset: pos, Length: e.Offset - pos, Data: true})
		} else if e.Offset < pos {
			// Overlap: data wins over zero for the overlapping part, which
			// the previous extent already covered; keep only the rest.
			e.Length = e.End() - pos
			e.Offset = pos
		}
		add(e)
		pos = e.End()
	}
	if pos < size {
		add(Extent{Offset: pos, Length: size - pos, Data: true})
	}
	return out
}

// DataBytes sums the lengths of the data extents.
func DataBytes(ext []Extent) int64 {
	var n int64
	for _, e := range ext {
		if e.Data {
			n += e.Length
		}
	}
	return n
}

// File is a Source backed by an image file or a block device, opened
// read-only. Its extents come from the filesystem's sparse-file map
// (SEEK_DATA/SEEK_HOLE) where the OS supports it.
type File struct {
	f    *os.File
	size int64
}

var _ Source = (*File)(nil)

// OpenFile opens path read-only as a source disk.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: size: %w", path, err)
	}
	return &File{f: f, size: size}, nil
}

// ReadAt reads from the disk.
func (d *File) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }

// Size returns the size in bytes.
func (d *File) Size() int64 { return d.size }

// Name returns the path the file was opened with.
func (d *File) Name() string { return d.f.Name() }

// Close closes the file.
func (d *File) Close() error { return d.f.Close() }

// Extents maps the file's holes. On a block device, or where the OS cannot
// tell, the whole disk is one data extent.
func (d *File) Extents(ctx context.Context) ([]Extent, error) {
	ext, err := sparseExtents(ctx, d.f, d.size)
	if errors.Is(err, errNoSparseMap) {
		return []Extent{{Offset: 0, Length: d.size, Data: true}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: extent map: %w", d.f.Name(), err)
	}
	return Normalize(ext, d.size), nil
}

var errNoSparseMap = errors.New("no sparse map")

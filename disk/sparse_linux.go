package disk

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// sparseExtents walks the file with SEEK_DATA and SEEK_HOLE.
func sparseExtents(ctx context.Context, f *os.File, size int64) ([]Extent, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNoSparseMap
	}
	fd := int(f.Fd())
	var out []Extent
	var pos int64
	for pos < size {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			data = size // only a hole remains
		} else if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, errNoSparseMap
		} else if err != nil {
			return nil, err
		}
		if data > pos {
			out = append(out, Extent{Offset: pos, Length: data - pos})
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		out = append(out, Extent{Offset: data, Length: hole - data, Data: true})
		pos = hole
	}
	return out, nil
}

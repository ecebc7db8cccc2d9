package transfer

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/disk"
)

// Overlay is a disk whose bytes in [At, At+Length) come from Top (a volume
// snapshot, such as a VSS shadow copy of the partition at At) and all others
// from Base (the physical disk: partition table, other partitions). It is
// how the Windows agent reads a whole disk consistently: the snapshotted
// volume from the shadow copy, the rest live.
type Overlay struct {
	Base   disk.Source
	Top    io.ReaderAt
	At     int64
	Length int64
}

var _ disk.Source = (*Overlay)(nil)

// Size returns the base disk's size.
func (o *Overlay) Size() int64 { return o.Base.Size() }

// Extents returns the base disk's extents: the snapshot may hold data where
// the live volume was freed since, so its range counts as data.
func (o *Overlay) Extents(ctx context.Context) ([]disk.Extent, error) {
	ext, err := o.Base.Extents(ctx)
	if err != nil {
		return nil, err
	}
	return disk.Normalize(append(ext, disk.Extent{Offset: o.At, Length: o.Length, Data: true}), o.Size()), nil
}

// ReadAt reads from Top inside the overlay's range and from Base outside.
func (o *Overlay) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		end := pos + int64(len(p)-n)
		var (
			m   int
			err error
		)
		switch {
		case pos >= o.At && pos < o.At+o.Length:
			m, err = o.Top.ReadAt(p[n:n+int(min(end, o.At+o.Length)-pos)], pos-o.At)
		case pos < o.At:
			m, err = o.Base.ReadAt(p[n:n+int(min(end, o.At)-pos)], pos)
		default:
			m, err = o.Base.ReadAt(p[n:], pos)
		}
		n += m
		if err != nil && !(err == io.EOF && n < len(p) && off+int64(n) < o.Size()) {
			return n, err
		}
		if m == 0 {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

// ParseSnapshot reads the agent's --snapshot argument, "OFFSET:LENGTH:DEVICE"
// (the partition's first byte and size on the disk, and the shadow copy's
// device path).
func ParseSnapshot(s string) (offset, length int64, device string, err error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) == 3 {
		offset, err = strconv.ParseInt(parts[0], 10, 64)
		if err == nil {
			length, err = strconv.ParseInt(parts[1], 10, 64)
		}
		if err == nil && offset >= 0 && length > 0 && parts[2] != "" {
			return offset, length, parts[2], nil
		}
	}
	return 0, 0, "", fmt.Errorf("--snapshot %q: want OFFSET:LENGTH:DEVICE, e.g. 1048576:52428800:\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1", s)
}

// FormatSnapshot is the inverse of ParseSnapshot.
func FormatSnapshot(offset, length int64, device string) string {
	return strconv.FormatInt(offset, 10) + ":" + strconv.FormatInt(length, 10) + ":" + device
}

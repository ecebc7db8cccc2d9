package transfer

import (
	"errors"
	"fmt"
	"io"

	"github.com/shift-migrate/shift/disk"
)

// OpenAgentDisk opens what an agent reads: the disk at path (a device such
// as \\.\PHYSICALDRIVE0 or /dev/sda, or an image file), and when snapshot is
// set (see ParseSnapshot) the shadow copy of one of its partitions laid over
// it (see Overlay). Close releases both.
func OpenAgentDisk(path, snapshot string) (disk.Source, io.Closer, error) {
	base, closeBase, err := openDevice(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open disk %s: %w", path, err)
	}
	if snapshot == "" {
		return base, closerFunc(closeBase), nil
	}
	off, length, dev, err := ParseSnapshot(snapshot)
	if err != nil {
		closeBase()
		return nil, nil, err
	}
	if off+length > base.Size() {
		closeBase()
		return nil, nil, fmt.Errorf("--snapshot %s: the partition ends at %d, past the end of %s (%d bytes)", snapshot, off+length, path, base.Size())
	}
	top, closeTop, err := openDevice(dev)
	if err != nil {
		closeBase()
		return nil, nil, fmt.Errorf("open the shadow copy %s: %w", dev, err)
	}
	return &Overlay{Base: base, Top: top, At: off, Length: min(length, top.Size())},
		closerFunc(func() error { return errors.Join(closeTop(), closeBase()) }), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

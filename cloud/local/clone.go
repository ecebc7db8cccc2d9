package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/disk"
)

var _ cloud.DiskCloner = (*Target)(nil)

// copyBuf is the unit of a clone's copy where the filesystem cannot
// reflink: all-zero pieces of it are skipped, so the clone stays sparse.
const copyBuf = 1 << 20

// CloneDisk implements cloud.DiskCloner. The clone shares the source's
// blocks where the filesystem can reflink (XFS, Btrfs: instant, whatever
// the size); elsewhere the source's data extents are copied and its holes
// and all-zero MiBs left as holes.
//
// The state lock is held only to check and to record: while the data
// moves, the clone holds a shared flock on the source's file and an
// exclusive one on the clone's, and only what would change either waits
// for it (OpenDisk or CreateDisk of the source or the clone, StartVM of a
// VM using one of them, another clone onto one of them). The clone's
// metadata says not finalized until the copy is durable (fsync), so an
// interrupted clone, a crash included, leaves a disk that CreateVM refuses
// and that CloneDisk again redoes.
//
// Besides the contract's errors, a source used by a running VM is
// cloud.ErrInUse: QEMU writes it, so no copy of it would be point-in-time
// (stop the VM first).
func (t *Target) CloneDisk(ctx context.Context, from string, spec cloud.DiskSpec) error {
	if err := cloud.CheckClone(from, spec.Name); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "clone disk "+from+" to "+spec.Name); err != nil {
		return err
	}
	c, err := t.startClone(ctx, from, spec)
	if err != nil {
		return err
	}
	defer c.close()
	start := time.Now()
	how, err := c.copy(ctx, !t.noReflink)
	if err != nil {
		return fmt.Errorf("local: clone disk %s to %s: %w (disk %s is left not finalized: clone again or delete it)", from, spec.Name, err, spec.Name)
	}
	if err := t.finishClone(ctx, c); err != nil {
		return err
	}
	t.log.Info("disk cloned", "disk", spec.Name, "from", from, "bytes", c.size, "how", how, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// clone is a clone between startClone and finishClone.
type clone struct {
	from, name string
	src        *disk.File // the source, read
	srcLock    *os.File   // the source, flocked shared (and reflinked from)
	dst        *os.File   // the clone, flocked exclusive
	srcSize    int64
	size       int64
}

// close closes what open opened, releasing the flocks.
func (c *clone) close() {
	if c.dst != nil {
		c.dst.Close()
	}
	if c.srcLock != nil {
		c.srcLock.Close()
	}
	if c.src != nil {
		c.src.Close()
	}
}

// startClone checks both disks under the state lock, takes the clone's
// flocks and records the clone as not finalized.
func (t *Target) startClone(ctx context.Context, from string, spec cloud.DiskSpec) (*clone, error) {
	unlock, err := t.lockIdle(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	src, err := t.readDisk(from)
	if err != nil {
		return nil, fmt.Errorf("local: clone: %w", err)
	}
	switch {
	case !src.Finalized:
		return nil, fmt.Errorf("local: clone disk %s: it is being written (finalize it first): %w", from, cloud.ErrNotFinalized)
	case src.VM != "":
		if _, running := t.pid(src.VM); running {
			return nil, fmt.Errorf("local: clone disk %s: VM %s runs and writes it (stop the VM first): %w", from, src.VM, cloud.ErrInUse)
		}
	}
	if spec.SizeBytes == 0 {
		spec.SizeBytes = src.SizeBytes
	}
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return nil, fmt.Errorf("local: clone of disk %s: %w", from, err)
	}
	if spec.SizeBytes < src.SizeBytes {
		return nil, fmt.Errorf("local: clone disk %s to %s: %d bytes is smaller than the source's %d: %w", from, spec.Name, spec.SizeBytes, src.SizeBytes, cloud.ErrInvalid)
	}
	dm, err := t.readDisk(spec.Name)
	switch {
	case errors.Is(err, cloud.ErrNotFound):
	case err != nil:
		return nil, err
	case dm.SizeBytes != spec.SizeBytes:
		return nil, fmt.Errorf("local: clone disk %s to %s: %s has %d bytes, asked for %d (delete it or choose another name): %w", from, spec.Name, spec.Name, dm.SizeBytes, spec.SizeBytes, cloud.ErrExists)
	case dm.VM != "":
		return nil, fmt.Errorf("local: clone disk %s to %s: %s is used by VM %s (delete the VM first): %w", from, spec.Name, spec.Name, dm.VM, cloud.ErrInUse)
	}

	c := &clone{from: from, name: spec.Name, srcSize: src.SizeBytes, size: spec.SizeBytes}
	if err := c.open(t.diskPath(from), t.diskPath(spec.Name)); err != nil {
		c.close()
		return nil, fmt.Errorf("local: clone disk %s to %s: %w", from, spec.Name, err)
	}
	if err := t.writeDisk(spec.Name, diskMeta{SizeBytes: spec.SizeBytes, Tags: maps.Clone(spec.Tags)}); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// open opens the source for reading and the clone's file (creating it) and
// takes their flocks.
func (c *clone) open(from, to string) error {
	var err error
	if c.src, err = disk.OpenFile(from); err != nil {
		return err
	}
	if c.srcLock, err = os.Open(from); err != nil {
		return err
	}
	if c.dst, err = os.OpenFile(to, os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return err
	}
	for _, l := range []struct {
		f         *os.File
		exclusive bool
	}{{c.srcLock, false}, {c.dst, true}} {
		ok, err := tryFlock(l.f, l.exclusive)
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.f.Name(), err)
		}
		if !ok {
			// Not expected: clones take these flocks under the state
			// lock, lockIdle saw none on the clone, and a finalized
			// source is no clone's destination.
			return fmt.Errorf("lock %s: held by another clone; try again", l.f.Name())
		}
	}
	return nil
}

// copy makes the clone's file hold the source's contents followed by
// zeros, durably: a reflink where the filesystem can (and tryReflink),
// else a sparse copy. It reports which it did.
func (c *clone) copy(ctx context.Context, tryReflink bool) (string, error) {
	if err := c.dst.Truncate(0); err != nil {
		return "", err
	}
	how := "reflink"
	if !tryReflink || reflink(c.dst, c.srcLock) != nil {
		how = "copy"
		if err := sparseCopy(ctx, c.dst, c.src, c.srcSize); err != nil {
			return "", err
		}
	}
	if err := c.dst.Truncate(c.size); err != nil {
		return "", err
	}
	if err := c.dst.Sync(); err != nil {
		return "", fmt.Errorf("sync: %w", err)
	}
	return how, nil
}

// sparseCopy copies the first n bytes of src's data extents into dst,
// which is empty: holes and all-zero pieces are not written, so they stay
// holes in dst. ctx is checked between pieces.
func sparseCopy(ctx context.Context, dst *os.File, src *disk.File, n int64) error {
	ext, err := src.Extents(ctx)
	if err != nil {
		return err
	}
	buf := make([]byte, copyBuf)
	zero := make([]byte, copyBuf)
	for _, e := range ext {
		if !e.Data {
			continue
		}
		for off := e.Offset; off < min(e.End(), n); {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := buf[:min(int64(len(buf)), e.End()-off, n-off)]
			m, err := src.ReadAt(p, off)
			if err != nil && !(errors.Is(err, io.EOF) && m > 0) {
				return fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
			}
			p = p[:m]
			if !bytes.Equal(p, zero[:m]) {
				if _, err := dst.WriteAt(p, off); err != nil {
					return fmt.Errorf("write %d bytes at %d: %w", m, off, err)
				}
			}
			off += int64(m)
		}
	}
	return nil
}

// finishClone marks the clone finalized, unless the disk was deleted (or
// deleted and created again) while the data moved.
func (t *Target) finishClone(ctx context.Context, c *clone) error {
	unlock, err := t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := t.readDisk(c.name)
	if err != nil {
		return fmt.Errorf("local: clone disk %s to %s: %w (deleted during the copy)", c.from, c.name, err)
	}
	cur, err := os.Stat(t.diskPath(c.name))
	if err != nil {
		return fmt.Errorf("local: clone disk %s to %s: %w", c.from, c.name, err)
	}
	if ours, err := c.dst.Stat(); err != nil || !os.SameFile(cur, ours) || m.SizeBytes != c.size || m.VM != "" {
		return fmt.Errorf("local: clone disk %s to %s: the disk was deleted and created again during the copy (clone again)", c.from, c.name)
	}
	m.Finalized = true
	return t.writeDisk(c.name, m)
}

// lockIdle takes the state lock once no clone copies from or into any of
// disks: a clone holds their files' flocks, not the state lock, while its
// data moves. It polls, and ctx ends the wait.
func (t *Target) lockIdle(ctx context.Context, disks ...string) (func(), error) {
	logged := false
	for {
		unlock, err := t.lock(ctx)
		if err != nil {
			return nil, err
		}
		busy := ""
		for _, d := range disks {
			if t.cloning(d) {
				busy = d
				break
			}
		}
		if busy == "" {
			return unlock, nil
		}
		unlock()
		if !logged {
			t.log.Info("waiting for a clone of the disk to finish", "disk", busy)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("local: disk %s: waiting for a clone from or into it to finish: %w", busy, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cloning reports whether a clone copies from or into disk name now: its
// file is flocked.
func (t *Target) cloning(name string) bool {
	f, err := os.Open(t.diskPath(name))
	if err != nil {
		return false
	}
	defer f.Close() // releases the probe's own lock
	free, err := tryFlock(f, true)
	return !free && err == nil
}

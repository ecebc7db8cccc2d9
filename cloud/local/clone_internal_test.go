package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
)

func newCopyTarget(t *testing.T) *Target {
	t.Helper()
	tg, err := New(Options{Dir: t.TempDir(), Accel: "tcg", QEMU: "/nonexistent/qemu"})
	if err != nil {
		t.Fatal(err)
	}
	tg.noReflink = true // the copy path, whatever the filesystem
	return tg
}

// writeDisk creates a finalized disk and writes each piece at its offset.
func writeDisk(t *testing.T, tg *Target, name string, size int64, pieces map[int64][]byte) {
	t.Helper()
	d, err := tg.CreateDisk(t.Context(), cloud.DiskSpec{Name: name, SizeBytes: size})
	if err != nil {
		t.Fatal(err)
	}
	for off, p := range pieces {
		if _, err := d.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Finalize(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// AllocatedBytes is how much of the filesystem the file at path takes;
// the package's external tests use it too.
func AllocatedBytes(t testing.TB, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s and %s differ (%d and %d bytes)", a, b, len(x), len(y))
	}
}

// Where the filesystem cannot reflink, a clone copies the data extents
// only and leaves holes, and all-zero MiBs the source holds as data, as
// holes: it allocates what the source's non-zero data needs.
func TestCloneCopyIsSparse(t *testing.T) {
	tg := newCopyTarget(t)
	const mib = cloud.SizeUnit
	writeDisk(t, tg, "src", 64*mib, map[int64][]byte{
		0:            fill(0xA1, 3*mib),
		20 * mib:     make([]byte, 4*mib), // zeros written as data
		40 * mib:     fill(0xB2, mib),
		63*mib + 512: fill(0xC3, 512),
	})
	srcAlloc := AllocatedBytes(t, tg.diskPath("src"))
	if srcAlloc < 8*mib {
		t.Fatalf("source allocates %d bytes; the test needs its 4 MiB of written zeros allocated", srcAlloc)
	}
	if err := tg.CloneDisk(t.Context(), "src", cloud.DiskSpec{Name: "dst"}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, tg.diskPath("src"), tg.diskPath("dst"))
	got := AllocatedBytes(t, tg.diskPath("dst"))
	if want := int64(4*mib + 64<<10); got > want {
		t.Errorf("clone allocates %d bytes, want at most %d (the source's 4 MiB of non-zero data; it allocates %d)", got, want, srcAlloc)
	}
	t.Logf("source allocates %d KiB, its sparse clone %d KiB", srcAlloc>>10, got>>10)
}

// countdown is a context whose Err reports cancellation after n calls: a
// cancel that lands in the middle of a copy, deterministically.
type countdown struct {
	context.Context
	n atomic.Int32
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// A clone interrupted in the middle of its copy leaves the clone not
// finalized (CreateVM refuses it), frees the source, and is redone by
// cloning again.
func TestCloneInterruptedIsRedone(t *testing.T) {
	tg := newCopyTarget(t)
	const data = 32 * cloud.SizeUnit
	writeDisk(t, tg, "src", 2*data, map[int64][]byte{0: fill(0x5A, data)})
	ctx := &countdown{Context: t.Context()}
	ctx.n.Store(10) // past the checks, a few MiB into the copy
	err := tg.CloneDisk(ctx, "src", cloud.DiskSpec{Name: "dst"})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "left not finalized") {
		t.Fatalf("CloneDisk canceled mid-copy = %v; want context.Canceled, saying the clone is left not finalized", err)
	}
	if a := AllocatedBytes(t, tg.diskPath("dst")); a == 0 || a >= data {
		t.Fatalf("the canceled clone holds %d bytes of %d: not canceled in the middle of its copy", a, data)
	}
	if info, err := tg.DiskInfo(t.Context(), "dst"); err != nil || info.Finalized {
		t.Fatalf("DiskInfo of the interrupted clone = %+v, %v; want it there, not finalized", info, err)
	}
	if _, err := tg.CreateVM(t.Context(), cloud.VMSpec{Name: "vm", OSDisk: "dst"}); !errors.Is(err, cloud.ErrNotFinalized) {
		t.Errorf("CreateVM from the interrupted clone: %v, want ErrNotFinalized", err)
	}
	if tg.cloning("dst") || tg.cloning("src") {
		t.Errorf("the failed clone left a flock on src or dst")
	}
	if err := tg.CloneDisk(t.Context(), "src", cloud.DiskSpec{Name: "dst"}); err != nil {
		t.Fatalf("CloneDisk again: %v", err)
	}
	if info, err := tg.DiskInfo(t.Context(), "dst"); err != nil || !info.Finalized {
		t.Fatalf("DiskInfo of the redone clone = %+v, %v; want finalized", info, err)
	}
	sameFiles(t, tg.diskPath("src"), tg.diskPath("dst"))
}

// While a clone copies, what would change its source or its clone waits
// for it (and gives up with its context); the rest of the state directory
// does not wait, and a second clone of the same source runs alongside.
func TestCloneBlocksOnlyItsDisks(t *testing.T) {
	tg := newCopyTarget(t)
	writeDisk(t, tg, "src", cloud.SizeUnit, map[int64][]byte{0: fill(1, 4096)})
	writeDisk(t, tg, "other", cloud.SizeUnit, nil)
	if _, err := tg.CreateVM(t.Context(), cloud.VMSpec{Name: "vm", OSDisk: "src"}); err != nil {
		t.Fatal(err)
	}
	// A clone copying from src holds what startClone takes.
	c, err := tg.startClone(t.Context(), "src", cloud.DiskSpec{Name: "dst"})
	if err != nil {
		t.Fatal(err)
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	waits := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a clone") {
			t.Errorf("%s during a clone: %v; want it to wait for the clone until its context ends", what, err)
		}
	}
	_, err = tg.OpenDisk(short(), "dst")
	waits("OpenDisk of the clone", err)
	_, err = tg.CreateDisk(short(), cloud.DiskSpec{Name: "dst", SizeBytes: cloud.SizeUnit})
	waits("CreateDisk of the clone", err)
	waits("StartVM of a VM using the source", tg.StartVM(short(), "vm"))
	waits("CloneDisk onto the source", tg.CloneDisk(short(), "other", cloud.DiskSpec{Name: "src"}))
	waits("CloneDisk onto the clone", tg.CloneDisk(short(), "other", cloud.DiskSpec{Name: "dst"}))

	if err := tg.CloneDisk(short(), "src", cloud.DiskSpec{Name: "dst2"}); err != nil {
		t.Errorf("a second clone of the same source during the first: %v", err)
	}
	d, err := tg.OpenDisk(short(), "other")
	if err != nil {
		t.Errorf("OpenDisk of a disk no clone touches: %v", err)
	} else {
		d.Close()
	}
	if info, err := tg.DiskInfo(short(), "dst"); err != nil || info.Finalized {
		t.Errorf("DiskInfo of a clone being copied = %+v, %v; want not finalized", info, err)
	}

	if _, err := c.copy(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := tg.finishClone(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.close()
	d, err = tg.OpenDisk(short(), "dst")
	if err != nil {
		t.Fatalf("OpenDisk of the clone once it is done: %v", err)
	}
	d.Close()
}

// A clone whose disk was deleted and created again while the data moved
// does not mark the new disk finalized.
func TestCloneOfReplacedDiskFails(t *testing.T) {
	tg := newCopyTarget(t)
	writeDisk(t, tg, "src", cloud.SizeUnit, map[int64][]byte{0: fill(1, 4096)})
	c, err := tg.startClone(t.Context(), "src", cloud.DiskSpec{Name: "dst"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := tg.DeleteDisk(t.Context(), "dst"); err != nil {
		t.Fatal(err)
	}
	d, err := tg.CreateDisk(t.Context(), cloud.DiskSpec{Name: "dst", SizeBytes: cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := c.copy(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := tg.finishClone(t.Context(), c); err == nil || !strings.Contains(err.Error(), "created again") {
		t.Errorf("finishing a clone whose disk was replaced: %v, want an error saying so", err)
	}
	if info, err := tg.DiskInfo(t.Context(), "dst"); err != nil || info.Finalized {
		t.Errorf("the new disk after the stale clone: %+v, %v; want it not finalized", info, err)
	}
}

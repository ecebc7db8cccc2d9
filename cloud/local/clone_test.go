package local_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
)

// A disk of a running VM is not cloned: QEMU writes it, so no copy of it
// is point-in-time. Once the VM is stopped, it is.
func TestCloneOfRunningVMDisk(t *testing.T) {
	needQEMU(t)
	tg := newTarget(t, t.TempDir())
	t.Cleanup(func() { stopAll(t, tg) })
	vmWithBlankDisk(t, tg, "vm1")
	ctx := t.Context()
	if err := tg.StartVM(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	err := tg.CloneDisk(ctx, "vm1-os", cloud.DiskSpec{Name: "copy"})
	if !errors.Is(err, cloud.ErrInUse) || !strings.Contains(err.Error(), "stop the VM") {
		t.Errorf("CloneDisk of a running VM's disk: %v; want ErrInUse, saying to stop the VM", err)
	}
	if err := tg.StopVM(ctx, "vm1", -1); err != nil {
		t.Fatal(err)
	}
	if err := tg.CloneDisk(ctx, "vm1-os", cloud.DiskSpec{Name: "copy"}); err != nil {
		t.Fatalf("CloneDisk of a stopped VM's disk: %v", err)
	}
	if info, err := tg.DiskInfo(ctx, "copy"); err != nil || info.VM != "" || !info.Finalized {
		t.Errorf("DiskInfo of the clone = %+v, %v; want it finalized and free", info, err)
	}
}

// xfsMount mounts a new XFS filesystem with reflink (the default of
// mkfs.xfs) on a loop device and returns where.
func xfsMount(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "mounting an XFS filesystem on a loop device needs root")
	}
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		missing(t, "mkfs.xfs not found (make deps installs xfsprogs)")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "xfs.img")
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("truncate", "-s", "320M", img)
	run("mkfs.xfs", "-q", "-m", "reflink=1", img)
	dev := run("losetup", "--find", "--show", img)
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	run("mount", dev, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

func freeBytes(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}

// On a filesystem that reflinks (a real XFS), a clone shares the source's
// blocks: it costs no space, however much data the source holds, and a
// later pass over the source does not reach it (copy on write).
func TestCloneReflinks(t *testing.T) {
	mnt := xfsMount(t)
	tg := newTarget(t, filepath.Join(mnt, "state"))
	ctx := t.Context()
	const data = 48 * cloud.SizeUnit
	first := bytes.Repeat([]byte("replica pass 1 "), data/15+1)[:data]
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "replica", SizeBytes: 64 * cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(first, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	before := freeBytes(t, mnt)
	if err := tg.CloneDisk(ctx, "replica", cloud.DiskSpec{Name: "test-os"}); err != nil {
		t.Fatal(err)
	}
	used := before - freeBytes(t, mnt)
	if used > 4*cloud.SizeUnit {
		t.Errorf("the clone of %d MiB of data took %d KiB of the filesystem: not a reflink", data>>20, used>>10)
	}
	t.Logf("the clone of %d MiB of data took %d KiB of the filesystem", data>>20, used>>10)
	clonePath := diskFile(t, tg, "test-os")
	if got := readFile(t, clonePath)[:data]; !bytes.Equal(got, first) {
		t.Fatal("the reflinked clone differs from its source")
	}

	d, err = tg.OpenDisk(ctx, "replica")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(bytes.Repeat([]byte{0xEE}, cloud.SizeUnit), 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, clonePath)[:data]; !bytes.Equal(got, first) {
		t.Error("a pass over the source reached its reflinked clone")
	}
	if got := readFile(t, diskFile(t, tg, "replica")); got[0] != 0xEE {
		t.Error("the pass over the source did not land")
	}
}

func diskFile(t *testing.T, tg *local.Target, name string) string {
	t.Helper()
	p, err := tg.DiskPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

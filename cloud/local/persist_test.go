package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
)

// vmWithBlankDisk defines a VM whose disk boots nothing: QEMU runs, the
// firmware finds no boot sector and waits.
func vmWithBlankDisk(t *testing.T, tg *local.Target, name string) {
	t.Helper()
	ctx := t.Context()
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: name + "-os", SizeBytes: cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.CreateVM(ctx, cloud.VMSpec{Name: name, MemoryMiB: 128, OSDisk: name + "-os"}); err != nil {
		t.Fatal(err)
	}
}

// A VM outlives the Target (the shift process) that started it: a new
// Target over the same state directory finds it running, with the same
// addresses, and can stop it.
func TestRestartFindsRunningVM(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	a := newTarget(t, dir)
	t.Cleanup(func() { stopAll(t, a) })
	vmWithBlankDisk(t, a, "vm1")
	ctx := t.Context()
	if err := a.StartVM(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	before, err := a.VMStatus(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}

	b := newTarget(t, dir)
	after, err := b.VMStatus(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if after.State != cloud.Running || !reflect.DeepEqual(after.Addresses, before.Addresses) || len(after.Addresses) != 4 {
		t.Fatalf("new Target sees %+v, want running with %+v", after, before.Addresses)
	}
	if err := b.StopVM(ctx, "vm1", time.Second); err != nil {
		t.Fatal(err)
	}
	if vm, err := a.VMStatus(ctx, "vm1"); err != nil || vm.State != cloud.Stopped {
		t.Fatalf("first Target after the second stopped the VM: %+v, %v", vm, err)
	}
	// Started again, the VM gets its previous ports back while they are free.
	if err := b.StartVM(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	again, _ := b.VMStatus(ctx, "vm1")
	if !reflect.DeepEqual(again.Addresses, before.Addresses) {
		t.Errorf("restarted VM's addresses %+v, want the previous %+v", again.Addresses, before.Addresses)
	}
}

// A QEMU that died behind shift's back (a host reboot, a crash, a kill)
// leaves a stale pidfile: the VM reads as stopped and starts again.
func TestCrashedVMIsStopped(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	tg := newTarget(t, dir)
	t.Cleanup(func() { stopAll(t, tg) })
	vmWithBlankDisk(t, tg, "vm1")
	ctx := t.Context()
	if err := tg.StartVM(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(dir, "vms", "vm1", "qemu.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		vm, err := tg.VMStatus(ctx, "vm1")
		if err != nil {
			t.Fatal(err)
		}
		if vm.State == cloud.Stopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed VM still reads %s", vm.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(pidfile); err != nil {
		t.Fatalf("the test needs the stale pidfile to stay: %v", err)
	}
	// A recycled pid (here: this test's own) is not taken for the VM.
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	if vm, _ := tg.VMStatus(ctx, "vm1"); vm.State != cloud.Stopped {
		t.Fatalf("a pidfile naming another live process reads as %s, want stopped", vm.State)
	}
	if err := tg.StartVM(ctx, "vm1"); err != nil {
		t.Fatalf("start after a crash: %v", err)
	}
	if vm, _ := tg.VMStatus(ctx, "vm1"); vm.State != cloud.Running {
		t.Fatalf("after restart: %s", vm.State)
	}
}

// A QEMU that refuses to start gives an error that quotes it and names
// its log.
func TestStartFailureNamesTheLog(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'qemu: could not load PC BIOS' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tg, err := local.New(local.Options{Dir: dir, QEMU: fake, Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	vmWithBlankDisk(t, tg, "vm1")
	err = tg.StartVM(t.Context(), "vm1")
	if err == nil || !strings.Contains(err.Error(), "could not load PC BIOS") || !strings.Contains(err.Error(), filepath.Join(dir, "vms", "vm1", "qemu.log")) {
		t.Fatalf("StartVM with a failing QEMU: %v; want its message and the log's path", err)
	}
	if vm, _ := tg.VMStatus(t.Context(), "vm1"); vm.State != cloud.Stopped {
		t.Errorf("state after a failed start: %s", vm.State)
	}
}

func TestOptions(t *testing.T) {
	if _, err := local.New(local.Options{}); !errors.Is(err, cloud.ErrInvalid) {
		t.Errorf("New without a directory: %v, want ErrInvalid", err)
	}
	if _, err := local.New(local.Options{Dir: t.TempDir(), Accel: "hvf"}); !errors.Is(err, cloud.ErrInvalid) {
		t.Errorf("New with accel hvf: %v, want ErrInvalid", err)
	}
	tg, err := local.New(local.Options{Dir: t.TempDir(), Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	if a, why := tg.Accel(t.Context()); a != "tcg" || why == "" {
		t.Errorf("Accel with tcg chosen = %q, %q", a, why)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("SHIFT_STATE", "")
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if d, _ := local.DefaultDir(); d != "/xdg/shift" {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("SHIFT_STATE", "/st")
	if d, _ := local.DefaultDir(); d != "/st" {
		t.Errorf("with SHIFT_STATE: %s", d)
	}
	t.Setenv("SHIFT_STATE", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := local.DefaultDir(); d != "/home/u/.local/state/shift" {
		t.Errorf("with HOME only: %s", d)
	}
}

// Zero writes punch holes: a disk stays as sparse as its data.
func TestWriteZeroesPunchesHoles(t *testing.T) {
	dir := t.TempDir()
	tg := newTarget(t, dir)
	ctx := context.Background()
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "sparse", SizeBytes: 64 * cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	path, err := tg.DiskPath("sparse")
	if err != nil {
		t.Fatal(err)
	}
	if got := local.AllocatedBytes(t, path); got != 0 {
		t.Errorf("a new disk allocates %d bytes, want 0", got)
	}
	data := make([]byte, 8*cloud.SizeUnit)
	for i := range data {
		data[i] = 0xAB
	}
	if _, err := d.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	full := local.AllocatedBytes(t, path)
	if full < int64(len(data)) {
		t.Fatalf("after writing %d bytes, %d allocated", len(data), full)
	}
	if err := d.WriteZeroes(0, 6*cloud.SizeUnit); err != nil {
		t.Fatal(err)
	}
	if got := local.AllocatedBytes(t, path); got > full-5*cloud.SizeUnit {
		t.Errorf("after zeroing 6 MiB of 8, %d bytes still allocated (was %d)", got, full)
	}
}

// A disk handle also offers what the transfer engine's optional sink
// capabilities ask for: Sync (durable writes) and ReadAt (read back).
func TestDiskHandleSyncAndReadAt(t *testing.T) {
	tg := newTarget(t, t.TempDir())
	d, err := tg.CreateDisk(t.Context(), cloud.DiskSpec{Name: "rw", SizeBytes: cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rw, ok := d.(interface {
		Sync() error
		ReadAt([]byte, int64) (int, error)
	})
	if !ok {
		t.Fatalf("%T has no Sync and ReadAt", d)
	}
	want := []byte(strings.Repeat("shift", 1024))[:4096]
	if _, err := d.WriteAt(want, 8192); err != nil {
		t.Fatal(err)
	}
	if err := rw.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := rw.ReadAt(got, 8192); err != nil || string(got) != string(want) {
		t.Fatalf("ReadAt = %q…, %v", got[:16], err)
	}
}

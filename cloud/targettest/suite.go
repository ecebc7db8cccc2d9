package targettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
)

// diskSize is the size of the suite's disks: small, and more than one
// write unit of every target (Azure pages, 64 KiB chunks).
const diskSize = 4 * cloud.SizeUnit

// stopGrace is the grace the suite gives StopVM: its disks boot nothing, so
// a guest never answers the power button and the target must force it off.
const stopGrace = 2 * time.Second

// growSize is the size the suite grows a clone to: a whole GiB, the unit
// Azure grows a copy in.
const growSize = 1 << 30

// Options adapt the suite to a target; the zero value fits a target that
// needs nothing more.
type Options struct {
	// IsolatedSubnet is the Subnet of the suite's isolated NIC. Empty means
	// the target needs none; when set (Azure, whose isolated NICs must name
	// the test subnet), the suite also checks that an isolated NIC without
	// a subnet is refused.
	IsolatedSubnet string
}

// Run runs the suite with the zero Options. newTarget returns a target
// with no disks or VMs; it is called once per subtest and registers its
// own cleanup with t.
func Run(t *testing.T, newTarget func(t *testing.T) cloud.Target) {
	RunOptions(t, Options{}, newTarget)
}

// RunOptions runs the suite with opts.
func RunOptions(t *testing.T, opts Options, newTarget func(t *testing.T) cloud.Target) {
	tests := []struct {
		name string
		fn   func(t *testing.T, tg cloud.Target)
	}{
		{"InvalidRequests", testInvalid},
		{"Missing", testMissing},
		{"CreateDiskIdempotent", testCreateIdempotent},
		{"WriteRanges", testWriteRanges},
		{"WriteZeroes", testWriteZeroes},
		{"FinalizeAndReopen", testFinalizeReopen},
		{"CloseWithoutFinalize", testCloseWithoutFinalize},
		{"DeleteDisk", testDeleteDisk},
		{"VMLifecycle", testVMLifecycle},
		{"Canceled", testCanceled},
		{"CloneDisk", testClone},
		{"CloneDiskErrors", testCloneErrors},
		{"IsolatedNIC", func(t *testing.T, tg cloud.Target) { testIsolatedNIC(t, tg, opts) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newTarget(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, want)
	}
}

func mustCreate(t *testing.T, tg cloud.Target, name string, size int64) cloud.Disk {
	t.Helper()
	d, err := tg.CreateDisk(ctx(t), cloud.DiskSpec{Name: name, SizeBytes: size, Tags: map[string]string{"suite": "targettest"}})
	if err != nil {
		t.Fatalf("CreateDisk %s: %v", name, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// model is what the suite expects a disk to hold.
type model []byte

func (m model) write(t *testing.T, d cloud.Disk, off int64, p []byte) {
	t.Helper()
	n, err := d.WriteAt(p, off)
	if err != nil || n != len(p) {
		t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
	}
	copy(m[off:], p)
}

func (m model) zero(t *testing.T, d cloud.Disk, off, n int64) {
	t.Helper()
	if err := d.WriteZeroes(off, n); err != nil {
		t.Fatalf("WriteZeroes(%d bytes at %d): %v", n, off, err)
	}
	clear(m[off : off+n])
}

func pattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// verify reads the disk back through cloud.DiskReader and compares it with
// the model; a target without the capability skips the comparison.
func verify(t *testing.T, tg cloud.Target, name string, want model) {
	t.Helper()
	verifyAt(t, tg, name, int64(len(want)), 0, want)
}

// verifyAt reads len(want) bytes at off of a disk of size bytes through
// cloud.DiskReader and compares them with want; a target without the
// capability skips the comparison.
func verifyAt(t *testing.T, tg cloud.Target, name string, size, off int64, want []byte) {
	t.Helper()
	r, ok := tg.(cloud.DiskReader)
	if !ok {
		t.Logf("%s target declares no cloud.DiskReader: contents of disk %s not verified", tg.Kind(), name)
		return
	}
	c, err := r.ReadDisk(ctx(t), name)
	if err != nil {
		t.Fatalf("ReadDisk %s: %v", name, err)
	}
	defer c.Close()
	if c.Size() != size {
		t.Fatalf("ReadDisk %s: size %d, want %d", name, c.Size(), size)
	}
	got := make([]byte, len(want))
	if _, err := c.ReadAt(got, off); err != nil && err != io.EOF {
		t.Fatalf("ReadDisk %s: ReadAt(%d bytes at %d): %v", name, len(got), off, err)
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				at := off + int64(i)
				t.Fatalf("disk %s: first difference at byte %d (sector %d): got %#x, want %#x", name, at, at/cloud.SectorSize, got[i], want[i])
			}
		}
	}
}

func testInvalid(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	for _, name := range []string{"", "-lead", "trail-", "has space", "sl/ash", "dot.", string(make([]byte, cloud.MaxNameLen+1))} {
		_, err := tg.CreateDisk(c, cloud.DiskSpec{Name: name, SizeBytes: diskSize})
		wantErr(t, fmt.Sprintf("CreateDisk(%q)", name), err, cloud.ErrInvalid)
		_, err = tg.OpenDisk(c, name)
		wantErr(t, fmt.Sprintf("OpenDisk(%q)", name), err, cloud.ErrInvalid)
		wantErr(t, fmt.Sprintf("DeleteDisk(%q)", name), tg.DeleteDisk(c, name), cloud.ErrInvalid)
		_, err = tg.CreateVM(c, cloud.VMSpec{Name: name, OSDisk: "os"})
		wantErr(t, fmt.Sprintf("CreateVM(%q)", name), err, cloud.ErrInvalid)
		wantErr(t, fmt.Sprintf("StartVM(%q)", name), tg.StartVM(c, name), cloud.ErrInvalid)
		_, err = tg.VMStatus(c, name)
		wantErr(t, fmt.Sprintf("VMStatus(%q)", name), err, cloud.ErrInvalid)
	}
	for _, size := range []int64{0, -cloud.SizeUnit, cloud.SizeUnit + cloud.SectorSize} {
		_, err := tg.CreateDisk(c, cloud.DiskSpec{Name: "badsize", SizeBytes: size})
		wantErr(t, fmt.Sprintf("CreateDisk(size %d)", size), err, cloud.ErrInvalid)
	}
	if _, err := tg.DiskInfo(c, "badsize"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("a refused CreateDisk left something behind: DiskInfo = %v, want ErrNotFound", err)
	}
	for _, spec := range []cloud.VMSpec{
		{Name: "vm1"},
		{Name: "vm1", OSDisk: "a", DataDisks: []string{"a"}},
		{Name: "vm1", OSDisk: "a", CPUs: -1},
		{Name: "vm1", OSDisk: "a", MemoryMiB: -1},
		{Name: "vm1", OSDisk: "a", Firmware: "coreboot"},
		{Name: "vm1", OSDisk: "bad name"},
	} {
		_, err := tg.CreateVM(c, spec)
		wantErr(t, fmt.Sprintf("CreateVM(%+v)", spec), err, cloud.ErrInvalid)
	}

	d := mustCreate(t, tg, "ranges", diskSize)
	sector := make([]byte, cloud.SectorSize)
	for _, w := range []struct {
		off int64
		p   []byte
	}{
		{1, sector},            // unaligned offset
		{0, make([]byte, 100)}, // unaligned length
		{diskSize, sector},     // past the end
		{diskSize - cloud.SectorSize, sector[:0:0]}, // empty is fine, see below
		{-cloud.SectorSize, sector},                 // negative
	} {
		_, err := d.WriteAt(w.p, w.off)
		if len(w.p) == 0 {
			if err != nil {
				t.Errorf("WriteAt(0 bytes at %d): %v, want nil", w.off, err)
			}
			continue
		}
		wantErr(t, fmt.Sprintf("WriteAt(%d bytes at %d)", len(w.p), w.off), err, cloud.ErrInvalid)
	}
	wantErr(t, "WriteZeroes past the end", d.WriteZeroes(diskSize-cloud.SectorSize, 2*cloud.SectorSize), cloud.ErrInvalid)
	wantErr(t, "WriteZeroes unaligned", d.WriteZeroes(100, cloud.SectorSize), cloud.ErrInvalid)
	if d.Size() != diskSize || d.Name() != "ranges" {
		t.Errorf("disk handle: Name %q Size %d, want ranges %d", d.Name(), d.Size(), diskSize)
	}
}

func testMissing(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	_, err := tg.OpenDisk(c, "nodisk")
	wantErr(t, "OpenDisk of a missing disk", err, cloud.ErrNotFound)
	_, err = tg.DiskInfo(c, "nodisk")
	wantErr(t, "DiskInfo of a missing disk", err, cloud.ErrNotFound)
	if err := tg.DeleteDisk(c, "nodisk"); err != nil {
		t.Errorf("DeleteDisk of a missing disk: %v, want nil (idempotent)", err)
	}
	if r, ok := tg.(cloud.DiskReader); ok {
		_, err := r.ReadDisk(c, "nodisk")
		wantErr(t, "ReadDisk of a missing disk", err, cloud.ErrNotFound)
	}
	wantErr(t, "StartVM of a missing VM", tg.StartVM(c, "novm"), cloud.ErrNotFound)
	wantErr(t, "StopVM of a missing VM", tg.StopVM(c, "novm", stopGrace), cloud.ErrNotFound)
	_, err = tg.VMStatus(c, "novm")
	wantErr(t, "VMStatus of a missing VM", err, cloud.ErrNotFound)
	if co, ok := tg.(cloud.Consoler); ok {
		_, err := co.Console(c, "novm")
		wantErr(t, "Console of a missing VM", err, cloud.ErrNotFound)
	}
	if err := tg.DeleteVM(c, "novm"); err != nil {
		t.Errorf("DeleteVM of a missing VM: %v, want nil (idempotent)", err)
	}
	_, err = tg.CreateVM(c, cloud.VMSpec{Name: "vm1", OSDisk: "nodisk"})
	wantErr(t, "CreateVM with a missing disk", err, cloud.ErrNotFound)
	if vms, err := tg.ListVMs(c); err != nil || len(vms) != 0 {
		t.Errorf("ListVMs of an empty target = %v, %v; want none (a refused CreateVM must leave nothing)", vms, err)
	}
}

func testCreateIdempotent(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	want := make(model, diskSize)
	d := mustCreate(t, tg, "idem", diskSize)
	want.write(t, d, cloud.SizeUnit, pattern(1, 64<<10))
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// An interrupted copy creates again and resumes.
	d2, err := tg.CreateDisk(c, cloud.DiskSpec{Name: "idem", SizeBytes: diskSize})
	if err != nil {
		t.Fatalf("CreateDisk of an existing disk with the same size: %v, want it reopened", err)
	}
	defer d2.Close()
	want.write(t, d2, 2*cloud.SizeUnit, pattern(2, 8<<10))
	if err := d2.Finalize(c); err != nil {
		t.Fatal(err)
	}
	verify(t, tg, "idem", want)

	_, err = tg.CreateDisk(c, cloud.DiskSpec{Name: "idem", SizeBytes: 2 * diskSize})
	wantErr(t, "CreateDisk of an existing disk with another size", err, cloud.ErrExists)
	info, err := tg.DiskInfo(c, "idem")
	if err != nil {
		t.Fatal(err)
	}
	if info.SizeBytes != diskSize || !info.Finalized || info.Name != "idem" {
		t.Errorf("DiskInfo after a refused resize = %+v, want the disk unchanged and finalized", info)
	}
	verify(t, tg, "idem", want)
}

func testWriteRanges(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	want := make(model, diskSize)
	d := mustCreate(t, tg, "ranges", diskSize)
	// Sector-sized, chunk-sized, straddling and last-sector writes, from
	// several goroutines at once, in no particular order.
	type w struct {
		off int64
		n   int
	}
	writes := []w{
		{diskSize - cloud.SectorSize, cloud.SectorSize},
		{0, cloud.SectorSize},
		{3 * cloud.SectorSize, 7 * cloud.SectorSize},
		{64<<10 - cloud.SectorSize, 2 * cloud.SectorSize},
		{cloud.SizeUnit, cloud.SizeUnit},
		{3*cloud.SizeUnit + 4096, 128 << 10},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(writes))
	for i, wr := range writes {
		p := pattern(uint64(i+10), wr.n)
		copy(want[wr.off:], p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := d.WriteAt(p, wr.off); err != nil || n != len(p) {
				errs <- fmt.Errorf("WriteAt(%d bytes at %d) = %d, %v", len(p), wr.off, n, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A later write over an earlier one wins.
	want.write(t, d, 4*cloud.SectorSize, pattern(99, cloud.SectorSize))
	if err := d.Finalize(c); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	verify(t, tg, "ranges", want)
}

func testWriteZeroes(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	want := make(model, diskSize)
	d := mustCreate(t, tg, "zeroes", diskSize)
	want.write(t, d, 0, pattern(3, diskSize))
	want.zero(t, d, 0, cloud.SectorSize)
	want.zero(t, d, 5*cloud.SectorSize, 3*cloud.SectorSize)
	want.zero(t, d, 64<<10-cloud.SectorSize, 128<<10+2*cloud.SectorSize)
	want.zero(t, d, 2*cloud.SizeUnit, cloud.SizeUnit)
	want.zero(t, d, diskSize-cloud.SectorSize, cloud.SectorSize)
	if err := d.WriteZeroes(cloud.SectorSize, 0); err != nil {
		t.Errorf("WriteZeroes of 0 bytes: %v", err)
	}
	if err := d.Finalize(c); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	verify(t, tg, "zeroes", want)
}

func testFinalizeReopen(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	want := make(model, diskSize)
	d := mustCreate(t, tg, "delta", diskSize)
	want.write(t, d, 0, pattern(4, 2*cloud.SizeUnit))
	if info, err := tg.DiskInfo(c, "delta"); err != nil || info.Finalized {
		t.Errorf("DiskInfo while writing = %+v, %v; want not finalized", info, err)
	}
	if err := d.Finalize(c); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if err := d.Finalize(c); err != nil {
		t.Errorf("second Finalize: %v, want nil (idempotent)", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close after Finalize: %v, want nil", err)
	}
	_, err := d.WriteAt(make([]byte, cloud.SectorSize), 0)
	wantErr(t, "WriteAt after Finalize", err, cloud.ErrFinalized)
	wantErr(t, "WriteZeroes after Finalize", d.WriteZeroes(0, cloud.SectorSize), cloud.ErrFinalized)
	if info, err := tg.DiskInfo(c, "delta"); err != nil || !info.Finalized || info.SizeBytes != diskSize {
		t.Errorf("DiskInfo after Finalize = %+v, %v; want finalized, %d bytes", info, err, diskSize)
	}
	verify(t, tg, "delta", want)

	// Delta pass: changed ranges, and ranges that became zero.
	d2, err := tg.OpenDisk(c, "delta")
	if err != nil {
		t.Fatalf("OpenDisk for a delta pass: %v", err)
	}
	defer d2.Close()
	if d2.Size() != diskSize {
		t.Errorf("reopened disk: Size %d, want %d", d2.Size(), diskSize)
	}
	if info, err := tg.DiskInfo(c, "delta"); err != nil || info.Finalized {
		t.Errorf("DiskInfo of a reopened disk = %+v, %v; want not finalized", info, err)
	}
	want.write(t, d2, cloud.SizeUnit/2, pattern(5, 16<<10))
	want.zero(t, d2, cloud.SizeUnit, 64<<10)
	want.write(t, d2, 3*cloud.SizeUnit, pattern(6, cloud.SectorSize))
	if err := d2.Finalize(c); err != nil {
		t.Fatalf("Finalize after the delta pass: %v", err)
	}
	verify(t, tg, "delta", want)
}

func testCloseWithoutFinalize(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	d := mustCreate(t, tg, "open", diskSize)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	_, err := d.WriteAt(make([]byte, cloud.SectorSize), 0)
	wantErr(t, "WriteAt after Close", err, cloud.ErrFinalized)
	if info, err := tg.DiskInfo(c, "open"); err != nil || info.Finalized {
		t.Errorf("DiskInfo after Close without Finalize = %+v, %v; want not finalized", info, err)
	}
	_, err = tg.CreateVM(c, cloud.VMSpec{Name: "vm1", OSDisk: "open"})
	wantErr(t, "CreateVM from a disk never finalized", err, cloud.ErrNotFinalized)
}

func testDeleteDisk(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	d := mustCreate(t, tg, "gone", diskSize)
	if _, err := d.WriteAt(pattern(7, cloud.SectorSize), 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Finalize(c); err != nil {
		t.Fatal(err)
	}
	if err := tg.DeleteDisk(c, "gone"); err != nil {
		t.Fatalf("DeleteDisk: %v", err)
	}
	if err := tg.DeleteDisk(c, "gone"); err != nil {
		t.Errorf("second DeleteDisk: %v, want nil (idempotent)", err)
	}
	_, err := tg.DiskInfo(c, "gone")
	wantErr(t, "DiskInfo of a deleted disk", err, cloud.ErrNotFound)
	// The name is free again, for a disk of any size, reading as zeros.
	mustCreate(t, tg, "gone", 2*diskSize)
	verify(t, tg, "gone", make(model, 2*diskSize))
}

func finalized(t *testing.T, tg cloud.Target, name string) {
	t.Helper()
	d := mustCreate(t, tg, name, diskSize)
	if _, err := d.WriteAt(pattern(8, cloud.SectorSize), 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Finalize(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func wantState(t *testing.T, tg cloud.Target, name string, want cloud.State) cloud.VM {
	t.Helper()
	vm, err := tg.VMStatus(ctx(t), name)
	if err != nil {
		t.Fatalf("VMStatus %s: %v", name, err)
	}
	if vm.State != want {
		t.Fatalf("VMStatus %s: state %q, want %q", name, vm.State, want)
	}
	return vm
}

func testVMLifecycle(t *testing.T, tg cloud.Target) {
	c := ctx(t)
	finalized(t, tg, "vm1-os")
	finalized(t, tg, "vm1-data")
	finalized(t, tg, "vm2-os")
	spec := cloud.VMSpec{
		Name: "vm1", CPUs: 1, MemoryMiB: 256, OSDisk: "vm1-os", DataDisks: []string{"vm1-data"},
		Tags: map[string]string{"source": "web01"},
	}
	vm, err := tg.CreateVM(c, spec)
	if err != nil {
		t.Fatalf("CreateVM: %v", err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(c), "vm1") })
	if vm.State != cloud.Stopped || !vm.Spec.Equal(spec) {
		t.Errorf("CreateVM = %+v, want spec %+v, stopped", vm, spec)
	}
	if again, err := tg.CreateVM(c, spec); err != nil || !again.Spec.Equal(spec) {
		t.Errorf("CreateVM with the same spec again = %+v, %v; want the existing VM", again, err)
	}
	other := spec
	other.CPUs = 2
	_, err = tg.CreateVM(c, other)
	wantErr(t, "CreateVM of an existing VM with another spec", err, cloud.ErrExists)
	_, err = tg.CreateVM(c, cloud.VMSpec{Name: "thief", OSDisk: "vm1-data"})
	wantErr(t, "CreateVM with a disk of another VM", err, cloud.ErrInUse)
	_, err = tg.OpenDisk(c, "vm1-os")
	wantErr(t, "OpenDisk of a VM's disk", err, cloud.ErrInUse)
	wantErr(t, "DeleteDisk of a VM's disk", tg.DeleteDisk(c, "vm1-data"), cloud.ErrInUse)
	if info, err := tg.DiskInfo(c, "vm1-data"); err != nil || info.VM != "vm1" {
		t.Errorf("DiskInfo of a VM's disk = %+v, %v; want VM vm1", info, err)
	}

	uefi := cloud.VMSpec{Name: "vm2", MemoryMiB: 256, Firmware: cloud.UEFI, OSDisk: "vm2-os"}
	if _, err := tg.CreateVM(c, uefi); err != nil {
		t.Fatalf("CreateVM (UEFI): %v", err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(c), "vm2") })
	vms, err := tg.ListVMs(c)
	if err != nil || len(vms) != 2 || vms[0].Spec.Name != "vm1" || vms[1].Spec.Name != "vm2" {
		t.Fatalf("ListVMs = %+v, %v; want vm1 and vm2 in order", vms, err)
	}
	if vms[1].Spec.Firmware != cloud.UEFI || vms[0].Spec.Firmware != cloud.BIOS {
		t.Errorf("ListVMs firmware: %q, %q; want bios, uefi", vms[0].Spec.Firmware, vms[1].Spec.Firmware)
	}

	for _, name := range []string{"vm1", "vm2"} {
		if err := tg.StartVM(c, name); err != nil {
			t.Fatalf("StartVM %s: %v", name, err)
		}
		wantState(t, tg, name, cloud.Running)
	}
	if err := tg.StartVM(c, "vm1"); err != nil {
		t.Errorf("StartVM of a running VM: %v, want nil (idempotent)", err)
	}
	running := wantState(t, tg, "vm1", cloud.Running)
	t.Logf("running vm1 addresses: %+v", running.Addresses)
	if co, ok := tg.(cloud.Consoler); ok {
		r, err := co.Console(c, "vm1")
		if err != nil {
			t.Errorf("Console: %v", err)
		} else {
			_, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Errorf("Console: read: %v", err)
			}
		}
	} else {
		t.Logf("%s target declares no cloud.Consoler: console not read", tg.Kind())
	}

	if err := tg.StopVM(c, "vm1", stopGrace); err != nil {
		t.Fatalf("StopVM: %v", err)
	}
	stopped := wantState(t, tg, "vm1", cloud.Stopped)
	if len(stopped.Addresses) != 0 {
		t.Errorf("stopped VM has addresses %+v, want none", stopped.Addresses)
	}
	if err := tg.StopVM(c, "vm1", stopGrace); err != nil {
		t.Errorf("StopVM of a stopped VM: %v, want nil (idempotent)", err)
	}
	// Start again after a stop: the same VM comes back.
	if err := tg.StartVM(c, "vm1"); err != nil {
		t.Fatalf("StartVM after StopVM: %v", err)
	}
	wantState(t, tg, "vm1", cloud.Running)

	// Deleting a running VM forces it off and frees its disks.
	for _, name := range []string{"vm1", "vm2"} {
		if err := tg.DeleteVM(c, name); err != nil {
			t.Fatalf("DeleteVM %s: %v", name, err)
		}
		_, err := tg.VMStatus(c, name)
		wantErr(t, "VMStatus of a deleted VM", err, cloud.ErrNotFound)
	}
	if vms, err := tg.ListVMs(c); err != nil || len(vms) != 0 {
		t.Errorf("ListVMs after DeleteVM = %+v, %v; want none", vms, err)
	}
	if info, err := tg.DiskInfo(c, "vm1-os"); err != nil || info.VM != "" || !info.Finalized {
		t.Errorf("DiskInfo of a deleted VM's disk = %+v, %v; want it kept, finalized and free", info, err)
	}
	if err := tg.DeleteDisk(c, "vm1-data"); err != nil {
		t.Errorf("DeleteDisk of a deleted VM's disk: %v", err)
	}
	d, err := tg.OpenDisk(c, "vm1-os")
	if err != nil {
		t.Errorf("OpenDisk of a deleted VM's disk: %v", err)
	} else {
		d.Close()
	}
}

func testCanceled(t *testing.T, tg cloud.Target) {
	finalized(t, tg, "ok-os")
	if _, err := tg.CreateVM(ctx(t), cloud.VMSpec{Name: "okvm", MemoryMiB: 256, OSDisk: "ok-os"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(t.Context()), "okvm") })

	c, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := tg.CreateDisk(c, cloud.DiskSpec{Name: "never", SizeBytes: diskSize})
	wantErr(t, "CreateDisk", err, context.Canceled)
	if _, err := tg.DiskInfo(ctx(t), "never"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("CreateDisk with a canceled context left a disk behind: DiskInfo = %v", err)
	}
	_, err = tg.OpenDisk(c, "ok-os")
	wantErr(t, "OpenDisk", err, context.Canceled)
	_, err = tg.DiskInfo(c, "ok-os")
	wantErr(t, "DiskInfo", err, context.Canceled)
	wantErr(t, "DeleteDisk", tg.DeleteDisk(c, "ok-os"), context.Canceled)
	_, err = tg.CreateVM(c, cloud.VMSpec{Name: "never", OSDisk: "ok-os"})
	wantErr(t, "CreateVM", err, context.Canceled)
	wantErr(t, "StartVM", tg.StartVM(c, "okvm"), context.Canceled)
	wantErr(t, "StopVM", tg.StopVM(c, "okvm", stopGrace), context.Canceled)
	_, err = tg.VMStatus(c, "okvm")
	wantErr(t, "VMStatus", err, context.Canceled)
	_, err = tg.ListVMs(c)
	wantErr(t, "ListVMs", err, context.Canceled)
	wantErr(t, "DeleteVM", tg.DeleteVM(c, "okvm"), context.Canceled)
	if vm, err := tg.VMStatus(ctx(t), "okvm"); err != nil || vm.State != cloud.Stopped {
		t.Errorf("after canceled calls VMStatus = %+v, %v; want okvm still there and stopped", vm, err)
	}

	// A disk handle's writes end with the context it was opened with.
	wc, wcancel := context.WithCancel(t.Context())
	d, err := tg.CreateDisk(wc, cloud.DiskSpec{Name: "cut", SizeBytes: diskSize})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.WriteAt(pattern(9, cloud.SectorSize), 0); err != nil {
		t.Fatalf("WriteAt before cancel: %v", err)
	}
	wcancel()
	_, err = d.WriteAt(pattern(9, cloud.SectorSize), cloud.SectorSize)
	wantErr(t, "WriteAt after its context was canceled", err, context.Canceled)
	wantErr(t, "WriteZeroes after its context was canceled", d.WriteZeroes(0, cloud.SectorSize), context.Canceled)
	wantErr(t, "Finalize with a canceled context", d.Finalize(c), context.Canceled)
	if info, err := tg.DiskInfo(ctx(t), "cut"); err != nil || info.Finalized {
		t.Errorf("DiskInfo after a canceled Finalize = %+v, %v; want not finalized", info, err)
	}
}

// cloner returns the target's cloud.DiskCloner, or skips the test: the
// capability is optional.
func cloner(t *testing.T, tg cloud.Target) cloud.DiskCloner {
	t.Helper()
	c, ok := tg.(cloud.DiskCloner)
	if !ok {
		t.Skipf("%s target declares no cloud.DiskCloner: clones not tested", tg.Kind())
	}
	return c
}

func wantDisk(t *testing.T, tg cloud.Target, name string, size int64) cloud.DiskInfo {
	t.Helper()
	info, err := tg.DiskInfo(ctx(t), name)
	if err != nil {
		t.Fatalf("DiskInfo %s: %v", name, err)
	}
	if info.SizeBytes != size || !info.Finalized || info.VM != "" {
		t.Errorf("DiskInfo %s = %+v; want %d bytes, finalized, no VM", name, info, size)
	}
	return info
}

// testClone is a test migration's use of a clone: the replica's copy boots
// while the replica takes further passes.
func testClone(t *testing.T, tg cloud.Target) {
	cl := cloner(t, tg)
	c := ctx(t)
	src := make(model, diskSize)
	d := mustCreate(t, tg, "replica", diskSize)
	src.write(t, d, 0, pattern(20, 64<<10))
	src.write(t, d, 2*cloud.SizeUnit+4096, pattern(21, cloud.SizeUnit))
	src.write(t, d, diskSize-cloud.SectorSize, pattern(22, cloud.SectorSize))
	if err := d.Finalize(c); err != nil {
		t.Fatal(err)
	}
	if err := cl.CloneDisk(c, "replica", cloud.DiskSpec{Name: "test-os", Tags: map[string]string{"purpose": "test"}}); err != nil {
		t.Fatalf("CloneDisk: %v", err)
	}
	if info := wantDisk(t, tg, "test-os", diskSize); info.Tags["purpose"] != "test" {
		t.Errorf("clone's tags %v, want the spec's purpose=test", info.Tags)
	}
	verify(t, tg, "test-os", src)
	clone := bytes.Clone(src)

	// The replica takes a delta pass; meanwhile a VM is made of the clone.
	d2, err := tg.OpenDisk(c, "replica")
	if err != nil {
		t.Fatalf("OpenDisk of a cloned disk: %v", err)
	}
	defer d2.Close()
	src.write(t, d2, 0, pattern(23, cloud.SectorSize))
	src.zero(t, d2, 2*cloud.SizeUnit+4096, 64<<10)
	src.write(t, d2, 3*cloud.SizeUnit, pattern(24, 8<<10))
	if _, err := tg.CreateVM(c, cloud.VMSpec{Name: "testvm", MemoryMiB: 256, OSDisk: "test-os"}); err != nil {
		t.Fatalf("CreateVM from a clone while its source takes a pass: %v", err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(c), "testvm") })
	if err := d2.Finalize(c); err != nil {
		t.Fatal(err)
	}
	verify(t, tg, "replica", src)
	verify(t, tg, "test-os", clone) // later writes to the source do not reach it
	if err := tg.DeleteVM(c, "testvm"); err != nil {
		t.Fatal(err)
	}

	// Cloning onto the clone copies the source again, as it is now.
	if err := cl.CloneDisk(c, "replica", cloud.DiskSpec{Name: "test-os", SizeBytes: diskSize}); err != nil {
		t.Fatalf("CloneDisk onto an existing clone of the same size: %v, want it copied again", err)
	}
	wantDisk(t, tg, "test-os", diskSize)
	verify(t, tg, "test-os", src)

	// A clone interrupted half-way leaves a disk not finalized; cloning
	// again finishes it.
	h := mustCreate(t, tg, "half", diskSize)
	if _, err := h.WriteAt(pattern(25, cloud.SectorSize), cloud.SizeUnit); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cl.CloneDisk(c, "replica", cloud.DiskSpec{Name: "half"}); err != nil {
		t.Fatalf("CloneDisk onto a disk left not finalized: %v, want it copied again", err)
	}
	wantDisk(t, tg, "half", diskSize)
	verify(t, tg, "half", src)

	// A larger clone reads as the source followed by zeros.
	if err := cl.CloneDisk(c, "replica", cloud.DiskSpec{Name: "grown", SizeBytes: growSize}); err != nil {
		t.Fatalf("CloneDisk to %d bytes: %v", int64(growSize), err)
	}
	wantDisk(t, tg, "grown", growSize)
	verifyAt(t, tg, "grown", growSize, 0, append(bytes.Clone(src), make([]byte, cloud.SizeUnit)...))
	verifyAt(t, tg, "grown", growSize, growSize-cloud.SizeUnit, make([]byte, cloud.SizeUnit))
}

func testCloneErrors(t *testing.T, tg cloud.Target) {
	cl := cloner(t, tg)
	c := ctx(t)
	finalized(t, tg, "src")
	for _, name := range []string{"", "-lead", "has space", "sl/ash"} {
		wantErr(t, fmt.Sprintf("CloneDisk from %q", name), cl.CloneDisk(c, name, cloud.DiskSpec{Name: "dst"}), cloud.ErrInvalid)
		wantErr(t, fmt.Sprintf("CloneDisk to %q", name), cl.CloneDisk(c, "src", cloud.DiskSpec{Name: name}), cloud.ErrInvalid)
	}
	wantErr(t, "CloneDisk onto itself", cl.CloneDisk(c, "src", cloud.DiskSpec{Name: "src"}), cloud.ErrInvalid)
	wantErr(t, "CloneDisk to a smaller size", cl.CloneDisk(c, "src", cloud.DiskSpec{Name: "dst", SizeBytes: diskSize - cloud.SizeUnit}), cloud.ErrInvalid)
	wantErr(t, "CloneDisk to a size not a multiple of SizeUnit", cl.CloneDisk(c, "src", cloud.DiskSpec{Name: "dst", SizeBytes: diskSize + cloud.SectorSize}), cloud.ErrInvalid)
	wantErr(t, "CloneDisk of a missing disk", cl.CloneDisk(c, "nodisk", cloud.DiskSpec{Name: "dst"}), cloud.ErrNotFound)

	w := mustCreate(t, tg, "writing", diskSize)
	if _, err := w.WriteAt(pattern(26, cloud.SectorSize), 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CloneDisk of a disk open for writing", cl.CloneDisk(c, "writing", cloud.DiskSpec{Name: "dst"}), cloud.ErrNotFinalized)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CloneDisk of a disk closed without Finalize", cl.CloneDisk(c, "writing", cloud.DiskSpec{Name: "dst"}), cloud.ErrNotFinalized)

	other := make(model, 2*diskSize)
	o := mustCreate(t, tg, "other", 2*diskSize)
	other.write(t, o, 0, pattern(27, cloud.SectorSize))
	if err := o.Finalize(c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CloneDisk onto a disk of another size", cl.CloneDisk(c, "src", cloud.DiskSpec{Name: "other"}), cloud.ErrExists)
	wantDisk(t, tg, "other", 2*diskSize)
	verify(t, tg, "other", other)

	finalized(t, tg, "vm-os")
	if _, err := tg.CreateVM(c, cloud.VMSpec{Name: "owner", MemoryMiB: 256, OSDisk: "vm-os"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(c), "owner") })
	wantErr(t, "CloneDisk onto a VM's disk", cl.CloneDisk(c, "src", cloud.DiskSpec{Name: "vm-os"}), cloud.ErrInUse)
	if info, err := tg.DiskInfo(c, "vm-os"); err != nil || info.VM != "owner" || !info.Finalized {
		t.Errorf("DiskInfo of the VM's disk after a refused clone = %+v, %v; want it finalized, used by owner", info, err)
	}

	cc, cancel := context.WithCancel(t.Context())
	cancel()
	wantErr(t, "CloneDisk with a canceled context", cl.CloneDisk(cc, "src", cloud.DiskSpec{Name: "never"}), context.Canceled)
	for _, name := range []string{"dst", "never"} {
		if _, err := tg.DiskInfo(c, name); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("a refused CloneDisk left disk %s behind: DiskInfo = %v, want ErrNotFound", name, err)
		}
	}
}

// testIsolatedNIC: a VM whose NIC is isolated keeps that in its spec and
// still has addresses the appliance reaches.
func testIsolatedNIC(t *testing.T, tg cloud.Target, opts Options) {
	c := ctx(t)
	finalized(t, tg, "iso-os")
	if opts.IsolatedSubnet != "" {
		_, err := tg.CreateVM(c, cloud.VMSpec{Name: "isovm", MemoryMiB: 256, OSDisk: "iso-os", NICs: []cloud.NICSpec{{Isolated: true}}})
		wantErr(t, "CreateVM with an isolated NIC naming no subnet", err, cloud.ErrInvalid)
	}
	spec := cloud.VMSpec{Name: "isovm", MemoryMiB: 256, OSDisk: "iso-os", NICs: []cloud.NICSpec{{Isolated: true, Subnet: opts.IsolatedSubnet}}}
	vm, err := tg.CreateVM(c, spec)
	if err != nil {
		t.Fatalf("CreateVM with an isolated NIC: %v", err)
	}
	t.Cleanup(func() { tg.DeleteVM(context.WithoutCancel(c), "isovm") })
	if !vm.Spec.Equal(spec) || len(vm.Spec.NICs) != 1 || !vm.Spec.NICs[0].Isolated {
		t.Errorf("CreateVM = %+v, want spec %+v with its NIC isolated", vm.Spec, spec)
	}
	if _, err := tg.CreateVM(c, spec); err != nil {
		t.Errorf("CreateVM with the same isolated spec again: %v, want the existing VM", err)
	}
	open := spec
	open.NICs = []cloud.NICSpec{{Subnet: opts.IsolatedSubnet}}
	_, err = tg.CreateVM(c, open)
	wantErr(t, "CreateVM of the isolated VM's name with a NIC not isolated", err, cloud.ErrExists)

	if err := tg.StartVM(c, "isovm"); err != nil {
		t.Fatalf("StartVM with an isolated NIC: %v", err)
	}
	running := wantState(t, tg, "isovm", cloud.Running)
	if len(running.Spec.NICs) != 1 || !running.Spec.NICs[0].Isolated {
		t.Errorf("VMStatus NICs = %+v, want one isolated", running.Spec.NICs)
	}
	if _, ok := running.Address("ssh"); !ok {
		t.Errorf("running isolated VM has no SSH address (%+v): the appliance must still reach it", running.Addresses)
	}
	vms, err := tg.ListVMs(c)
	if err != nil || len(vms) != 1 || !vms[0].Spec.Equal(spec) {
		t.Errorf("ListVMs = %+v, %v; want isovm with its NIC isolated", vms, err)
	}
	if err := tg.DeleteVM(c, "isovm"); err != nil {
		t.Fatalf("DeleteVM: %v", err)
	}
}

package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/azure"
	"github.com/shift-migrate/shift/cloud/targettest"
	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/fixtures/azurite"
	"github.com/shift-migrate/shift/fixtures/diskimg"
)

// TestConformance runs the contract suite against the import path: disks
// are page blobs in a staging container of a real Azurite, imported as
// managed disks (the SDK fakes copy them into Azurite blobs of their own).
// Isolated NICs name a test subnet apart from the target's default one.
func TestConformance(t *testing.T) {
	az := azurite.Start(t)
	var n atomic.Int32
	opts := targettest.Options{IsolatedSubnet: testSubnet}
	targettest.RunOptions(t, opts, func(t *testing.T) cloud.Target {
		i := n.Add(1)
		f := newFakeARM(t, az, fmt.Sprintf("disks%d", i), az.URL)
		stage := az.Container(t, fmt.Sprintf("staging%d", i))
		return newTarget(t, f, func(o *azure.Options) {
			o.Staging = &azure.Staging{Container: stage, StorageAccountID: "/subscriptions/" + subID + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + azurite.Account}
		})
	})
}

// copyDisk writes src's allocated extents into d as the disk engine does:
// 4 MiB chunks, all-zero chunks skipped, workers goroutines at once. Only
// the first size bytes of src are copied.
func copyDisk(ctx context.Context, d cloud.Disk, src *disk.File, size int64, workers int) (written int64, err error) {
	ext, err := src.Extents(ctx)
	if err != nil {
		return 0, err
	}
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, e := range ext {
		if !e.Data {
			continue
		}
		for off := e.Offset &^ (azure.MaxPageWrite - 1); off < min(e.End(), size); off += azure.MaxPageWrite {
			g.Go(func() error {
				buf := make([]byte, min(azure.MaxPageWrite, size-off))
				if _, err := src.ReadAt(buf, off); err != nil {
					return err
				}
				if isZero(buf) {
					return nil
				}
				if _, err := d.WriteAt(buf, off); err != nil {
					return err
				}
				total.Add(int64(len(buf)))
				return gctx.Err()
			})
		}
	}
	return total.Load(), g.Wait()
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func needQemuImg(t testing.TB) {
	t.Helper()
	diskimg.Need(t, "qemu-img")
}

// TestDirectUploadRealDisk is the acceptance test of the direct path: a
// real GPT disk (ESP, ext4 root, swap) uploaded through a proxy that
// checks every Put Page and cuts the connection once mid-body comes back
// from Azurite bit-identical, footer included; qemu-img opens the result
// as a VHD and finds it equal to the source.
func TestDirectUploadRealDisk(t *testing.T) {
	diskimg.Need(t, "sfdisk", "mkfs.ext4", "mkfs.vfat", "mcopy", "mkswap")
	needQemuImg(t)
	az := azurite.Start(t)
	px := startProxy(t, az)
	f := newFakeARM(t, az, "disks", px.URL)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var retries atomic.Int32
	tg := newTarget(t, f, func(o *azure.Options) {
		o.Now = func() time.Time { return now }
		o.Retry.OnRetry = func(attempt int, err error) {
			retries.Add(1)
			if strings.Contains(err.Error(), "sig=") && !strings.Contains(err.Error(), "sig=REDACTED") {
				t.Errorf("a retried error shows the SAS signature: %v", err)
			}
			t.Logf("retry after attempt %d: %v", attempt, err)
		}
	})

	img := diskimg.LinuxGPT(t)
	src, err := disk.OpenFile(img)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	size := cloud.RoundSize(src.Size())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "web01-os", SizeBytes: size, Tags: map[string]string{azure.FirmwareTag: "uefi", "source": "web01"}})
	if err != nil {
		t.Fatal(err)
	}
	px.cutAfter.Store(1 << 20) // the first Put Page loses its connection after 1 MiB
	start := time.Now()
	n, err := copyDisk(ctx, d, src, src.Size(), 8)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("uploaded %d MiB of %d MiB in %v", n>>20, size>>20, time.Since(start))

	puts, maxPut, noMD5, badMD5, _, cuts := px.stats()
	if cuts != 1 || retries.Load() < 1 {
		t.Errorf("connection cuts %d, retries %d; want 1 cut and a retry that resumed it", cuts, retries.Load())
	}
	if puts == 0 || maxPut > azure.MaxPageWrite {
		t.Errorf("%d Put Page requests, largest %d bytes; want some, none above %d", puts, maxPut, azure.MaxPageWrite)
	}
	if noMD5 != 0 || badMD5 != 0 {
		t.Errorf("Put Page without Content-MD5: %d, with a wrong one: %d; want 0", noMD5, badMD5)
	}

	info, err := tg.DiskInfo(ctx, "web01-os")
	if err != nil || !info.Finalized || info.SizeBytes != size || info.Tags["source"] != "web01" {
		t.Errorf("DiskInfo = %+v, %v; want finalized, %d bytes, tags kept", info, err, size)
	}
	// The whole managed disk blob, as Azure would hold it, compared with
	// the source and the expected footer 4 MiB at a time.
	got := filepath.Join(t.TempDir(), "web01-os.vhd")
	out, err := os.Create(got)
	if err != nil {
		t.Fatal(err)
	}
	blobc := f.diskBlob("web01-os").BlobClient()
	buf, want := make([]byte, azure.MaxPageWrite), make([]byte, azure.MaxPageWrite)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if err := download(ctx, blobc, buf, off); err != nil {
			t.Fatal(err)
		}
		clear(want)
		if _, err := src.ReadAt(want, off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("downloaded disk differs from the source in the 4 MiB at %d", off)
		}
		if _, err := out.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	footer := make([]byte, convert.VHDFooterSize)
	if err := download(ctx, blobc, footer, size); err != nil {
		t.Fatal(err)
	}
	wantFooter, _ := convert.NewVHDFooter(size, now, footerID(t, footer)).MarshalBinary()
	if !bytes.Equal(footer, wantFooter) {
		t.Errorf("footer = %x, want %x", footer, wantFooter)
	}
	if _, err := out.WriteAt(footer, size); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	info2, err := exec.Command("qemu-img", "info", "-f", "vpc", "--output=json", got).CombinedOutput()
	if err != nil || !strings.Contains(string(info2), fmt.Sprintf(`"virtual-size": %d`, size)) {
		t.Errorf("qemu-img info -f vpc: %v\n%s", err, info2)
	}
	if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "vpc", img, got).CombinedOutput(); err != nil {
		t.Errorf("qemu-img compare: %v\n%s", err, out)
	}

	// The VM boots UEFI from it: generation 2 came from the disk's tag.
	vm, err := tg.CreateVM(ctx, cloud.VMSpec{Name: "web01", CPUs: 2, MemoryMiB: 4096, Firmware: cloud.UEFI, OSDisk: "web01-os",
		NICs: []cloud.NICSpec{{StaticIP: "10.1.2.3", MAC: "52:54:00:12:34:56"}}, Tags: map[string]string{"wave": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != cloud.Stopped || vm.Spec.NICs[0].StaticIP != "10.1.2.3" || vm.Spec.NICs[0].MAC != "52:54:00:12:34:56" || vm.Spec.Firmware != cloud.UEFI {
		t.Errorf("CreateVM = %+v; want stopped, UEFI, static IP and source MAC kept", vm)
	}
	if err := tg.StartVM(ctx, "web01"); err != nil {
		t.Fatal(err)
	}
	vm, err = tg.VMStatus(ctx, "web01")
	if a, ok := vm.Address("ssh"); err != nil || !ok || a.Host != "10.1.2.3" || a.Port != 22 {
		t.Errorf("VMStatus = %+v, %v; want ssh at 10.1.2.3:22", vm, err)
	}
}

// footerID reads the unique ID out of a footer (the target derives it
// from the disk's place; the test only checks it is stable below).
func footerID(t *testing.T, b []byte) [16]byte {
	t.Helper()
	f, err := convert.ParseVHDFooter(b)
	if err != nil {
		t.Fatalf("footer: %v", err)
	}
	return f.UniqueID
}

// TestDirectLifecycle checks what is particular to direct upload: a copy
// resumes through CreateDisk while the upload is open, a finalized disk
// refuses another pass with a hint, a firmware that does not match the
// disk's generation is refused before any VM call, and zero ranges are
// cleared on a later pass.
func TestDirectLifecycle(t *testing.T) {
	az := azurite.Start(t)
	px := startProxy(t, az)
	f := newFakeARM(t, az, "disks", px.URL)
	tg := newTarget(t, f, nil)
	ctx := t.Context()
	const size = 8 << 20
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "db01-data", SizeBytes: size})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("shift!!\n"), size/8)
	if _, err := d.WriteAt(data, 0); err != nil { // 8 MiB in one call: two Put Pages
		t.Fatal(err)
	}
	d.Close()
	d, err = tg.CreateDisk(ctx, cloud.DiskSpec{Name: "db01-data", SizeBytes: size})
	if err != nil {
		t.Fatalf("CreateDisk to resume an open upload: %v", err)
	}
	if err := d.WriteZeroes(1<<20, 2<<20); err != nil {
		t.Fatal(err)
	}
	clear(data[1<<20 : 3<<20])
	if _, err := tg.ReadDisk(ctx, "db01-data"); !errors.Is(err, cloud.ErrNotFinalized) {
		t.Errorf("ReadDisk during the upload: %v, want ErrNotFinalized", err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.OpenDisk(ctx, "db01-data"); !errors.Is(err, cloud.ErrFinalized) || !strings.Contains(err.Error(), "staging") {
		t.Errorf("OpenDisk of a finalized direct-upload disk: %v; want ErrFinalized with a hint", err)
	}
	c, err := tg.ReadDisk(ctx, "db01-data")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, size)
	if _, err := c.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadDisk: %v; contents equal: %v", err, bytes.Equal(got, data))
	}
	if err := c.Close(); err != nil {
		t.Errorf("ReadDisk Close (revoke): %v", err)
	}
	puts, maxPut, _, _, clears, _ := px.stats()
	if puts != 3 || maxPut != azure.MaxPageWrite || clears != 1 {
		t.Errorf("%d Put Pages (largest %d), %d Clear Pages; want 2 data + 1 footer, 4 MiB, 1 clear", puts, maxPut, clears)
	}

	_, err = tg.CreateVM(ctx, cloud.VMSpec{Name: "db01", Firmware: cloud.UEFI, OSDisk: "db01-data"})
	if !errors.Is(err, cloud.ErrInvalid) || !strings.Contains(err.Error(), azure.FirmwareTag) {
		t.Errorf("CreateVM UEFI from a generation 1 disk: %v; want ErrInvalid naming %s", err, azure.FirmwareTag)
	}
	if vms, _ := tg.ListVMs(ctx); len(vms) != 0 || len(f.nics) != 0 {
		t.Errorf("a refused CreateVM left %d VMs and %d NICs", len(vms), len(f.nics))
	}
	// A VM whose creation fails after its NICs exist leaves no NIC behind.
	_, err = tg.CreateVM(ctx, cloud.VMSpec{Name: "db01", OSDisk: "db01-data", NICs: []cloud.NICSpec{{}, {Subnet: "gone"}}})
	if err == nil {
		t.Fatal("CreateVM with a NIC Azure refuses succeeded")
	}
	if len(f.nics) != 0 {
		t.Errorf("CreateVM failed (%v) and left NICs %v", err, f.nics)
	}
	if err := tg.DeleteDisk(ctx, "db01-data"); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.DiskInfo(ctx, "db01-data"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("DiskInfo after DeleteDisk: %v", err)
	}
}

func TestNamesCheckedBeforeAnyCall(t *testing.T) {
	// No fake behind it: a call that reached ARM would fail otherwise.
	tg, err := azure.New(azure.Options{SubscriptionID: subID, ResourceGroup: rg, Location: "westeurope", Credential: &failingCred{},
		ARM: nil, Subnet: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, spec := range []cloud.VMSpec{
		{Name: "web_01", OSDisk: "a"},
		{Name: "web.01", OSDisk: "a"},
		{Name: "web01", OSDisk: "a", Tags: map[string]string{"shift-cpus": "9"}},
		{Name: "web01", OSDisk: "a", Tags: map[string]string{"a/b": "x"}},
		{Name: "web01", OSDisk: "a", NICs: []cloud.NICSpec{{StaticIP: "fe80::1"}}},
		{Name: "web01", OSDisk: "a", CPUs: 1000},
	} {
		if _, err := tg.CreateVM(ctx, spec); !errors.Is(err, cloud.ErrInvalid) {
			t.Errorf("CreateVM(%+v): %v, want ErrInvalid", spec, err)
		}
	}
	if _, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "d", SizeBytes: 1 << 20, Tags: map[string]string{"k": strings.Repeat("v", 257)}}); !errors.Is(err, cloud.ErrInvalid) {
		t.Errorf("CreateDisk with a 257-character tag value: %v, want ErrInvalid", err)
	}
	if _, err := azure.New(azure.Options{Location: "x"}); !errors.Is(err, cloud.ErrInvalid) || !strings.Contains(err.Error(), "resource group") {
		t.Errorf("New without subscription and resource group: %v", err)
	}
}

type failingCred struct{}

func (failingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("test: no ARM call expected")
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"}, true},
		{&azcore.ResponseError{StatusCode: 500}, true},
		{&azcore.ResponseError{StatusCode: 429}, true},
		{&azcore.ResponseError{StatusCode: 400, ErrorCode: "Md5Mismatch"}, true},
		{&azcore.ResponseError{StatusCode: 400, ErrorCode: "InvalidPageRange"}, false},
		{&azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthenticationFailed"}, false},
		{&azcore.ResponseError{StatusCode: 404, ErrorCode: "BlobNotFound"}, false},
		{&azcore.ResponseError{StatusCode: 413, ErrorCode: "RequestBodyTooLarge"}, false},
		{fmt.Errorf("put: %w", errors.New("unexpected EOF")), false},
		{fmt.Errorf("put: %w", context.Canceled), false},
		{fmt.Errorf("put: %w", errEOF()), true},
	} {
		if got := azure.Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

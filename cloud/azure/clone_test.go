package azure_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/azure"
	"github.com/shift-migrate/shift/fixtures/azurite"
)

const testSubnet = "/subscriptions/" + subID + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/shift-test"

// TestCloneAndIsolatedNIC is a test migration on the direct-upload path,
// as Azure sees it. ARM calls go to the armcompute and armnetwork SDKs'
// own fake servers (fake_test.go), whose Copy copies the source's blob in
// a real Azurite. A disk being uploaded is not cloned; a finalized one is,
// by a managed disk of CreateOption Copy naming the source's resource ID,
// with the spec's tags and its FirmwareTag's generation; a clone grows
// only to whole GiB. The test VM's isolated NIC is created in the test
// subnet with no public IP and reads back as isolated; an isolated NIC
// in the target's default (production) subnet is refused before any call.
func TestCloneAndIsolatedNIC(t *testing.T) {
	az := azurite.Start(t)
	f := newFakeARM(t, az, "disks", az.URL)
	tg := newTarget(t, f, nil)
	ctx := t.Context()
	const size = 8 << 20
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: "web01-os", SizeBytes: size})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("replica\n"), size/8)
	if _, err := d.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	err = tg.CloneDisk(ctx, "web01-os", cloud.DiskSpec{Name: "web01-test"})
	if !errors.Is(err, cloud.ErrNotFinalized) {
		t.Errorf("CloneDisk during the upload: %v, want ErrNotFinalized", err)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}

	err = tg.CloneDisk(ctx, "web01-os", cloud.DiskSpec{Name: "web01-big", SizeBytes: 16 << 20})
	if !errors.Is(err, cloud.ErrInvalid) || !strings.Contains(err.Error(), "whole GiB") {
		t.Errorf("CloneDisk to 16 MiB: %v; want ErrInvalid saying Azure grows a copy in whole GiB", err)
	}
	tags := map[string]string{"purpose": "test-migration", azure.FirmwareTag: string(cloud.UEFI)}
	if err := tg.CloneDisk(ctx, "web01-os", cloud.DiskSpec{Name: "web01-test", Tags: tags}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if _, ok := f.disks["web01-big"]; ok {
		t.Error("a refused CloneDisk created a disk")
	}
	clone := f.disks["web01-test"].d
	f.mu.Unlock()
	cd := clone.Properties.CreationData
	if *cd.CreateOption != armcompute.DiskCreateOptionCopy || *cd.SourceResourceID != f.id("Microsoft.Compute/disks", "web01-os") {
		t.Errorf("clone created with %s from %v; want Copy from web01-os's resource ID", *cd.CreateOption, *cd.SourceResourceID)
	}
	if g := *clone.Properties.HyperVGeneration; g != armcompute.HyperVGenerationV2 {
		t.Errorf("clone's generation %s, want V2 from its %s tag (the source is V1)", g, azure.FirmwareTag)
	}
	if v := clone.Tags["shift-size-bytes"]; v == nil || *v != strconv.Itoa(size) {
		t.Errorf("clone's size tag %v, want %d", v, size)
	}
	info, err := tg.DiskInfo(ctx, "web01-test")
	if err != nil || info.SizeBytes != size || !info.Finalized || info.VM != "" || info.Tags["purpose"] != "test-migration" {
		t.Errorf("DiskInfo of the clone = %+v, %v; want %d bytes, finalized, free, its tags", info, err, size)
	}
	c, err := tg.ReadDisk(ctx, "web01-test")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, size)
	if _, err := c.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the clone's contents: %v; equal to the source: %v", err, bytes.Equal(got, data))
	}
	c.Close()

	defaultSubnet := "/subscriptions/" + subID + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default" // newTarget's
	prod := cloud.VMSpec{Name: "web01-test", Firmware: cloud.UEFI, OSDisk: "web01-test", NICs: []cloud.NICSpec{{Isolated: true, Subnet: defaultSubnet}}}
	if _, err := tg.CreateVM(ctx, prod); !errors.Is(err, cloud.ErrInvalid) || !strings.Contains(err.Error(), "production") {
		t.Errorf("CreateVM with an isolated NIC in the default subnet: %v; want ErrInvalid naming the production network", err)
	}
	spec := cloud.VMSpec{Name: "web01-test", Firmware: cloud.UEFI, OSDisk: "web01-test", NICs: []cloud.NICSpec{{Isolated: true, Subnet: testSubnet}}}
	vm, err := tg.CreateVM(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := vm.Spec.NICs; len(n) != 1 || !n[0].Isolated || n[0].Subnet != testSubnet {
		t.Errorf("CreateVM NICs = %+v; want one isolated NIC in %s", n, testSubnet)
	}
	f.mu.Lock()
	nic := f.nics["web01-test-nic0"]
	f.mu.Unlock()
	if nic == nil {
		t.Fatalf("no NIC web01-test-nic0 among %v", f.nics)
	}
	ipc := nic.Properties.IPConfigurations[0].Properties
	if *ipc.Subnet.ID != testSubnet || ipc.PublicIPAddress != nil {
		t.Errorf("isolated NIC in subnet %s with public IP %v; want %s and none", *ipc.Subnet.ID, ipc.PublicIPAddress, testSubnet)
	}
	if v := nic.Tags["shift-isolated"]; v == nil || *v != "true" {
		t.Errorf("isolated NIC's tags %v lack shift-isolated=true", nic.Tags)
	}
}

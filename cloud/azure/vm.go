package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/shift-migrate/shift/cloud"
)

var errEOF = io.EOF

// vmSizes are the sizes CreateVM picks from when a spec names none: the
// smallest with enough CPUs and memory. All run Gen1 and Gen2.
var vmSizes = []struct {
	name   string
	cpus   int
	memMiB int
}{
	{"Standard_B1s", 1, 1024},
	{"Standard_B1ms", 1, 2048},
	{"Standard_B2s", 2, 4096},
	{"Standard_D2s_v5", 2, 8192},
	{"Standard_D4s_v5", 4, 16384},
	{"Standard_D8s_v5", 8, 32768},
	{"Standard_D16s_v5", 16, 65536},
	{"Standard_D32s_v5", 32, 131072},
	{"Standard_D48s_v5", 48, 196608},
	{"Standard_D64s_v5", 64, 262144},
	{"Standard_E96s_v5", 96, 688128},
}

// PickSize returns the smallest known Azure size with at least cpus CPUs
// and memMiB MiB of memory.
func PickSize(cpus, memMiB int) (string, error) {
	for _, s := range vmSizes {
		if s.cpus >= cpus && s.memMiB >= memMiB {
			return s.name, nil
		}
	}
	return "", fmt.Errorf("azure: no known size has %d CPUs and %d MiB (name one in the VM's size): %w", cpus, memMiB, cloud.ErrInvalid)
}

// maxDataDisks is Azure's largest number of data disks on a VM.
const maxDataDisks = 64

func (t *Target) checkVMSpec(s cloud.VMSpec) error {
	if err := checkVMName(s.Name); err != nil {
		return err
	}
	if err := cloud.CheckVMSpec(s); err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("azure: VM %s: %s: %w", s.Name, fmt.Sprintf(format, a...), cloud.ErrInvalid)
	}
	if len(s.DataDisks) > maxDataDisks {
		return bad("%d data disks: Azure attaches at most %d", len(s.DataDisks), maxDataDisks)
	}
	if err := checkTags("VM", s.Name, s.Tags); err != nil {
		return err
	}
	if _, ok := s.Tags[FirmwareTag]; ok {
		return bad("tag %s belongs on disks; the VM's firmware says how it boots", FirmwareTag)
	}
	if s.Size == "" {
		if _, err := PickSize(s.Normalize().CPUs, s.Normalize().MemoryMiB); err != nil {
			return err
		}
	}
	for i, n := range s.Normalize().NICs {
		name := t.nicName(s.Name, i, n)
		if err := cloud.CheckName("NIC", name); err != nil {
			return fmt.Errorf("azure: VM %s: %w", s.Name, err)
		}
		if n.Isolated && n.Subnet == "" {
			return bad("NIC %s is isolated but names no subnet: give it the isolated test subnet (the target's default subnet is the production network)", name)
		}
		if n.Isolated && n.Subnet == t.opts.Subnet {
			return bad("NIC %s is isolated but its subnet is the target's default subnet, the production network: give it the isolated test subnet", name)
		}
		if n.Subnet == "" && t.opts.Subnet == "" {
			return bad("NIC %s names no subnet and the target has no default subnet", name)
		}
		if n.StaticIP != "" {
			if ip := net.ParseIP(n.StaticIP); ip == nil || ip.To4() == nil {
				return bad("NIC %s: static IP %q is not an IPv4 address", name, n.StaticIP)
			}
		}
	}
	return nil
}

func (t *Target) nicName(vm string, i int, n cloud.NICSpec) string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprintf("%s-nic%d", vm, i)
}

// CreateVM implements cloud.Target: NICs that keep the source's static
// private IPs, then a VM attaching the specialized OS disk and the data
// disks, generation from the firmware, size from the spec (or picked from
// CPUs and memory). Azure starts a VM it creates; CreateVM deallocates it,
// as the contract defines a VM without starting it. What it created is
// deleted again when a later step fails.
func (t *Target) CreateVM(ctx context.Context, spec cloud.VMSpec) (cloud.VM, error) {
	if err := t.checkVMSpec(spec); err != nil {
		return cloud.VM{}, err
	}
	if err := ctxErr(ctx, "create VM "+spec.Name); err != nil {
		return cloud.VM{}, err
	}
	spec = spec.Normalize()
	if cur, err := t.VMStatus(ctx, spec.Name); err == nil {
		if !cur.Spec.Equal(spec) {
			return cloud.VM{}, fmt.Errorf("azure: VM %s: exists with another spec (delete it or choose another name): %w", spec.Name, cloud.ErrExists)
		}
		return cur, nil
	} else if !errors.Is(err, cloud.ErrNotFound) {
		return cloud.VM{}, err
	}
	states := map[string]*diskState{}
	for _, name := range spec.Disks() {
		s, err := t.state(ctx, name)
		switch {
		case err != nil:
			return cloud.VM{}, err
		case !s.exists():
			return cloud.VM{}, fmt.Errorf("azure: VM %s: disk %s: %w", spec.Name, name, cloud.ErrNotFound)
		case !s.finalized:
			return cloud.VM{}, fmt.Errorf("azure: VM %s: disk %s: %w (finish its copy first)", spec.Name, name, cloud.ErrNotFinalized)
		case s.vm != "":
			return cloud.VM{}, fmt.Errorf("azure: VM %s: disk %s: used by VM %s: %w", spec.Name, name, s.vm, cloud.ErrInUse)
		}
		states[name] = s
	}
	os := states[spec.OSDisk]
	want := armcompute.HyperVGenerationV1
	if spec.Firmware == cloud.UEFI {
		want = armcompute.HyperVGenerationV2
	}
	if got := diskGeneration(os.managed); got != want {
		if t.opts.Staging == nil || !os.staged {
			return cloud.VM{}, fmt.Errorf("azure: VM %s: OS disk %s is Hyper-V generation %s but firmware %s needs %s; Azure fixes it when the disk is created (create or clone the disk with tag %s=%s): %w",
				spec.Name, spec.OSDisk, got, spec.Firmware, want, FirmwareTag, spec.Firmware, cloud.ErrInvalid)
		}
		// The import path re-imports the staging blob with the right
		// generation (a clone has none).
		if os.tags == nil {
			os.tags = map[string]string{}
		}
		os.tags[FirmwareTag] = string(spec.Firmware)
		if err := t.importDisk(ctx, os); err != nil {
			return cloud.VM{}, fmt.Errorf("azure: VM %s: OS disk %s for generation %s: %w", spec.Name, spec.OSDisk, want, err)
		}
	}

	size := spec.Size
	if size == "" {
		size, _ = PickSize(spec.CPUs, spec.MemoryMiB)
	}
	var created []string // NICs, for cleanup
	ok := false
	defer func() {
		if ok {
			return
		}
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		if err := t.deleteVMResource(cctx, spec.Name); err != nil {
			t.log.Warn("azure: cleanup of a half-created VM failed; delete it by hand", "vm", spec.Name, "err", err)
		}
		for _, n := range created {
			if err := t.deleteNIC(cctx, n); err != nil {
				t.log.Warn("azure: cleanup of a NIC failed; delete it by hand", "nic", n, "err", err)
			}
		}
	}()
	var nicRefs []*armcompute.NetworkInterfaceReference
	for i, n := range spec.NICs {
		name, err := t.createNIC(ctx, spec, i, n)
		if err != nil {
			return cloud.VM{}, err
		}
		created = append(created, name)
		nicRefs = append(nicRefs, &armcompute.NetworkInterfaceReference{
			ID:         to.Ptr(t.nicID(name)),
			Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(i == 0), DeleteOption: to.Ptr(armcompute.DeleteOptionsDetach)},
		})
	}
	osType := armcompute.OperatingSystemTypesLinux
	if strings.EqualFold(spec.Tags["os"], "windows") {
		osType = armcompute.OperatingSystemTypesWindows
	}
	var data []*armcompute.DataDisk
	for lun, d := range spec.DataDisks {
		data = append(data, &armcompute.DataDisk{
			Lun: to.Ptr(int32(lun)), Name: to.Ptr(d), CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesAttach),
			ManagedDisk:  &armcompute.ManagedDiskParameters{ID: to.Ptr(t.diskID(d))},
			DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDetach),
		})
	}
	tags := azTags(spec.Tags, tagCPUs, strconv.Itoa(spec.CPUs), tagMemory, strconv.Itoa(spec.MemoryMiB), tagOS, string(osType))
	if spec.Size != "" {
		tags[tagVMSize] = to.Ptr(spec.Size)
	}
	poller, err := t.vms.BeginCreateOrUpdate(ctx, t.opts.ResourceGroup, spec.Name, armcompute.VirtualMachine{
		Location: &t.opts.Location,
		Tags:     tags,
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(size))},
			StorageProfile: &armcompute.StorageProfile{
				OSDisk: &armcompute.OSDisk{
					Name: to.Ptr(spec.OSDisk), OSType: &osType, CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesAttach),
					ManagedDisk:  &armcompute.ManagedDiskParameters{ID: to.Ptr(t.diskID(spec.OSDisk))},
					DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDetach),
				},
				DataDisks: data,
			},
			NetworkProfile:     &armcompute.NetworkProfile{NetworkInterfaces: nicRefs},
			DiagnosticsProfile: &armcompute.DiagnosticsProfile{BootDiagnostics: &armcompute.BootDiagnostics{Enabled: to.Ptr(true)}},
		},
	}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	if err != nil {
		return cloud.VM{}, classify(err, "create VM "+spec.Name)
	}
	if err := t.deallocate(ctx, spec.Name); err != nil {
		return cloud.VM{}, err
	}
	ok = true
	return t.VMStatus(ctx, spec.Name)
}

func diskGeneration(d *armcompute.Disk) armcompute.HyperVGeneration {
	if d != nil && d.Properties != nil && d.Properties.HyperVGeneration != nil {
		return *d.Properties.HyperVGeneration
	}
	return armcompute.HyperVGenerationV1
}

func (t *Target) createNIC(ctx context.Context, spec cloud.VMSpec, i int, n cloud.NICSpec) (string, error) {
	name := t.nicName(spec.Name, i, n)
	subnet := n.Subnet
	if subnet == "" {
		subnet = t.opts.Subnet
	}
	ipc := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
		Subnet:                    &armnetwork.Subnet{ID: &subnet},
		Primary:                   to.Ptr(true),
		PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
	}
	if n.StaticIP != "" {
		ipc.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodStatic)
		ipc.PrivateIPAddress = to.Ptr(n.StaticIP)
	}
	own := []string{}
	if n.MAC != "" {
		own = append(own, tagSourceMAC, n.MAC)
	}
	if n.Isolated {
		// Its subnet is the caller's isolated test subnet; like every NIC
		// shift creates it has no public IP.
		own = append(own, tagIsolated, "true")
	}
	poller, err := t.nics.BeginCreateOrUpdate(ctx, t.opts.ResourceGroup, name, armnetwork.Interface{
		Location: &t.opts.Location,
		Tags:     azTags(nil, own...),
		Properties: &armnetwork.InterfacePropertiesFormat{
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: to.Ptr("ipconfig1"), Properties: ipc}},
		},
	}, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	if err != nil {
		return "", classify(err, fmt.Sprintf("VM %s: create NIC %s", spec.Name, name))
	}
	return name, nil
}

func (t *Target) deleteNIC(ctx context.Context, name string) error {
	poller, err := t.nics.BeginDelete(ctx, t.opts.ResourceGroup, name, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	if err != nil && !isNotFound(err) {
		return classify(err, "delete NIC "+name)
	}
	return nil
}

// nicInfo is what a VM's spec and addresses need of a NIC.
type nicInfo struct {
	spec cloud.NICSpec
	ip   string
}

func (t *Target) nic(ctx context.Context, id string) (nicInfo, error) {
	name := lastSegment(id)
	r, err := t.nics.Get(ctx, t.opts.ResourceGroup, name, nil)
	if err != nil {
		return nicInfo{}, classify(err, "NIC "+name)
	}
	info := nicInfo{spec: cloud.NICSpec{Name: name}}
	if v := r.Tags[tagSourceMAC]; v != nil {
		info.spec.MAC = *v
	}
	if v := r.Tags[tagIsolated]; v != nil && *v == "true" {
		info.spec.Isolated = true
	}
	if p := r.Properties; p != nil && len(p.IPConfigurations) > 0 && p.IPConfigurations[0].Properties != nil {
		ipc := p.IPConfigurations[0].Properties
		if ipc.Subnet != nil && ipc.Subnet.ID != nil && *ipc.Subnet.ID != t.opts.Subnet {
			info.spec.Subnet = *ipc.Subnet.ID
		}
		if ipc.PrivateIPAddress != nil {
			info.ip = *ipc.PrivateIPAddress
			if ipc.PrivateIPAllocationMethod != nil && *ipc.PrivateIPAllocationMethod == armnetwork.IPAllocationMethodStatic {
				info.spec.StaticIP = info.ip
			}
		}
	}
	return info, nil
}

// describe rebuilds a VM's spec, state and addresses from Azure.
func (t *Target) describe(ctx context.Context, v *armcompute.VirtualMachine) (cloud.VM, error) {
	name := *v.Name
	spec := cloud.VMSpec{Name: name, Tags: userTags(v.Tags)}
	if s := v.Tags[tagCPUs]; s != nil {
		spec.CPUs, _ = strconv.Atoi(*s)
	}
	if s := v.Tags[tagMemory]; s != nil {
		spec.MemoryMiB, _ = strconv.Atoi(*s)
	}
	if s := v.Tags[tagVMSize]; s != nil {
		spec.Size = *s
	}
	p := v.Properties
	if p == nil || p.StorageProfile == nil || p.StorageProfile.OSDisk == nil || p.StorageProfile.OSDisk.ManagedDisk == nil {
		return cloud.VM{}, fmt.Errorf("azure: VM %s: no managed OS disk (not a VM shift created)", name)
	}
	spec.OSDisk = lastSegment(*p.StorageProfile.OSDisk.ManagedDisk.ID)
	data := slices.Clone(p.StorageProfile.DataDisks)
	sort.Slice(data, func(i, j int) bool { return *data[i].Lun < *data[j].Lun })
	for _, d := range data {
		if d.ManagedDisk != nil && d.ManagedDisk.ID != nil {
			spec.DataDisks = append(spec.DataDisks, lastSegment(*d.ManagedDisk.ID))
		}
	}
	os, err := t.getManaged(ctx, spec.OSDisk)
	if err != nil {
		return cloud.VM{}, err
	}
	spec.Firmware = cloud.BIOS
	if diskGeneration(os) == armcompute.HyperVGenerationV2 {
		spec.Firmware = cloud.UEFI
	}
	var ips []string
	if p.NetworkProfile != nil {
		for _, ref := range p.NetworkProfile.NetworkInterfaces {
			n, err := t.nic(ctx, *ref.ID)
			if err != nil {
				return cloud.VM{}, fmt.Errorf("azure: VM %s: %w", name, err)
			}
			if n.spec.Name == fmt.Sprintf("%s-nic%d", name, len(spec.NICs)) {
				n.spec.Name = "" // derived, as the spec had it
			}
			spec.NICs = append(spec.NICs, n.spec)
			ips = append(ips, n.ip)
		}
	}
	vm := cloud.VM{Spec: spec.Normalize(), State: cloud.Unknown}
	iv, err := t.vms.InstanceView(ctx, t.opts.ResourceGroup, name, nil)
	if err != nil {
		return cloud.VM{}, classify(err, "VM "+name+": instance view")
	}
	for _, s := range iv.Statuses {
		if s.Code == nil || !strings.HasPrefix(*s.Code, "PowerState/") {
			continue
		}
		switch strings.TrimPrefix(*s.Code, "PowerState/") {
		case "running":
			vm.State = cloud.Running
		case "stopped", "deallocated":
			vm.State = cloud.Stopped
		}
	}
	if vm.State == cloud.Running && len(ips) > 0 && ips[0] != "" {
		for _, a := range []struct {
			svc  string
			port int
		}{{"ssh", 22}, {"rdp", 3389}, {"winrm", 5985}, {"winrm-https", 5986}} {
			vm.Addresses = append(vm.Addresses, cloud.Address{Service: a.svc, Host: ips[0], Port: a.port})
		}
	}
	return vm, nil
}

// VMStatus implements cloud.Target. A running VM's addresses are its
// primary NIC's private IP with the SSH, RDP and WinRM ports.
func (t *Target) VMStatus(ctx context.Context, name string) (cloud.VM, error) {
	if err := checkVMName(name); err != nil {
		return cloud.VM{}, err
	}
	if err := ctxErr(ctx, "status of VM "+name); err != nil {
		return cloud.VM{}, err
	}
	r, err := t.vms.Get(ctx, t.opts.ResourceGroup, name, nil)
	if err != nil {
		return cloud.VM{}, classify(err, "VM "+name)
	}
	return t.describe(ctx, &r.VirtualMachine)
}

// ListVMs implements cloud.Target: the VMs of the resource group.
func (t *Target) ListVMs(ctx context.Context) ([]cloud.VM, error) {
	if err := ctxErr(ctx, "list VMs"); err != nil {
		return nil, err
	}
	var out []cloud.VM
	pager := t.vms.NewListPager(t.opts.ResourceGroup, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(err, "list VMs")
		}
		for _, v := range page.Value {
			vm, err := t.describe(ctx, v)
			if err != nil {
				return nil, err
			}
			out = append(out, vm)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, nil
}

func (t *Target) vmOp(ctx context.Context, op, name string) error {
	if err := checkVMName(name); err != nil {
		return err
	}
	if err := ctxErr(ctx, op+" VM "+name); err != nil {
		return err
	}
	if _, err := t.vms.Get(ctx, t.opts.ResourceGroup, name, nil); err != nil {
		return classify(err, op+" VM "+name)
	}
	return nil
}

// StartVM implements cloud.Target.
func (t *Target) StartVM(ctx context.Context, name string) error {
	if err := t.vmOp(ctx, "start", name); err != nil {
		return err
	}
	poller, err := t.vms.BeginStart(ctx, t.opts.ResourceGroup, name, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	return classify(err, "start VM "+name)
}

// StopVM implements cloud.Target: a power-off that lets the guest shut
// down (forced at once for a negative grace), bounded by grace, then a
// deallocation, which forces the VM off and ends its compute billing.
func (t *Target) StopVM(ctx context.Context, name string, grace time.Duration) error {
	if err := t.vmOp(ctx, "stop", name); err != nil {
		return err
	}
	if grace == 0 {
		grace = cloud.DefaultStopGrace
	}
	gctx, cancel := context.WithTimeout(ctx, max(grace, time.Second))
	defer cancel()
	poller, err := t.vms.BeginPowerOff(gctx, t.opts.ResourceGroup, name, &armcompute.VirtualMachinesClientBeginPowerOffOptions{SkipShutdown: to.Ptr(grace < 0)})
	if err == nil {
		_, err = poller.PollUntilDone(gctx, t.poll())
	}
	if err != nil && ctx.Err() != nil {
		return classify(err, "stop VM "+name)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.log.Info("azure: graceful power-off did not finish; deallocating", "vm", name, "err", err)
	}
	return t.deallocate(ctx, name)
}

func (t *Target) deallocate(ctx context.Context, name string) error {
	poller, err := t.vms.BeginDeallocate(ctx, t.opts.ResourceGroup, name, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	return classify(err, "deallocate VM "+name)
}

// DeleteVM implements cloud.Target: the VM (its disks detached, kept) and
// the NICs shift created for it.
func (t *Target) DeleteVM(ctx context.Context, name string) error {
	if err := checkVMName(name); err != nil {
		return err
	}
	if err := ctxErr(ctx, "delete VM "+name); err != nil {
		return err
	}
	r, err := t.vms.Get(ctx, t.opts.ResourceGroup, name, nil)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return classify(err, "delete VM "+name)
	}
	var nics []string
	if p := r.Properties; p != nil && p.NetworkProfile != nil {
		for _, ref := range p.NetworkProfile.NetworkInterfaces {
			nics = append(nics, lastSegment(*ref.ID))
		}
	}
	if err := t.deleteVMResource(ctx, name); err != nil {
		return err
	}
	for _, n := range nics {
		if err := t.deleteNIC(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (t *Target) deleteVMResource(ctx context.Context, name string) error {
	poller, err := t.vms.BeginDelete(ctx, t.opts.ResourceGroup, name, &armcompute.VirtualMachinesClientBeginDeleteOptions{ForceDeletion: to.Ptr(true)})
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	if err != nil && !isNotFound(err) {
		return classify(err, "delete VM "+name)
	}
	return nil
}

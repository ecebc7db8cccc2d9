package azure_test

// The ARM side of these tests: Azure compute and network cannot exist on
// this machine, so ARM calls go to the armcompute and armnetwork SDKs' own
// fake servers (fake.ServerFactory wired through
// fake.NewServerFactoryTransport). The handlers below keep the disks, VMs
// and NICs in memory and follow Azure's documented state machine for
// upload disks (ReadyToUpload → ActiveUpload → Unattached → Attached /
// Reserved). Every blob byte, though, lives in a real Azurite: creating an
// Upload disk creates its page blob there, grant-access answers a SAS that
// points at it, an Import copies the staging blob into it — refusing
// one whose VHD footer does not parse, as Azure does — and a Copy (the
// target's CloneDisk) copies another managed disk's blob, refusing a disk
// still being uploaded.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	networkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/fixtures/azurite"
)

const (
	subID = "00000000-0000-0000-0000-000000000001"
	rg    = "shift-test"
)

// fakeARM is the in-memory ARM state behind the SDK fakes.
type fakeARM struct {
	t       testing.TB
	blobURL string // where SAS URLs point: Azurite, or a proxy in front of it
	disksC  *container.Client
	cred    *blob.SharedKeyCredential

	mu    sync.Mutex
	disks map[string]*fakeDisk
	vms   map[string]*fakeVM
	nics  map[string]*armnetwork.Interface
	ips   int
}

type fakeDisk struct {
	d     armcompute.Disk
	saved armcompute.DiskState // state to return to on revoke of a read SAS
}

type fakeVM struct {
	vm    armcompute.VirtualMachine
	power string
}

// newFakeARM keeps managed disks' blobs in container disksName of az;
// SAS URLs point at blobURL (az.URL or a proxy's).
func newFakeARM(t testing.TB, az *azurite.Server, disksName, blobURL string) *fakeARM {
	return &fakeARM{
		t: t, blobURL: blobURL, disksC: az.Container(t, disksName), cred: az.Credential(t),
		disks: map[string]*fakeDisk{}, vms: map[string]*fakeVM{}, nics: map[string]*armnetwork.Interface{},
	}
}

func (f *fakeARM) id(kind, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", subID, rg, kind, name)
}

func last(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

// transport routes compute and network calls to their fake servers.
func (f *fakeARM) transport() policy.Transporter {
	c := computefake.NewServerFactoryTransport(&computefake.ServerFactory{DisksServer: f.disksServer(), VirtualMachinesServer: f.vmServer()})
	n := networkfake.NewServerFactoryTransport(&networkfake.ServerFactory{InterfacesServer: f.nicServer()})
	return routeTransport{c, n}
}

type routeTransport struct{ compute, network policy.Transporter }

func (r routeTransport) Do(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/providers/Microsoft.Network/") {
		return r.network.Do(req)
	}
	return r.compute.Do(req)
}

func (f *fakeARM) sasURL(name string, perms sas.BlobPermissions) string {
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: perms.String(), ContainerName: f.containerName(), BlobName: name + ".vhd",
	}.SignWithSharedKey(f.cred)
	if err != nil {
		f.t.Errorf("fake ARM: sign SAS: %v", err)
	}
	return fmt.Sprintf("%s/%s/%s.vhd?%s", f.blobURL, f.containerName(), name, q.Encode())
}

func (f *fakeARM) containerName() string {
	u := f.disksC.URL()
	return u[strings.LastIndexByte(u, '/')+1:]
}

// DiskBlob is the managed disk's whole blob (data and footer).
func (f *fakeARM) diskBlob(name string) *pageblob.Client {
	return f.disksC.NewPageBlobClient(name + ".vhd")
}

func (f *fakeARM) disksServer() computefake.DisksServer {
	return computefake.DisksServer{
		Get: func(ctx context.Context, _ string, name string, _ *armcompute.DisksClientGetOptions) (resp azfake.Responder[armcompute.DisksClientGetResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			d, ok := f.disks[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armcompute.DisksClientGetResponse{Disk: d.d}, nil)
			return
		},
		BeginCreateOrUpdate: func(ctx context.Context, _ string, name string, disk armcompute.Disk, _ *armcompute.DisksClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcompute.DisksClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.disks[name]; ok {
				errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
				return
			}
			cd := disk.Properties.CreationData
			var size int64
			state := armcompute.DiskStateUnattached
			switch *cd.CreateOption {
			case armcompute.DiskCreateOptionUpload:
				size = *cd.UploadSizeBytes
				if size <= 512 || (size-512)%(1<<20) != 0 {
					errResp.SetResponseError(http.StatusBadRequest, "InvalidParameter")
					return
				}
				if _, err := f.diskBlob(name).Create(ctx, size, nil); err != nil {
					errResp.SetError(err)
					return
				}
				state = armcompute.DiskStateReadyToUpload
			case armcompute.DiskCreateOptionImport:
				n, err := f.importBlob(ctx, name, *cd.SourceURI)
				if err != nil {
					f.t.Logf("fake ARM: import %s: %v", name, err)
					errResp.SetResponseError(http.StatusBadRequest, "InvalidParameter")
					return
				}
				size = n
			case armcompute.DiskCreateOptionCopy:
				// A copy of a managed disk, as Azure makes it: not of one
				// being uploaded, never smaller, larger only in whole GiB.
				from, ok := f.disks[last(*cd.SourceResourceID)]
				if !ok {
					errResp.SetResponseError(http.StatusNotFound, "NotFound")
					return
				}
				if st := *from.d.Properties.DiskState; st == armcompute.DiskStateReadyToUpload || st == armcompute.DiskStateActiveUpload {
					errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
					return
				}
				data := *from.d.Properties.DiskSizeBytes
				if gb := disk.Properties.DiskSizeGB; gb != nil {
					if int64(*gb)<<30 < data {
						errResp.SetResponseError(http.StatusBadRequest, "InvalidParameter")
						return
					}
					data = int64(*gb) << 30
				}
				size = data + 512
				dst := f.diskBlob(name)
				if _, err := dst.Create(ctx, size, nil); err != nil {
					errResp.SetError(err)
					return
				}
				if err := copyPages(ctx, f.diskBlob(*from.d.Name), dst, *from.d.Properties.DiskSizeBytes); err != nil {
					errResp.SetError(err)
					return
				}
			default:
				errResp.SetResponseError(http.StatusBadRequest, "InvalidParameter")
				return
			}
			disk.ID, disk.Name = to.Ptr(f.id("Microsoft.Compute/disks", name)), to.Ptr(name)
			disk.Properties.DiskState = &state
			disk.Properties.DiskSizeBytes = to.Ptr(size - 512)
			disk.Properties.ProvisioningState = to.Ptr("Succeeded")
			f.disks[name] = &fakeDisk{d: disk}
			resp.SetTerminalResponse(http.StatusOK, armcompute.DisksClientCreateOrUpdateResponse{Disk: disk}, nil)
			return
		},
		BeginGrantAccess: func(ctx context.Context, _ string, name string, g armcompute.GrantAccessData, _ *armcompute.DisksClientBeginGrantAccessOptions) (resp azfake.PollerResponder[armcompute.DisksClientGrantAccessResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			d, ok := f.disks[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			st := d.d.Properties.DiskState
			var url string
			switch *g.Access {
			case armcompute.AccessLevelWrite:
				if *st != armcompute.DiskStateReadyToUpload && *st != armcompute.DiskStateActiveUpload {
					errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
					return
				}
				*st = armcompute.DiskStateActiveUpload
				url = f.sasURL(name, sas.BlobPermissions{Write: true})
			case armcompute.AccessLevelRead:
				if *st != armcompute.DiskStateUnattached && *st != armcompute.DiskStateReserved && *st != armcompute.DiskStateActiveSAS {
					errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
					return
				}
				if *st != armcompute.DiskStateActiveSAS {
					d.saved = *st
				}
				*st = armcompute.DiskStateActiveSAS
				url = f.sasURL(name, sas.BlobPermissions{Read: true})
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.DisksClientGrantAccessResponse{AccessURI: armcompute.AccessURI{AccessSAS: &url}}, nil)
			return
		},
		BeginRevokeAccess: func(ctx context.Context, _ string, name string, _ *armcompute.DisksClientBeginRevokeAccessOptions) (resp azfake.PollerResponder[armcompute.DisksClientRevokeAccessResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			d, ok := f.disks[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			switch st := d.d.Properties.DiskState; *st {
			case armcompute.DiskStateActiveUpload:
				*st = armcompute.DiskStateUnattached
			case armcompute.DiskStateActiveSAS:
				*st = d.saved
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.DisksClientRevokeAccessResponse{}, nil)
			return
		},
		BeginDelete: func(ctx context.Context, _ string, name string, _ *armcompute.DisksClientBeginDeleteOptions) (resp azfake.PollerResponder[armcompute.DisksClientDeleteResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			d, ok := f.disks[name]
			if !ok {
				resp.SetTerminalResponse(http.StatusNoContent, armcompute.DisksClientDeleteResponse{}, nil)
				return
			}
			st := *d.d.Properties.DiskState
			if d.d.ManagedBy != nil || st == armcompute.DiskStateActiveUpload || st == armcompute.DiskStateActiveSAS {
				errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
				return
			}
			if _, err := f.diskBlob(name).Delete(ctx, nil); err != nil {
				errResp.SetError(err)
				return
			}
			delete(f.disks, name)
			resp.SetTerminalResponse(http.StatusOK, armcompute.DisksClientDeleteResponse{}, nil)
			return
		},
	}
}

// importBlob copies a staging blob (a URL of the same Azurite account)
// into the managed disk's blob, page range by page range, after checking
// that it ends with a VHD footer that parses.
func (f *fakeARM) importBlob(ctx context.Context, name, src string) (int64, error) {
	s, err := pageblob.NewClientWithSharedKeyCredential(src, f.cred, nil)
	if err != nil {
		return 0, err
	}
	props, err := s.GetProperties(ctx, nil)
	if err != nil {
		return 0, err
	}
	size := *props.ContentLength
	footer := make([]byte, 512)
	if err := download(ctx, s.BlobClient(), footer, size-512); err != nil {
		return 0, err
	}
	if ft, err := convert.ParseVHDFooter(footer); err != nil {
		return 0, fmt.Errorf("not a VHD: %w", err)
	} else if int64(ft.CurrentSize) != size-512 {
		return 0, fmt.Errorf("footer says %d bytes, blob holds %d", ft.CurrentSize, size-512)
	}
	dst := f.diskBlob(name)
	if _, err := dst.Create(ctx, size, nil); err != nil {
		return 0, err
	}
	return size, copyPages(ctx, s, dst, size)
}

// copyPages copies the written pages of src's first n bytes into dst.
func copyPages(ctx context.Context, src, dst *pageblob.Client, n int64) error {
	pager := src.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range page.PageRange {
			for off := *r.Start; off <= *r.End && off < n; off += 4 << 20 {
				m := min(4<<20, *r.End+1-off, n-off)
				buf := make([]byte, m)
				if err := download(ctx, src.BlobClient(), buf, off); err != nil {
					return err
				}
				if _, err := dst.UploadPages(ctx, nopCloser(buf), blob.HTTPRange{Offset: off, Count: m}, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (f *fakeARM) vmServer() computefake.VirtualMachinesServer {
	notFound := func(e *azfake.ErrorResponder) { e.SetResponseError(http.StatusNotFound, "ResourceNotFound") }
	return computefake.VirtualMachinesServer{
		Get: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientGetOptions) (resp azfake.Responder[armcompute.VirtualMachinesClientGetResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			v, ok := f.vms[name]
			if !ok {
				notFound(&errResp)
				return
			}
			resp.SetResponse(http.StatusOK, armcompute.VirtualMachinesClientGetResponse{VirtualMachine: v.vm}, nil)
			return
		},
		InstanceView: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientInstanceViewOptions) (resp azfake.Responder[armcompute.VirtualMachinesClientInstanceViewResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			v, ok := f.vms[name]
			if !ok {
				notFound(&errResp)
				return
			}
			resp.SetResponse(http.StatusOK, armcompute.VirtualMachinesClientInstanceViewResponse{VirtualMachineInstanceView: armcompute.VirtualMachineInstanceView{
				Statuses: []*armcompute.InstanceViewStatus{{Code: to.Ptr("ProvisioningState/succeeded")}, {Code: to.Ptr("PowerState/" + v.power)}},
			}}, nil)
			return
		},
		NewListPager: func(_ string, _ *armcompute.VirtualMachinesClientListOptions) (resp azfake.PagerResponder[armcompute.VirtualMachinesClientListResponse]) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var list []*armcompute.VirtualMachine
			for _, name := range slices.Sorted(maps.Keys(f.vms)) {
				v := f.vms[name].vm
				list = append(list, &v)
			}
			resp.AddPage(http.StatusOK, armcompute.VirtualMachinesClientListResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: list}}, nil)
			return
		},
		BeginCreateOrUpdate: func(ctx context.Context, _ string, name string, vm armcompute.VirtualMachine, _ *armcompute.VirtualMachinesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.vms[name]; ok {
				errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
				return
			}
			sp := vm.Properties.StorageProfile
			ids := []string{*sp.OSDisk.ManagedDisk.ID}
			for _, d := range sp.DataDisks {
				ids = append(ids, *d.ManagedDisk.ID)
			}
			for _, id := range ids {
				d, ok := f.disks[last(id)]
				switch {
				case !ok:
					errResp.SetResponseError(http.StatusNotFound, "NotFound")
					return
				case d.d.ManagedBy != nil:
					errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
					return
				case *d.d.Properties.DiskState != armcompute.DiskStateUnattached:
					errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
					return
				}
			}
			vmID := f.id("Microsoft.Compute/virtualMachines", name)
			for _, ref := range vm.Properties.NetworkProfile.NetworkInterfaces {
				n, ok := f.nics[last(*ref.ID)]
				if !ok {
					errResp.SetResponseError(http.StatusBadRequest, "InvalidResourceReference")
					return
				}
				n.Properties.VirtualMachine = &armnetwork.SubResource{ID: &vmID}
			}
			for _, id := range ids {
				d := f.disks[last(id)]
				d.d.ManagedBy = &vmID
				*d.d.Properties.DiskState = armcompute.DiskStateAttached
			}
			vm.ID, vm.Name = &vmID, &name
			f.vms[name] = &fakeVM{vm: vm, power: "running"} // Azure starts a VM it creates
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientCreateOrUpdateResponse{VirtualMachine: vm}, nil)
			return
		},
		BeginStart: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientBeginStartOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientStartResponse], errResp azfake.ErrorResponder) {
			if !f.power(name, "running", armcompute.DiskStateAttached) {
				notFound(&errResp)
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientStartResponse{}, nil)
			return
		},
		BeginPowerOff: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientBeginPowerOffOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientPowerOffResponse], errResp azfake.ErrorResponder) {
			if !f.power(name, "stopped", armcompute.DiskStateAttached) {
				notFound(&errResp)
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientPowerOffResponse{}, nil)
			return
		},
		BeginDeallocate: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientBeginDeallocateOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientDeallocateResponse], errResp azfake.ErrorResponder) {
			if !f.power(name, "deallocated", armcompute.DiskStateReserved) {
				notFound(&errResp)
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientDeallocateResponse{}, nil)
			return
		},
		BeginDelete: func(ctx context.Context, _ string, name string, _ *armcompute.VirtualMachinesClientBeginDeleteOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientDeleteResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			v, ok := f.vms[name]
			if !ok {
				resp.SetTerminalResponse(http.StatusNoContent, armcompute.VirtualMachinesClientDeleteResponse{}, nil)
				return
			}
			for _, d := range f.disks {
				if d.d.ManagedBy != nil && *d.d.ManagedBy == *v.vm.ID {
					d.d.ManagedBy = nil
					*d.d.Properties.DiskState = armcompute.DiskStateUnattached
				}
			}
			for _, n := range f.nics {
				if vmr := n.Properties.VirtualMachine; vmr != nil && *vmr.ID == *v.vm.ID {
					n.Properties.VirtualMachine = nil
				}
			}
			delete(f.vms, name)
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientDeleteResponse{}, nil)
			return
		},
	}
}

// power sets a VM's power state and its disks' state; false means no
// such VM.
func (f *fakeARM) power(name, state string, disks armcompute.DiskState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return false
	}
	v.power = state
	for _, d := range f.disks {
		if d.d.ManagedBy != nil && *d.d.ManagedBy == *v.vm.ID {
			*d.d.Properties.DiskState = disks
		}
	}
	return true
}

func (f *fakeARM) nicServer() networkfake.InterfacesServer {
	return networkfake.InterfacesServer{
		Get: func(ctx context.Context, _ string, name string, _ *armnetwork.InterfacesClientGetOptions) (resp azfake.Responder[armnetwork.InterfacesClientGetResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			n, ok := f.nics[name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "NotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armnetwork.InterfacesClientGetResponse{Interface: *n}, nil)
			return
		},
		BeginCreateOrUpdate: func(ctx context.Context, _ string, name string, n armnetwork.Interface, _ *armnetwork.InterfacesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.InterfacesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			ipc := n.Properties.IPConfigurations[0].Properties
			if ipc.Subnet == nil || ipc.Subnet.ID == nil || !strings.HasPrefix(*ipc.Subnet.ID, "/subscriptions/") {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestFormat")
				return
			}
			if *ipc.PrivateIPAllocationMethod == armnetwork.IPAllocationMethodDynamic {
				f.ips++
				ipc.PrivateIPAddress = to.Ptr(fmt.Sprintf("10.0.0.%d", 100+f.ips))
			}
			n.ID, n.Name = to.Ptr(f.id("Microsoft.Network/networkInterfaces", name)), &name
			f.nics[name] = &n
			resp.SetTerminalResponse(http.StatusOK, armnetwork.InterfacesClientCreateOrUpdateResponse{Interface: n}, nil)
			return
		},
		BeginDelete: func(ctx context.Context, _ string, name string, _ *armnetwork.InterfacesClientBeginDeleteOptions) (resp azfake.PollerResponder[armnetwork.InterfacesClientDeleteResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if n, ok := f.nics[name]; ok && n.Properties.VirtualMachine != nil {
				errResp.SetResponseError(http.StatusBadRequest, "NicInUse")
				return
			}
			delete(f.nics, name)
			resp.SetTerminalResponse(http.StatusOK, armnetwork.InterfacesClientDeleteResponse{}, nil)
			return
		},
	}
}

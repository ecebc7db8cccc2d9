package cloud

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors. Every method of Target documents which of them it
// returns; callers test with errors.Is. A target wraps them with the nouns a
// user needs ("local: disk web01-os: not found").
var (
	// ErrNotFound: the named disk or VM does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: an object of that name exists and differs from the one
	// asked for (another size, another spec).
	ErrExists = errors.New("already exists")
	// ErrInvalid: the request breaks a rule the target checks before any
	// call: a bad name, a size or offset that is not aligned, a write past
	// the end of a disk, a VM without an OS disk.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFinalized: a VM was asked to use a disk that was never
	// finalized (its copy may be incomplete).
	ErrNotFinalized = errors.New("disk not finalized")
	// ErrFinalized: a write through a Disk handle that was finalized or
	// closed; OpenDisk the disk again for another pass.
	ErrFinalized = errors.New("disk handle finalized or closed")
	// ErrInUse: the disk belongs to a VM that forbids the operation (writing
	// or deleting a disk of a VM, attaching a disk to a second VM, opening a
	// disk of a running VM).
	ErrInUse = errors.New("in use")
)

// SectorSize is the unit of disk writes: offsets and lengths given to
// Disk.WriteAt and Disk.WriteZeroes are multiples of it.
const SectorSize = 512

// SizeUnit is the unit of disk sizes: DiskSpec.SizeBytes is a positive
// multiple of it (Azure requires whole MiB). RoundSize rounds a source
// disk's size up to it.
const SizeUnit = 1 << 20

// RoundSize rounds n up to a whole number of SizeUnit.
func RoundSize(n int64) int64 {
	return (n + SizeUnit - 1) / SizeUnit * SizeUnit
}

// DefaultStopGrace is how long StopVM waits for a guest to shut down on its
// own before it forces the VM off, when the caller gives no grace.
const DefaultStopGrace = 2 * time.Minute

// Target is where migrated disks and VMs are created: cloud/local runs them
// as QEMU processes, cloud/azure as managed disks and VMs. The disk engine
// creates a disk, writes ranges into it, finalizes it, and migrate then
// creates and starts a VM from the disks.
//
// Every method honours its context: a context that is done before or during
// the call makes it return an error that wraps ctx.Err(), and a method
// canceled before it started changes nothing. Names are checked (CheckName
// plus the target's own rules) before any call and fail with ErrInvalid.
//
// A Target is safe for concurrent use. Two Target values over the same
// backing store (a state directory, a resource group) see the same objects:
// state lives there, not in the value.
type Target interface {
	// Kind names the target in messages and listings: "local", "azure",
	// "memory".
	Kind() string

	// CreateDisk creates an empty disk (reading as zeros) and opens it for
	// writing. It is idempotent: when a disk of that name and size exists,
	// finalized or not, it is opened for writing as OpenDisk would, so an
	// interrupted copy resumes. Errors: ErrInvalid (name, size not a
	// positive multiple of SizeUnit), ErrExists (same name, other size),
	// ErrInUse (the disk belongs to a VM).
	CreateDisk(ctx context.Context, spec DiskSpec) (Disk, error)

	// OpenDisk opens an existing disk for another pass of writes (a delta
	// pass after the first copy). The disk keeps its contents; it counts as
	// not finalized until the handle is finalized again. Errors:
	// ErrInvalid, ErrNotFound, ErrInUse (the disk belongs to a VM).
	OpenDisk(ctx context.Context, name string) (Disk, error)

	// DiskInfo describes a disk. Errors: ErrInvalid, ErrNotFound.
	DiskInfo(ctx context.Context, name string) (DiskInfo, error)

	// DeleteDisk deletes a disk and its contents. Deleting a disk that does
	// not exist succeeds, so cleanup can run twice. Errors: ErrInvalid,
	// ErrInUse (a VM uses it: delete the VM first).
	DeleteDisk(ctx context.Context, name string) error

	// CreateVM defines a VM from finalized disks; it does not start it. It
	// is idempotent: when a VM of that name exists with an equal spec it is
	// returned. Errors: ErrInvalid (name, no OS disk, a disk named twice,
	// negative CPUs or memory), ErrExists (same name, other spec),
	// ErrNotFound (a disk is missing), ErrNotFinalized (a disk was not
	// finalized), ErrInUse (a disk belongs to another VM).
	CreateVM(ctx context.Context, spec VMSpec) (VM, error)

	// StartVM starts a VM and returns once the target reports it running
	// (the machine is on; its OS may still be booting). Starting a running
	// VM succeeds. Errors: ErrInvalid, ErrNotFound.
	StartVM(ctx context.Context, name string) error

	// StopVM asks the guest to shut down (ACPI power button), waits up to
	// grace for it to stop, then forces the VM off; it returns once the VM
	// is stopped. grace 0 means DefaultStopGrace; a negative grace forces
	// it off at once. Stopping a stopped VM succeeds. Errors: ErrInvalid,
	// ErrNotFound.
	StopVM(ctx context.Context, name string, grace time.Duration) error

	// VMStatus reports a VM's spec, state and addresses. Errors:
	// ErrInvalid, ErrNotFound.
	VMStatus(ctx context.Context, name string) (VM, error)

	// ListVMs reports every VM of the target, sorted by name.
	ListVMs(ctx context.Context) ([]VM, error)

	// DeleteVM forces a running VM off and deletes its definition; its
	// disks stay and are free for another VM or DeleteDisk. Deleting a VM
	// that does not exist succeeds. Errors: ErrInvalid.
	DeleteVM(ctx context.Context, name string) error
}

// Disk is a target disk open for writing. Writes are offset-addressed and
// may come in any order and from several goroutines at once. A new disk
// reads as zeros, so a first pass may skip zero ranges; a later pass must
// write them with WriteZeroes.
//
// The context given to CreateDisk or OpenDisk bounds every write through
// the handle: once it is done, writes fail with an error wrapping its
// ctx.Err().
//
// Disk has the method set of the transfer engine's sink, so the engine
// writes straight into a target disk.
type Disk interface {
	// Name is the disk's name.
	Name() string
	// Size is the disk's size in bytes.
	Size() int64
	// WriteAt writes p at off. off and len(p) are multiples of SectorSize
	// and the range lies within Size, else ErrInvalid; after Finalize or
	// Close it fails with ErrFinalized.
	WriteAt(p []byte, off int64) (int, error)
	// WriteZeroes makes [off, off+n) read as zeros, with the same rules
	// as WriteAt. Targets that can, punch holes or clear pages instead of
	// sending zeros.
	WriteZeroes(off, n int64) error
	// Finalize makes the disk's contents durable and the disk usable by a
	// VM, and ends the handle's writes. It is idempotent.
	Finalize(ctx context.Context) error
	// Close ends the handle without finalizing: the disk keeps what was
	// written and stays not finalized. Close after Finalize, or twice,
	// returns nil.
	Close() error
}

// DiskReader is the optional capability to read a disk's contents back:
// the conformance suite verifies writes with it, and a migration can
// compare a whole-disk digest. The caller closes the result.
type DiskReader interface {
	ReadDisk(ctx context.Context, name string) (DiskContents, error)
}

// DiskContents is a disk opened for reading.
type DiskContents interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// DiskCloner is the optional capability to copy a disk: a test migration
// boots a copy of the replica while the replica keeps receiving passes.
type DiskCloner interface {
	// CloneDisk creates disk spec.Name holding what finalized disk from
	// holds now; the clone is finalized and belongs to no VM. spec.SizeBytes
	// 0 means from's size; a larger size grows the clone, reading as zeros
	// past from's end. The copy is point-in-time: later writes to from do
	// not reach it. Cloning onto an existing clone of equal size succeeds
	// and copies again, so an interrupted clone is redone. Errors:
	// ErrInvalid (names, a size smaller than from's), ErrNotFound (from),
	// ErrNotFinalized (from is open for writing), ErrExists (spec.Name
	// exists with another size), ErrInUse (spec.Name belongs to a VM).
	CloneDisk(ctx context.Context, from string, spec DiskSpec) error
}

// Consoler is the optional capability to read a VM's serial console: what
// the guest wrote to its first serial port, from the start of the VM's
// last boot (or since the VM was created, where the target keeps it).
// Errors: ErrInvalid, ErrNotFound.
type Consoler interface {
	Console(ctx context.Context, name string) (io.ReadCloser, error)
}

// DiskSpec describes a disk to create.
type DiskSpec struct {
	// Name is the disk's name; see CheckName.
	Name string
	// SizeBytes is the disk's size: a positive multiple of SizeUnit.
	SizeBytes int64
	// Tags are stored with the disk where the target supports them; nil
	// means none.
	Tags map[string]string
}

// DiskInfo describes an existing disk.
type DiskInfo struct {
	Name      string            `json:"name"`
	SizeBytes int64             `json:"size_bytes"`
	Finalized bool              `json:"finalized"`
	VM        string            `json:"vm,omitempty"` // the VM using it; empty means none
	Tags      map[string]string `json:"tags,omitempty"`
}

// Firmware is how a VM boots.
type Firmware string

const (
	// BIOS boots from the MBR (Azure Gen1). The zero Firmware means BIOS.
	BIOS Firmware = "bios"
	// UEFI boots from an EFI system partition (Azure Gen2).
	UEFI Firmware = "uefi"
)

// VMSpec describes a VM to create.
type VMSpec struct {
	// Name is the VM's name; see CheckName.
	Name string `json:"name"`
	// CPUs is the number of virtual CPUs; 0 means 1.
	CPUs int `json:"cpus,omitempty"`
	// MemoryMiB is the memory size; 0 means 1024.
	MemoryMiB int `json:"memory_mib,omitempty"`
	// Size is a target-specific size name (an Azure VM size); empty means
	// the target picks one from CPUs and MemoryMiB. Local ignores it.
	Size string `json:"size,omitempty"`
	// Firmware selects BIOS or UEFI; empty means BIOS.
	Firmware Firmware `json:"firmware,omitempty"`
	// OSDisk is the name of the boot disk; it must be set.
	OSDisk string `json:"os_disk"`
	// DataDisks are the names of further disks, attached in order; nil
	// means none.
	DataDisks []string `json:"data_disks,omitempty"`
	// NICs are the VM's network interfaces; nil means one NIC with a
	// dynamic address.
	NICs []NICSpec `json:"nics,omitempty"`
	// Tags are stored with the VM; nil means none.
	Tags map[string]string `json:"tags,omitempty"`
}

// NICSpec describes a network interface.
type NICSpec struct {
	// Name names the NIC where the target creates one (Azure); empty
	// means the target derives it from the VM's name.
	Name string `json:"name,omitempty"`
	// Subnet is the target network to join (an Azure subnet ID); empty
	// means the target's default.
	Subnet string `json:"subnet,omitempty"`
	// StaticIP is the private address to keep from the source; empty
	// means dynamic. Local ignores it (user-mode networking).
	StaticIP string `json:"static_ip,omitempty"`
	// MAC is the hardware address; empty means the target assigns one.
	MAC string `json:"mac,omitempty"`
	// Isolated keeps the NIC off every network the production VM can
	// reach: a test copy of a server must not answer its clients, talk to
	// its databases or register in DNS. The appliance still reaches it
	// (local: QEMU's restrict=on user network, which keeps the forwarded
	// ports and drops everything the guest sends out; Azure: Subnet must be
	// set and is the caller's isolated test subnet, else ErrInvalid).
	Isolated bool `json:"isolated,omitempty"`
}

// State is a VM's power state.
type State string

const (
	// Stopped: the VM is defined and not running.
	Stopped State = "stopped"
	// Running: the machine is on; its OS may still be booting.
	Running State = "running"
	// Unknown: the target could not tell.
	Unknown State = "unknown"
)

// Address is how to reach a service of a VM: a forwarded loopback port for
// local, a private IP and the service's port for Azure.
type Address struct {
	// Service is "ssh", "winrm", "winrm-https" or "rdp".
	Service string `json:"service"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
}

// VM is a VM's definition and what the target reports about it.
type VM struct {
	Spec  VMSpec `json:"spec"`
	State State  `json:"state"`
	// Addresses are the VM's reachable services; empty while it is
	// stopped or where the target cannot tell.
	Addresses []Address `json:"addresses,omitempty"`
}

// Address returns the VM's address for service and whether it has one.
func (v VM) Address(service string) (Address, bool) {
	for _, a := range v.Addresses {
		if a.Service == service {
			return a, true
		}
	}
	return Address{}, false
}

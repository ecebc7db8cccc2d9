// Package cloud defines the Target contract that disks and VMs are created
// through: create a disk of a size, write offset-addressed ranges into it,
// finalize it, create a VM from finalized disks (CPUs, memory, firmware,
// NICs), start, stop, status with addresses, console, delete. Every method
// documents its idempotency and the sentinel errors it returns (ErrNotFound,
// ErrExists, ErrInvalid, ErrNotFinalized, ErrFinalized, ErrInUse); optional
// capabilities (DiskReader, Consoler) are small interfaces a target
// implements or not.
//
// Implementations: cloud/local (QEMU/KVM, the built-in default),
// cloud/azure, and cloud/memory (in memory, for tests). cloud/targettest
// checks every implementation against the contract.
//
// cloud never imports tui.
package cloud

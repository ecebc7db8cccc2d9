// Package cloud defines the Target contract that disks and VMs are created
// through; cloud/local (QEMU/KVM) and cloud/azure implement it, and
// cloud/targettest checks every implementation against it.
//
// cloud never imports tui.
package cloud

// Package local is the built-in cloud.Target: disks are sparse raw files
// and VMs are QEMU processes, both kept in a state directory so that they
// survive restarts of shift and of the VMs.
//
// Layout of the state directory:
//
//	lock                     flock taken around every change of the state
//	disks/NAME.raw           the disk's contents, a sparse raw image
//	disks/NAME.json          its size, tags, whether it is finalized, its VM
//	vms/NAME/vm.json         the VM's spec and its forwarded ports
//	vms/NAME/qemu.pid        the QEMU process while the VM runs
//	vms/NAME/qmp.sock        QEMU's QMP socket, for power button and quit
//	vms/NAME/serial.log      the serial console, appended on every boot
//	vms/NAME/qemu.log        QEMU's own messages
//	vms/NAME/OVMF_VARS.fd    the UEFI variable store of a UEFI VM
//
// A VM's QEMU runs detached from shift (its own session, daemonized), so a
// later shift process finds it running through the pidfile. KVM is used
// when it works (probed once per Target by starting QEMU with KVM), TCG
// otherwise. The first NIC uses QEMU user-mode networking with SSH (22),
// WinRM (5985, 5986) and RDP (3389) forwarded to free loopback ports, which
// VMStatus reports as the VM's addresses. An isolated NIC
// (cloud.NICSpec.Isolated) is the same network with restrict=on: the
// forwards still reach the guest, and nothing the guest sends leaves it.
//
// CloneDisk reflinks where the filesystem can (XFS, Btrfs) and copies the
// data extents elsewhere; while a copy runs, the source's and the clone's
// files are flocked, so only operations on those two disks wait for it.
//
// Linux only. It imports cloud.
package local

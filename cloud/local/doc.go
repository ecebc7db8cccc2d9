// Package local is the built-in cloud: disks as sparse files and VMs as QEMU
// processes in a state directory, persistent across restarts.
package local

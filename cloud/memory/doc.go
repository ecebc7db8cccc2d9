// Package memory is a cloud.Target that keeps disks and VMs in memory: the
// reference implementation of the contract, fast enough for unit tests of
// the packages that write into targets (transfer, migrate). Its VMs run
// nothing; they only change state.
//
// Only tests and tools import it; it imports cloud.
package memory

// Package azure is the Azure target: managed disks by direct upload and VMs
// created from specialized OS disks.
package azure

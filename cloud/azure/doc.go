// Package azure is the Azure target: managed disks written by direct upload
// (or, as an option, through a page blob in a storage account that is then
// imported as a managed disk) and VMs created from the specialized OS disk
// plus data disks.
//
// A direct upload follows Azure's documented flow: create the disk with
// CreateOption Upload and the exact byte count (data plus the 512-byte VHD
// footer), grant write access, Put Page in 512-aligned ranges of at most
// 4 MiB each — in parallel, each with its Content-MD5, retried only when the
// error is transient — clear pages for ranges that became zero, write the
// fixed VHD footer last, revoke access. Azure accepts writes only before the
// revoke, so a direct-upload disk takes delta passes while it is open
// (Close keeps it writable) and refuses them after Finalize; the import
// option keeps the page blob as the writable replica and re-imports it at
// every Finalize, so it takes delta passes at any time.
//
// CloneDisk, for test migrations, creates a managed disk with CreateOption
// Copy from a finalized one, and an isolated NIC (cloud.NICSpec.Isolated)
// must name the caller's isolated test subnet: no public IP, as for every
// NIC shift creates, and never the target's default subnet.
//
// State lives in Azure (the resource group and the staging container), not
// in the Target value. Credentials come from azidentity's default chain
// unless Options.Credential is set; they are never logged. Names and tags
// are checked against Azure's naming rules before any call.
//
// cmd/shift and migrate import it; tests run the cloud/targettest suite
// against it with blob traffic to a real Azurite and ARM calls to the
// armcompute and armnetwork SDKs' own fake servers.
package azure

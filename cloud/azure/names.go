package azure

import (
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/cloud"
)

// FirmwareTag is the one tag of the "shift-" prefix a caller may set on a
// DiskSpec: "uefi" creates the managed disk as Hyper-V generation 2 (V2),
// anything else or no tag as generation 1. Azure fixes a disk's generation
// when it creates it, and a VM boots UEFI only from a V2 OS disk.
const FirmwareTag = "shift-firmware"

// reservedPrefix starts the tags this package keeps for itself.
const reservedPrefix = "shift-"

// Tags this package keeps on VMs, disks and NICs.
const (
	tagSize      = "shift-size-bytes" // a managed disk's data size, without the footer
	tagCPUs      = "shift-cpus"
	tagMemory    = "shift-memory-mib"
	tagVMSize    = "shift-vm-size"    // the spec's Size; absent means chosen from CPUs and memory
	tagOS        = "shift-os"         // "linux" or "windows"
	tagSourceMAC = "shift-source-mac" // the MAC the source had; Azure assigns its own
	tagIsolated  = "shift-isolated"   // "true" on a NIC of cloud.NICSpec.Isolated
)

// checkDiskName checks a disk name against Azure's rules for managed disks
// (1-80 characters: letters, digits, '_', '.', '-'; starting with a letter
// or digit; ending with a letter, digit or '_'), which cloud.CheckName's
// rules imply.
func checkDiskName(name string) error {
	if err := cloud.CheckName("disk", name); err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	return nil
}

// checkVMName checks a VM name against Azure's rules for virtual machines:
// besides cloud.CheckName, no '_' and no '.' (Azure forbids both in VM
// resource names).
func checkVMName(name string) error {
	if err := cloud.CheckName("VM", name); err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	if i := strings.IndexAny(name, "_."); i >= 0 {
		return fmt.Errorf("azure: VM name %q: character %q not allowed by Azure (use letters, digits and '-'): %w", name, name[i], cloud.ErrInvalid)
	}
	return nil
}

// checkTags checks user tags against Azure's limits (at most 50 per
// resource with ours; names up to 512 characters without < > % & \ ? /;
// values up to 256) and refuses the "shift-" prefix but FirmwareTag.
func checkTags(kind, name string, tags map[string]string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("azure: %s %s: %s: %w", kind, name, fmt.Sprintf(format, a...), cloud.ErrInvalid)
	}
	if len(tags) > 44 {
		return bad("%d tags: Azure allows 50 per resource and shift keeps 6 of them", len(tags))
	}
	for k, v := range tags {
		switch {
		case k == "":
			return bad("empty tag name")
		case len(k) > 512:
			return bad("tag name %.20q…: longer than 512 characters", k)
		case strings.ContainsAny(k, `<>%&\?/`):
			return bad(`tag name %q: Azure forbids < > %% & \ ? /`, k)
		case len(v) > 256:
			return bad("tag %s: value longer than 256 characters", k)
		case strings.HasPrefix(strings.ToLower(k), reservedPrefix) && k != FirmwareTag:
			return bad("tag name %q: the %q prefix is shift's own", k, reservedPrefix)
		}
	}
	return nil
}

// userTags returns tags without shift's own, FirmwareTag excepted; nil
// when none is left.
func userTags(tags map[string]*string) map[string]string {
	var out map[string]string
	for k, v := range tags {
		if v == nil || (strings.HasPrefix(k, reservedPrefix) && k != FirmwareTag) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = *v
	}
	return out
}

func azTags(user map[string]string, own ...string) map[string]*string {
	out := make(map[string]*string, len(user)+len(own)/2)
	for k, v := range user {
		out[k] = &v
	}
	for i := 0; i+1 < len(own); i += 2 {
		v := own[i+1]
		out[own[i]] = &v
	}
	return out
}

package azure

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/shift-migrate/shift/cloud"
)

var _ cloud.DiskCloner = (*Target)(nil)

// gib is the unit of Azure's DiskSizeGB, the only way to size a copy.
const gib = 1 << 30

// CloneDisk implements cloud.DiskCloner: a managed disk created with
// CreateOption Copy from the source's managed disk, a point-in-time copy
// Azure makes on its side (no data passes through shift), with the spec's
// tags and the target's disk SKU. The clone has no staging blob, so on
// the import path it takes no passes of its own; it is for booting.
//
// The clone keeps the source's Hyper-V generation unless spec.Tags sets
// FirmwareTag. Azure sizes a copy only in whole GiB: a clone larger than
// its source must be a multiple of 1 GiB (cloud.ErrInvalid otherwise).
// Cloning onto an existing disk deletes it first; a copy that fails is
// deleted again.
func (t *Target) CloneDisk(ctx context.Context, from string, spec cloud.DiskSpec) error {
	if err := checkDiskName(from); err != nil {
		return err
	}
	if err := checkDiskName(spec.Name); err != nil {
		return err
	}
	if err := checkTags("disk", spec.Name, spec.Tags); err != nil {
		return err
	}
	if from == spec.Name {
		return fmt.Errorf("azure: clone disk %s onto itself: %w", from, cloud.ErrInvalid)
	}
	what := "clone disk " + from + " to " + spec.Name
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	src, err := t.state(ctx, from)
	switch {
	case err != nil:
		return err
	case !src.exists():
		return fmt.Errorf("azure: %s: disk %s: %w", what, from, cloud.ErrNotFound)
	case !src.finalized || src.managed == nil:
		return fmt.Errorf("azure: %s: disk %s is being written (finalize it first): %w", what, from, cloud.ErrNotFinalized)
	}
	if spec.SizeBytes == 0 {
		spec.SizeBytes = src.size
	}
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return fmt.Errorf("azure: %s: %w", what, err)
	}
	var sizeGB *int32
	switch {
	case spec.SizeBytes < src.size:
		return fmt.Errorf("azure: %s: %d bytes is smaller than the source's %d: %w", what, spec.SizeBytes, src.size, cloud.ErrInvalid)
	case spec.SizeBytes > src.size && spec.SizeBytes%gib != 0:
		return fmt.Errorf("azure: %s: %d bytes: Azure grows a copy only to whole GiB (ask for %d): %w", what, spec.SizeBytes, (spec.SizeBytes+gib-1)/gib*gib, cloud.ErrInvalid)
	case spec.SizeBytes > src.size:
		sizeGB = to.Ptr(int32(spec.SizeBytes / gib))
	}
	gen := diskGeneration(src.managed)
	if _, ok := spec.Tags[FirmwareTag]; ok {
		gen = tagGeneration(spec.Tags)
	}

	dst, err := t.state(ctx, spec.Name)
	if err != nil {
		return err
	}
	if dst.exists() {
		switch {
		case dst.size != spec.SizeBytes:
			return fmt.Errorf("azure: %s: disk %s has %d bytes, asked for %d (delete it or choose another name): %w", what, spec.Name, dst.size, spec.SizeBytes, cloud.ErrExists)
		case dst.vm != "":
			return fmt.Errorf("azure: %s: disk %s is used by VM %s (delete the VM first): %w", what, spec.Name, dst.vm, cloud.ErrInUse)
		}
		// Copy again: Azure copies only into a new disk.
		if err := t.deleteState(ctx, dst); err != nil {
			return fmt.Errorf("azure: %s: the previous copy: %w", what, err)
		}
	}
	err = t.createFrom(ctx, spec.Name, spec.Tags, spec.SizeBytes, &armcompute.DiskProperties{
		CreationData: &armcompute.CreationData{
			CreateOption:     to.Ptr(armcompute.DiskCreateOptionCopy),
			SourceResourceID: to.Ptr(t.diskID(from)),
		},
		DiskSizeGB:       sizeGB,
		HyperVGeneration: to.Ptr(gen),
	}, true)
	if err != nil {
		return classify(err, what)
	}
	t.log.Info("azure: disk cloned", "disk", spec.Name, "from", from, "bytes", spec.SizeBytes)
	return nil
}

package winrm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// storageOutput is what scripts/storage.ps1 prints.
type storageOutput struct {
	Disks psjson.List[struct {
		Number            psjson.Int
		FriendlyName      psjson.String
		SerialNumber      psjson.String
		Manufacturer      psjson.String
		Model             psjson.String
		BusType           psjson.String
		Size              psjson.Uint
		LogicalSectorSize psjson.Int
		PartitionStyle    psjson.Enum
		IsBoot            psjson.Bool
		IsSystem          psjson.Bool
		IsClustered       psjson.Bool
		IsReadOnly        psjson.Bool
		IsOffline         psjson.Bool
		Guid              psjson.String
		Signature         psjson.Uint
	}]
	Partitions psjson.List[winPartition]
	Volumes    psjson.List[struct {
		DriveLetter     psjson.Char
		FileSystem      psjson.String
		FileSystemLabel psjson.String
		Size            psjson.Uint
		SizeRemaining   psjson.Uint
		UniqueId        psjson.String
		HealthStatus    psjson.Enum
		DriveType       psjson.Enum
	}]
	Win32Volumes psjson.List[struct {
		DeviceID    psjson.String
		DriveLetter psjson.String
		DirtyBitSet psjson.Bool
	}]
	DiskPartitions psjson.List[struct {
		DiskIndex psjson.Int
		Index     psjson.Int
		Type      psjson.String
	}]
	// BitLocker is null when the BitLocker cmdlets are not installed.
	BitLocker psjson.List[struct {
		MountPoint       psjson.String
		VolumeType       psjson.Enum
		VolumeStatus     psjson.Enum
		ProtectionStatus psjson.Enum
		LockStatus       psjson.Enum
		EncryptionMethod psjson.Enum
	}]
	Problems psjson.List[problem]
}

type winPartition struct {
	DiskNumber      psjson.Int
	PartitionNumber psjson.Int
	Offset          psjson.Uint
	Size            psjson.Uint
	Type            psjson.String
	GptType         psjson.String
	Guid            psjson.String
	MbrType         psjson.Int
	IsActive        psjson.Bool
	IsBoot          psjson.Bool
	IsSystem        psjson.Bool
	DriveLetter     psjson.Char
	AccessPaths     psjson.Strings
}

var (
	partitionStyles = map[int64]string{0: "RAW", 1: "MBR", 2: "GPT"}
	volumeStatuses  = map[int64]string{0: "FullyDecrypted", 1: "FullyEncrypted", 2: "EncryptionInProgress",
		3: "DecryptionInProgress", 4: "EncryptionPaused", 5: "DecryptionPaused"}
	protectionStatuses = map[int64]string{0: "Off", 1: "On", 2: "Unknown"}
	gptTypes           = map[string]string{
		"c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI System",
		"e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved",
		"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
		"de94bba4-06d1-4d40-a16a-bfd50179d6ac": "Windows recovery environment",
		"5808c8aa-7e8f-42e0-85d2-e1e90434cfb3": "Microsoft LDM metadata",
		"af9b60a0-1431-4f62-bc68-3311714a69ad": "Microsoft LDM data",
		"e75caf8f-f680-4cee-afa3-b001e56efc2d": "Microsoft Storage Spaces",
		"db97dba9-0840-4bae-97f0-ffb9a327c7e1": "Cluster metadata",
	}
	mbrTypes = map[int64]string{
		0x06: "FAT16", 0x07: "NTFS/exFAT", 0x0b: "FAT32", 0x0c: "FAT32 (LBA)", 0x0e: "FAT16 (LBA)",
		0x27: "Windows recovery environment", 0x42: "Windows dynamic (LDM)", 0xee: "GPT protective",
	}
)

func parseStorage(h *inventory.Host, stdout []byte) ([]problem, error) {
	var out storageOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, err
	}
	dynamic := map[int64]bool{}
	for _, p := range out.DiskPartitions {
		if strings.Contains(strings.ToLower(string(p.Type)), "logical disk manager") {
			dynamic[p.DiskIndex.Value] = true
		}
	}
	for _, p := range out.Partitions {
		if p.MbrType.Value == 0x42 || strings.Contains(gptTypes[guid(string(p.GptType))], "LDM") {
			dynamic[p.DiskNumber.Value] = true
		}
	}

	// Volumes by their \\?\Volume{GUID}\ path, which Get-Partition lists
	// among its access paths.
	fsByPath := map[string]string{}
	for _, v := range out.Volumes {
		fsByPath[strings.ToLower(string(v.UniqueId))] = string(v.FileSystem)
	}
	bitlocker := map[string]string{} // mount point ("C:" or volume path) -> state
	for _, b := range out.BitLocker {
		status := b.VolumeStatus.Text(volumeStatuses)
		if status == "" || status == "FullyDecrypted" {
			continue
		}
		bitlocker[strings.ToLower(strings.TrimRight(string(b.MountPoint), "\\"))] = status
	}

	h.Disks = nil
	for _, d := range out.Disks {
		disk := inventory.Disk{
			Name:        diskName(d.Number.Value),
			Number:      inventory.Int(d.Number.Int()),
			Model:       strings.TrimSpace(string(d.FriendlyName)),
			Serial:      strings.TrimSpace(string(d.SerialNumber)),
			Vendor:      strings.TrimSpace(string(d.Manufacturer)),
			SizeBytes:   d.Size.Value,
			SectorBytes: d.LogicalSectorSize.Int(),
			Bus:         string(d.BusType),
			ReadOnly:    d.IsReadOnly.True(),
			Dynamic:     dynamic[d.Number.Value],
			Shared:      d.IsClustered.True(),
			Boot:        d.IsSystem.True(), // Windows "system": holds the boot loader
			System:      d.IsBoot.True(),   // Windows "boot": holds the OS
		}
		switch strings.ToUpper(d.PartitionStyle.Text(partitionStyles)) {
		case "GPT":
			disk.PartitionTable = "gpt"
			disk.PartitionTableID = guid(string(d.Guid))
		case "MBR":
			disk.PartitionTable = "mbr"
			if d.Signature.Valid {
				disk.PartitionTableID = fmt.Sprintf("%08x", d.Signature.Value)
			}
		}
		h.Disks = append(h.Disks, disk)
	}
	sort.SliceStable(h.Disks, func(i, j int) bool { return diskNumber(h.Disks[i]) < diskNumber(h.Disks[j]) })

	for _, p := range out.Partitions {
		part := inventory.Partition{
			Number:      p.PartitionNumber.Int(),
			OffsetBytes: p.Offset.Value,
			SizeBytes:   p.Size.Value,
			GUID:        guid(string(p.Guid)),
			Bootable:    p.IsActive.True(),
		}
		if t := guid(string(p.GptType)); t != "" {
			part.Type, part.TypeName = t, gptTypes[t]
		} else if p.MbrType.Valid {
			part.Type, part.TypeName = fmt.Sprintf("0x%02x", p.MbrType.Value), mbrTypes[p.MbrType.Value]
		}
		for _, ap := range p.AccessPaths {
			if fs, ok := fsByPath[strings.ToLower(ap)]; ok {
				part.FSType = fsType(fs)
			}
		}
		if bitlockerState(bitlocker, string(p.DriveLetter), p.AccessPaths...) != "" {
			part.FSType = "BitLocker" // what the disk holds: a BitLocker (-FVE-FS-) volume
		}
		if d := findDisk(h.Disks, p.DiskNumber.Int()); d != nil {
			d.Partitions = append(d.Partitions, part)
		}
	}
	for i := range h.Disks {
		sort.SliceStable(h.Disks[i].Partitions, func(a, b int) bool {
			return h.Disks[i].Partitions[a].OffsetBytes < h.Disks[i].Partitions[b].OffsetBytes
		})
	}

	dirty := map[string]psjson.Bool{}
	for _, v := range out.Win32Volumes {
		dirty[strings.ToLower(string(v.DeviceID))] = v.DirtyBitSet
	}
	h.Volumes = nil
	for _, v := range out.Volumes {
		path := string(v.UniqueId)
		vol := inventory.Volume{
			Device:      path,
			Kind:        "volume",
			FSType:      fsType(string(v.FileSystem)),
			Label:       string(v.FileSystemLabel),
			DriveLetter: string(v.DriveLetter),
			SizeBytes:   v.Size.Value,
			Dirty:       dirty[strings.ToLower(path)].Ptr(),
		}
		if v.Size.Valid && v.SizeRemaining.Valid && v.Size.Value >= v.SizeRemaining.Value && v.Size.Value > 0 {
			vol.UsedBytes = inventory.Uint64(v.Size.Value - v.SizeRemaining.Value)
		}
		if p := partitionOf(out.Partitions, path); p != nil {
			vol.Disk = diskName(p.DiskNumber.Value)
			vol.Partition = p.PartitionNumber.Int()
			vol.Parents = []string{vol.Disk}
			vol.System = p.IsBoot.True()
			vol.Boot = p.IsSystem.True()
			for _, ap := range p.AccessPaths {
				if !strings.HasPrefix(ap, `\\?\`) {
					vol.MountPoints = append(vol.MountPoints, ap)
				}
			}
		}
		if len(vol.MountPoints) == 0 && vol.DriveLetter != "" {
			vol.MountPoints = []string{vol.DriveLetter + `:\`}
		}
		if state := bitlockerState(bitlocker, vol.DriveLetter, path); state != "" {
			vol.Encrypted = true
			vol.Encryption = "bitlocker:" + state
		}
		h.Volumes = append(h.Volumes, vol)
	}
	return out.Problems, nil
}

// bitlockerState returns the BitLocker state of the volume with this drive
// letter or one of these paths; "" when it is not encrypted.
func bitlockerState(states map[string]string, letter string, paths ...string) string {
	if letter != "" {
		if s, ok := states[strings.ToLower(letter)+":"]; ok {
			return s
		}
	}
	for _, p := range paths {
		if s, ok := states[strings.ToLower(strings.TrimRight(p, `\`))]; ok {
			return s
		}
	}
	return ""
}

func diskName(n int64) string { return fmt.Sprintf("Disk %d", n) }

func diskNumber(d inventory.Disk) int {
	if d.Number == nil {
		return -1
	}
	return *d.Number
}

func findDisk(disks []inventory.Disk, number int) *inventory.Disk {
	for i := range disks {
		if disks[i].Number != nil && *disks[i].Number == number {
			return &disks[i]
		}
	}
	return nil
}

// partitionOf returns the partition whose access paths include the volume path.
func partitionOf(parts []winPartition, volumePath string) *winPartition {
	if volumePath == "" {
		return nil
	}
	for i := range parts {
		for _, ap := range parts[i].AccessPaths {
			if strings.EqualFold(ap, volumePath) {
				return &parts[i]
			}
		}
	}
	return nil
}

// guid normalises "{C12A7328-...}" to "c12a7328-...".
func guid(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(s), "{}"))
}

// fsType maps Windows file system names to the model's names.
func fsType(fs string) string {
	switch strings.ToUpper(fs) {
	case "":
		return ""
	case "FAT", "FAT32":
		return "vfat"
	case "CSVFS_NTFS":
		return "ntfs"
	}
	return strings.ToLower(fs)
}

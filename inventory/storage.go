package inventory

// Disk is a physical or virtual disk as the OS sees it.
type Disk struct {
	// Name is the OS's name for the disk: "/dev/sda" on Linux, "Disk 0" on Windows.
	Name string `json:"name"`
	// Number is the Windows disk number; nil on Linux.
	Number    *int   `json:"number,omitempty"`
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	Vendor    string `json:"vendor,omitempty"`
	SizeBytes uint64 `json:"sizeBytes"`
	// SectorBytes is the logical sector size.
	SectorBytes int `json:"sectorBytes,omitempty"`
	// Bus is the attachment ("sata", "nvme", "virtio", "SAS", "iSCSI").
	Bus string `json:"bus,omitempty"`
	// PartitionTable is "gpt", "mbr", or "" when the disk holds no table (a
	// filesystem or LVM PV on the whole disk, or an empty disk).
	PartitionTable string `json:"partitionTable,omitempty"`
	// PartitionTableID is the GPT disk GUID or the MBR disk signature.
	PartitionTableID string `json:"partitionTableId,omitempty"`
	Removable        bool   `json:"removable,omitempty"`
	ReadOnly         bool   `json:"readOnly,omitempty"`
	// Rotational is nil when unknown.
	Rotational *bool `json:"rotational,omitempty"`
	// Dynamic is true for a Windows dynamic disk (LDM).
	Dynamic bool `json:"dynamic,omitempty"`
	// Shared is true when the disk is clustered or shared between hosts.
	Shared bool `json:"shared,omitempty"`
	// Multipath is true when the disk is reached through MPIO / dm-multipath.
	Multipath bool `json:"multipath,omitempty"`
	// Boot and System mark the disk holding the boot loader and the OS.
	Boot   bool `json:"boot,omitempty"`
	System bool `json:"system,omitempty"`
	// Partitions in on-disk order.
	Partitions []Partition `json:"partitions,omitempty"`
}

// Partition is one entry of a partition table.
type Partition struct {
	Number int `json:"number"`
	// Device is the OS device path ("/dev/sda1"); empty on Windows.
	Device      string `json:"device,omitempty"`
	OffsetBytes uint64 `json:"offsetBytes"`
	SizeBytes   uint64 `json:"sizeBytes"`
	// Type is the GPT partition type GUID (lower case) or the MBR type as "0x83".
	Type string `json:"type,omitempty"`
	// TypeName is a readable name for Type ("EFI System", "Microsoft basic data").
	TypeName string `json:"typeName,omitempty"`
	// GUID is the GPT unique partition GUID (Linux PARTUUID), lower case.
	GUID string `json:"guid,omitempty"`
	// Label is the GPT partition name.
	Label string `json:"label,omitempty"`
	// Bootable is the MBR active flag.
	Bootable bool `json:"bootable,omitempty"`
	// FSType is the content signature ("ext4", "ntfs", "vfat", "swap",
	// "LVM2_member", "crypto_LUKS", "BitLocker"); empty when unknown or none.
	FSType string `json:"fsType,omitempty"`
}

// Volume is something that carries a filesystem or swap: a partition, a whole
// disk, an LVM logical volume, an opened LUKS mapping, an md array, or a Windows
// volume.
type Volume struct {
	// Device is the OS path: "/dev/sda1", "/dev/mapper/vg0-root",
	// "\\?\Volume{…}\".
	Device string `json:"device"`
	// Kind is "partition", "disk", "lvm", "crypt", "raid" or "volume" (Windows).
	Kind string `json:"kind,omitempty"`
	// Parents are the devices the volume sits on.
	Parents []string `json:"parents,omitempty"`
	// Disk and Partition locate the volume when it is a plain partition
	// (Disk is the [Disk.Name]; Partition 0 means the whole disk).
	Disk      string `json:"disk,omitempty"`
	Partition int    `json:"partition,omitempty"`
	FSType    string `json:"fsType,omitempty"`
	UUID      string `json:"uuid,omitempty"`
	Label     string `json:"label,omitempty"`
	// MountPoints are Linux mount points or Windows access paths.
	MountPoints []string `json:"mountPoints,omitempty"`
	// DriveLetter is the Windows drive letter without colon ("C").
	DriveLetter string `json:"driveLetter,omitempty"`
	SizeBytes   uint64 `json:"sizeBytes,omitempty"`
	// UsedBytes is nil when the volume is not mounted and usage is unknown.
	UsedBytes *uint64 `json:"usedBytes,omitempty"`
	// LVM is true for LVM logical volumes and for volumes on an LVM PV.
	LVM bool `json:"lvm,omitempty"`
	// Encrypted is true for LUKS and BitLocker volumes.
	Encrypted bool `json:"encrypted,omitempty"`
	// Encryption names the scheme and state: "luks2", "bitlocker:FullyEncrypted".
	Encryption string `json:"encryption,omitempty"`
	// Dirty is the NTFS dirty bit; nil when unknown.
	Dirty *bool `json:"dirty,omitempty"`
	// System and Boot mark the volume holding the OS and the boot loader.
	System bool `json:"system,omitempty"`
	Boot   bool `json:"boot,omitempty"`
	// Swap is true for active swap areas.
	Swap bool `json:"swap,omitempty"`
}

// Int returns a pointer to v, for the model's optional numbers.
func Int(v int) *int { return &v }

// Uint64 returns a pointer to v, for the model's optional sizes.
func Uint64(v uint64) *uint64 { return &v }

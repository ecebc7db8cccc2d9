package ssh

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// blockDev is one device of `lsblk -J -b -O` (or `-o` with fewer columns).
// Every field tolerates the types of util-linux 2.32 (all strings) through
// 2.40 (typed numbers and booleans); absent columns stay zero.
type blockDev struct {
	Name         jstr   `json:"name"`
	KName        jstr   `json:"kname"`
	Path         jstr   `json:"path"`
	Type         jstr   `json:"type"`
	Size         juint  `json:"size"`
	Start        juint  `json:"start"`
	PartN        juint  `json:"partn"`
	FSType       jstr   `json:"fstype"`
	FSVer        jstr   `json:"fsver"`
	UUID         jstr   `json:"uuid"`
	Label        jstr   `json:"label"`
	FSSize       juint  `json:"fssize"`
	FSUsed       juint  `json:"fsused"`
	MountPoint   jstr   `json:"mountpoint"`
	MountPoints  []jstr `json:"mountpoints"`
	PTType       jstr   `json:"pttype"`
	PTUUID       jstr   `json:"ptuuid"`
	PartType     jstr   `json:"parttype"`
	PartTypeName jstr   `json:"parttypename"`
	PartLabel    jstr   `json:"partlabel"`
	PartUUID     jstr   `json:"partuuid"`
	PartFlags    jstr   `json:"partflags"`
	RO           jbool  `json:"ro"`
	RM           jbool  `json:"rm"`
	Rota         jbool  `json:"rota"`
	Model        jstr   `json:"model"`
	Serial       jstr   `json:"serial"`
	Vendor       jstr   `json:"vendor"`
	Tran         jstr   `json:"tran"`
	Subsystems   jstr   `json:"subsystems"`
	LogSec       juint  `json:"log-sec"`
	Children     []blockDev
}

// UnmarshalJSON keeps "children" tolerant of null.
func (d *blockDev) UnmarshalJSON(b []byte) error {
	type plain blockDev
	var p struct {
		plain
		Children []blockDev `json:"children"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = blockDev(p.plain)
	d.Children = p.Children
	return nil
}

// lsblkColumns are asked for with -o when lsblk does not know -O.
const lsblkColumns = "NAME,KNAME,MAJ:MIN,FSTYPE,MOUNTPOINT,LABEL,UUID,PARTTYPE,PARTLABEL,PARTUUID,PARTFLAGS,RO,RM,MODEL,SERIAL,SIZE,TYPE,PKNAME,TRAN,VENDOR,LOG-SEC,ROTA"

// parseLsblk parses `lsblk -J -b -O` of any util-linux version.
func parseLsblk(out []byte) ([]blockDev, error) {
	var doc struct {
		BlockDevices *[]blockDev `json:"blockdevices"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	if doc.BlockDevices == nil {
		return nil, errors.New(`no "blockdevices" key`)
	}
	devs := *doc.BlockDevices
	if devs == nil {
		devs = []blockDev{}
	}
	return devs, nil
}

// sysBlock is what /sys/class/block/<name>/{partition,start} tell.
type sysBlock struct {
	Partition int
	// Start is in 512-byte sectors; -1 when unknown.
	Start int64
}

// parseSysBlock parses `grep -H . /sys/class/block/*/partition
// /sys/class/block/*/start`: "/sys/class/block/sda1/start:2048" lines.
func parseSysBlock(out []byte) (map[string]sysBlock, error) {
	m := map[string]sysBlock{}
	for _, l := range lines(out) {
		p, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Split(p, "/")
		if len(f) < 2 {
			continue
		}
		name, key := f[len(f)-2], f[len(f)-1]
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			continue
		}
		sb, seen := m[name]
		if !seen {
			sb.Start = -1
		}
		switch key {
		case "partition":
			sb.Partition = int(min(n, 1<<20))
		case "start":
			sb.Start = n
		default:
			continue
		}
		m[name] = sb
	}
	if len(m) == 0 && len(strings.TrimSpace(string(out))) > 0 {
		return nil, errors.New("no /sys/class/block entries")
	}
	return m, nil
}

// mountInfo is one mounted filesystem from findmnt or df.
type mountInfo struct {
	Target, Source, FSType string
	Size, Used             uint64
	// HasSize is false when the tool did not report sizes.
	HasSize bool
}

// parseMounts parses `findmnt -J -b -o TARGET,SOURCE,FSTYPE,SIZE,USED,AVAIL`
// or, when the output is not JSON, `df -B1 --output=source,fstype,size,used,avail,target`.
func parseMounts(out []byte) ([]mountInfo, error) {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil, errEmpty
	}
	if s[0] == '{' {
		return parseFindmnt(out)
	}
	return parseDF(out)
}

type findmntFS struct {
	Target   jstr        `json:"target"`
	Source   jstr        `json:"source"`
	FSType   jstr        `json:"fstype"`
	Size     juint       `json:"size"`
	Used     juint       `json:"used"`
	Children []findmntFS `json:"children"`
}

func parseFindmnt(out []byte) ([]mountInfo, error) {
	var doc struct {
		Filesystems *[]findmntFS `json:"filesystems"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	if doc.Filesystems == nil {
		return nil, errors.New(`no "filesystems" key`)
	}
	mounts := []mountInfo{}
	var walk func([]findmntFS)
	walk = func(fss []findmntFS) {
		for _, fs := range fss {
			mounts = append(mounts, mountInfo{
				Target: string(fs.Target), Source: string(fs.Source), FSType: string(fs.FSType),
				Size: fs.Size.V, Used: fs.Used.V, HasSize: fs.Size.Valid && fs.Used.Valid,
			})
			walk(fs.Children)
		}
	}
	walk(*doc.Filesystems)
	return mounts, nil
}

func parseDF(out []byte) ([]mountInfo, error) {
	ls := lines(out)
	if len(ls) == 0 || !strings.HasPrefix(strings.TrimSpace(ls[0]), "Filesystem") {
		return nil, errors.New("no df header line")
	}
	mounts := []mountInfo{}
	for _, l := range ls[1:] {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		size, err1 := strconv.ParseUint(f[2], 10, 64)
		used, err2 := strconv.ParseUint(f[3], 10, 64)
		mounts = append(mounts, mountInfo{
			Source: f[0], FSType: f[1], Target: strings.Join(f[5:], " "),
			Size: size, Used: used, HasSize: err1 == nil && err2 == nil,
		})
	}
	return mounts, nil
}

// swapEntry is one active swap area from /proc/swaps.
type swapEntry struct {
	Device string
	Type   string
	// SizeBytes is the size of the area.
	SizeBytes uint64
}

// parseSwaps parses /proc/swaps (sizes in KiB; names with spaces are
// escaped as \040 by the kernel).
func parseSwaps(out []byte) ([]swapEntry, error) {
	ls := lines(out)
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "Filename") {
		return nil, errors.New("no /proc/swaps header line")
	}
	swaps := []swapEntry{}
	for _, l := range ls[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		kb, _ := strconv.ParseUint(f[2], 10, 64)
		swaps = append(swaps, swapEntry{
			Device: strings.ReplaceAll(f[0], `\040`, " "), Type: f[1], SizeBytes: kb * 1024,
		})
	}
	return swaps, nil
}

// storageFacts gathers everything the storage model is built from.
type storageFacts struct {
	Devs   []blockDev
	Sys    map[string]sysBlock
	Mounts []mountInfo
	Swaps  []swapEntry
}

// containerFS are signatures of devices that hold other block devices rather
// than a filesystem; the device above them is the volume.
var containerFS = map[string]bool{
	"LVM2_member": true, "linux_raid_member": true, "crypto_LUKS": true,
	"zfs_member": true, "isw_raid_member": true, "ddf_raid_member": true,
	"promise_fasttrack_raid_member": true, "bcache": true, "drbd": true,
}

// skipDisk reports whether a top-level device is not worth listing as a disk:
// loop devices, RAM disks, compressed RAM swap, optical drives and empty
// removable slots.
func skipDisk(d blockDev) bool {
	t, n := d.Type.trim(), d.Name.trim()
	switch {
	case t == "loop", t == "rom":
		return true
	case strings.HasPrefix(n, "zram"), strings.HasPrefix(n, "ram"), strings.HasPrefix(n, "loop"):
		return true
	case d.Size.Valid && d.Size.V == 0:
		return true
	}
	return t != "disk"
}

// devPath returns the /dev path of a device. lsblk before 2.33 has no PATH
// column; device-mapper devices (LVM, LUKS, multipath) then live under
// /dev/mapper.
func devPath(d blockDev) string {
	if p := d.Path.trim(); p != "" {
		return p
	}
	switch d.Type.trim() {
	case "lvm", "crypt", "dm", "mpath":
		return "/dev/mapper/" + d.Name.trim()
	}
	return "/dev/" + d.Name.trim()
}

// kernelPath returns the /dev path under the kernel name (/dev/dm-0), as
// /proc/swaps prints it.
func kernelPath(d blockDev) string {
	if k := d.KName.trim(); k != "" {
		return "/dev/" + k
	}
	return devPath(d)
}

// buildStorage turns lsblk's tree, sysfs partition data, mounts and swaps into
// the model's disks and volumes.
func buildStorage(f storageFacts) ([]inventory.Disk, []inventory.Volume) {
	b := &storageBuilder{facts: f, byPath: map[string]int{}, swaps: map[string]bool{}, volDisks: map[string]map[int]bool{}}
	for _, s := range f.Swaps {
		b.swaps[s.Device] = true
	}
	for _, d := range f.Devs {
		if skipDisk(d) {
			continue
		}
		b.disks = append(b.disks, b.disk(d))
		b.walk(d, "", len(b.disks)-1, false, "")
	}
	b.markSystem()
	return b.disks, b.vols
}

type storageBuilder struct {
	facts  storageFacts
	disks  []inventory.Disk
	vols   []inventory.Volume
	byPath map[string]int
	swaps  map[string]bool
	// volDisks maps a volume's device to the indexes of the disks under it.
	volDisks map[string]map[int]bool
}

func (b *storageBuilder) disk(d blockDev) inventory.Disk {
	disk := inventory.Disk{
		Name:             devPath(d),
		Model:            d.Model.trim(),
		Serial:           d.Serial.trim(),
		Vendor:           d.Vendor.trim(),
		SizeBytes:        d.Size.V,
		Bus:              bus(d),
		PartitionTable:   partitionTable(d.PTType.trim()),
		PartitionTableID: strings.ToLower(d.PTUUID.trim()),
		Removable:        d.RM.V,
		ReadOnly:         d.RO.V,
		Rotational:       d.Rota.ptr(),
	}
	if d.LogSec.Valid {
		disk.SectorBytes = int(min(d.LogSec.V, 1<<20))
	}
	// Older lsblk has no pttype/ptuuid on the disk: take them from the
	// partitions, or from the shape of their type codes.
	for _, c := range d.Children {
		if c.Type.trim() != "part" {
			if c.Type.trim() == "mpath" {
				disk.Multipath = true
			}
			continue
		}
		if disk.PartitionTable == "" {
			disk.PartitionTable = partitionTable(c.PTType.trim())
		}
		if disk.PartitionTableID == "" {
			disk.PartitionTableID = strings.ToLower(c.PTUUID.trim())
		}
		if disk.PartitionTable == "" {
			switch pt := c.PartType.trim(); {
			case uuidRE.MatchString(pt):
				disk.PartitionTable = "gpt"
			case strings.HasPrefix(pt, "0x"):
				disk.PartitionTable = "mbr"
			}
		}
	}
	return disk
}

// partitionTable maps lsblk's PTTYPE to the model's name.
func partitionTable(pt string) string {
	switch pt {
	case "dos":
		return "mbr"
	case "":
		return ""
	}
	return pt
}

// bus names the attachment from TRAN, or from SUBSYSTEMS when TRAN is empty
// (virtio disks).
func bus(d blockDev) string {
	if t := d.Tran.trim(); t != "" {
		return t
	}
	subs := strings.Split(d.Subsystems.trim(), ":")
	for _, want := range []string{"virtio", "nvme", "xen", "scsi", "mmc", "usb"} {
		if slices.Contains(subs, want) {
			return want
		}
	}
	return ""
}

// walk visits d (a child of parent) below the disk with index disk.
// partOfDisk is true when d's parent is the disk itself; enc is the
// encryption scheme of an encrypted ancestor.
func (b *storageBuilder) walk(d blockDev, parent string, disk int, partOfDisk bool, enc string) {
	path := devPath(d)
	typ := d.Type.trim()
	number := 0
	if typ == "part" && partOfDisk {
		number = b.partition(d, disk)
	}
	if typ == "crypt" && enc == "" {
		enc = "luks"
	}
	if b.isVolume(d) {
		b.volume(d, parent, disk, number, enc)
	}
	childEnc := enc
	if d.FSType.trim() == "crypto_LUKS" {
		childEnc = "luks"
		if v := d.FSVer.trim(); v != "" {
			childEnc += v
		}
	}
	for _, c := range d.Children {
		b.walk(c, path, disk, typ == "disk" && parent == "", childEnc)
	}
}

// partition records d as a partition of disk and returns its number.
func (b *storageBuilder) partition(d blockDev, disk int) int {
	name := d.Name.trim()
	sys, haveSys := b.facts.Sys[d.KName.trim()]
	if !haveSys {
		sys, haveSys = b.facts.Sys[name]
	}
	p := inventory.Partition{
		Device:    devPath(d),
		SizeBytes: d.Size.V,
		Type:      strings.ToLower(d.PartType.trim()),
		TypeName:  d.PartTypeName.trim(),
		GUID:      strings.ToLower(d.PartUUID.trim()),
		Label:     d.PartLabel.trim(),
		FSType:    d.FSType.trim(),
		Bootable:  d.PartFlags.trim() == "0x80",
	}
	switch {
	case d.PartN.Valid:
		p.Number = int(min(d.PartN.V, 1<<20))
	case haveSys && sys.Partition > 0:
		p.Number = sys.Partition
	default:
		p.Number = trailingNumber(name)
	}
	switch {
	case d.Start.Valid && d.Start.V <= 1<<54:
		p.OffsetBytes = d.Start.V * 512
	case haveSys && sys.Start >= 0 && sys.Start <= 1<<54:
		p.OffsetBytes = uint64(sys.Start) * 512
	}
	b.disks[disk].Partitions = append(b.disks[disk].Partitions, p)
	return p.Number
}

// trailingNumber returns the number at the end of a partition name ("sda1",
// "nvme0n1p2"); 0 when there is none.
func trailingNumber(name string) int {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(name[i:])
	if err != nil || n > 1<<20 {
		return 0
	}
	return n
}

// mountPoints lists d's mount points (without "[SWAP]") and whether lsblk
// says it is active swap.
func mountPoints(d blockDev) (mps []string, swap bool) {
	all := d.MountPoints
	if len(all) == 0 {
		all = []jstr{d.MountPoint}
	}
	for _, m := range all {
		switch s := string(m); s {
		case "":
		case "[SWAP]":
			swap = true
		default:
			if !slices.Contains(mps, s) {
				mps = append(mps, s)
			}
		}
	}
	return mps, swap
}

func isRaid(typ string) bool { return strings.HasPrefix(typ, "raid") || typ == "md" }

// isVolume reports whether d carries a filesystem, swap or data of its own.
func (b *storageBuilder) isVolume(d blockDev) bool {
	typ, fs := d.Type.trim(), d.FSType.trim()
	mps, swap := mountPoints(d)
	switch {
	case len(mps) > 0, swap, b.swaps[kernelPath(d)], b.swaps[devPath(d)]:
		return true
	case typ == "lvm", typ == "crypt", isRaid(typ):
		return true
	case fs == "crypto_LUKS":
		// A LUKS device whose mapping is not open: the only trace of its data.
		return len(d.Children) == 0
	case fs != "" && !containerFS[fs]:
		return true
	}
	return b.mountFor(d) != nil
}

// mountFor returns the mount whose source is d, or nil.
func (b *storageBuilder) mountFor(d blockDev) *mountInfo {
	for i, m := range b.facts.Mounts {
		if m.Source == devPath(d) || m.Source == kernelPath(d) {
			return &b.facts.Mounts[i]
		}
	}
	return nil
}

func (b *storageBuilder) volume(d blockDev, parent string, disk, number int, enc string) {
	path := devPath(d)
	if b.volDisks[path] == nil {
		b.volDisks[path] = map[int]bool{}
	}
	b.volDisks[path][disk] = true
	if i, ok := b.byPath[path]; ok {
		// A RAID array or an LV that spans several parents: seen again.
		if parent != "" && !slices.Contains(b.vols[i].Parents, parent) {
			b.vols[i].Parents = append(b.vols[i].Parents, parent)
		}
		return
	}
	typ := d.Type.trim()
	mps, swap := mountPoints(d)
	v := inventory.Volume{
		Device:    path,
		Kind:      volumeKind(typ),
		FSType:    d.FSType.trim(),
		UUID:      strings.ToLower(d.UUID.trim()),
		Label:     d.Label.trim(),
		SizeBytes: d.Size.V,
		LVM:       typ == "lvm",
		Swap:      swap || b.swaps[kernelPath(d)] || b.swaps[path],
	}
	if parent != "" {
		v.Parents = []string{parent}
	}
	switch typ {
	case "disk":
		v.Disk = b.disks[disk].Name
	case "part":
		if number > 0 {
			v.Disk, v.Partition = b.disks[disk].Name, number
		}
	}
	if v.FSType == "crypto_LUKS" {
		v.Encrypted = true
		v.Encryption = "luks" + d.FSVer.trim()
	}
	if enc != "" {
		v.Encrypted, v.Encryption = true, enc
	}
	if d.FSSize.Valid {
		v.SizeBytes = d.FSSize.V
		if d.FSUsed.Valid {
			v.UsedBytes = inventory.Uint64(d.FSUsed.V)
		}
	}
	// Mounts fill what lsblk could not tell (no udev data, old versions).
	for _, m := range b.facts.Mounts {
		if m.Source != path && m.Source != kernelPath(d) {
			continue
		}
		if !slices.Contains(mps, m.Target) {
			mps = append(mps, m.Target)
		}
		if v.FSType == "" {
			v.FSType = m.FSType
		}
		if v.UsedBytes == nil && m.HasSize {
			v.SizeBytes, v.UsedBytes = m.Size, inventory.Uint64(m.Used)
		}
	}
	v.MountPoints = mps
	b.byPath[path] = len(b.vols)
	b.vols = append(b.vols, v)
}

func volumeKind(typ string) string {
	switch {
	case typ == "part":
		return "partition"
	case isRaid(typ):
		return "raid"
	case typ == "":
		return "volume"
	}
	return typ // disk, lvm, crypt, dm, mpath
}

// markSystem flags the volume mounted at / as System and the one holding
// /boot (or /boot/efi, or / when there is no separate /boot) as Boot, and the
// disks under them likewise.
func (b *storageBuilder) markSystem() {
	boot := -1
	for i, v := range b.vols {
		if slices.Contains(v.MountPoints, "/boot") || slices.Contains(v.MountPoints, "/boot/efi") {
			b.vols[i].Boot = true
			boot = i
		}
	}
	for i, v := range b.vols {
		if !slices.Contains(v.MountPoints, "/") {
			continue
		}
		b.vols[i].System = true
		if boot < 0 {
			b.vols[i].Boot = true
		}
	}
	for _, v := range b.vols {
		for d := range b.volDisks[v.Device] {
			b.disks[d].System = b.disks[d].System || v.System
			b.disks[d].Boot = b.disks[d].Boot || v.Boot
		}
	}
}

package ssh

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/inventory"
)

func storageFromRef(t *testing.T, lsblk, findmnt string) ([]inventory.Disk, []inventory.Volume) {
	t.Helper()
	devs, err := parseLsblk(ref(t, lsblk))
	if err != nil {
		t.Fatalf("parseLsblk: %v", err)
	}
	f := storageFacts{Devs: devs}
	if findmnt != "" {
		if f.Mounts, err = parseMounts(ref(t, findmnt)); err != nil {
			t.Fatalf("parseMounts: %v", err)
		}
	}
	return buildStorage(f)
}

func volumeByDevice(vols []inventory.Volume, dev string) *inventory.Volume {
	for i := range vols {
		if vols[i].Device == dev {
			return &vols[i]
		}
	}
	return nil
}

// TestLsblkEveryReferenceFile parses every lsblk file and checks that each
// yields disks, and that every partition lsblk lists lands in the model.
func TestLsblkEveryReferenceFile(t *testing.T) {
	for _, name := range refFiles(t, "lsblk") {
		t.Run(name, func(t *testing.T) {
			devs, err := parseLsblk(ref(t, name))
			if err != nil {
				t.Fatal(err)
			}
			disks, _ := buildStorage(storageFacts{Devs: devs})
			if len(disks) == 0 {
				t.Fatal("no disks")
			}
			parts := 0
			for _, d := range devs {
				for _, c := range d.Children {
					if c.Type.trim() == "part" {
						parts++
					}
				}
			}
			got := 0
			for _, d := range disks {
				got += len(d.Partitions)
				if d.SizeBytes == 0 || !strings.HasPrefix(d.Name, "/dev/") {
					t.Errorf("disk %+v", d)
				}
			}
			if got != parts {
				t.Errorf("%d partitions in the model, lsblk lists %d", got, parts)
			}
		})
	}
}

// TestLsblkLocalVM: the whole-disk ext4 /dev/vda of the build VM, as every
// util-linux version prints it; zram0 is left out.
func TestLsblkLocalVM(t *testing.T) {
	for _, name := range refFiles(t, "lsblk/local-vm") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			disks, vols := storageFromRef(t, name, "")
			if len(disks) != 1 {
				t.Fatalf("disks = %+v", disks)
			}
			d := disks[0]
			if d.Name != "/dev/vda" || d.SizeBytes != 274877906944 || d.Bus != "virtio" || d.SectorBytes != 512 ||
				d.PartitionTable != "" || len(d.Partitions) != 0 || !d.System || !d.Boot {
				t.Errorf("disk = %+v", d)
			}
			if d.Rotational == nil || !*d.Rotational {
				t.Errorf("rotational = %v, want true (virtio says so)", d.Rotational)
			}
			if len(vols) != 1 {
				t.Fatalf("volumes = %+v", vols)
			}
			v := vols[0]
			if v.Device != "/dev/vda" || v.Kind != "disk" || v.Disk != "/dev/vda" || v.Partition != 0 ||
				!slices.Equal(v.MountPoints, []string{"/"}) || !v.System {
				t.Errorf("volume = %+v", v)
			}
			// 2.32 has no fs* columns: usage is unknown without findmnt.
			if strings.Contains(name, "2.32.1") {
				if v.UsedBytes != nil || v.SizeBytes != 274877906944 {
					t.Errorf("2.32: size %d used %v", v.SizeBytes, v.UsedBytes)
				}
			} else if v.UsedBytes == nil || v.SizeBytes != 270553174016 || *v.UsedBytes < 32e9 || *v.UsedBytes > 33e9 {
				t.Errorf("fs size %d used %v", v.SizeBytes, v.UsedBytes)
			}
		})
	}
}

// TestLsblkWithFindmnt: findmnt supplies what lsblk cannot (no udev: fstype
// null; 2.32: no fs sizes).
func TestLsblkWithFindmnt(t *testing.T) {
	for _, tt := range []struct{ lsblk, findmnt string }{
		{"lsblk/local-vm/lsblk-J-b-O.util-linux-2.32.1.json", "findmnt/findmnt-J-b-o-sizecols.util-linux-2.33.1.json"},
		{"lsblk/local-vm/lsblk-J-b-O.util-linux-2.38.1.json", "findmnt/findmnt-J-b-o-sizecols.util-linux-2.38.1.json"},
	} {
		_, vols := storageFromRef(t, tt.lsblk, tt.findmnt)
		v := volumeByDevice(vols, "/dev/vda")
		if v == nil || v.FSType != "ext4" || v.UsedBytes == nil || v.SizeBytes != 270553174016 {
			t.Errorf("%s + %s: %+v", tt.lsblk, tt.findmnt, v)
		}
	}
}

// TestLsblkSimpleNVMe: util-linux's dump of a laptop with a SATA SSD (6
// partitions), a disk with one partition and an NVMe disk with three.
func TestLsblkSimpleNVMe(t *testing.T) {
	for _, name := range refFiles(t, "lsblk/sysroot-simple-nvme") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			disks, vols := storageFromRef(t, name, "")
			var names []string
			for _, d := range disks {
				names = append(names, d.Name)
			}
			if !slices.Equal(names, []string{"/dev/sda", "/dev/sdb", "/dev/nvme0n1"}) {
				t.Fatalf("disks = %v", names)
			}
			sda, nvme := disks[0], disks[2]
			if len(sda.Partitions) != 6 || len(disks[1].Partitions) != 1 || len(nvme.Partitions) != 3 {
				t.Errorf("partition counts %d %d %d", len(sda.Partitions), len(disks[1].Partitions), len(nvme.Partitions))
			}
			if sda.Model != "KINGSTON SH103S3" || sda.Vendor != "ATA" || !sda.System || !sda.Boot {
				t.Errorf("sda = %+v", sda)
			}
			if nvme.Model != "KINGSTON SKC1000240G" || nvme.Serial != "50026B728203601D" || nvme.Bus != "nvme" || nvme.System {
				t.Errorf("nvme = %+v", nvme)
			}
			for i, p := range nvme.Partitions {
				if p.Number != i+1 || p.Device != "/dev/nvme0n1p"+string(rune('1'+i)) {
					t.Errorf("nvme partition %d = %+v", i, p)
				}
			}
			// "start" exists from 2.38 on; before, the offset comes from sysfs.
			if strings.Contains(name, "2.38") || strings.Contains(name, "2.40") {
				if sda.Partitions[0].OffsetBytes != 2048*512 || sda.Partitions[3].OffsetBytes != 274087936*512 {
					t.Errorf("offsets %d %d", sda.Partitions[0].OffsetBytes, sda.Partitions[3].OffsetBytes)
				}
			}
			var mounted []string
			for _, v := range vols {
				mounted = append(mounted, v.Device+"="+strings.Join(v.MountPoints, ","))
			}
			want := []string{"/dev/sda1=/boot/efi", "/dev/sda2=/boot", "/dev/sda4=/", "/dev/sdb1=/home/archive", "/dev/nvme0n1p2=/home", "/dev/nvme0n1p3=/home/test"}
			if !slices.Equal(mounted, want) {
				t.Errorf("volumes %v, want %v", mounted, want)
			}
			root := volumeByDevice(vols, "/dev/sda4")
			if root == nil || !root.System || root.Boot || root.Kind != "partition" || root.Disk != "/dev/sda" || root.Partition != 4 {
				t.Errorf("root = %+v", root)
			}
			if b := volumeByDevice(vols, "/dev/sda2"); b == nil || !b.Boot || b.System {
				t.Errorf("/boot = %+v", b)
			}
		})
	}
}

// TestLsblkSysfsOffsets: without a start column, offsets and numbers come
// from /sys/class/block.
func TestLsblkSysfsOffsets(t *testing.T) {
	devs, err := parseLsblk(ref(t, "lsblk/sysroot-simple-nvme/lsblk-J-b-O.util-linux-2.33.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	sys, err := parseSysBlock([]byte("/sys/class/block/sda1/partition:1\n/sys/class/block/sda1/start:2048\n/sys/class/block/sda4/partition:4\n/sys/class/block/sda4/start:274087936\n"))
	if err != nil {
		t.Fatal(err)
	}
	disks, _ := buildStorage(storageFacts{Devs: devs, Sys: sys})
	if p := disks[0].Partitions; p[0].OffsetBytes != 2048*512 || p[3].OffsetBytes != 274087936*512 || p[1].OffsetBytes != 0 {
		t.Errorf("offsets %+v", p)
	}
}

// TestLsblkRAID: clr-installer's RAID5 md127 on sdb1 and sdc1.
func TestLsblkRAID(t *testing.T) {
	disks, vols := storageFromRef(t, "lsblk/fixtures/clr-installer-TestRAID.lsblk-J-b-O.json", "")
	if len(disks) != 2 {
		t.Fatalf("disks = %+v", disks)
	}
	for _, d := range disks {
		if d.PartitionTable != "gpt" || len(d.Partitions) != 1 || d.Bus != "sata" || d.System || d.Boot {
			t.Errorf("disk = %+v", d)
		}
		p := d.Partitions[0]
		if p.Type != "a19d880f-05fc-4d3b-a006-743f0f84911e" || p.FSType != "linux_raid_member" || p.Number != 1 {
			t.Errorf("partition = %+v", p)
		}
	}
	if len(vols) != 1 {
		t.Fatalf("volumes = %+v", vols)
	}
	v := vols[0]
	if v.Device != "/dev/md127" || v.Kind != "raid" || v.FSType != "xfs" || v.Label != "home" ||
		!slices.Equal(v.Parents, []string{"/dev/sdb1", "/dev/sdc1"}) || !slices.Equal(v.MountPoints, []string{"/home"}) ||
		v.SizeBytes != 4998202130432 || v.UsedBytes == nil || *v.UsedBytes != 207904522240 {
		t.Errorf("md127 = %+v", v)
	}
}

// TestLsblkLVMOnLUKS covers LVM, LUKS and swap, which no reference file
// shows. The input is constructed in the 2.38 shape with the values lsblk
// gives such a stack (type crypt and lvm, fstype crypto_LUKS and
// LVM2_member, "[SWAP]" as the mount point of active swap).
func TestLsblkLVMOnLUKS(t *testing.T) {
	in := `{"blockdevices":[{"name":"sda","path":"/dev/sda","type":"disk","size":10737418240,"pttype":"gpt","ptuuid":"0A1B2C3D-0000-4000-8000-000000000001","rm":false,"children":[
	 {"name":"sda1","path":"/dev/sda1","type":"part","size":536870912,"start":2048,"fstype":"vfat","parttype":"c12a7328-f81f-11d2-ba4b-00a0c93ec93b","mountpoints":["/boot/efi"]},
	 {"name":"sda2","path":"/dev/sda2","type":"part","size":10199482368,"start":1050624,"fstype":"crypto_LUKS","fsver":"2","children":[
	  {"name":"luks-1","kname":"dm-0","path":"/dev/mapper/luks-1","type":"crypt","size":10182705152,"fstype":"LVM2_member","children":[
	   {"name":"vg0-root","kname":"dm-1","path":"/dev/mapper/vg0-root","type":"lvm","size":8589934592,"fstype":"ext4","mountpoints":["/"],"fssize":8350000000,"fsused":2000000000},
	   {"name":"vg0-swap","kname":"dm-2","path":"/dev/mapper/vg0-swap","type":"lvm","size":1073741824,"fstype":"swap","mountpoints":["[SWAP]"]}]}]}]},
	 {"name":"sr0","type":"rom","size":1073741312},
	 {"name":"loop0","type":"loop","size":4096}]}`
	devs, err := parseLsblk([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	swaps, err := parseSwaps([]byte("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/dm-2                               partition\t1048572\t\t0\t\t-2\n"))
	if err != nil {
		t.Fatal(err)
	}
	disks, vols := buildStorage(storageFacts{Devs: devs, Swaps: swaps})
	if len(disks) != 1 || disks[0].PartitionTableID != "0a1b2c3d-0000-4000-8000-000000000001" || disks[0].PartitionTable != "gpt" {
		t.Fatalf("disks = %+v", disks)
	}
	var got []string
	for _, v := range vols {
		got = append(got, v.Device+":"+v.Kind)
	}
	want := []string{"/dev/sda1:partition", "/dev/mapper/luks-1:crypt", "/dev/mapper/vg0-root:lvm", "/dev/mapper/vg0-swap:lvm"}
	if !slices.Equal(got, want) {
		t.Fatalf("volumes %v, want %v", got, want)
	}
	root, swap, crypt := vols[2], vols[3], vols[1]
	if !root.LVM || !root.Encrypted || root.Encryption != "luks2" || !root.System || root.Boot || root.Parents[0] != "/dev/mapper/luks-1" {
		t.Errorf("root = %+v", root)
	}
	if !swap.Swap || len(swap.MountPoints) != 0 || !swap.Encrypted {
		t.Errorf("swap = %+v", swap)
	}
	if !crypt.Encrypted || crypt.LVM || crypt.Parents[0] != "/dev/sda2" {
		t.Errorf("crypt = %+v", crypt)
	}
	if efi := vols[0]; !efi.Boot || efi.Disk != "/dev/sda" || efi.Partition != 1 {
		t.Errorf("efi = %+v", efi)
	}
}

// TestLsblkOldLVMPaths: lsblk 2.32 (RHEL 8) has no PATH column; LVs are
// named after their mapper node. The row shape is that of the 2.32 reference
// file (all strings).
func TestLsblkOldLVMPaths(t *testing.T) {
	in := `{"blockdevices": [{"name": "sda", "kname": "sda", "type": "disk", "size": "21474836480", "rm": "0", "children": [
	  {"name": "sda1", "kname": "sda1", "type": "part", "size": "1073741824", "fstype": "xfs", "mountpoint": "/boot", "parttype": "0x83", "partflags": "0x80"},
	  {"name": "sda2", "kname": "sda2", "type": "part", "size": "20400046080", "fstype": "LVM2_member", "parttype": "0x8e", "children": [
	    {"name": "rhel-root", "kname": "dm-0", "type": "lvm", "size": "18249416704", "fstype": "xfs", "mountpoint": "/"},
	    {"name": "rhel-swap", "kname": "dm-1", "type": "lvm", "size": "2147483648", "fstype": "swap", "mountpoint": "[SWAP]"}]}]}]}`
	devs, err := parseLsblk([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	disks, vols := buildStorage(storageFacts{Devs: devs})
	if d := disks[0]; d.PartitionTable != "mbr" || !d.Partitions[0].Bootable || d.Partitions[1].Type != "0x8e" || d.Partitions[1].Number != 2 {
		t.Errorf("disk = %+v", d)
	}
	var got []string
	for _, v := range vols {
		got = append(got, v.Device)
	}
	if !slices.Equal(got, []string{"/dev/sda1", "/dev/mapper/rhel-root", "/dev/mapper/rhel-swap"}) || !vols[2].Swap || !vols[1].LVM {
		t.Errorf("volumes %v: %+v", got, vols)
	}
}

func TestParseFindmnt(t *testing.T) {
	for _, name := range refFiles(t, "findmnt") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			ms, err := parseMounts(ref(t, name))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(ms, func(m mountInfo) bool { return m.Target == "/" })
			if i < 0 || ms[i].Source != "/dev/vda" || ms[i].FSType != "ext4" {
				t.Fatalf("root mount missing: %+v", ms)
			}
			sized := strings.Contains(name, "sizecols")
			if ms[i].HasSize != sized || (sized && ms[i].Size != 270553174016) {
				t.Errorf("root = %+v", ms[i])
			}
			if len(ms) < 10 {
				t.Errorf("only %d mounts: children not walked", len(ms))
			}
		})
	}
}

func TestParseDF(t *testing.T) {
	// df -B1 --output=source,fstype,size,used,avail,target on the build VM.
	in := "Filesystem              Type        1B-blocks        Used       Avail Mounted on\n" +
		"devtmpfs                devtmpfs  12630491136           0 12630491136 /dev\n" +
		"/dev/vda                ext4     270553174016 12234854400 85558439936 /\n"
	ms, err := parseMounts([]byte(in))
	if err != nil || len(ms) != 2 || ms[1] != (mountInfo{Target: "/", Source: "/dev/vda", FSType: "ext4", Size: 270553174016, Used: 12234854400, HasSize: true}) {
		t.Errorf("got %+v, %v", ms, err)
	}
	if _, err := parseMounts([]byte("nonsense\n")); err == nil {
		t.Error("df without header parsed")
	}
}

func TestParseSwaps(t *testing.T) {
	b, err := readCaptured("proc-swaps.debian12-vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := parseSwaps(b); err != nil || len(s) != 0 {
		t.Errorf("no swap: %+v, %v", s, err)
	}
	s, err := parseSwaps([]byte("Filename\tType\tSize\tUsed\tPriority\n/swap\\040file file 2097148 0 -2\n"))
	if err != nil || len(s) != 1 || s[0] != (swapEntry{Device: "/swap file", Type: "file", SizeBytes: 2097148 * 1024}) {
		t.Errorf("swap file: %+v, %v", s, err)
	}
}

func TestParseLsblkErrors(t *testing.T) {
	for _, in := range []string{"", "{}", `{"blockdevices":{}}`, "lsblk: unknown column: START", `{"blockdevices":[{"name":["x"]}]}`} {
		if devs, err := parseLsblk([]byte(in)); err == nil {
			t.Errorf("parseLsblk(%q) = %+v, want an error", in, devs)
		}
	}
	if devs, err := parseLsblk([]byte(`{"blockdevices":[]}`)); err != nil || devs == nil {
		t.Errorf("empty list: %v, %v", devs, err)
	}
}

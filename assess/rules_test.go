package assess

import (
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

var testEnv = &Env{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}

// windowsHost is a clean Windows Server 2022 VM on Hyper-V that passes every rule
// that can be checked.
func windowsHost() *inventory.Host {
	return &inventory.Host{
		Name: "win", Transport: "winrm",
		Identity: inventory.Identity{Hostname: "WIN", Virtualization: "microsoft"},
		OS:       inventory.OS{Family: "windows", ID: "windows", Name: "Microsoft Windows Server 2022 Standard", Version: "10.0.20348", Build: "20348", Architecture: "x86_64", EndOfSupport: "2031-10-14"},
		CPU:      inventory.CPU{Cores: 2, Logical: 4}, Memory: inventory.Memory{TotalBytes: 16 << 30},
		Firmware: inventory.Firmware{Type: "uefi", SecureBoot: inventory.Bool(false)},
		Disks: []inventory.Disk{
			{Name: "Disk 0", SizeBytes: 127 << 30, PartitionTable: "gpt", System: true, Boot: true},
			{Name: "Disk 1", SizeBytes: 200 << 30, PartitionTable: "gpt"},
		},
		Volumes: []inventory.Volume{
			{Device: `\\?\Volume{1}\`, Disk: "Disk 0", DriveLetter: "C", FSType: "ntfs", System: true, Dirty: inventory.Bool(false), Encryption: "bitlocker:FullyDecrypted"},
			{Device: `\\?\Volume{2}\`, Disk: "Disk 1", DriveLetter: "D", FSType: "ntfs", Dirty: inventory.Bool(false)},
		},
		NICs:          []inventory.NIC{{Name: "Ethernet", DHCP: inventory.Bool(true), Addresses: []inventory.IPAddress{{Address: "10.0.0.5", Prefix: 24, Family: "ipv4", Origin: "dhcp"}}}},
		Ports:         []inventory.Port{{Protocol: "tcp", Address: "0.0.0.0", Port: 3389}},
		PendingReboot: inventory.Bool(false),
		Power:         inventory.Power{Hibernation: inventory.Bool(false), FastStartup: inventory.Bool(false)},
	}
}

// linuxHost is a clean Debian 12 VM on Hyper-V.
func linuxHost() *inventory.Host {
	return &inventory.Host{
		Name: "lin", Transport: "ssh",
		Identity: inventory.Identity{Hostname: "lin", Virtualization: "microsoft"},
		OS:       inventory.OS{Family: "linux", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Kernel: "6.1.0-18-amd64", Architecture: "x86_64", EndOfSupport: "2028-06-30"},
		CPU:      inventory.CPU{Cores: 2, Logical: 2}, Memory: inventory.Memory{TotalBytes: 4 << 30},
		Firmware: inventory.Firmware{Type: "uefi", SecureBoot: inventory.Bool(false)},
		Disks: []inventory.Disk{{Name: "/dev/sda", SizeBytes: 32 << 30, PartitionTable: "gpt", System: true, Boot: true,
			Partitions: []inventory.Partition{{Number: 1, Device: "/dev/sda1"}, {Number: 2, Device: "/dev/sda2"}}}},
		Volumes: []inventory.Volume{
			{Device: "/dev/sda1", Disk: "/dev/sda", Partition: 1, FSType: "vfat", MountPoints: []string{"/boot/efi"}, SizeBytes: 512 << 20, UsedBytes: inventory.Uint64(6 << 20)},
			{Device: "/dev/sda2", Disk: "/dev/sda", Partition: 2, FSType: "ext4", MountPoints: []string{"/"}, SizeBytes: 31 << 30, UsedBytes: inventory.Uint64(5 << 30), System: true},
		},
		NICs:          []inventory.NIC{{Name: "eth0", DHCP: inventory.Bool(true), Addresses: []inventory.IPAddress{{Address: "10.0.0.6", Prefix: 24, Family: "ipv4", Origin: "dhcp"}}}},
		Services:      []inventory.Service{{Name: "ssh", StartMode: "auto", State: "running"}},
		Software:      []inventory.Software{{Name: "waagent", Version: "2.9"}},
		PendingReboot: inventory.Bool(false),
	}
}

type ruleCase struct {
	name      string
	base      func() *inventory.Host
	mutate    func(h *inventory.Host)
	want      Verdict // "" means the rule passes
	unchecked bool
	contains  []string // in message + fix of the first finding
}

func ruleByID(t *testing.T, id string) Rule {
	for _, r := range Rules() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return Rule{}
}

func runCases(t *testing.T, id string, cases []ruleCase) {
	t.Helper()
	r := ruleByID(t, id)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.base()
			if c.mutate != nil {
				c.mutate(h)
			}
			fs := r.Check(h, testEnv)
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want pass, got %+v", fs)
				}
				return
			}
			if len(fs) == 0 {
				t.Fatalf("want %s, rule passed", c.want)
			}
			f := fs[0]
			if f.Verdict != c.want || f.Unchecked != c.unchecked {
				t.Fatalf("got %s unchecked=%v, want %s unchecked=%v: %s", f.Verdict, f.Unchecked, c.want, c.unchecked, f.Message)
			}
			if f.Message == "" || f.Fix == "" {
				t.Fatalf("finding without message or fix: %+v", f)
			}
			for _, s := range c.contains {
				if !strings.Contains(f.Message+"\n"+f.Fix, s) {
					t.Errorf("%q missing from\n%s\n%s", s, f.Message, f.Fix)
				}
			}
		})
	}
}

// TestCleanHostsPass: the two base hosts pass every rule except the ones that
// cannot be checked from an inventory, which say so.
func TestCleanHostsPass(t *testing.T) {
	alwaysUnchecked := map[string]bool{"windows.san-policy": true, "linux.fstab": true, "linux.serial-console": true, "linux.persistent-net": true}
	for _, h := range []*inventory.Host{windowsHost(), linuxHost()} {
		for _, r := range rules {
			if r.OS != "" && r.OS != h.OS.Family {
				continue
			}
			fs := r.Check(h, testEnv)
			switch {
			case alwaysUnchecked[r.ID]:
				if len(fs) != 1 || !fs[0].Unchecked || fs[0].Verdict != Conditional {
					t.Errorf("%s %s: want one unchecked condition, got %+v", h.Name, r.ID, fs)
				}
			case len(fs) != 0:
				t.Errorf("%s %s: clean host has findings %+v", h.Name, r.ID, fs)
			}
		}
	}
}

func TestRuleIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if r.ID == "" || r.Title == "" || seen[r.ID] {
			t.Errorf("rule %q: empty or duplicate id/title", r.ID)
		}
		seen[r.ID] = true
		if r.ID != sizeRule.ID && r.Check == nil {
			t.Errorf("rule %s has no check", r.ID)
		}
	}
}

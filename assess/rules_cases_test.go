package assess

import (
	"testing"

	"github.com/shift-migrate/shift/inventory"
)

// One table per rule. Each covers pass, the failing verdict with its evidence
// and fix, and unknown data, which must never pass silently.

func TestRuleOSAzureSupported(t *testing.T) {
	runCases(t, "os.azure-supported", []ruleCase{
		{name: "2022 passes", base: windowsHost},
		{name: "32-bit", base: windowsHost, mutate: func(h *inventory.Host) { h.OS.Architecture = "i686" }, want: NotReady, contains: []string{"os.architecture = i686", "64-bit"}},
		{name: "unknown arch", base: windowsHost, mutate: func(h *inventory.Host) { h.OS.Architecture = "" }, want: Conditional, unchecked: true},
		{name: "2003", base: windowsHost, mutate: func(h *inventory.Host) { h.OS.Build = "3790" }, want: NotReady, contains: []string{"build 3790"}},
		{name: "2008", base: windowsHost, mutate: func(h *inventory.Host) { h.OS.Build = "6003" }, want: Conditional, contains: []string{"Gen1", "SP2"}},
		{name: "client", base: windowsHost, mutate: func(h *inventory.Host) { h.OS.Name = "Microsoft Windows 10 Enterprise" }, want: Conditional, contains: []string{"licence"}},
		{name: "old kernel", base: linuxHost, mutate: func(h *inventory.Host) { h.OS.Kernel = "2.6.18-398.el5" }, want: NotReady, contains: []string{"2.6.32"}},
		{name: "el6 kernel", base: linuxHost, mutate: func(h *inventory.Host) { h.OS.Kernel = "2.6.32-754.el6.x86_64" }},
		{name: "unreadable kernel", base: linuxHost, mutate: func(h *inventory.Host) { h.OS.Kernel = "" }, want: Conditional, unchecked: true},
	})
}

func TestRuleOSEndOfSupport(t *testing.T) {
	runCases(t, "os.end-of-support", []ruleCase{
		{name: "in support", base: windowsHost},
		{name: "2012 R2", base: windowsHost, mutate: func(h *inventory.Host) {
			h.OS.Name, h.OS.Build, h.OS.EndOfSupport = "Microsoft Windows Server 2012 R2 Standard", "9600", "2023-10-10"
		}, want: Conditional, contains: []string{"since 2023-10-10", "os.endOfSupport", "in-place upgrade"}},
		{name: "date from lifecycle table", base: windowsHost, mutate: func(h *inventory.Host) {
			h.OS.Name, h.OS.Build, h.OS.EndOfSupport = "Microsoft Windows Server 2008 R2 Enterprise", "7601", ""
		}, want: Conditional, contains: []string{"2020-01-14"}},
		{name: "CentOS 6", base: linuxHost, mutate: func(h *inventory.Host) {
			h.OS.ID, h.OS.Version, h.OS.Name, h.OS.EndOfSupport = "centos", "6", "CentOS 6", ""
		},
			want: Conditional, contains: []string{"2020-11-30", "convert2rhel"}},
		{name: "unknown distribution", base: linuxHost, mutate: func(h *inventory.Host) { h.OS.ID, h.OS.EndOfSupport = "gentoo", "" }, want: Conditional, unchecked: true},
	})
}

func TestRulePhysical(t *testing.T) {
	runCases(t, "host.physical", []ruleCase{
		{name: "vm", base: windowsHost},
		{name: "physical with agents", base: windowsHost, mutate: func(h *inventory.Host) {
			h.Identity.Virtualization, h.Identity.Manufacturer = "none", "HP"
			h.Software = []inventory.Software{{Name: "HPE Insight Management Agents"}, {Name: "7-Zip"}}
		}, want: Conditional, contains: []string{"identity.virtualization = none", "HPE Insight Management Agents", "Uninstall-Package"}},
	})
}

func TestRuleSecureBoot(t *testing.T) {
	runCases(t, "firmware.secure-boot", []ruleCase{
		{name: "off", base: windowsHost},
		{name: "bios unknown is fine", base: windowsHost, mutate: func(h *inventory.Host) { h.Firmware = inventory.Firmware{Type: "bios"} }},
		{name: "on", base: windowsHost, mutate: func(h *inventory.Host) { h.Firmware.SecureBoot = inventory.Bool(true) },
			want: NotReady, contains: []string{"Secure Boot is on (firmware.secureBoot = true)", "Set-VMFirmware", "TrustedLaunch"}},
		{name: "uefi unknown", base: windowsHost, mutate: func(h *inventory.Host) { h.Firmware.SecureBoot = nil }, want: Conditional, unchecked: true, contains: []string{"Confirm-SecureBootUEFI"}},
	})
}

func TestRuleGeneration(t *testing.T) {
	runCases(t, "firmware.generation", []ruleCase{
		{name: "uefi gpt", base: windowsHost},
		{name: "bios mbr", base: windowsHost, mutate: func(h *inventory.Host) { h.Firmware.Type, h.Disks[0].PartitionTable = "bios", "mbr" }},
		{name: "uefi mbr", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].PartitionTable = "mbr" }, want: Conditional, contains: []string{"mbr2gpt"}},
		{name: "bios gpt", base: linuxHost, mutate: func(h *inventory.Host) { h.Firmware.Type = "bios" }, want: Conditional, contains: []string{"Gen1"}},
		{name: "unknown", base: linuxHost, mutate: func(h *inventory.Host) { h.Firmware.Type = "" }, want: Conditional, unchecked: true},
	})
}

func TestRuleOSDiskSize(t *testing.T) {
	runCases(t, "disk.os-size", []ruleCase{
		{name: "small", base: windowsHost},
		{name: "3 TiB on Gen2", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].SizeBytes = 3 << 40 }},
		{name: "3 TiB on Gen1", base: windowsHost, mutate: func(h *inventory.Host) { h.Firmware.Type, h.Disks[0].SizeBytes = "bios", 3<<40 },
			want: NotReady, contains: []string{"disks[Disk 0].sizeBytes", "Gen1 limit of 2048.0 GiB", "mbr2gpt"}},
		{name: "5 TiB on Gen2", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].SizeBytes = 5 << 40 }, want: NotReady, contains: []string{"Gen2 limit"}},
		{name: "no system disk", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].System, h.Disks[0].Boot = false, false }, want: Conditional, unchecked: true},
	})
}

func TestRuleDataDiskSize(t *testing.T) {
	runCases(t, "disk.data-size", []ruleCase{
		{name: "small", base: windowsHost},
		{name: "32767 GiB fits", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[1].SizeBytes = 32767 << 30 }},
		{name: "40 TiB", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[1].SizeBytes = 40 << 40 }, want: NotReady, contains: []string{"Disk 1", "32,767 GiB", "Storage Spaces"}},
	})
}

func TestRuleDiskCount(t *testing.T) {
	many := func(n int) func(h *inventory.Host) {
		return func(h *inventory.Host) {
			for i := 0; i < n; i++ {
				h.Disks = append(h.Disks, inventory.Disk{Name: "extra", SizeBytes: 1 << 30})
			}
		}
	}
	runCases(t, "disk.count", []ruleCase{
		{name: "64", base: windowsHost, mutate: many(63)},
		{name: "65", base: windowsHost, mutate: many(64), want: NotReady, contains: []string{"65 data disks", "64"}},
	})
}

func TestRuleDynamic(t *testing.T) {
	runCases(t, "disk.dynamic", []ruleCase{
		{name: "basic", base: windowsHost},
		{name: "dynamic system", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].Dynamic = true }, want: NotReady, contains: []string{"disks[Disk 0].dynamic = true", "convert basic"}},
		{name: "dynamic data", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[1].Dynamic = true }, want: Conditional, contains: []string{"import"}},
		{name: "spanned system volume", base: windowsHost, mutate: func(h *inventory.Host) { h.Volumes[0].Parents = []string{"Disk 0", "Disk 1"} }, want: NotReady, contains: []string{"spans Disk 0, Disk 1"}},
		{name: "lvm over two disks is not spanned NTFS", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/mapper/vg-data", Kind: "lvm", Parents: []string{"/dev/sdb", "/dev/sdc"}})
		}},
	})
}

func TestRuleShared(t *testing.T) {
	runCases(t, "disk.shared", []ruleCase{
		{name: "local", base: windowsHost},
		{name: "shared", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[1].Shared = true }, want: NotReady, contains: []string{"disks[Disk 1].shared = true", "maxShares"}},
	})
}

func TestRuleMultipath(t *testing.T) {
	runCases(t, "disk.multipath", []ruleCase{
		{name: "single path", base: windowsHost},
		{name: "mpio windows", base: windowsHost, mutate: func(h *inventory.Host) { h.Disks[0].Multipath = true }, want: NotReady, contains: []string{"mpclaim"}},
		{name: "dm-multipath", base: linuxHost, mutate: func(h *inventory.Host) { h.Disks[0].Multipath = true }, want: NotReady, contains: []string{"multipathd"}},
	})
}

func TestRuleBitLocker(t *testing.T) {
	runCases(t, "encryption.bitlocker", []ruleCase{
		{name: "decrypted", base: windowsHost},
		{name: "encrypted C:", base: windowsHost, mutate: func(h *inventory.Host) {
			h.Volumes[0].Encrypted, h.Volumes[0].Encryption = true, "bitlocker:FullyEncrypted"
		}, want: NotReady, contains: []string{"C: is BitLocker FullyEncrypted (volumes[C:].encryption", "manage-bde -off C:", "Fully Decrypted", "Suspend-BitLocker is not enough", "RebootCount"}},
		{name: "in progress", base: windowsHost, mutate: func(h *inventory.Host) { h.Volumes[1].Encryption = "bitlocker:EncryptionInProgress" },
			want: NotReady, contains: []string{"D: is BitLocker EncryptionInProgress", "Wait for the conversion"}},
		{name: "partition signature only", base: windowsHost, mutate: func(h *inventory.Host) { h.Volumes[1].Encryption, h.Volumes[1].FSType = "", "BitLocker" }, want: NotReady},
	})
}

func TestRuleLUKS(t *testing.T) {
	runCases(t, "encryption.luks", []ruleCase{
		{name: "none", base: linuxHost},
		{name: "root on luks", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes[1].MountPoints = nil
			h.Volumes[1].FSType, h.Volumes[1].System = "crypto_LUKS", false
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/mapper/root", Kind: "crypt", Parents: []string{"/dev/sda2"}, MountPoints: []string{"/"}, FSType: "ext4"})
		}, want: NotReady, contains: []string{"fsType = crypto_LUKS", "cryptsetup reencrypt --decrypt"}},
		{name: "data on luks", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/sdb1", Encrypted: true, Encryption: "luks2"})
		}, want: Conditional, contains: []string{"crypttab"}},
	})
}

func TestRuleFastStartup(t *testing.T) {
	runCases(t, "windows.fast-startup", []ruleCase{
		{name: "off", base: windowsHost},
		{name: "hibernation on", base: windowsHost, mutate: func(h *inventory.Host) { h.Power.Hibernation = inventory.Bool(true) }, want: NotReady, contains: []string{"power.hibernation = true", "powercfg /h off"}},
		{name: "fast startup on", base: windowsHost, mutate: func(h *inventory.Host) { h.Power.FastStartup = inventory.Bool(true) }, want: NotReady, contains: []string{"Fast Startup"}},
		{name: "unknown", base: windowsHost, mutate: func(h *inventory.Host) { h.Power = inventory.Power{} }, want: Conditional, unchecked: true, contains: []string{"powercfg /a"}},
	})
}

func TestRuleDirtyNTFS(t *testing.T) {
	runCases(t, "windows.dirty-ntfs", []ruleCase{
		{name: "clean", base: windowsHost},
		{name: "dirty D:", base: windowsHost, mutate: func(h *inventory.Host) { h.Volumes[1].Dirty = inventory.Bool(true) }, want: NotReady, contains: []string{"volumes[D:].dirty = true", "chkdsk D: /f"}},
		{name: "unknown", base: windowsHost, mutate: func(h *inventory.Host) { h.Volumes[1].Dirty = nil }, want: Conditional, unchecked: true, contains: []string{"fsutil dirty query"}},
	})
}

func TestRulePendingReboot(t *testing.T) {
	runCases(t, "os.pending-reboot", []ruleCase{
		{name: "none", base: windowsHost},
		{name: "pending", base: windowsHost, mutate: func(h *inventory.Host) {
			h.PendingReboot, h.PendingRebootReasons = inventory.Bool(true), []string{"CBS"}
		}, want: Conditional, contains: []string{"(CBS)", "pendingReboot = true", "Restart"}},
		{name: "unknown linux", base: linuxHost, mutate: func(h *inventory.Host) { h.PendingReboot = nil }, want: Conditional, unchecked: true, contains: []string{"needs-restarting"}},
	})
}

func TestRuleWindowsDrivers(t *testing.T) {
	vmware := func(h *inventory.Host) { h.Identity.Virtualization = "vmware" }
	runCases(t, "windows.storage-drivers", []ruleCase{
		{name: "on hyper-v", base: windowsHost},
		{name: "vmware, drivers not listed", base: windowsHost, mutate: vmware, want: Conditional, unchecked: true, contains: []string{"Start must be 0"}},
		{name: "vmware, boot start", base: windowsHost, mutate: func(h *inventory.Host) {
			vmware(h)
			h.Services = []inventory.Service{{Name: "storvsc", StartMode: "boot"}, {Name: "vmbus", StartMode: "boot"}}
		}},
		{name: "vmware, demand start", base: windowsHost, mutate: func(h *inventory.Host) {
			vmware(h)
			h.Services = []inventory.Service{{Name: "storvsc", StartMode: "manual"}, {Name: "vmbus", StartMode: "boot"}}
		}, want: NotReady, contains: []string{"storvsc starts manual", "INACCESSIBLE_BOOT_DEVICE", "-Value 0"}},
	})
}

func TestRuleSANPolicy(t *testing.T) {
	runCases(t, "windows.san-policy", []ruleCase{
		{name: "never collected", base: windowsHost, want: Conditional, unchecked: true, contains: []string{"san policy=OnlineAll"}},
	})
}

func TestRuleRDP(t *testing.T) {
	runCases(t, "windows.rdp", []ruleCase{
		{name: "listening", base: windowsHost},
		{name: "not listening", base: windowsHost, mutate: func(h *inventory.Host) {
			h.Ports = []inventory.Port{{Protocol: "tcp", Port: 445}}
			h.Services = []inventory.Service{{Name: "TermService", StartMode: "disabled", State: "stopped"}}
		}, want: Conditional, contains: []string{"TermService disabled/stopped", "fDenyTSConnections"}},
		{name: "no ports read", base: windowsHost, mutate: func(h *inventory.Host) { h.Ports = nil }, want: Conditional, unchecked: true},
	})
}

func TestRuleTeam(t *testing.T) {
	team := func(h *inventory.Host) {
		h.NICs = append(h.NICs, inventory.NIC{Name: "Team1", Team: true, Members: []string{"NIC1", "NIC2"}})
	}
	runCases(t, "network.team", []ruleCase{
		{name: "single nic", base: windowsHost},
		{name: "lbfo", base: windowsHost, mutate: team, want: NotReady, contains: []string{"Team1 is a NIC team of NIC1, NIC2 (nics[Team1].team = true)", "Remove-NetLbfoTeam -Name 'Team1'"}},
		{name: "bond", base: linuxHost, mutate: team, want: NotReady, contains: []string{"nmcli"}},
	})
}

func TestRuleStaticIP(t *testing.T) {
	static := func(h *inventory.Host) {
		h.NICs[0].DHCP = inventory.Bool(false)
		h.NICs[0].Addresses[0].Origin = "static"
	}
	runCases(t, "network.static-ip", []ruleCase{
		{name: "dhcp", base: windowsHost},
		{name: "static windows", base: windowsHost, mutate: static, want: Conditional, contains: []string{"10.0.0.5/24 on Ethernet is a static address", "static 10.0.0.5", "-Dhcp Enabled"}},
		{name: "static linux", base: linuxHost, mutate: static, want: Conditional, contains: []string{"ipv4.method auto"}},
		{name: "origin from dhcp flag", base: windowsHost, mutate: func(h *inventory.Host) { h.NICs[0].DHCP, h.NICs[0].Addresses[0].Origin = inventory.Bool(false), "" }, want: Conditional},
		{name: "unknown", base: windowsHost, mutate: func(h *inventory.Host) { h.NICs[0].DHCP, h.NICs[0].Addresses[0].Origin = nil, "" }, want: Conditional, unchecked: true},
		{name: "virtual nic ignored", base: windowsHost, mutate: func(h *inventory.Host) { static(h); h.NICs[0].Virtual = true }, want: Conditional, unchecked: true},
	})
}

func TestRuleHyperVDrivers(t *testing.T) {
	runCases(t, "linux.hyperv-drivers", []ruleCase{
		{name: "on hyper-v", base: linuxHost},
		{name: "on vmware", base: linuxHost, mutate: func(h *inventory.Host) { h.Identity.Virtualization = "vmware" }, want: Conditional, unchecked: true, contains: []string{"lsinitramfs", "dracut -f --add-drivers"}},
	})
}

func TestRuleLinuxUncollected(t *testing.T) {
	for id, want := range map[string]string{"linux.fstab": "UUID=", "linux.serial-console": "console=ttyS0", "linux.persistent-net": "70-persistent-net.rules"} {
		t.Run(id, func(t *testing.T) {
			runCases(t, id, []ruleCase{{name: "not collected", base: linuxHost, want: Conditional, unchecked: true, contains: []string{want}}})
		})
	}
}

func TestRuleSwapLVM(t *testing.T) {
	runCases(t, "linux.os-disk-layout", []ruleCase{
		{name: "plain", base: linuxHost},
		{name: "swap on os disk", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/sda3", Disk: "/dev/sda", FSType: "swap", Swap: true})
		}, want: Conditional, contains: []string{"volumes[/dev/sda3].swap", "ResourceDisk.EnableSwap"}},
		{name: "lvm root", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/mapper/vg0-root", Kind: "lvm", LVM: true, Parents: []string{"/dev/sda2"}})
		}, want: Conditional, contains: []string{"vgrename"}},
	})
}

func TestRuleBootSpace(t *testing.T) {
	runCases(t, "linux.boot-space", []ruleCase{
		{name: "root has room", base: linuxHost},
		{name: "full /boot", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Volumes = append(h.Volumes, inventory.Volume{Device: "/dev/sda3", MountPoints: []string{"/boot"}, SizeBytes: 256 << 20, UsedBytes: inventory.Uint64(230 << 20)})
		}, want: Conditional, contains: []string{"/boot has 26 MiB free", "autoremove"}},
		{name: "unknown usage", base: linuxHost, mutate: func(h *inventory.Host) { h.Volumes[1].UsedBytes = nil }, want: Conditional, unchecked: true},
	})
}

func TestRuleSSHD(t *testing.T) {
	runCases(t, "linux.sshd", []ruleCase{
		{name: "enabled", base: linuxHost},
		{name: "disabled", base: linuxHost, mutate: func(h *inventory.Host) { h.Services[0].StartMode = "disabled" }, want: Conditional, contains: []string{"systemctl enable"}},
		{name: "absent", base: linuxHost, mutate: func(h *inventory.Host) { h.Services = nil }, want: Conditional, contains: []string{"openssh-server"}},
		{name: "unknown start mode", base: linuxHost, mutate: func(h *inventory.Host) { h.Services[0].StartMode = "" }, want: Conditional, unchecked: true},
	})
}

func TestRuleAzureAgent(t *testing.T) {
	runCases(t, "linux.azure-agent", []ruleCase{
		{name: "installed", base: linuxHost},
		{name: "missing", base: linuxHost, mutate: func(h *inventory.Host) { h.Software = nil }, want: Conditional, contains: []string{"Provisioning.Agent=disabled"}},
	})
}

func TestRuleIncomplete(t *testing.T) {
	runCases(t, "discovery.incomplete", []ruleCase{
		{name: "complete", base: windowsHost},
		{name: "note only", base: linuxHost, mutate: func(h *inventory.Host) {
			h.Errors = []inventory.Error{{Step: "services", Kind: inventory.ErrUnsupported, Message: "no systemd"}}
		}},
		{name: "failed step", base: windowsHost, mutate: func(h *inventory.Host) {
			h.Errors = []inventory.Error{{Step: "sqlserver", Kind: inventory.ErrPermission, Message: "access denied", Hint: "add the account to sysadmin"}}
		}, want: Conditional, unchecked: true, contains: []string{`"sqlserver" failed (permission): access denied`, "add the account to sysadmin"}},
	})
}

func sqlHost(version, release, end string) func() *inventory.Host {
	return func() *inventory.Host {
		h := windowsHost()
		h.SQLServer = []inventory.SQLInstance{{Name: "MSSQLSERVER", Version: version, Release: release, EndOfSupport: end,
			Databases: []inventory.SQLDatabase{{Name: "master", State: "ONLINE", System: true}, {Name: "App", State: "ONLINE"}}}}
		return h
	}
}

func TestRuleSQLFCI(t *testing.T) {
	runCases(t, "sql.failover-cluster", []ruleCase{
		{name: "standalone", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08")},
		{name: "fci", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08"), mutate: func(h *inventory.Host) { h.SQLServer[0].Clustered = true },
			want: NotReady, contains: []string{"sqlServer[MSSQLSERVER].clustered = true", "availability group"}},
	})
}

func TestRuleSQLSupport(t *testing.T) {
	runCases(t, "sql.support", []ruleCase{
		{name: "2019", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08")},
		{name: "2014", base: sqlHost("12.0.6329.1", "SQL Server 2014", "2024-07-09"), want: Conditional, contains: []string{"SQL Server 2014", "since 2024-07-09", "Extended Security Updates"}},
		{name: "date from version", base: sqlHost("11.0.7001.0", "", ""), want: Conditional, contains: []string{"SQL Server 2012", "2022-07-12"}},
		{name: "unknown version", base: sqlHost("", "", ""), want: Conditional, unchecked: true},
	})
}

func TestRuleSQLDatabases(t *testing.T) {
	runCases(t, "sql.databases", []ruleCase{
		{name: "online", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08")},
		{name: "offline", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08"), mutate: func(h *inventory.Host) { h.SQLServer[0].Databases[1].State = "OFFLINE" },
			want: Conditional, contains: []string{"App on instance MSSQLSERVER is OFFLINE", "SET ONLINE"}},
	})
}

func spHost(build string) func() *inventory.Host {
	return func() *inventory.Host {
		h := windowsHost()
		h.SharePoint = &inventory.SharePointFarm{Build: build}
		return h
	}
}

func TestRuleSharePointSupport(t *testing.T) {
	runCases(t, "sharepoint.support", []ruleCase{
		{name: "none", base: windowsHost},
		{name: "2019 in 2025", base: spHost("16.0.10337.12109")},
		{name: "subscription edition", base: spHost("16.0.17328.20000")},
		{name: "2013", base: spHost("15.0.5545.1000"), want: Conditional, contains: []string{"SharePoint Server 2013", "2023-04-11", "Subscription Edition"}},
		{name: "unknown build", base: spHost("x"), want: Conditional, unchecked: true},
	})
}

func TestRuleColocated(t *testing.T) {
	runCases(t, "workload.sql-sharepoint-colocated", []ruleCase{
		{name: "sql only", base: sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08")},
		{name: "sharepoint only", base: spHost("16.0.10337.12109")},
		{name: "both", base: func() *inventory.Host {
			h := sqlHost("15.0.4355.3", "SQL Server 2019", "2030-01-08")()
			h.SharePoint = &inventory.SharePointFarm{Build: "16.0.10337.12109"}
			return h
		}, want: Conditional, contains: []string{"same host", "SharePoint Server 2019", "SPTimerV4", "max server memory"}},
	})
}

package assess

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// Rules about the machine as a whole: OS, firmware, disks, network. Each
// function returns its findings; none means the rule passed.

func checkOSSupportedOnAzure(h *inventory.Host, env *Env) []Finding {
	arch := h.OS.Architecture
	switch {
	case arch == "":
		// The remaining checks still run; the size rule and the OS name say enough
		// for the common case, so an unknown architecture is a condition.
		return []Finding{unchecked("the OS architecture is unknown (os.architecture)",
			"Windows: `(Get-CimInstance Win32_OperatingSystem).OSArchitecture`; Linux: `uname -m`. Azure runs x86-64 guests from this catalog.",
			ev("os.architecture", arch))}
	case arch != "x86_64":
		return []Finding{blocker(
			fmt.Sprintf("The OS is %s, not x86-64 (os.architecture = %s): Azure's x86 VM sizes run only 64-bit x86 guests, and a disk copy cannot change the architecture.", arch, arch),
			"Rebuild the server on a 64-bit OS (x86_64) and move the application and data onto it; then migrate the new server.",
			ev("os.architecture", arch))}
	}
	if h.OS.Family == "windows" {
		build := windowsBuild(h.OS)
		switch {
		case build == 0:
		case build < 6000:
			return []Finding{blocker(
				fmt.Sprintf("%s (build %d, os.build) is older than Windows Server 2008: Azure does not run it, and it has no Hyper-V storage drivers.", h.OS.Name, build),
				"Upgrade or rebuild on Windows Server 2016 or later before the move; a block copy of this OS will not boot on Azure.",
				ev("os.build", build))}
		case build < 7600:
			return []Finding{condition(
				fmt.Sprintf("%s (build %d, os.build) is Windows Server 2008 (not R2): Azure runs it only as a Gen1 VM with SP2 and Hyper-V integration services installed, and it is out of support.", h.OS.Name, build),
				"Install SP2 and the Hyper-V integration components (KB3063109) before replication, or upgrade to a supported Windows Server first.",
				ev("os.build", build))}
		}
		if !strings.Contains(strings.ToLower(h.OS.Name), "server") {
			return []Finding{condition(
				fmt.Sprintf("%s (os.name) is a client edition of Windows: running it on Azure needs the right licence (Windows 10/11 Enterprise E3/E5 per user, or Azure Virtual Desktop).", h.OS.Name),
				"Confirm the licence with your Microsoft agreement before the move, or move the workload to Windows Server.",
				ev("os.name", h.OS.Name))}
		}
		return nil
	}
	if h.OS.Family == "linux" {
		maj, min, patch, ok := kernelVersion(h.OS.Kernel)
		if !ok {
			return []Finding{unchecked(fmt.Sprintf("the kernel version %q (os.kernel) could not be read", h.OS.Kernel),
				"`uname -r` must be 2.6.32 or later (the Hyper-V drivers hv_vmbus, hv_storvsc, hv_netvsc).", ev("os.kernel", h.OS.Kernel))}
		}
		if maj < 2 || (maj == 2 && (min < 6 || (min == 6 && patch < 32))) {
			return []Finding{blocker(
				fmt.Sprintf("Kernel %s (os.kernel) predates the Hyper-V drivers (2.6.32): the copy would not find its disks on Azure.", h.OS.Kernel),
				"Upgrade the distribution to a release with kernel 2.6.32 or later (RHEL/CentOS 6+, with Linux Integration Services on 6.x) before the move.",
				ev("os.kernel", h.OS.Kernel))}
		}
	}
	return nil
}

func windowsBuild(os inventory.OS) int {
	b := os.Build
	if b == "" {
		parts := strings.Split(os.Version, ".")
		b = parts[len(parts)-1]
	}
	n, _ := strconv.Atoi(strings.TrimSpace(b))
	return n
}

var kernelRE = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)

func kernelVersion(k string) (maj, min, patch int, ok bool) {
	m := kernelRE.FindStringSubmatch(k)
	if m == nil {
		return 0, 0, 0, false
	}
	maj, _ = strconv.Atoi(m[1])
	min, _ = strconv.Atoi(m[2])
	patch, _ = strconv.Atoi(m[3])
	return maj, min, patch, true
}

// osEndOfSupport is the inventory's date, else the lifecycle tables'.
func osEndOfSupport(h *inventory.Host) string {
	if h.OS.EndOfSupport != "" {
		return h.OS.EndOfSupport
	}
	if h.OS.Family == "windows" {
		return inventory.WindowsEndOfSupport(h.OS.Name, h.OS.Build)
	}
	return inventory.OSEndOfSupport(h.OS.ID, h.OS.Version)
}

func checkOSEndOfSupport(h *inventory.Host, env *Env) []Finding {
	date := osEndOfSupport(h)
	ended, known := env.ended(date)
	if !known {
		return []Finding{unchecked(fmt.Sprintf("shift does not know when support for %s (os.name) ends", orUnknown(h.OS.Name)),
			"look the release up in the vendor's lifecycle pages (Microsoft Lifecycle, Red Hat Product Life Cycles, the distribution's release notes).",
			ev("os.endOfSupport", date))}
	}
	if !ended {
		return nil
	}
	fix := "Upgrade the OS to a supported release before the move (in-place upgrade, or rebuild and migrate the application), or cover the gap with paid extended support."
	if h.OS.Family == "windows" {
		fix = "Upgrade to a supported Windows Server (in-place upgrade of up to two releases at a time, e.g. 2012 R2 → 2016 → 2019/2022), before or after the move. On Azure VMs, Extended Security Updates for Windows Server 2012/2012 R2 were offered at no extra cost until 2026-10-13 (enabled through Azure Arc / the VM's ESU licence); check the current terms before relying on them."
	} else if id := h.OS.ID; id == "rhel" || id == "centos" || id == "ol" || id == "rocky" || id == "almalinux" {
		fix = "Upgrade the distribution (RHEL: `leapp` in-place upgrade from 7 to 8 to 9; CentOS: convert to RHEL, Rocky or AlmaLinux with `convert2rhel` or the migrate script), or buy the vendor's extended life-cycle support."
	}
	return []Finding{condition(
		fmt.Sprintf("%s is out of vendor support since %s (os.endOfSupport = %s): it moves, but receives no security fixes.", h.OS.Name, date, date),
		fix, ev("os.endOfSupport", date))}
}

func orUnknown(s string) string {
	if s == "" {
		return "this OS"
	}
	return s
}

var vendorAgentRE = regexp.MustCompile(`(?i)\b(hpe?|dell|lenovo|fujitsu|insight|openmanage|ilo|idrac|broadcom|qlogic|emulex|system management homepage)\b`)

func checkPhysical(h *inventory.Host, env *Env) []Finding {
	if h.Identity.Virtualization != "none" {
		return nil
	}
	var agents []string
	for _, s := range h.Software {
		if vendorAgentRE.MatchString(s.Name) || vendorAgentRE.MatchString(s.Publisher) {
			agents = append(agents, s.Name)
		}
	}
	msg := fmt.Sprintf("This is a physical server (identity.virtualization = none, %s %s).", h.Identity.Manufacturer, h.Identity.Model)
	if len(agents) > 0 {
		msg += " Hardware vendor software is installed: " + strings.Join(agents, ", ") + " (software)."
	}
	msg += " Its drivers and agents expect hardware that the Azure VM does not have; they fail or log errors after the move."
	return []Finding{condition(msg,
		"After cutover, uninstall the vendor agents and drivers (Windows: Settings → Apps, or `Get-Package -Name '<name>' | Uninstall-Package`; Linux: remove the packages), and remove vendor-specific services set to start automatically. Plan downtime for the reboot this needs.",
		ev("identity.virtualization", h.Identity.Virtualization))}
}

func checkSecureBoot(h *inventory.Host, env *Env) []Finding {
	sb := h.Firmware.SecureBoot
	switch {
	case sb == nil && h.Firmware.Type == "bios":
		return nil
	case sb == nil:
		return []Finding{unchecked("whether Secure Boot is on is unknown (firmware.secureBoot)",
			"Windows: `Confirm-SecureBootUEFI` (True/False; an error means BIOS); Linux: `mokutil --sb-state`.",
			ev("firmware.secureBoot", sb))}
	case !*sb:
		return nil
	}
	return []Finding{blocker(
		"Secure Boot is on (firmware.secureBoot = true). A block copy carries no firmware keys: the standard Gen2 VM shift creates boots without Secure Boot, so protection would silently change, and anything sealed to the source's measured boot (BitLocker TPM protectors, attestation) will not unseal on Azure.",
		"Turn Secure Boot off on the source before replication: VMware: power off, VM Options → Boot Options → clear 'Secure Boot'; Hyper-V: `Set-VMFirmware -VMName <vm> -EnableSecureBoot Off`; physical: in the UEFI setup. Or decide for a Trusted Launch target (Gen2, `az vm create … --security-type TrustedLaunch --enable-secure-boot true`) and record that decision in the plan; either way remove TPM-bound secrets first (see encryption rules).",
		ev("firmware.secureBoot", sb))}
}

// generation returns the Azure VM generation the host maps to, "" when unknown.
func generation(h *inventory.Host) string {
	switch h.Firmware.Type {
	case "uefi":
		return "V2"
	case "bios":
		return "V1"
	}
	return ""
}

func checkGeneration(h *inventory.Host, env *Env) []Finding {
	d := systemDisk(h)
	fw := h.Firmware.Type
	if fw == "" || d == nil || d.PartitionTable == "" {
		table := ""
		if d != nil {
			table = d.PartitionTable
		}
		return []Finding{unchecked("the boot type or the OS disk's partition table is unknown (firmware.type, disks[].partitionTable)",
			"Windows: `$env:firmware_type` or msinfo32 'BIOS Mode', and `Get-Disk | Select Number,PartitionStyle`; Linux: `[ -d /sys/firmware/efi ] && echo uefi || echo bios` and `lsblk -o NAME,PTTYPE`.",
			ev("firmware.type", fw), ev("disks[system].partitionTable", table))}
	}
	f := func(msg, fix string) []Finding {
		return []Finding{condition(msg, fix, ev("firmware.type", fw), ev("disks["+d.Name+"].partitionTable", d.PartitionTable))}
	}
	switch {
	case fw == "uefi" && d.PartitionTable == "mbr":
		return f(fmt.Sprintf("UEFI boot from an MBR disk (firmware.type = uefi, disks[%s].partitionTable = mbr): Azure Gen2 VMs boot from GPT only.", d.Name),
			"Convert the OS disk to GPT before replication: Windows `mbr2gpt /validate /disk:0 /allowFullOS` then `mbr2gpt /convert /disk:0 /allowFullOS`; Linux `sgdisk --mbrtogpt` and reinstall the EFI boot loader.")
	case fw == "bios" && d.PartitionTable == "gpt":
		return f(fmt.Sprintf("BIOS boot from a GPT disk (firmware.type = bios, disks[%s].partitionTable = gpt): it will move as a Gen1 VM, which Azure documents for MBR OS disks.", d.Name),
			"Test-boot the copy first (shift migrate --test), or switch the guest to UEFI (EFI system partition + boot loader) and move it as Gen2.")
	}
	return nil
}

func checkOSDiskSize(h *inventory.Host, env *Env) []Finding {
	d := systemDisk(h)
	if d == nil {
		return []Finding{unchecked("no disk is marked as the system disk (disks[].system)",
			"Windows: `Get-Disk | Where IsSystem`; Linux: `findmnt /` and `lsblk`.")}
	}
	limit, gen := uint64(4096)*gib, "Gen2"
	if generation(h) != "V2" {
		limit, gen = 2048*gib, "Gen1"
	}
	if d.SizeBytes <= limit {
		return nil
	}
	fix := "Shrink the OS partition and the disk below the limit (Windows: `Resize-Partition`, then shrink the virtual disk; Linux: shrink the filesystem and partition), or move data off the OS disk onto a data disk."
	if gen == "Gen1" {
		fix += " A UEFI/GPT OS disk raises the limit to 4 TiB as Gen2: `mbr2gpt /convert /disk:0 /allowFullOS` and switch the firmware to UEFI."
	}
	return []Finding{blocker(
		fmt.Sprintf("The OS disk %s is %s (disks[%s].sizeBytes), over the %s limit of %s for an Azure OS disk.", d.Name, gibs(d.SizeBytes), d.Name, gen, gibs(limit)),
		fix, ev("disks["+d.Name+"].sizeBytes", d.SizeBytes))}
}

// maxDataDiskGiB is Azure's largest managed disk.
const maxDataDiskGiB = 32767

func dataDisks(h *inventory.Host) []*inventory.Disk {
	var out []*inventory.Disk
	for i := range h.Disks {
		d := &h.Disks[i]
		if d.System || d.Boot || d.Removable || d.SizeBytes == 0 {
			continue
		}
		out = append(out, d)
	}
	return out
}

func checkDataDiskSize(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for _, d := range dataDisks(h) {
		if d.SizeBytes > maxDataDiskGiB*gib {
			fs = append(fs, blocker(
				fmt.Sprintf("Data disk %s is %s (disks[%s].sizeBytes), over Azure's largest managed disk (32,767 GiB).", d.Name, gibs(d.SizeBytes), d.Name),
				"Split the data over several disks before the move (Windows Storage Spaces, Linux LVM striping), or move it with a file-level copy onto several Azure disks.",
				ev("disks["+d.Name+"].sizeBytes", d.SizeBytes)))
		}
	}
	return fs
}

func checkDiskCount(h *inventory.Host, env *Env) []Finding {
	n := len(dataDisks(h))
	if n <= 64 {
		return nil
	}
	return []Finding{blocker(
		fmt.Sprintf("The server has %d data disks (disks), more than the 64 an Azure VM can attach.", n),
		"Consolidate volumes onto fewer, larger disks before the move (up to 32,767 GiB each).",
		ev("disks.count", n))}
}

func checkDynamic(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.Disks {
		d := &h.Disks[i]
		if !d.Dynamic {
			continue
		}
		e := ev("disks["+d.Name+"].dynamic", true)
		if d.System || d.Boot {
			fs = append(fs, blocker(
				fmt.Sprintf("The system disk %s is a dynamic disk (disks[%s].dynamic = true): Azure boots only basic OS disks.", d.Name, d.Name),
				"Windows has no in-place conversion back to basic: break any mirror (Disk Management → Remove Mirror), back up, `diskpart` → `select disk N` → `clean` → `convert basic`, restore; or rebuild the server on a basic disk. Third-party tools convert in place — test them on a copy.",
				e))
			continue
		}
		fs = append(fs, condition(
			fmt.Sprintf("Data disk %s is a dynamic disk (disks[%s].dynamic = true): it copies block by block, but every disk of its disk group must move with it, and Windows sees the group as foreign on the new VM.", d.Name, d.Name),
			"Move all dynamic disks of the group in the same wave; after cutover import them: `diskpart` → `select disk N` → `import` (or Disk Management → Import Foreign Disks), then check the drive letters. Better: convert to basic disks or Storage Spaces before the move.",
			e))
	}
	sys := systemDisk(h)
	for i := range h.Volumes {
		v := &h.Volumes[i]
		if len(v.Parents) < 2 || v.Kind == "lvm" || v.Kind == "raid" || v.Kind == "crypt" {
			continue
		}
		onSys := sys != nil && containsStr(v.Parents, sys.Name)
		e := ev("volumes["+volName(v)+"].parents", strings.Join(v.Parents, ", "))
		msg := fmt.Sprintf("Volume %s spans %s (volumes[%s].parents).", volName(v), strings.Join(v.Parents, ", "), volName(v))
		if v.System || v.Boot || onSys {
			fs = append(fs, blocker(msg+" A spanned system volume does not boot on Azure.",
				"Move the spanned part off the system disk (shrink the volume back onto one disk with Disk Management, or rebuild) before the move.", e))
		} else {
			fs = append(fs, condition(msg+" Every disk it spans must move together.",
				"Move all the disks of the volume in the same wave and import them on the new VM (`diskpart` → `import`).", e))
		}
	}
	return fs
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkShared(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.Disks {
		d := &h.Disks[i]
		if d.Shared {
			fs = append(fs, blocker(
				fmt.Sprintf("Disk %s is shared with other hosts (disks[%s].shared = true), e.g. a cluster disk: one VM cannot take a block copy of a disk the cluster owns.", d.Name, d.Name),
				"Rebuild the cluster storage on Azure shared disks (Premium SSD or Ultra Disk with maxShares ≥ 2) and move the data with the cluster's own tools, or replace the shared-disk design (SQL Server: an Always On availability group); migrate the nodes without the shared disks.",
				ev("disks["+d.Name+"].shared", true)))
		}
	}
	return fs
}

func checkMultipath(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.Disks {
		d := &h.Disks[i]
		if !d.Multipath {
			continue
		}
		fix := "Take the disk off multipathing before the final sync: `mpclaim -r -i -a \"\"` (removes MPIO claims; restart), or `Uninstall-WindowsFeature Multipath-IO` when nothing else needs it. Azure disks have one path; an MPIO-claimed boot disk stops at boot."
		if h.OS.Family == "linux" {
			fix = "Take root and data off dm-multipath: mount by UUID in /etc/fstab, `systemctl disable multipathd`, rebuild the initramfs without multipath (`dracut -f -o multipath`, or `update-initramfs -u` after removing multipath-tools-boot). Azure disks have one path."
		}
		fs = append(fs, blocker(
			fmt.Sprintf("Disk %s is reached through multipath I/O (disks[%s].multipath = true).", d.Name, d.Name),
			fix, ev("disks["+d.Name+"].multipath", true)))
	}
	return fs
}

func checkPendingReboot(h *inventory.Host, env *Env) []Finding {
	p := h.PendingReboot
	switch {
	case p == nil:
		how := "`Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'` and the Windows Update RebootRequired key."
		if h.OS.Family == "linux" {
			how = "`ls /run/reboot-required` (Debian/Ubuntu) or `needs-restarting -r` (RHEL)."
		}
		return []Finding{unchecked("whether a reboot is pending (pendingReboot)", how, ev("pendingReboot", p))}
	case !*p:
		return nil
	}
	why := ""
	if len(h.PendingRebootReasons) > 0 {
		why = " (" + strings.Join(h.PendingRebootReasons, ", ") + ")"
	}
	return []Finding{condition(
		"A reboot is pending"+why+" (pendingReboot = true): the first boot on Azure would finish installing updates on new hardware, which is where boots fail.",
		"Restart the server before replication starts, and check afterwards that nothing is pending.",
		ev("pendingReboot", p))}
}

func checkTeam(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.NICs {
		n := &h.NICs[i]
		if !n.Team {
			continue
		}
		fix := fmt.Sprintf("Dissolve the team before the final sync and put its address on one member: `Remove-NetLbfoTeam -Name '%s'`, then configure the member (for Azure: DHCP, see network.static-ip). Azure vNICs cannot be teamed (LBFO is not supported); Azure provides the redundancy under the vNIC.", n.Name)
		if h.OS.Family == "linux" {
			fix = fmt.Sprintf("Replace bond/team %s with its first member before the final sync (NetworkManager: `nmcli connection delete %s` and a DHCP connection on the member; ifupdown/netplan: the same in the config), so that the VM's single vNIC carries the address.", n.Name, n.Name)
		}
		fs = append(fs, blocker(
			fmt.Sprintf("%s is a NIC team of %s (nics[%s].team = true): on Azure the member NICs do not exist, so the team comes up without members and the server has no network.", n.Name, orNone(n.Members), n.Name),
			fix, ev("nics["+n.Name+"].team", true)))
	}
	return fs
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "unknown members"
	}
	return strings.Join(s, ", ")
}

func checkStaticIP(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	unknown := true
	for i := range h.NICs {
		n := &h.NICs[i]
		if n.Virtual {
			continue
		}
		for _, a := range n.Addresses {
			if a.Family != "ipv4" {
				continue
			}
			static := a.Origin == "static" || (a.Origin == "" && n.DHCP != nil && !*n.DHCP)
			if a.Origin != "" || n.DHCP != nil {
				unknown = false
			}
			if !static {
				continue
			}
			fix := fmt.Sprintf("Keep the address: put the VM in an Azure subnet that contains %s/%d and set the Azure NIC's private IP to static %s. Inside the guest switch %s to DHCP before cutover — Azure hands the reserved address out by DHCP, and a static configuration in the guest leaves the VM unreachable when gateway or DNS differ: ",
				a.Address, a.Prefix, a.Address, n.Name)
			if h.OS.Family == "linux" {
				fix += "Debian/Ubuntu: `dhcp4: true` in netplan or `iface <if> inet dhcp`; RHEL: `nmcli connection modify <con> ipv4.method auto`."
			} else {
				fix += fmt.Sprintf("`Set-NetIPInterface -InterfaceAlias '%s' -Dhcp Enabled; Set-DnsClientServerAddress -InterfaceAlias '%s' -ResetServerAddresses` (shift's preparation does this on the copy, not on the source).", n.Name, n.Name)
			}
			fs = append(fs, condition(
				fmt.Sprintf("%s/%d on %s is a static address (nics[%s].addresses origin = static): it is kept only if the Azure NIC reserves it.", a.Address, a.Prefix, n.Name, n.Name),
				fix, ev("nics["+n.Name+"].addresses["+a.Address+"].origin", a.Origin)))
		}
	}
	if unknown && len(fs) == 0 {
		return []Finding{unchecked("whether the IPv4 addresses are static or from DHCP (nics[].dhcp, nics[].addresses[].origin)",
			"Windows: `Get-NetIPAddress -AddressFamily IPv4 | Select InterfaceAlias,IPAddress,PrefixOrigin`; Linux: `ip -4 addr` ('dynamic' marks DHCP).")}
	}
	return fs
}

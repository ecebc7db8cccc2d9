package assess

import (
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// Rules about OS preparation: encryption, power settings, drivers, the things
// a copy needs to boot and be reachable on Azure.

// bitLockerState returns the state part of "bitlocker:FullyEncrypted", or ""
// when the volume is not BitLocker.
func bitLockerState(v *inventory.Volume) (string, bool) {
	s, ok := strings.CutPrefix(v.Encryption, "bitlocker:")
	if ok {
		return s, true
	}
	if v.FSType == "BitLocker" || (v.Encrypted && v.Encryption == "") {
		return "encrypted", true
	}
	return "", false
}

func checkBitLocker(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.Volumes {
		v := &h.Volumes[i]
		state, ok := bitLockerState(v)
		if !ok || strings.EqualFold(state, "FullyDecrypted") {
			continue
		}
		name := volName(v)
		field := "volumes[" + name + "].encryption"
		msg := fmt.Sprintf("%s is BitLocker %s (%s = %s).", name, state, field, v.Encryption)
		fix := fmt.Sprintf("Decrypt before replication: `manage-bde -off %s`, then wait until `manage-bde -status %s` shows 'Conversion Status: Fully Decrypted' (the server stays online; large volumes take hours). "+
			"Suspend-BitLocker is not enough: the data stays encrypted, so shift cannot prepare the copy offline (boot-start storvsc, SAN policy, DHCP), and a suspension ends at the next restart (-RebootCount, default 1): the first boot on Azure re-arms protection against a TPM that is not there and stops at the BitLocker recovery screen. "+
			"Encrypt again on Azure with encryption at host or Azure Disk Encryption.", name, name)
		if strings.Contains(strings.ToLower(state), "progress") {
			msg += " A conversion is still running."
			fix = fmt.Sprintf("Wait for the conversion to finish (`manage-bde -status %s`); if it is encrypting, turn it off with `manage-bde -off %s` and wait for 'Fully Decrypted'.", name, name)
		}
		fs = append(fs, blocker(msg, fix, ev(field, v.Encryption)))
	}
	return fs
}

func checkLUKS(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.Volumes {
		v := &h.Volumes[i]
		luks := strings.HasPrefix(v.Encryption, "luks") || v.FSType == "crypto_LUKS"
		if !luks {
			continue
		}
		name := volName(v)
		field := "volumes[" + v.Device + "].encryption"
		value := v.Encryption
		if value == "" {
			field, value = "volumes["+v.Device+"].fsType", v.FSType
		}
		if v.System || v.Boot || mountedAt(h, v, "/", "/boot", "/usr") {
			fs = append(fs, blocker(
				fmt.Sprintf("%s is LUKS-encrypted (%s = %s) and holds the OS: it asks for a passphrase at boot, which nobody can type on Azure before the network is up.", name, field, value),
				"Decrypt before replication (LUKS2: `cryptsetup reencrypt --decrypt` from a rescue system, see cryptsetup-reencrypt(8); LUKS1: restore the data onto an unencrypted volume), then encrypt again on Azure with encryption at host or Azure Disk Encryption.",
				ev(field, value)))
			continue
		}
		fs = append(fs, condition(
			fmt.Sprintf("%s is LUKS-encrypted (%s = %s): it copies as ciphertext and must be unlocked after boot on Azure.", name, field, value),
			"Make sure it unlocks without a console: a key file on the (unencrypted) OS disk in /etc/crypttab, or a network-bound key (clevis/tang); or decrypt it before the move.",
			ev(field, value)))
	}
	return fs
}

// mountedAt reports whether v, or an LVM/crypt volume on top of it, is
// mounted at one of the paths.
func mountedAt(h *inventory.Host, v *inventory.Volume, paths ...string) bool {
	seen := map[string]bool{}
	var walk func(dev string) bool
	walk = func(dev string) bool {
		if seen[dev] {
			return false
		}
		seen[dev] = true
		for i := range h.Volumes {
			w := &h.Volumes[i]
			if w.Device == dev {
				for _, m := range w.MountPoints {
					if containsStr(paths, m) {
						return true
					}
				}
			}
			if containsStr(w.Parents, dev) && walk(w.Device) {
				return true
			}
		}
		return false
	}
	return walk(v.Device)
}

func checkFastStartup(h *inventory.Host, env *Env) []Finding {
	p := h.Power
	if p.FastStartup == nil && p.Hibernation == nil {
		return []Finding{unchecked("whether hibernation and Fast Startup are on (power.hibernation, power.fastStartup)",
			"`powercfg /a` lists 'Hibernate' and 'Fast Startup' as available when they are on.",
			ev("power.hibernation", p.Hibernation), ev("power.fastStartup", p.FastStartup))}
	}
	var on []string
	var evs []Evidence
	if p.Hibernation != nil && *p.Hibernation {
		on = append(on, "hibernation (power.hibernation = true)")
		evs = append(evs, ev("power.hibernation", p.Hibernation))
	}
	if p.FastStartup != nil && *p.FastStartup {
		on = append(on, "Fast Startup (power.fastStartup = true)")
		evs = append(evs, ev("power.fastStartup", p.FastStartup))
	}
	if len(on) == 0 {
		return nil
	}
	return []Finding{blocker(
		"Windows has "+strings.Join(on, " and ")+" on: a shutdown can leave the system volume hibernated, and a block copy of a hibernated volume is inconsistent (Windows resumes a memory image that no longer matches the disk).",
		"`powercfg /h off` (turns off hibernation and with it Fast Startup), then restart once so the volume is closed cleanly.",
		evs...)}
}

func checkDirtyNTFS(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	var unknown []string
	for i := range h.Volumes {
		v := &h.Volumes[i]
		if v.FSType != "ntfs" {
			continue
		}
		name := volName(v)
		switch {
		case v.Dirty == nil:
			unknown = append(unknown, name)
		case *v.Dirty:
			fix := fmt.Sprintf("`chkdsk %s /f` (for the system volume it asks to run at the next restart: answer Y and restart), then check `fsutil dirty query %s` reports NOT dirty.", strings.TrimSuffix(name, "\\"), strings.TrimSuffix(name, "\\"))
			fs = append(fs, blocker(
				fmt.Sprintf("NTFS volume %s has its dirty bit set (volumes[%s].dirty = true): the copy would boot into a chkdsk on Azure, or not at all.", name, name),
				fix, ev("volumes["+name+"].dirty", v.Dirty)))
		}
	}
	if len(unknown) > 0 && len(fs) == 0 {
		fs = append(fs, unchecked("whether NTFS volumes "+strings.Join(unknown, ", ")+" are clean (volumes[].dirty)",
			"`fsutil dirty query C:` for each volume."))
	}
	return fs
}

func checkWindowsDrivers(h *inventory.Host, env *Env) []Finding {
	if onHyperV(h) {
		return nil // the disk it boots from is already a Hyper-V synthetic disk
	}
	var missing []string
	var evs []Evidence
	for _, name := range []string{"storvsc", "vmbus"} {
		s := hasService(h, name)
		if s == nil {
			return []Finding{unchecked("the start type of the Hyper-V drivers storvsc and vmbus (services): discovery does not list drivers",
				"`Get-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\storvsc,HKLM:\\SYSTEM\\CurrentControlSet\\Services\\vmbus | Select PSChildName,Start` — Start must be 0 (boot). To fix: `Set-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\storvsc -Name Start -Value 0` (same for vmbus).",
				ev("identity.virtualization", h.Identity.Virtualization))}
		}
		evs = append(evs, ev("services["+name+"].startMode", s.StartMode))
		if s.StartMode != "boot" {
			missing = append(missing, fmt.Sprintf("%s starts %s", name, orUnknownMode(s.StartMode)))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []Finding{blocker(
		"The Hyper-V drivers do not start at boot ("+strings.Join(missing, ", ")+"): Windows would not find its disk on Azure (INACCESSIBLE_BOOT_DEVICE).",
		"`Set-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\storvsc -Name Start -Value 0` and the same for vmbus (shift's preparation does it on the copy).",
		evs...)}
}

func orUnknownMode(s string) string {
	if s == "" {
		return "with an unknown start type"
	}
	return s
}

func checkSANPolicy(h *inventory.Host, env *Env) []Finding {
	return []Finding{unchecked("the SAN policy: discovery does not read it. With OfflineShared (the Windows Server default), data disks come up offline on Azure",
		"`diskpart` → `san` shows the policy. To fix: `diskpart` → `san policy=OnlineAll`, or `Set-StorageSetting -NewDiskPolicy OnlineAll` (shift's preparation sets it on the copy).")}
}

func listens(h *inventory.Host, port int) bool {
	for _, p := range h.Ports {
		if p.Protocol == "tcp" && p.Port == port {
			return true
		}
	}
	return false
}

func checkRDP(h *inventory.Host, env *Env) []Finding {
	if listens(h, 3389) {
		return nil
	}
	enable := "`Set-ItemProperty 'HKLM:\\System\\CurrentControlSet\\Control\\Terminal Server' -Name fDenyTSConnections -Value 0; Enable-NetFirewallRule -DisplayGroup 'Remote Desktop'`; the TermService service must not be disabled."
	if len(h.Ports) == 0 {
		return []Finding{unchecked("whether Remote Desktop is enabled: no listening ports were read (listeningPorts)",
			"`Get-NetTCPConnection -LocalPort 3389 -State Listen`. To enable: "+enable)}
	}
	mode := "not installed"
	if s := hasService(h, "TermService"); s != nil {
		mode = s.StartMode + "/" + s.State
	}
	return []Finding{condition(
		fmt.Sprintf("Remote Desktop is not listening on TCP 3389 (listeningPorts; TermService %s): on Azure the only way in would be the serial console.", mode),
		"Enable it before the move: "+enable,
		ev("listeningPorts[3389]", "absent"), ev("services[TermService]", mode))}
}

func checkHyperVDrivers(h *inventory.Host, env *Env) []Finding {
	if onHyperV(h) {
		return nil // it boots from Hyper-V synthetic devices today
	}
	return []Finding{unchecked("whether hv_vmbus, hv_storvsc and hv_netvsc are in the initramfs: discovery does not read it. Without them the copy does not find its root disk on Azure",
		"Debian/Ubuntu: `lsinitramfs /boot/initrd.img-$(uname -r) | grep -E 'hv_(vmbus|storvsc|netvsc)'`; RHEL and others with dracut: `lsinitrd | grep -E 'hv_(vmbus|storvsc|netvsc)'`. To fix: Debian/Ubuntu: add the three modules to /etc/initramfs-tools/modules and `update-initramfs -u`; dracut: `dracut -f --add-drivers \"hv_vmbus hv_storvsc hv_netvsc\"`.",
		ev("identity.virtualization", h.Identity.Virtualization))}
}

func checkFstab(h *inventory.Host, env *Env) []Finding {
	return []Finding{unchecked("how /etc/fstab names filesystems: discovery does not read it. Entries naming /dev/sdX or /dev/vdX break when the disks are renumbered on Azure",
		"`grep -E '^\\s*/dev/(sd|vd|xvd|hd)' /etc/fstab` must print nothing. To fix: replace each device with `UUID=<uuid>` from `blkid` (add `nofail` to data disks).")}
}

func checkConsole(h *inventory.Host, env *Env) []Finding {
	return []Finding{unchecked("whether the kernel line has console=ttyS0: discovery does not read it. Without it the Azure serial console and boot diagnostics show nothing",
		"`grep -o 'console=[^ ]*' /proc/cmdline`. To fix: add `console=tty1 console=ttyS0,115200n8` to GRUB_CMDLINE_LINUX in /etc/default/grub, then `update-grub` (Debian/Ubuntu) or `grub2-mkconfig -o /boot/grub2/grub.cfg` (RHEL).")}
}

func checkPersistentNet(h *inventory.Host, env *Env) []Finding {
	return []Finding{unchecked("whether persistent network rules pin interface names to MAC addresses: discovery does not read them. On Azure the NIC has a new MAC and comes up unconfigured",
		"`ls /etc/udev/rules.d/70-persistent-net.rules` must not exist, and no ifcfg/netplan file may set HWADDR/macaddress. To fix: remove the file and the MAC lines.")}
}

func checkSwapLVM(h *inventory.Host, env *Env) []Finding {
	sys := systemDisk(h)
	if sys == nil {
		return nil // disk.os-size reports the missing system disk
	}
	var fs []Finding
	onSys := func(v *inventory.Volume) bool {
		return v.Disk == sys.Name || containsStr(v.Parents, sys.Name) || strings.HasPrefix(v.Device, sys.Name)
	}
	for i := range h.Volumes {
		v := &h.Volumes[i]
		if !onSys(v) {
			continue
		}
		if v.Swap || v.FSType == "swap" {
			fs = append(fs, condition(
				fmt.Sprintf("Swap %s is on the OS disk %s (volumes[%s].swap): it is copied, billed as OS-disk storage and competes with the OS for the disk's IOPS.", v.Device, sys.Name, v.Device),
				"Optional: after the move put swap on the Azure resource disk (waagent: `ResourceDisk.EnableSwap=y` and `ResourceDisk.SwapSizeMB` in /etc/waagent.conf, or cloud-init `mounts`/`swap`), then remove the swap partition from /etc/fstab.",
				ev("volumes["+v.Device+"].swap", true)))
		}
	}
	for i := range h.Volumes {
		v := &h.Volumes[i]
		if v.Kind == "lvm" && onSysLVM(h, v, sys.Name) {
			fs = append(fs, condition(
				fmt.Sprintf("The OS disk %s carries LVM (volumes[%s].lvm = true): it moves as is, but a rescue VM built from a marketplace image with the same volume-group name cannot attach it cleanly, and growing the OS disk needs pvresize and lvextend.", sys.Name, v.Device),
				"Nothing before the move; keep the volume-group name unique (`vgrename`) so a rescue VM can mount it, and after resizing the Azure disk run `growpart`, `pvresize`, `lvextend -r`.",
				ev("volumes["+v.Device+"].lvm", true)))
			break
		}
	}
	return fs
}

func onSysLVM(h *inventory.Host, v *inventory.Volume, disk string) bool {
	for _, p := range v.Parents {
		if strings.HasPrefix(p, disk) {
			return true
		}
		for i := range h.Volumes {
			if h.Volumes[i].Device == p && (h.Volumes[i].Disk == disk || strings.HasPrefix(p, disk)) {
				return true
			}
		}
	}
	return false
}

// minBootFree is what rebuilding an initramfs with the Hyper-V drivers needs:
// a second image next to the current one, with room to spare.
const minBootFree = 100 << 20

func checkBootSpace(h *inventory.Host, env *Env) []Finding {
	var boot *inventory.Volume
	for _, want := range []string{"/boot", "/"} {
		for i := range h.Volumes {
			if containsStr(h.Volumes[i].MountPoints, want) {
				boot = &h.Volumes[i]
				break
			}
		}
		if boot != nil {
			break
		}
	}
	if boot == nil || boot.UsedBytes == nil || boot.SizeBytes == 0 {
		return []Finding{unchecked("the free space in /boot (volumes[/boot].usedBytes)", "`df -h /boot` should show at least 100 MiB free.")}
	}
	free := boot.SizeBytes - min(*boot.UsedBytes, boot.SizeBytes)
	if free >= minBootFree {
		return nil
	}
	name := volName(boot)
	return []Finding{condition(
		fmt.Sprintf("%s has %d MiB free (volumes[%s].sizeBytes − usedBytes): rebuilding the initramfs with the Hyper-V drivers needs about 100 MiB.", name, free>>20, name),
		"Remove old kernels (Debian/Ubuntu: `apt autoremove --purge`; RHEL: `dnf remove --oldinstallonly` or `package-cleanup --oldkernels --count=2`) until `df -h /boot` shows 100 MiB free.",
		ev("volumes["+name+"].free", fmt.Sprintf("%d MiB", free>>20)))}
}

func checkSSHD(h *inventory.Host, env *Env) []Finding {
	s := hasService(h, "sshd", "ssh", "sshd.service", "ssh.service")
	switch {
	case s != nil && (s.StartMode == "auto" || s.StartMode == "auto-delayed"):
		return nil
	case s != nil && s.StartMode == "disabled":
		return []Finding{condition(fmt.Sprintf("sshd is disabled (services[%s].startMode = disabled): on Azure the only way in would be the serial console.", s.Name),
			"`systemctl enable ssh` (Debian/Ubuntu) or `systemctl enable sshd` (RHEL).",
			ev("services["+s.Name+"].startMode", s.StartMode))}
	case s == nil && !listens(h, 22):
		return []Finding{condition("No SSH server was found (services, listeningPorts): on Azure the only way in would be the serial console.",
			"Install and enable OpenSSH before the move: `apt install openssh-server` / `dnf install openssh-server`, then `systemctl enable --now sshd`.")}
	}
	mode := ""
	if s != nil {
		mode = s.StartMode
	}
	return []Finding{unchecked("whether sshd starts at boot (services[ssh].startMode is unknown)",
		"`systemctl is-enabled ssh` (Debian/Ubuntu) or `systemctl is-enabled sshd`; for SysV init `ls /etc/rc2.d | grep ssh`.",
		ev("services[ssh].startMode", mode))}
}

func checkAzureAgent(h *inventory.Host, env *Env) []Finding {
	for _, s := range h.Software {
		n := strings.ToLower(s.Name)
		if n == "walinuxagent" || n == "waagent" || n == "python3-azure-linux-agent" || n == "azure-linux-agent" {
			return nil
		}
	}
	return []Finding{condition(
		"The Azure Linux agent is not installed (software has no walinuxagent): the VM boots, but extensions, password reset and boot diagnostics integration do not work.",
		"Install it from the distribution (Debian/Ubuntu: `apt install waagent`; RHEL: `dnf install WALinuxAgent`) with provisioning off for a 1:1 move: `Provisioning.Agent=disabled` (older agents: `Provisioning.Enabled=n`) in /etc/waagent.conf, and `systemctl enable waagent`. Leave it stopped on the source.")}
}

func checkIncomplete(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrUnsupported {
			continue
		}
		fix := "Fix the cause and discover the host again (`shift discover --hosts FILE " + h.Name + "`)."
		if e.Hint != "" {
			fix = e.Hint + ". Then discover the host again."
		}
		fs = append(fs, Finding{Verdict: Conditional, Unchecked: true,
			Message:  fmt.Sprintf("Discovery step %q failed (%s): %s. Rules that need this part of the inventory could not be checked.", e.Step, e.Kind, e.Message),
			Fix:      fix,
			Evidence: []Evidence{ev("errors["+e.Step+"].kind", e.Kind)}})
	}
	return fs
}

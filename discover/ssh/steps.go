package ssh

import "github.com/shift-migrate/shift/remote/shscript"

// The commands of a probe. Each is the body of a POSIX sh function (see
// shscript.Build); "return 127" says the tool is missing, and a step that does
// not apply to the host prints nothing.

const (
	efivarSecureBoot = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	sysfsSecureBoot  = "/sys/firmware/efi/vars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c/data"
)

// userSteps run with the login user's rights.
var userSteps = []shscript.Step{
	{Name: "hostname", Cmd: `hostname 2>/dev/null || cat /proc/sys/kernel/hostname`},
	{Name: "fqdn", Cmd: `hostname -f`},
	{Name: "osrelease", Cmd: `cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release`},
	{Name: "uname", Cmd: `uname -srm`},
	{Name: "cpuinfo", Cmd: `cat /proc/cpuinfo`},
	{Name: "meminfo", Cmd: `cat /proc/meminfo`},
	{Name: "btime", Cmd: `grep '^btime' /proc/stat`},
	{Name: "timezone", Cmd: `cat /etc/timezone 2>/dev/null || readlink /etc/localtime`},
	{Name: "virt", Cmd: `systemd-detect-virt --vm`},
	{Name: "efi", Cmd: `if [ -d /sys/firmware/efi ]; then echo uefi; else echo bios; fi`},
	{Name: "secureboot", Cmd: `if [ ! -d /sys/firmware/efi ]; then return 0
elif [ -r ` + efivarSecureBoot + ` ]; then od -An -tu1 ` + efivarSecureBoot + `
elif [ -r ` + sysfsSecureBoot + ` ]; then od -An -tu1 ` + sysfsSecureBoot + `
else mokutil --sb-state; fi`},
	{Name: "ipaddr", Cmd: `ip -d -j addr 2>/dev/null || ip -j addr`},
	{Name: "route4", Cmd: `ip -j route`},
	{Name: "route6", Cmd: `ip -j -6 route`},
	{Name: "netsys", Cmd: `cd /sys/class/net || return 1
for i in *; do
  s=$(cat "$i/speed" 2>/dev/null); v=0; b=0
  [ -d "/sys/devices/virtual/net/$i" ] && v=1
  [ -d "$i/bonding" ] && b=1
  printf '%s speed=%s virtual=%s bond=%s\n' "$i" "$s" "$v" "$b"
done`},
	{Name: "resolv", Cmd: `cat /etc/resolv.conf`},
	{Name: "resolvectl", Cmd: `if [ -d /run/systemd/resolve ] && command -v resolvectl >/dev/null 2>&1; then resolvectl dns; fi`},
	{Name: "units", Cmd: `systemctl list-units --type=service --all --output=json --no-pager`},
	// Only read where systemd runs: elsewhere the result is unused, and
	// systemctl then parses every unit file from disk (~0.4 s).
	{Name: "unitfiles", Cmd: `[ -d /run/systemd/system ] || return 0; systemctl list-unit-files --type=service --no-legend --no-pager`},
	{Name: "sysv", Cmd: `if [ ! -d /run/systemd/system ] && command -v service >/dev/null 2>&1; then service --status-all 2>&1; fi`},
	{Name: "packages", Cmd: `if command -v dpkg-query >/dev/null 2>&1; then echo '#dpkg'; dpkg-query -W -f='` + dpkgFormat + `'
elif command -v rpm >/dev/null 2>&1; then echo '#rpm'; rpm -qa --qf '` + rpmFormat + `'
else echo 'neither dpkg-query nor rpm found' >&2; return 127; fi`},
	{Name: "rebootreq", Cmd: `if [ -e /run/reboot-required ]; then echo required; cat /run/reboot-required.pkgs 2>/dev/null
elif [ -d /var/lib/dpkg ]; then echo none; fi`},
	{Name: "mounts", Cmd: `findmnt -J -b -o TARGET,SOURCE,FSTYPE,SIZE,USED,AVAIL 2>/dev/null || df -B1 --output=source,fstype,size,used,avail,target`},
	{Name: "swaps", Cmd: `cat /proc/swaps`},
	{Name: "sysblock", Cmd: `grep -H . /sys/class/block/*/partition /sys/class/block/*/start 2>/dev/null; return 0`},
}

// privSteps want root: DMI serial and UUID, lsblk columns that come from
// probing devices, the processes behind sockets, and needs-restarting.
var privSteps = []shscript.Step{
	{Name: "dmi", Cmd: `cd /sys/class/dmi/id 2>/dev/null || return 0
for f in sys_vendor product_name product_serial product_uuid bios_vendor bios_version; do
  [ -e "$f" ] && v=$(cat "$f") && printf '%s=%s\n' "$f" "$v"
done; return 0`},
	{Name: "dmidecode", Cmd: `if [ -r /sys/class/dmi/id/product_uuid ]; then return 0; fi; dmidecode -s system-uuid`},
	{Name: "lsblk", Cmd: `lsblk -J -b -O || lsblk -J -b -o ` + lsblkColumns},
	{Name: "sstcp", Cmd: `ss -tlnpH 2>/dev/null || ss -tlnp`},
	{Name: "ssudp", Cmd: `ss -ulnpH 2>/dev/null || ss -ulnp`},
	{Name: "needsrestart", Cmd: `if command -v needs-restarting >/dev/null 2>&1; then needs-restarting -r; else return 127; fi`},
}

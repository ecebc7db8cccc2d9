package assess

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

// Env is what a rule may know besides the host.
type Env struct {
	// AsOf is the day support status is judged against, at 00:00 UTC.
	AsOf time.Time
}

// ended reports whether a "YYYY-MM-DD" end of support lies before env.AsOf;
// known is false when the date is empty or malformed.
func (e *Env) ended(date string) (ended, known bool) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return false, false
	}
	return t.Before(e.AsOf), true
}

// Rule is one readiness check: data (id, title, which OS it applies to) plus
// a small function over a host.
type Rule struct {
	// ID is stable and appears in reports and in --fail-on output ("windows.bitlocker").
	ID string
	// Title says what the rule checks, in a few words.
	Title string
	// OS is "windows" or "linux" for rules that only concern one family; ""
	// means every host.
	OS string
	// Check returns the findings on h; none means the rule passed. Rule and
	// Title of the findings are filled in by the caller.
	Check func(h *inventory.Host, env *Env) []Finding
}

// Rules returns the rules in the order they run, the sizing rule last. The
// slice is a copy.
func Rules() []Rule {
	out := append([]Rule(nil), rules...)
	return append(out, sizeRule)
}

// sizeRule is run by the sizer, not from the rules list; it is listed so that
// reports and docs see every rule id.
var sizeRule = Rule{ID: "azure.vm-size", Title: "A VM size fits the server"}

var rules = []Rule{
	{ID: "os.azure-supported", Title: "The OS can run on Azure", Check: checkOSSupportedOnAzure},
	{ID: "os.end-of-support", Title: "The OS is in vendor support", Check: checkOSEndOfSupport},
	{ID: "host.physical", Title: "Hardware vendor agents on a physical server", Check: checkPhysical},
	{ID: "firmware.secure-boot", Title: "Secure Boot is off", Check: checkSecureBoot},
	{ID: "firmware.generation", Title: "Boot type maps to an Azure VM generation", Check: checkGeneration},
	{ID: "disk.os-size", Title: "OS disk within the Gen1 / Gen2 limit", Check: checkOSDiskSize},
	{ID: "disk.data-size", Title: "Data disks within 32,767 GiB", Check: checkDataDiskSize},
	{ID: "disk.count", Title: "At most 64 data disks", Check: checkDiskCount},
	{ID: "disk.dynamic", Title: "No dynamic or spanned system disk", Check: checkDynamic},
	{ID: "disk.shared", Title: "No shared (cluster) disks", Check: checkShared},
	{ID: "disk.multipath", Title: "No MPIO / dm-multipath", Check: checkMultipath},
	{ID: "encryption.bitlocker", Title: "No BitLocker-encrypted volume", OS: "windows", Check: checkBitLocker},
	{ID: "encryption.luks", Title: "No LUKS-encrypted volume", OS: "linux", Check: checkLUKS},
	{ID: "windows.fast-startup", Title: "Fast Startup and hibernation off", OS: "windows", Check: checkFastStartup},
	{ID: "windows.dirty-ntfs", Title: "NTFS volumes are clean", OS: "windows", Check: checkDirtyNTFS},
	{ID: "os.pending-reboot", Title: "No reboot pending", Check: checkPendingReboot},
	{ID: "windows.storage-drivers", Title: "storvsc and vmbus start at boot", OS: "windows", Check: checkWindowsDrivers},
	{ID: "windows.san-policy", Title: "SAN policy is OnlineAll", OS: "windows", Check: checkSANPolicy},
	{ID: "windows.rdp", Title: "Remote Desktop is enabled", OS: "windows", Check: checkRDP},
	{ID: "network.team", Title: "No teamed or bonded NICs", Check: checkTeam},
	{ID: "network.static-ip", Title: "Static IPs are kept through DHCP", Check: checkStaticIP},
	{ID: "linux.hyperv-drivers", Title: "Hyper-V drivers in the initramfs", OS: "linux", Check: checkHyperVDrivers},
	{ID: "linux.fstab", Title: "fstab names filesystems by UUID or LABEL", OS: "linux", Check: checkFstab},
	{ID: "linux.serial-console", Title: "console=ttyS0 on the kernel line", OS: "linux", Check: checkConsole},
	{ID: "linux.persistent-net", Title: "No persistent network device rules", OS: "linux", Check: checkPersistentNet},
	{ID: "linux.os-disk-layout", Title: "Swap and LVM on the OS disk", OS: "linux", Check: checkSwapLVM},
	{ID: "linux.boot-space", Title: "Free space in /boot for a new initramfs", OS: "linux", Check: checkBootSpace},
	{ID: "linux.sshd", Title: "sshd starts at boot", OS: "linux", Check: checkSSHD},
	{ID: "linux.azure-agent", Title: "Azure Linux agent installed", OS: "linux", Check: checkAzureAgent},
	{ID: "discovery.incomplete", Title: "Discovery read every part of the host", Check: checkIncomplete},
	{ID: "sql.failover-cluster", Title: "No SQL Server failover cluster instance", Check: checkSQLFCI},
	{ID: "sql.support", Title: "SQL Server release in support", Check: checkSQLSupport},
	{ID: "sql.databases", Title: "Every SQL database is online", Check: checkSQLDatabases},
	{ID: "sharepoint.support", Title: "SharePoint release in support", Check: checkSharePointSupport},
	{ID: "workload.sql-sharepoint-colocated", Title: "SQL Server and SharePoint on separate hosts", Check: checkColocated},
}

// Finding constructors. A message names its evidence in parentheses.

func blocker(msg, fix string, ev ...Evidence) Finding {
	return Finding{Verdict: NotReady, Message: msg, Fix: fix, Evidence: ev}
}

func condition(msg, fix string, ev ...Evidence) Finding {
	return Finding{Verdict: Conditional, Message: msg, Fix: fix, Evidence: ev}
}

// unchecked is the finding of a rule whose evidence the inventory lacks: it
// is never silently "ready".
func unchecked(what, how string, ev ...Evidence) Finding {
	return Finding{Verdict: Conditional, Unchecked: true,
		Message: "Could not be checked: " + what, Fix: "Check by hand: " + how, Evidence: ev}
}

func ev(field string, value any) Evidence {
	s := fmt.Sprint(value)
	switch v := value.(type) {
	case *bool:
		s = "unknown"
		if v != nil {
			s = strconv.FormatBool(*v)
		}
	case string:
		if v == "" {
			s = "unknown"
		}
	}
	return Evidence{Field: field, Value: s}
}

// volName names a volume the way its OS user would: "C:", "/boot", or the device.
func volName(v *inventory.Volume) string {
	switch {
	case v.DriveLetter != "":
		return v.DriveLetter + ":"
	case len(v.MountPoints) > 0:
		return v.MountPoints[0]
	}
	return v.Device
}

// systemDisk returns the disk holding the OS, or nil.
func systemDisk(h *inventory.Host) *inventory.Disk {
	for i := range h.Disks {
		if h.Disks[i].System {
			return &h.Disks[i]
		}
	}
	for i := range h.Disks {
		if h.Disks[i].Boot {
			return &h.Disks[i]
		}
	}
	return nil
}

const gib = 1 << 30

func gibs(b uint64) string { return strconv.FormatFloat(float64(b)/gib, 'f', 1, 64) + " GiB" }

func hasService(h *inventory.Host, names ...string) *inventory.Service {
	for i := range h.Services {
		for _, n := range names {
			if strings.EqualFold(h.Services[i].Name, n) {
				return &h.Services[i]
			}
		}
	}
	return nil
}

func onHyperV(h *inventory.Host) bool { return h.Identity.Virtualization == "microsoft" }

package inventory

import "time"

// Tri-state booleans are *bool throughout the model: nil means the probe could
// not tell, which is different from false. Use [Bool] to set one.

// Bool returns a pointer to b, for the model's tri-state fields.
func Bool(b bool) *bool { return &b }

// Host is everything discovery learned about one server.
type Host struct {
	// Name is the host's name in the hosts file.
	Name string `json:"name"`
	// Address is the address shift connected to.
	Address string `json:"address"`
	// Transport is "ssh" or "winrm".
	Transport string `json:"transport"`
	// DiscoveredAt is when the probe finished, in UTC; zero if it never ran.
	DiscoveredAt time.Time `json:"discoveredAt,omitzero"`
	// ProbeSeconds is how long the probe took.
	ProbeSeconds float64    `json:"probeSeconds,omitempty"`
	Identity     Identity   `json:"identity"`
	OS           OS         `json:"os"`
	CPU          CPU        `json:"cpu"`
	Memory       Memory     `json:"memory"`
	Firmware     Firmware   `json:"firmware"`
	Disks        []Disk     `json:"disks,omitempty"`
	Volumes      []Volume   `json:"volumes,omitempty"`
	NICs         []NIC      `json:"nics,omitempty"`
	Software     []Software `json:"software,omitempty"`
	Services     []Service  `json:"services,omitempty"`
	Ports        []Port     `json:"listeningPorts,omitempty"`
	// PendingReboot is true when the OS reports a reboot is pending (Windows:
	// CBS, Windows Update, PendingFileRenameOperations; Linux: /run/reboot-required
	// or needs-restarting). nil means unknown.
	PendingReboot *bool `json:"pendingReboot,omitempty"`
	// PendingRebootReasons says which signals reported the pending reboot.
	PendingRebootReasons []string `json:"pendingRebootReasons,omitempty"`
	Power                Power    `json:"power"`
	// SQLServer lists the SQL Server instances; empty when none is installed.
	SQLServer []SQLInstance `json:"sqlServer,omitempty"`
	// SharePoint is the farm this host belongs to; nil when SharePoint is not installed.
	SharePoint *SharePointFarm `json:"sharePoint,omitempty"`
	// Absent lists the workloads that were looked for and are not installed
	// ("sqlserver", "sharepoint"), so that "not installed" differs from "not probed".
	Absent []string `json:"absent,omitempty"`
	// Samples are the performance samples collected after the probe
	// (shift discover --sample); nil when none were collected. They travel
	// in the inventory so that assessment can size from them without a
	// separate file.
	Samples *Samples `json:"samples,omitempty"`
	// Errors are the problems met while probing this host. A host with errors may
	// still carry the fields that were read.
	Errors []Error `json:"errors,omitempty"`
}

// OK reports whether discovery of the host finished without any error.
func (h *Host) OK() bool { return len(h.Errors) == 0 }

// Failed reports whether any error leaves the inventory of the host
// incomplete. Errors of kind ErrUnsupported are notes about the host (a
// service manager it does not run, a tool it lacks) and do not count.
func (h *Host) Failed() bool {
	for _, e := range h.Errors {
		if e.Kind != ErrUnsupported {
			return true
		}
	}
	return false
}

// Reachable reports whether shift could connect and authenticate to the host.
func (h *Host) Reachable() bool {
	for _, e := range h.Errors {
		switch e.Kind {
		case ErrAuth, ErrUnreachable, ErrHostKey, ErrTimeout, ErrConfig, ErrTLS:
			return false
		}
	}
	return true
}

// AddError records a discovery error.
func (h *Host) AddError(e Error) { h.Errors = append(h.Errors, e) }

// Identity names the machine.
type Identity struct {
	Hostname string `json:"hostname,omitempty"`
	FQDN     string `json:"fqdn,omitempty"`
	// Domain is the DNS or Active Directory domain; empty in a workgroup.
	Domain string `json:"domain,omitempty"`
	// Workgroup is set on Windows hosts that are not domain members.
	Workgroup string `json:"workgroup,omitempty"`
	// SystemUUID is the SMBIOS system UUID in lower case; empty when unreadable.
	SystemUUID   string `json:"systemUUID,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"`
	// Virtualization is the hypervisor the host runs on ("kvm", "vmware",
	// "microsoft", "none"); empty when unknown.
	Virtualization string `json:"virtualization,omitempty"`
}

// OS describes the operating system.
type OS struct {
	// Family is "linux" or "windows".
	Family string `json:"family,omitempty"`
	// Name is the product name, e.g. "Debian GNU/Linux 12 (bookworm)" or
	// "Microsoft Windows Server 2019 Datacenter".
	Name string `json:"name,omitempty"`
	// ID is the distribution id from os-release ("debian", "rhel") or "windows".
	ID string `json:"id,omitempty"`
	// IDLike is os-release ID_LIKE.
	IDLike []string `json:"idLike,omitempty"`
	// Version is "12", "8.6", "10.0.17763".
	Version string `json:"version,omitempty"`
	// Build is the Windows build number or the distribution's build id.
	Build string `json:"build,omitempty"`
	// Edition is the Windows edition ("ServerDatacenter") or the SKU.
	Edition string `json:"edition,omitempty"`
	Kernel  string `json:"kernel,omitempty"`
	// Architecture is normalised: "x86_64", "aarch64", "i686".
	Architecture string `json:"architecture,omitempty"`
	// InstallDate is when the OS was installed; zero when unknown.
	InstallDate time.Time `json:"installDate,omitzero"`
	LastBoot    time.Time `json:"lastBoot,omitzero"`
	// EndOfSupport is the vendor's end of (extended) support, "YYYY-MM-DD";
	// empty when shift does not know it.
	EndOfSupport string `json:"endOfSupport,omitempty"`
	// Timezone is the configured time zone.
	Timezone string `json:"timezone,omitempty"`
}

// CPU describes the processors.
type CPU struct {
	Model   string `json:"model,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Sockets int    `json:"sockets,omitempty"`
	// Cores is the number of physical cores over all sockets.
	Cores int `json:"cores,omitempty"`
	// Logical is the number of logical processors (threads).
	Logical int     `json:"logical,omitempty"`
	MHz     float64 `json:"mhz,omitempty"`
}

// Memory describes main memory.
type Memory struct {
	TotalBytes     uint64 `json:"totalBytes,omitempty"`
	AvailableBytes uint64 `json:"availableBytes,omitempty"`
	SwapBytes      uint64 `json:"swapBytes,omitempty"`
}

// Firmware describes how the machine boots.
type Firmware struct {
	// Type is "bios" or "uefi"; empty when unknown.
	Type string `json:"type,omitempty"`
	// SecureBoot is nil when unknown (BIOS machines report false).
	SecureBoot *bool  `json:"secureBoot,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Version    string `json:"version,omitempty"`
}

// Power carries the sleep settings that break a block-level copy of Windows.
type Power struct {
	Hibernation *bool `json:"hibernation,omitempty"`
	FastStartup *bool `json:"fastStartup,omitempty"`
}

// Software is one installed package or program.
type Software struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	// Arch is the package architecture when the package manager reports one.
	Arch string `json:"arch,omitempty"`
	// InstallDate is "YYYY-MM-DD" when known.
	InstallDate string `json:"installDate,omitempty"`
	// Source is "dpkg", "rpm" or "registry".
	Source string `json:"source,omitempty"`
}

// Service is a system service (systemd unit or Windows service).
type Service struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// StartMode is "auto", "auto-delayed", "manual", "disabled", "static" or
	// "boot"/"system" (Windows drivers); empty when unknown.
	StartMode string `json:"startMode,omitempty"`
	// State is "running", "stopped", "failed", "starting", "stopping", "paused"
	// or the raw state when it fits none.
	State string `json:"state,omitempty"`
	// Account is the account the service runs as, when known.
	Account string `json:"account,omitempty"`
}

// Port is a listening socket.
type Port struct {
	// Protocol is "tcp" or "udp".
	Protocol string `json:"protocol"`
	// Address is the local address ("0.0.0.0", "::", "127.0.0.1").
	Address string `json:"address"`
	Port    int    `json:"port"`
	Process string `json:"process,omitempty"`
	PID     int    `json:"pid,omitempty"`
}

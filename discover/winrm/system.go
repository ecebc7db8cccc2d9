package winrm

import (
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// systemOutput is what scripts/system.ps1 prints.
type systemOutput struct {
	ComputerSystem *struct {
		Name                      psjson.String
		DNSHostName               psjson.String
		Domain                    psjson.String
		PartOfDomain              psjson.Bool
		Workgroup                 psjson.String
		Manufacturer              psjson.String
		Model                     psjson.String
		TotalPhysicalMemory       psjson.Uint
		NumberOfProcessors        psjson.Int
		NumberOfLogicalProcessors psjson.Int
		HypervisorPresent         psjson.Bool
	}
	Product *struct {
		UUID psjson.String
	}
	BIOS *struct {
		SerialNumber      psjson.String
		Manufacturer      psjson.String
		SMBIOSBIOSVersion psjson.String
		ReleaseDate       psjson.Time
	}
	OperatingSystem *struct {
		Caption                 psjson.String
		Version                 psjson.String
		BuildNumber             psjson.String
		OSArchitecture          psjson.String
		OperatingSystemSKU      psjson.Int
		ProductType             psjson.Int
		InstallDate             psjson.Time
		LastBootUpTime          psjson.Time
		TotalVisibleMemorySize  psjson.Uint // KiB
		FreePhysicalMemory      psjson.Uint // KiB
		SizeStoredInPagingFiles psjson.Uint // KiB
	}
	TimeZone   psjson.String
	Processors psjson.List[struct {
		SocketDesignation         psjson.String
		Name                      psjson.String
		Manufacturer              psjson.String
		NumberOfCores             psjson.Int
		NumberOfLogicalProcessors psjson.Int
		MaxClockSpeed             psjson.Int
	}]
	FirmwareType psjson.Int
	SecureBoot   psjson.Bool
	Reboot       *struct {
		ComponentBasedServicing     psjson.Bool
		WindowsUpdate               psjson.Bool
		PendingFileRenameOperations psjson.Bool
		ComputerRename              psjson.Bool
	}
	Power *struct {
		HibernateEnabled psjson.Bool
		HiberbootEnabled psjson.Bool
	}
	Problems psjson.List[problem]
}

// editions maps Win32_OperatingSystem.OperatingSystemSKU to the edition id.
var editions = map[int64]string{
	7: "ServerStandard", 8: "ServerDatacenter", 10: "ServerEnterprise",
	12: "ServerDatacenterCore", 13: "ServerStandardCore", 79: "ServerStandardEval",
	80: "ServerDatacenterEval", 145: "ServerDatacenterACor", 146: "ServerStandardACor",
	48: "Professional", 4: "Enterprise",
}

func parseSystem(h *inventory.Host, stdout []byte) ([]problem, error) {
	var out systemOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, err
	}
	if cs := out.ComputerSystem; cs != nil {
		h.Identity.Hostname = string(cs.Name)
		h.Identity.Manufacturer = strings.TrimSpace(string(cs.Manufacturer))
		h.Identity.Model = strings.TrimSpace(string(cs.Model))
		host := string(cs.DNSHostName)
		if host == "" {
			host = strings.ToLower(string(cs.Name))
		}
		if cs.PartOfDomain.True() {
			h.Identity.Domain = string(cs.Domain)
			h.Identity.FQDN = host + "." + string(cs.Domain)
		} else {
			h.Identity.Workgroup = string(cs.Workgroup)
			if h.Identity.Workgroup == "" {
				h.Identity.Workgroup = string(cs.Domain)
			}
			h.Identity.FQDN = host
		}
		h.Identity.Virtualization = virtualization(string(cs.Manufacturer), string(cs.Model), cs.HypervisorPresent)
		h.Memory.TotalBytes = cs.TotalPhysicalMemory.Value
		h.CPU.Sockets = cs.NumberOfProcessors.Int()
		h.CPU.Logical = cs.NumberOfLogicalProcessors.Int()
	}
	if p := out.Product; p != nil {
		h.Identity.SystemUUID = systemUUID(string(p.UUID))
	}
	if b := out.BIOS; b != nil {
		h.Identity.SerialNumber = strings.TrimSpace(string(b.SerialNumber))
		h.Firmware.Vendor = strings.TrimSpace(string(b.Manufacturer))
		h.Firmware.Version = strings.TrimSpace(string(b.SMBIOSBIOSVersion))
	}
	if os := out.OperatingSystem; os != nil {
		h.OS.Name = strings.TrimSpace(string(os.Caption))
		h.OS.Version = string(os.Version)
		h.OS.Build = string(os.BuildNumber)
		if os.OperatingSystemSKU.Valid {
			h.OS.Edition = editions[os.OperatingSystemSKU.Value]
		}
		h.OS.Architecture = architecture(string(os.OSArchitecture))
		h.OS.InstallDate = os.InstallDate.Time
		h.OS.LastBoot = os.LastBootUpTime.Time
		h.OS.EndOfSupport = inventory.WindowsEndOfSupport(h.OS.Name, h.OS.Build)
		if h.Memory.TotalBytes == 0 {
			h.Memory.TotalBytes = os.TotalVisibleMemorySize.Value * 1024
		}
		h.Memory.AvailableBytes = os.FreePhysicalMemory.Value * 1024
		h.Memory.SwapBytes = os.SizeStoredInPagingFiles.Value * 1024
	}
	h.OS.Timezone = string(out.TimeZone)
	if len(out.Processors) > 0 {
		p := out.Processors[0]
		h.CPU.Model = strings.Join(strings.Fields(string(p.Name)), " ")
		h.CPU.Vendor = string(p.Manufacturer)
		h.CPU.MHz = float64(p.MaxClockSpeed.Value)
		h.CPU.Sockets = len(out.Processors)
		h.CPU.Cores, h.CPU.Logical = 0, 0
		for _, p := range out.Processors {
			h.CPU.Cores += p.NumberOfCores.Int()
			h.CPU.Logical += p.NumberOfLogicalProcessors.Int()
		}
	}
	switch out.FirmwareType.Value {
	case 1:
		h.Firmware.Type = "bios"
	case 2:
		h.Firmware.Type = "uefi"
	}
	h.Firmware.SecureBoot = out.SecureBoot.Ptr()
	if h.Firmware.Type == "bios" && h.Firmware.SecureBoot == nil {
		h.Firmware.SecureBoot = inventory.Bool(false)
	}
	if r := out.Reboot; r != nil {
		h.PendingReboot = inventory.Bool(false)
		h.PendingRebootReasons = nil
		for _, sig := range []struct {
			v    psjson.Bool
			name string
		}{
			{r.ComponentBasedServicing, "component-based-servicing"},
			{r.WindowsUpdate, "windows-update"},
			{r.PendingFileRenameOperations, "pending-file-rename"},
			{r.ComputerRename, "computer-rename"},
		} {
			if sig.v.True() {
				h.PendingReboot = inventory.Bool(true)
				h.PendingRebootReasons = append(h.PendingRebootReasons, sig.name)
			}
		}
	}
	if p := out.Power; p != nil {
		h.Power.Hibernation = p.HibernateEnabled.Ptr()
		h.Power.FastStartup = p.HiberbootEnabled.Ptr()
		if h.Power.FastStartup == nil && h.OS.Name != "" {
			// No HiberbootEnabled value: Fast Startup does not exist (servers).
			h.Power.FastStartup = inventory.Bool(false)
		}
	}
	return out.Problems, nil
}

// systemUUID lower-cases the SMBIOS UUID and drops the placeholders firmware
// prints when it has none.
func systemUUID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff":
		return ""
	}
	return s
}

func architecture(s string) string {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "arm"):
		return "aarch64"
	case strings.HasPrefix(s, "64"):
		return "x86_64"
	case strings.HasPrefix(s, "32"):
		return "i686"
	}
	return s
}

// virtualization guesses the hypervisor from the SMBIOS system strings.
func virtualization(manufacturer, model string, hypervisor psjson.Bool) string {
	if h := inventory.Hypervisor(manufacturer, model); h != "" {
		return h
	}
	if hypervisor.Valid && !hypervisor.Value {
		return "none"
	}
	return ""
}

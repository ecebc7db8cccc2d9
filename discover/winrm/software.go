package winrm

import (
	"sort"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// softwareOutput is what scripts/software.ps1 prints.
type softwareOutput struct {
	Software psjson.List[struct {
		DisplayName    psjson.String
		DisplayVersion psjson.String
		Publisher      psjson.String
		InstallDate    psjson.String // "yyyyMMdd", a REG_SZ
		Arch           psjson.String
	}]
	Services psjson.List[struct {
		Name             psjson.String
		DisplayName      psjson.String
		StartMode        psjson.Enum // "Auto" from Win32_Service, 2 from Get-Service
		State            psjson.Enum // "Running" from Win32_Service, 4 from Get-Service
		DelayedAutoStart psjson.Bool // null before Windows Server 2016
		StartName        psjson.String
	}]
	Problems psjson.List[problem]
}

var (
	// startModes covers Win32_Service.StartMode names and the numbers of
	// System.ServiceProcess.ServiceStartMode.
	startModes = map[int64]string{0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}
	// serviceStates covers ServiceControllerStatus numbers.
	serviceStates = map[int64]string{1: "stopped", 2: "starting", 3: "stopping", 4: "running",
		5: "continuing", 6: "pausing", 7: "paused"}
	serviceStateNames = map[string]string{"start pending": "starting", "stop pending": "stopping",
		"continue pending": "continuing", "pause pending": "pausing"}
)

func parseSoftware(h *inventory.Host, stdout []byte) ([]problem, error) {
	var out softwareOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, err
	}
	h.Software = nil
	seen := map[string]bool{}
	for _, s := range out.Software {
		sw := inventory.Software{
			Name:        strings.TrimSpace(string(s.DisplayName)),
			Version:     strings.TrimSpace(string(s.DisplayVersion)),
			Publisher:   strings.TrimSpace(string(s.Publisher)),
			Arch:        string(s.Arch),
			InstallDate: installDate(string(s.InstallDate)),
			Source:      "registry",
		}
		key := sw.Name + "\x00" + sw.Version + "\x00" + sw.Arch
		if sw.Name == "" || seen[key] {
			continue
		}
		seen[key] = true
		h.Software = append(h.Software, sw)
	}
	sort.SliceStable(h.Software, func(i, j int) bool {
		return strings.ToLower(h.Software[i].Name) < strings.ToLower(h.Software[j].Name)
	})

	h.Services = nil
	for _, s := range out.Services {
		svc := inventory.Service{
			Name:        string(s.Name),
			DisplayName: string(s.DisplayName),
			StartMode:   strings.ToLower(s.StartMode.Text(startModes)),
			State:       serviceState(s.State),
			Account:     string(s.StartName),
		}
		if svc.StartMode == "auto" && s.DelayedAutoStart.True() {
			svc.StartMode = "auto-delayed"
		}
		h.Services = append(h.Services, svc)
	}
	sort.SliceStable(h.Services, func(i, j int) bool {
		return strings.ToLower(h.Services[i].Name) < strings.ToLower(h.Services[j].Name)
	})
	return out.Problems, nil
}

func serviceState(e psjson.Enum) string {
	s := strings.ToLower(e.Text(serviceStates))
	if n, ok := serviceStateNames[s]; ok {
		return n
	}
	return s
}

// installDate turns the registry's "yyyyMMdd" into "YYYY-MM-DD"; other
// spellings that are unambiguous are accepted, anything else is dropped.
func installDate(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"20060102", "2006-01-02", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return ""
}

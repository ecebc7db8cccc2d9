package ssh

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

// unit is one row of `systemctl list-units --output=json`.
type unit struct {
	Unit        string `json:"unit"`
	Load        string `json:"load"`
	Active      string `json:"active"`
	Sub         string `json:"sub"`
	Description string `json:"description"`
}

// errNotJSON says systemctl ignored --output=json (systemd < 246, RHEL 8).
var errNotJSON = errors.New("not JSON")

// parseSystemctlUnits parses `systemctl list-units --type=service --all
// --output=json`, falling back to the text table that systemd < 246 prints
// instead (with or without header, legend, and the ● marker). Units that are
// not found on disk are dropped.
func parseSystemctlUnits(out []byte) ([]inventory.Service, error) {
	var rows []unit
	s := strings.TrimSpace(string(out))
	switch {
	case s == "":
		return nil, errEmpty
	case s[0] == '[':
		if err := json.Unmarshal(out, &rows); err != nil {
			return nil, err
		}
	default:
		var err error
		if rows, err = parseUnitsText(out); err != nil {
			return nil, fmt.Errorf("%w, and not a unit table either: %v", errNotJSON, err)
		}
	}
	svcs := []inventory.Service{}
	for _, u := range rows {
		if u.Unit == "" || u.Load == "not-found" || !strings.HasSuffix(u.Unit, ".service") {
			continue
		}
		svcs = append(svcs, inventory.Service{Name: u.Unit, DisplayName: u.Description, State: unitState(u.Active, u.Sub)})
	}
	return svcs, nil
}

// parseUnitsText parses the text table of `systemctl list-units`.
func parseUnitsText(out []byte) ([]unit, error) {
	rows := []unit{}
	for _, l := range lines(out) {
		t := strings.TrimSpace(l)
		if t == "" {
			if len(rows) > 0 {
				break // the legend follows the blank line
			}
			continue
		}
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "●"), "*"))
		f := strings.Fields(t)
		if len(f) < 4 || f[0] == "UNIT" {
			continue
		}
		if !strings.Contains(f[0], ".") {
			continue // "334 loaded units listed." and the like
		}
		rows = append(rows, unit{Unit: f[0], Load: f[1], Active: f[2], Sub: f[3], Description: strings.Join(f[4:], " ")})
	}
	if len(rows) == 0 {
		return nil, errors.New("no unit rows")
	}
	return rows, nil
}

// unitState maps systemd's ACTIVE/SUB pair to the model's state.
func unitState(active, sub string) string {
	switch {
	case active == "active" && sub == "running":
		return "running"
	case active == "active":
		return sub // "exited" (oneshot done), "listening", "reload"…
	case active == "inactive":
		return "stopped"
	case active == "failed":
		return "failed"
	case active == "activating":
		return "starting"
	case active == "deactivating":
		return "stopping"
	}
	return active
}

// parseUnitFiles parses `systemctl list-unit-files --type=service
// --no-legend --no-pager` ("UNIT STATE [PRESET]") into start modes.
// Templates ("getty@.service") and aliases are left out.
func parseUnitFiles(out []byte) (map[string]string, error) {
	modes := map[string]string{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasSuffix(f[0], ".service") || strings.HasSuffix(f[0], "@.service") {
			continue
		}
		if f[1] == "alias" {
			continue
		}
		modes[f[0]] = startMode(f[1])
	}
	if len(modes) == 0 && strings.TrimSpace(string(out)) != "" && !strings.Contains(string(out), "0 unit files listed") {
		return nil, errors.New("no unit file rows")
	}
	return modes, nil
}

// startMode maps a unit file state to the model's start mode.
func startMode(state string) string {
	switch state {
	case "enabled", "enabled-runtime", "linked", "linked-runtime":
		return "auto"
	case "disabled", "masked", "masked-runtime":
		return "disabled"
	case "static":
		return "static"
	case "indirect", "generated", "transient":
		return "manual"
	}
	return state
}

// parseServiceStatusAll parses `service --status-all` on sysvinit hosts:
// " [ + ]  ssh" running, " [ - ]  ssh" stopped, " [ ? ]  x" unknown.
func parseServiceStatusAll(out []byte) ([]inventory.Service, error) {
	svcs := []inventory.Service{}
	for _, l := range lines(out) {
		t := strings.TrimSpace(l)
		if len(t) < 6 || t[0] != '[' {
			continue
		}
		end := strings.IndexByte(t, ']')
		if end < 0 {
			continue
		}
		name := strings.TrimSpace(t[end+1:])
		if name == "" {
			continue
		}
		svc := inventory.Service{Name: name}
		switch strings.TrimSpace(t[1:end]) {
		case "+":
			svc.State = "running"
		case "-":
			svc.State = "stopped"
		}
		svcs = append(svcs, svc)
	}
	if len(svcs) == 0 && strings.TrimSpace(string(out)) != "" {
		return nil, errors.New(`no "[ + ] name" lines`)
	}
	return svcs, nil
}

// mergeServices adds start modes to the loaded units and lists the installed
// unit files that are not loaded (disabled services) as stopped.
func mergeServices(svcs []inventory.Service, modes map[string]string) []inventory.Service {
	seen := map[string]bool{}
	for i := range svcs {
		svcs[i].StartMode = modes[svcs[i].Name]
		seen[svcs[i].Name] = true
	}
	var extra []string
	for name := range modes {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		svcs = append(svcs, inventory.Service{Name: name, StartMode: modes[name], State: "stopped"})
	}
	return svcs
}

// Package lists. The probe prints a first line naming the tool that ran.
const (
	dpkgFormat = `${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${Maintainer}\n`
	rpmFormat  = `%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{INSTALLTIME}\n`
)

// parseDpkg parses dpkg-query -W with dpkgFormat. Only installed packages
// (status "ii", "hi") are kept.
func parseDpkg(out []byte) ([]inventory.Software, error) {
	sw := []inventory.Software{}
	rows := 0
	for _, l := range lines(out) {
		f := strings.Split(l, "\t")
		if len(f) < 3 {
			continue
		}
		rows++
		status := strings.TrimSpace(f[0])
		if len(status) < 2 || status[1] != 'i' {
			continue // removed, config-files only, half-installed…
		}
		s := inventory.Software{Name: f[1], Version: f[2], Source: "dpkg"}
		if len(f) > 3 {
			s.Arch = f[3]
		}
		if len(f) > 4 {
			s.Publisher = f[4]
		}
		sw = append(sw, s)
	}
	if rows == 0 {
		return nil, errors.New("no package rows")
	}
	return sw, nil
}

// parseRPM parses rpm -qa with rpmFormat. gpg-pubkey pseudo-packages are
// left out.
func parseRPM(out []byte) ([]inventory.Software, error) {
	sw := []inventory.Software{}
	rows := 0
	for _, l := range lines(out) {
		f := strings.Split(l, "\t")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		rows++
		if f[0] == "gpg-pubkey" {
			continue
		}
		s := inventory.Software{Name: f[0], Version: f[1], Source: "rpm"}
		if len(f) > 2 && f[2] != "(none)" {
			s.Arch = f[2]
		}
		if len(f) > 3 && f[3] != "(none)" {
			s.Publisher = f[3]
		}
		if len(f) > 4 {
			if n, err := strconv.ParseInt(strings.TrimSpace(f[4]), 10, 64); err == nil && n > 0 && n < 1<<40 {
				s.InstallDate = time.Unix(n, 0).UTC().Format(time.DateOnly)
			}
		}
		sw = append(sw, s)
	}
	if rows == 0 {
		return nil, errors.New("no package rows")
	}
	return sw, nil
}

// rebootSignal is what one pending-reboot check could tell.
type rebootSignal struct {
	// Known is false when the check had nothing to say.
	Known   bool
	Pending bool
	Reasons []string
}

// parseRebootRequired parses the probe's Debian check: "required" followed
// by /run/reboot-required.pkgs, or "none" when the flag file is absent.
func parseRebootRequired(out []byte) (rebootSignal, error) {
	ls := lines(out)
	if len(ls) == 0 {
		return rebootSignal{}, nil
	}
	switch strings.TrimSpace(ls[0]) {
	case "none":
		return rebootSignal{Known: true}, nil
	case "required":
		r := rebootSignal{Known: true, Pending: true}
		for _, l := range ls[1:] {
			if l = strings.TrimSpace(l); l != "" {
				r.Reasons = append(r.Reasons, "/run/reboot-required: "+l)
			}
		}
		if len(r.Reasons) == 0 {
			r.Reasons = []string{"/run/reboot-required"}
		}
		return r, nil
	}
	return rebootSignal{}, fmt.Errorf("unexpected first line %q", ls[0])
}

// parseNeedsRestarting parses `needs-restarting -r` (dnf/yum-utils): exit 1
// and "Reboot is required" when a reboot is pending, exit 0 otherwise.
func parseNeedsRestarting(out []byte, code int) (rebootSignal, error) {
	s := string(out)
	switch {
	case strings.Contains(s, "Reboot is required"):
		r := rebootSignal{Known: true, Pending: true}
		for _, l := range lines(out) {
			if item, ok := strings.CutPrefix(strings.TrimSpace(l), "* "); ok {
				r.Reasons = append(r.Reasons, "needs-restarting: "+item)
			}
		}
		if len(r.Reasons) == 0 {
			r.Reasons = []string{"needs-restarting -r"}
		}
		return r, nil
	case code == 0 && (strings.Contains(s, "Reboot should not be necessary") || strings.Contains(s, "No core libraries")):
		return rebootSignal{Known: true}, nil
	}
	return rebootSignal{}, fmt.Errorf("exit %d with unexpected output %q", code, firstLine(s))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

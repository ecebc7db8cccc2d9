package ssh

import (
	"github.com/shift-migrate/shift/inventory"

	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errEmpty is returned by parsers given no output at all.
var errEmpty = errors.New("empty output")

// lines splits out into lines, dropping a trailing carriage return and the
// empty string after a final newline.
func lines(out []byte) []string {
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}

// parseOSRelease parses /etc/os-release: KEY=value lines, values optionally
// in single or double quotes with backslash escapes, # comments, blank lines,
// and no trailing newline.
func parseOSRelease(out []byte) (map[string]string, error) {
	kv := map[string]string{}
	for _, l := range lines(out) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		kv[k] = unquoteShell(strings.TrimSpace(v))
	}
	if kv["ID"] == "" && kv["NAME"] == "" {
		return nil, errors.New("no ID or NAME line")
	}
	return kv, nil
}

// unquoteShell removes one level of shell quoting from an os-release value.
func unquoteShell(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, "\\`", "`", `\$`, `$`)
			v = r.Replace(v)
		}
	}
	return v
}

// uname is the output of uname -srm.
type uname struct {
	System, Release, Machine string
}

// parseUname parses "Linux 6.1.0-18-amd64 x86_64".
func parseUname(out []byte) (uname, error) {
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return uname{}, fmt.Errorf("want 3 fields, got %d", len(f))
	}
	return uname{System: f[0], Release: f[1], Machine: f[2]}, nil
}

// normalizeArch maps architecture names to the model's form.
func normalizeArch(m string) string {
	switch m {
	case "amd64", "x64", "x86-64":
		return "x86_64"
	case "arm64", "armv8", "armv8l":
		return "aarch64"
	case "i386", "i486", "i586", "i686", "x86":
		return "i686"
	}
	return m
}

// cpuInfo is what /proc/cpuinfo tells.
type cpuInfo struct {
	Model, Vendor           string
	Sockets, Cores, Logical int
	MHz                     float64
	// Hypervisor is true when the CPU flags include "hypervisor".
	Hypervisor bool
}

// parseCPUInfo parses /proc/cpuinfo. Keys and values are split on the first
// ':' and trimmed, since some copies use spaces where the kernel writes tabs.
func parseCPUInfo(out []byte) (cpuInfo, error) {
	var ci cpuInfo
	sockets := map[string]bool{}
	cores := map[string]bool{}
	coresPerSocket := 0
	phys, core := "", ""
	endBlock := func() {
		if phys != "" && core != "" {
			cores[phys+"/"+core] = true
		}
		phys, core = "", ""
	}
	for _, l := range lines(out) {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			if strings.TrimSpace(l) == "" {
				endBlock()
			}
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			if _, err := strconv.Atoi(v); err == nil {
				endBlock()
				ci.Logical++
			}
		case "model name", "cpu model":
			if ci.Model == "" {
				ci.Model = v
			}
		case "vendor_id":
			if ci.Vendor == "" {
				ci.Vendor = v
			}
		case "cpu MHz":
			if ci.MHz == 0 {
				ci.MHz, _ = strconv.ParseFloat(v, 64)
			}
		case "physical id":
			phys = v
			sockets[v] = true
		case "core id":
			core = v
		case "cpu cores":
			if n, err := strconv.Atoi(v); err == nil && coresPerSocket == 0 {
				coresPerSocket = n
			}
		case "flags":
			for _, f := range strings.Fields(v) {
				if f == "hypervisor" {
					ci.Hypervisor = true
				}
			}
		}
	}
	endBlock()
	if ci.Logical == 0 {
		return cpuInfo{}, errors.New(`no "processor" entries`)
	}
	ci.Sockets = len(sockets)
	switch {
	case len(cores) > 0:
		ci.Cores = len(cores)
	case coresPerSocket > 0 && ci.Sockets > 0:
		ci.Cores = coresPerSocket * ci.Sockets
	}
	return ci, nil
}

// memInfo is what /proc/meminfo tells, in bytes.
type memInfo struct {
	Total, Available, Swap uint64
}

// parseMeminfo parses /proc/meminfo ("MemTotal:  24683656 kB").
func parseMeminfo(out []byte) (memInfo, error) {
	var m memInfo
	seen := false
	for _, l := range lines(out) {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			if n > (1<<64-1)/1024 {
				continue
			}
			n *= 1024
		}
		switch strings.TrimSpace(k) {
		case "MemTotal":
			m.Total, seen = n, true
		case "MemAvailable":
			m.Available = n
		case "SwapTotal":
			m.Swap = n
		}
	}
	if !seen {
		return memInfo{}, errors.New("no MemTotal line")
	}
	return m, nil
}

// parseKeyValues parses "key=value" lines (the DMI step prints sysfs files
// that way).
func parseKeyValues(out []byte) map[string]string {
	kv := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, "="); ok && k != "" {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv
}

var uuidRE = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// parseSystemUUID reads a system UUID from /sys/class/dmi/id/product_uuid or
// `dmidecode -s system-uuid` (which may print "# ..." notes first). The UUID
// comes back lower case; placeholders (all zeros, all F) are refused.
func parseSystemUUID(out []byte) (string, error) {
	for _, l := range lines(out) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !uuidRE.MatchString(l) {
			return "", fmt.Errorf("not a UUID: %q", l)
		}
		u := strings.ToLower(l)
		hex := strings.ReplaceAll(u, "-", "")
		if strings.Trim(hex, "0") == "" || strings.Trim(hex, "f") == "" {
			return "", fmt.Errorf("placeholder UUID %s", u)
		}
		return u, nil
	}
	return "", errEmpty
}

// parseDetectVirt parses `systemd-detect-virt --vm`: one word, "none" on
// physical machines.
func parseDetectVirt(out []byte) (string, error) {
	f := strings.Fields(string(out))
	if len(f) != 1 {
		return "", fmt.Errorf("want one word, got %q", strings.TrimSpace(string(out)))
	}
	return f[0], nil
}

// virtFromDMI guesses the hypervisor from DMI vendor and product strings and
// the CPU hypervisor flag; "" when nothing tells.
func virtFromDMI(vendor, product string, hypervisorFlag bool) string {
	if h := inventory.Hypervisor(vendor, product); h != "" {
		return h
	}
	switch {
	case hypervisorFlag:
		return "vm-other"
	case vendor != "":
		return "none"
	}
	return ""
}

// parseSecureBoot reads the Secure Boot state from either the SecureBoot EFI
// variable dumped with `od -An -tu1` (efivarfs: 4 attribute bytes then the
// value; the legacy sysfs "data" file: the value alone) or `mokutil
// --sb-state`.
func parseSecureBoot(out []byte) (bool, error) {
	s := strings.TrimSpace(string(out))
	low := strings.ToLower(s)
	switch {
	case s == "":
		return false, errEmpty
	case strings.Contains(low, "secureboot enabled"):
		return true, nil
	case strings.Contains(low, "secureboot disabled"), strings.Contains(low, "doesn't support secure boot"):
		return false, nil
	}
	f := strings.Fields(s)
	if len(f) != 1 && len(f) != 5 {
		return false, fmt.Errorf("unexpected SecureBoot variable dump %q", s)
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil || n > 1 || n < 0 {
		return false, fmt.Errorf("unexpected SecureBoot value %q", f[len(f)-1])
	}
	return n == 1, nil
}

// parseBootTime reads "btime N" from /proc/stat.
func parseBootTime(out []byte) (time.Time, error) {
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "btime" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || n <= 0 {
				return time.Time{}, fmt.Errorf("bad btime %q", f[1])
			}
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Time{}, errors.New("no btime line")
}

// parseTimezone reads /etc/timezone or the target of /etc/localtime.
func parseTimezone(out []byte) string {
	s := strings.TrimSpace(string(out))
	if i := strings.Index(s, "zoneinfo/"); i >= 0 {
		s = s[i+len("zoneinfo/"):]
	}
	if strings.ContainsAny(s, " \n\t") {
		return ""
	}
	return s
}

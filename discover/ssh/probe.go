package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/shscript"
)

// Runner runs shell commands on the host. *remote.SSHClient satisfies it.
// A command that runs and exits non-zero is a Result, not an error.
type Runner interface {
	Run(ctx context.Context, cmd string) (*remote.Result, error)
	// RunPrivileged runs cmd as root (through sudo -n when the login user is
	// not root).
	RunPrivileged(ctx context.Context, cmd string) (*remote.Result, error)
}

// Probe fills h (whose Name, Address and Transport are already set) from the
// host. It never stops at the first failure: each step that fails appends an
// inventory.Error and the probe goes on. It returns early only when ctx ends;
// the remaining steps are then skipped and the cancellation recorded.
//
// A probe costs two round trips (three when privileged commands fail and are
// retried without root): one script with the user's rights and one that wants
// root.
func Probe(ctx context.Context, r Runner, h *inventory.Host) {
	start := time.Now()
	defer func() {
		h.DiscoveredAt = time.Now().UTC()
		h.ProbeSeconds = time.Since(start).Seconds()
	}()
	p := &prober{h: h, secs: map[string]shscript.Section{}}
	if !p.run(ctx, "probe", r.Run, userSteps) {
		return
	}
	if !p.runPrivileged(ctx, r) {
		return
	}
	p.identity()
	p.os()
	p.cpu()
	p.memory()
	p.firmware()
	p.storage()
	p.network()
	p.ports()
	p.services()
	p.software()
	p.pendingReboot()
	p.workloads()
}

// prober holds the sections of one probe and records errors on the host.
type prober struct {
	h    *inventory.Host
	secs map[string]shscript.Section
	// unprivileged is true when the privileged script ran without root.
	unprivileged bool
}

type runFunc func(context.Context, string) (*remote.Result, error)

// run executes steps as one script and keeps their sections. It reports
// false when ctx has ended (the error is then recorded).
func (p *prober) run(ctx context.Context, step string, run runFunc, steps []shscript.Step) bool {
	secs, err := runScript(ctx, run, steps)
	if ctx.Err() != nil {
		p.canceled(ctx, step)
		return false
	}
	if err != nil {
		p.h.AddError(remote.AsInventoryError(step, err))
	}
	for k, v := range secs {
		p.secs[k] = v
	}
	return true
}

// runPrivileged runs privSteps as root, and without root when that fails.
func (p *prober) runPrivileged(ctx context.Context, r Runner) bool {
	secs, err := runScript(ctx, r.RunPrivileged, privSteps)
	if ctx.Err() != nil {
		p.canceled(ctx, "privileges")
		return false
	}
	if err == nil {
		for k, v := range secs {
			p.secs[k] = v
		}
		return true
	}
	e := remote.AsInventoryError("privileges", err)
	e.Step, e.Kind = "privileges", inventory.ErrPermission
	e.Message = "cannot run commands as root (" + e.Message + "): ran them as the login user; serial number, system UUID, socket owners and some disk details may be missing"
	if e.Hint == "" {
		e.Hint = "connect as root, or allow the user passwordless sudo (sudo -n) for shift"
	}
	p.h.AddError(e)
	p.unprivileged = true
	return p.run(ctx, "probe", r.Run, privSteps)
}

// runScript runs steps as one script and splits its output into sections.
// The error says when the script could not run or its output was cut short;
// sections that did arrive are returned with it.
func runScript(ctx context.Context, run runFunc, steps []shscript.Step) (map[string]shscript.Section, error) {
	marker := shscript.NewMarker()
	res, err := run(ctx, shscript.Build(marker, shscript.Script{Steps: steps}))
	if err != nil {
		return nil, err
	}
	secs, complete := shscript.Split(res.Stdout, marker)
	if !complete {
		msg := res.Err("sh")
		if msg == nil {
			msg = errors.New("sh: output ended early")
		}
		return secs, fmt.Errorf("probe script did not finish: %w", msg)
	}
	return secs, nil
}

func (p *prober) canceled(ctx context.Context, step string) {
	kind := inventory.ErrCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = inventory.ErrTimeout
	}
	p.h.AddError(inventory.Error{Step: step, Kind: kind, Message: "probe stopped: " + ctx.Err().Error() + "; remaining steps skipped"})
}

// fail records an error of kind for step.
func (p *prober) fail(step, kind, msg, hint string) {
	p.h.AddError(inventory.Error{Step: step, Kind: kind, Message: msg, Hint: hint})
}

// get returns the section of a step; ok is false (and an error is recorded
// for step) when the script never reached it.
func (p *prober) get(step, name string) (shscript.Section, bool) {
	s, ok := p.secs[name]
	if !ok {
		p.fail(step, inventory.ErrProbe, "no output from the "+name+" command", "see the other errors of this host: the probe script did not run to the end")
		return shscript.Section{}, false
	}
	return s, true
}

// result returns the stdout of a step that must succeed, recording an error
// naming cmd when it did not: ErrUnsupported with the package to install when
// the tool is missing, ErrProbe otherwise.
func (p *prober) result(step, name, cmd, pkg string) ([]byte, bool) {
	s, ok := p.get(step, name)
	if !ok {
		return nil, false
	}
	switch {
	case s.Missing():
		p.fail(step, inventory.ErrUnsupported, cmd+": command not found", "install "+pkg+" on the host")
		return nil, false
	case s.Code != 0:
		msg := fmt.Sprintf("%s: exit status %d", cmd, s.Code)
		if l := s.FirstLine(); l != "" {
			msg += ": " + l
		}
		p.fail(step, inventory.ErrProbe, msg, "run "+cmd+" on the host to see why it fails")
		return nil, false
	}
	return s.Stdout, true
}

// parseFailed records that cmd's output could not be understood.
func (p *prober) parseFailed(step, cmd string, err error) {
	p.fail(step, inventory.ErrParse, fmt.Sprintf("%s: cannot parse output: %v", cmd, err),
		"run "+cmd+" on the host and report its output to the shift developers")
}

// placeholders are DMI strings that vendors leave unfilled.
var placeholders = []string{"", "to be filled by o.e.m.", "default string", "not specified", "not applicable", "none", "system serial number", "system product name", "system manufacturer", "0123456789", "0"}

func dmiValue(s string) string {
	s = strings.TrimSpace(s)
	if slices.Contains(placeholders, strings.ToLower(s)) {
		return ""
	}
	return s
}

func (p *prober) identity() {
	const step = "identity"
	if out, ok := p.result(step, "hostname", "hostname", "hostname"); ok {
		p.h.Identity.Hostname = strings.TrimSpace(string(out))
	}
	if s, ok := p.secs["fqdn"]; ok && s.Code == 0 {
		// "localhost.localdomain" is what a host without a name says.
		if f := strings.TrimSpace(string(s.Stdout)); strings.Contains(f, ".") && !strings.ContainsAny(f, " \t\n") && !strings.HasPrefix(f, "localhost") {
			p.h.Identity.FQDN = f
		}
	}
	if p.h.Identity.FQDN == "" && strings.Contains(p.h.Identity.Hostname, ".") {
		p.h.Identity.FQDN = p.h.Identity.Hostname
	}
	if _, dom, ok := strings.Cut(p.h.Identity.FQDN, "."); ok {
		p.h.Identity.Domain = dom
	}

	dmi := map[string]string{}
	if s, ok := p.get(step, "dmi"); ok {
		dmi = parseKeyValues(s.Stdout)
	}
	id := &p.h.Identity
	id.Manufacturer = dmiValue(dmi["sys_vendor"])
	id.Model = dmiValue(dmi["product_name"])
	id.SerialNumber = dmiValue(dmi["product_serial"])
	p.h.Firmware.Vendor = dmiValue(dmi["bios_vendor"])
	p.h.Firmware.Version = dmiValue(dmi["bios_version"])
	if u, err := parseSystemUUID([]byte(dmi["product_uuid"])); err == nil {
		id.SystemUUID = u
	} else if s, ok := p.secs["dmidecode"]; ok && s.Code == 0 && len(bytes.TrimSpace(s.Stdout)) > 0 {
		if u, err := parseSystemUUID(s.Stdout); err == nil {
			id.SystemUUID = u
		} else {
			p.parseFailed(step, "dmidecode -s system-uuid", err)
		}
	} else if ok && !p.unprivileged && strings.Contains(strings.ToLower(string(s.Stderr)), "permission denied") {
		p.fail(step, inventory.ErrPermission, "system UUID: dmidecode -s system-uuid: "+s.FirstLine(), "run shift's SSH user as root or with passwordless sudo")
	}
	// A host without SMBIOS (some VMs) has no DMI data and dmidecode fails
	// with "/dev/mem: No such file or directory": nothing to report.

	if s, ok := p.secs["virt"]; ok && (s.Code == 0 || s.Code == 1) {
		if v, err := parseDetectVirt(s.Stdout); err == nil {
			id.Virtualization = v
			return
		}
	}
	hyper := false
	if s, ok := p.secs["cpuinfo"]; ok {
		ci, _ := parseCPUInfo(s.Stdout)
		hyper = ci.Hypervisor
	}
	id.Virtualization = virtFromDMI(id.Manufacturer, id.Model, hyper)
}

func (p *prober) os() {
	const step = "os"
	o := &p.h.OS
	if out, ok := p.result(step, "uname", "uname -srm", "coreutils"); ok {
		if u, err := parseUname(out); err != nil {
			p.parseFailed(step, "uname -srm", err)
		} else {
			o.Family = strings.ToLower(u.System)
			o.Kernel = u.Release
			o.Architecture = normalizeArch(u.Machine)
		}
	}
	if out, ok := p.result(step, "osrelease", "cat /etc/os-release", "base-files (or the distribution's release package)"); ok {
		if kv, err := parseOSRelease(out); err != nil {
			p.parseFailed(step, "cat /etc/os-release", err)
		} else {
			o.ID = kv["ID"]
			o.IDLike = strings.Fields(kv["ID_LIKE"])
			o.Version = kv["VERSION_ID"]
			o.Build = kv["BUILD_ID"]
			o.Name = kv["PRETTY_NAME"]
			if o.Name == "" {
				o.Name = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
			}
			o.EndOfSupport = inventory.OSEndOfSupport(o.ID, o.Version)
		}
	}
	if s, ok := p.secs["btime"]; ok && s.Code == 0 {
		if t, err := parseBootTime(s.Stdout); err == nil {
			o.LastBoot = t
		}
	}
	if s, ok := p.secs["timezone"]; ok && s.Code == 0 {
		o.Timezone = parseTimezone(s.Stdout)
	}
}

func (p *prober) cpu() {
	const step = "cpu"
	out, ok := p.result(step, "cpuinfo", "cat /proc/cpuinfo", "procfs")
	if !ok {
		return
	}
	ci, err := parseCPUInfo(out)
	if err != nil {
		p.parseFailed(step, "cat /proc/cpuinfo", err)
		return
	}
	p.h.CPU = inventory.CPU{Model: ci.Model, Vendor: ci.Vendor, Sockets: ci.Sockets, Cores: ci.Cores, Logical: ci.Logical, MHz: ci.MHz}
}

func (p *prober) memory() {
	const step = "memory"
	out, ok := p.result(step, "meminfo", "cat /proc/meminfo", "procfs")
	if !ok {
		return
	}
	m, err := parseMeminfo(out)
	if err != nil {
		p.parseFailed(step, "cat /proc/meminfo", err)
		return
	}
	p.h.Memory = inventory.Memory{TotalBytes: m.Total, AvailableBytes: m.Available, SwapBytes: m.Swap}
}

func (p *prober) firmware() {
	const step = "firmware"
	out, ok := p.result(step, "efi", "test -d /sys/firmware/efi", "coreutils")
	if !ok {
		return
	}
	fw := &p.h.Firmware
	switch strings.TrimSpace(string(out)) {
	case "bios":
		fw.Type, fw.SecureBoot = "bios", inventory.Bool(false)
		return
	case "uefi":
		fw.Type = "uefi"
	default:
		return
	}
	s, ok := p.get(step, "secureboot")
	switch {
	case !ok:
	case s.Missing():
		p.fail(step, inventory.ErrUnsupported, "Secure Boot state unknown: the SecureBoot EFI variable is not readable and mokutil is not installed", "install mokutil on the host")
	default:
		on, err := parseSecureBoot(s.Stdout)
		if err != nil {
			p.parseFailed(step, "SecureBoot EFI variable / mokutil --sb-state", err)
			return
		}
		fw.SecureBoot = inventory.Bool(on)
	}
}

func (p *prober) storage() {
	const step = "disks"
	out, ok := p.result(step, "lsblk", "lsblk -J -b -O", "util-linux")
	if !ok {
		return
	}
	devs, err := parseLsblk(out)
	if err != nil {
		p.parseFailed(step, "lsblk -J -b -O", err)
		return
	}
	f := storageFacts{Devs: devs}
	if s, ok := p.secs["sysblock"]; ok {
		f.Sys, _ = parseSysBlock(s.Stdout)
	}
	if out, ok := p.result(step, "mounts", "findmnt -J -b (or df -B1)", "util-linux"); ok {
		if f.Mounts, err = parseMounts(out); err != nil {
			p.parseFailed(step, "findmnt -J -b / df -B1", err)
		}
	}
	if out, ok := p.result(step, "swaps", "cat /proc/swaps", "procfs"); ok {
		if f.Swaps, err = parseSwaps(out); err != nil {
			p.parseFailed(step, "cat /proc/swaps", err)
		}
	}
	p.h.Disks, p.h.Volumes = buildStorage(f)
}

func (p *prober) network() {
	const step = "network"
	out, ok := p.result(step, "ipaddr", "ip -j addr", "iproute2 (4.13 or later for JSON output)")
	if !ok {
		return
	}
	nics, err := parseIPAddr(out)
	if err != nil {
		p.parseFailed(step, "ip -j addr", err)
		return
	}
	if s, ok := p.secs["netsys"]; ok && s.Code == 0 {
		if sys, err := parseNetSys(s.Stdout); err == nil {
			for i := range nics {
				ns := sys[nics[i].Name]
				nics[i].SpeedMbps = ns.SpeedMbps
				nics[i].Team = nics[i].Team || ns.Bond
				nics[i].Virtual = (nics[i].Virtual || ns.Virtual) && !nics[i].Team
			}
		}
	}
	for _, r := range []struct{ name, cmd string }{{"route4", "ip -j route"}, {"route6", "ip -j -6 route"}} {
		out, ok := p.result(step, r.name, r.cmd, "iproute2")
		if !ok {
			continue
		}
		gws, err := parseIPRoute(out)
		if err != nil {
			p.parseFailed(step, r.cmd, err)
			continue
		}
		for i := range nics {
			nics[i].Gateways = append(nics[i].Gateways, gws[nics[i].Name]...)
		}
	}
	var rc resolvConf
	if s, ok := p.secs["resolv"]; ok && s.Code == 0 {
		rc, _ = parseResolvConf(s.Stdout)
	}
	var rd *resolvectlDNS
	if s, ok := p.secs["resolvectl"]; ok && s.Code == 0 && len(bytes.TrimSpace(s.Stdout)) > 0 {
		if d, err := parseResolvectlDNS(s.Stdout); err == nil {
			rd = &d
		} else {
			p.parseFailed(step, "resolvectl dns", err)
		}
	}
	assignDNS(nics, rc, rd)
	p.h.NICs = nics
}

func (p *prober) ports() {
	const step = "ports"
	var all []inventory.Port
	for _, c := range []struct{ name, cmd, proto string }{{"sstcp", "ss -tlnpH", "tcp"}, {"ssudp", "ss -ulnpH", "udp"}} {
		out, ok := p.result(step, c.name, c.cmd, "iproute2")
		if !ok {
			continue
		}
		ports, err := parseSS(out, c.proto)
		if err != nil {
			p.parseFailed(step, c.cmd, err)
			continue
		}
		all = append(all, ports...)
	}
	slices.SortStableFunc(all, func(a, b inventory.Port) int {
		if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return strings.Compare(a.Address, b.Address)
	})
	p.h.Ports = all
}

// noSystemd matches systemctl's complaints on hosts where PID 1 is not systemd.
func noSystemd(s shscript.Section) bool {
	e := string(s.Stderr)
	return s.Missing() || strings.Contains(e, "not been booted with systemd") || strings.Contains(e, "Failed to connect to bus")
}

func (p *prober) services() {
	const step = "services"
	s, ok := p.get(step, "units")
	if !ok {
		return
	}
	if noSystemd(s) {
		msg := "systemctl: command not found"
		if !s.Missing() {
			msg = "systemctl: " + s.FirstLine()
		}
		hint := "services were read with `service --status-all`; start modes are unknown"
		svcs, err := []inventory.Service(nil), error(nil)
		if sv, ok := p.secs["sysv"]; ok && len(bytes.TrimSpace(sv.Stdout)) > 0 {
			if svcs, err = parseServiceStatusAll(sv.Stdout); err != nil {
				p.parseFailed(step, "service --status-all", err)
			}
		} else {
			hint = "no service manager could be queried: systemd is not PID 1 and `service` is missing"
		}
		p.fail(step, inventory.ErrUnsupported, msg, hint)
		p.h.Services = svcs
		return
	}
	out, ok := p.result(step, "units", "systemctl list-units --type=service", "systemd")
	if !ok {
		return
	}
	svcs, err := parseSystemctlUnits(out)
	if err != nil {
		p.parseFailed(step, "systemctl list-units --type=service --all --output=json", err)
		return
	}
	modes := map[string]string{}
	if out, ok := p.result(step, "unitfiles", "systemctl list-unit-files --type=service", "systemd"); ok {
		if modes, err = parseUnitFiles(out); err != nil {
			p.parseFailed(step, "systemctl list-unit-files --type=service --no-legend", err)
		}
	}
	p.h.Services = mergeServices(svcs, modes)
}

func (p *prober) software() {
	const step = "software"
	s, ok := p.get(step, "packages")
	if !ok {
		return
	}
	if s.Missing() {
		p.fail(step, inventory.ErrUnsupported, "neither dpkg-query nor rpm found: installed software unknown", "shift reads packages with dpkg or rpm; other package managers are not supported")
		return
	}
	out, ok := p.result(step, "packages", "dpkg-query -W / rpm -qa", "dpkg or rpm")
	if !ok {
		return
	}
	head, body, _ := bytes.Cut(out, []byte("\n"))
	var (
		sw  []inventory.Software
		err error
		cmd string
	)
	switch string(bytes.TrimSpace(head)) {
	case "#dpkg":
		cmd = "dpkg-query -W"
		sw, err = parseDpkg(body)
	case "#rpm":
		cmd = "rpm -qa"
		sw, err = parseRPM(body)
	default:
		cmd, err = "package query", fmt.Errorf("unexpected first line %q", head)
	}
	if err != nil {
		p.parseFailed(step, cmd, err)
		return
	}
	p.h.Software = sw
}

func (p *prober) pendingReboot() {
	const step = "pending-reboot"
	var signals []rebootSignal
	if s, ok := p.secs["rebootreq"]; ok && s.Code == 0 {
		if r, err := parseRebootRequired(s.Stdout); err != nil {
			p.parseFailed(step, "test -e /run/reboot-required", err)
		} else if r.Known {
			signals = append(signals, r)
		}
	}
	if s, ok := p.secs["needsrestart"]; ok && !s.Missing() {
		if r, err := parseNeedsRestarting(s.Stdout, s.Code); err != nil {
			p.parseFailed(step, "needs-restarting -r", err)
		} else {
			signals = append(signals, r)
		}
	}
	if len(signals) == 0 {
		return
	}
	pending := false
	for _, r := range signals {
		pending = pending || r.Pending
		p.h.PendingRebootReasons = append(p.h.PendingRebootReasons, r.Reasons...)
	}
	p.h.PendingReboot = inventory.Bool(pending)
}

// workloads reports SQL Server on Linux when its package is installed;
// SharePoint never runs on Linux.
func (p *prober) workloads() {
	p.h.Absent = []string{"sharepoint"}
	i := slices.IndexFunc(p.h.Software, func(s inventory.Software) bool { return s.Name == "mssql-server" })
	if i < 0 {
		if p.h.Software != nil {
			p.h.Absent = []string{"sqlserver", "sharepoint"}
		}
		return
	}
	p.h.SQLServer = []inventory.SQLInstance{sqlOnLinux(p.h.Software[i].Version, p.h.Services, p.h.Ports)}
}

// sqlOnLinux describes the SQL Server instance from the mssql-server
// package version ("16.0.4135.4-1"), its service and its listening port.
func sqlOnLinux(pkgVersion string, svcs []inventory.Service, ports []inventory.Port) inventory.SQLInstance {
	v, _, _ := strings.Cut(pkgVersion, "-")
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after // dpkg epoch
	}
	inst := inventory.SQLInstance{Name: "MSSQLSERVER", ServiceName: "mssql-server", Version: v}
	inst.Release, inst.EndOfSupport = inventory.SQLServerRelease(v)
	for _, s := range svcs {
		if s.Name == "mssql-server.service" || s.Name == "mssql-server" {
			inst.ServiceState = s.State
		}
	}
	for _, pt := range ports {
		if pt.Protocol == "tcp" && pt.Process == "sqlservr" && (inst.TCPPort == 0 || pt.Port == 1433) {
			inst.TCPPort = pt.Port
		}
	}
	return inst
}

package validate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/shscript"
)

// Linux is the fingerprint of a Linux host's services and data.
type Linux struct {
	// SystemState is what "systemctl is-system-running" says (running,
	// degraded, starting, …); empty on hosts without systemd.
	SystemState string `json:"systemState,omitempty"`
	// Systemd reports whether the host runs systemd; Units is empty
	// without it.
	Systemd bool `json:"systemd"`
	// Units are the active systemd services, sockets and mounts.
	Units []Unit `json:"units,omitempty"`
	// Ports are the listening TCP and UDP sockets.
	Ports []Port `json:"ports,omitempty"`
	// EphemeralPorts is the host's ip_local_port_range: listeners inside it
	// are usually short-lived (RPC, test servers), so a missing one warns
	// instead of blocking.
	EphemeralPorts [2]int `json:"ephemeralPorts"`
	// Mounts are the filesystems /etc/fstab mounts, with whether each is
	// mounted now.
	Mounts []Mount `json:"mounts,omitempty"`
	// Filesystems are the block devices holding a filesystem.
	Filesystems []Filesystem `json:"filesystems,omitempty"`
	// Databases are the PostgreSQL and MySQL/MariaDB databases read.
	Databases []Database `json:"databases,omitempty"`
}

// Unit is one active systemd unit.
type Unit struct {
	Name string `json:"name"`
	// Sub is the unit's sub-state (running, exited, listening, mounted).
	Sub string `json:"sub"`
}

// Port is one listening socket.
type Port struct {
	// Proto is "tcp" or "udp".
	Proto string `json:"proto"`
	// Address is the local address ("0.0.0.0", "::", "127.0.0.1", "*").
	Address string `json:"address"`
	Port    int    `json:"port"`
}

func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Proto, p.Port) }

// Mount is one filesystem entry of /etc/fstab.
type Mount struct {
	Target string `json:"target"`
	// Source is the fstab spec (UUID=…, LABEL=…, /dev/…, server:/export).
	Source  string `json:"source"`
	FSType  string `json:"fsType"`
	Options string `json:"options,omitempty"`
	// NoAuto is set for entries not mounted at boot.
	NoAuto bool `json:"noAuto,omitempty"`
	// Mounted reports whether Target is a mount point now, and MountedFrom
	// what is mounted there.
	Mounted     bool   `json:"mounted"`
	MountedFrom string `json:"mountedFrom,omitempty"`
}

// Filesystem is one block device holding a filesystem.
type Filesystem struct {
	Device string `json:"device"`
	FSType string `json:"fsType,omitempty"`
	UUID   string `json:"uuid,omitempty"`
	Label  string `json:"label,omitempty"`
	// Mountpoint is where it is mounted; empty when it is not.
	Mountpoint string `json:"mountpoint,omitempty"`
}

// Database is one database of a PostgreSQL or MySQL/MariaDB server.
type Database struct {
	// Engine is "postgresql" or "mysql".
	Engine string `json:"engine"`
	// Server names the server when a host has several ("127.0.0.1:5433");
	// empty for the default one.
	Server  string  `json:"server,omitempty"`
	Version string  `json:"version,omitempty"`
	Name    string  `json:"name"`
	Tables  []Table `json:"tables"`
}

// Table modes say how much of a table its checksum covers.
const (
	// TableFull: every row was counted and checksummed.
	TableFull = "full"
	// TableSampled: the row count and checksum cover a repeatable 1%
	// block sample (the same blocks on a block-for-block copy).
	TableSampled = "sampled"
	// TableSkipped: the budget ran out before the table was read.
	TableSkipped = "skipped: budget"
	// TableError: the table could not be read; Error says why.
	TableError = "error"
)

// Table is one table's row count and content checksum.
type Table struct {
	// Schema is the PostgreSQL schema; empty for MySQL.
	Schema string `json:"schema,omitempty"`
	Name   string `json:"name"`
	// Mode is TableFull, TableSampled, TableSkipped or TableError.
	Mode string `json:"mode"`
	Rows int64  `json:"rows"`
	// Checksum identifies the content, independent of row order
	// (PostgreSQL: the sum of the rows' 64-bit md5 prefixes; MySQL:
	// CHECKSUM TABLE).
	Checksum string `json:"checksum,omitempty"`
	// SizeBytes and EstimatedRows come from the catalog.
	SizeBytes     int64  `json:"sizeBytes"`
	EstimatedRows int64  `json:"estimatedRows"`
	Error         string `json:"error,omitempty"`
}

// ProbeSSH takes the fingerprint of a Linux host through c: generic facts,
// systemd units, listening ports, mounts, filesystems, databases and opts'
// checks. It costs two round trips: one to read the clock, one script for
// everything else. Sections that cannot be read are recorded in the
// fingerprint's Errors; the error return is for a host that cannot be
// reached or a script that cannot run at all.
func ProbeSSH(ctx context.Context, c *remote.SSHClient, host string, opts Options) (*Fingerprint, error) {
	return probeLinux(ctx, c, host, opts)
}

// sshRunner is what the Linux probe needs of an SSH connection.
type sshRunner interface {
	streamer
	Run(ctx context.Context, cmd string) (*remote.Result, error)
}

func probeLinux(ctx context.Context, c sshRunner, host string, opts Options) (*Fingerprint, error) {
	fp := &Fingerprint{Version: FormatVersion, Host: host, Taken: time.Now().UTC(), Linux: &Linux{}}
	fp.Generic.Transport = "ssh"
	if err := probeClock(ctx, c, fp); err != nil {
		return nil, fmt.Errorf("host %s: validate: %w", host, err)
	}
	fp.Generic.Reachable = true
	plan := linuxSteps(opts)
	secs, err := runScript(ctx, c, plan.secrets, plan.pre, plan.steps)
	if err != nil && secs == nil {
		return nil, fmt.Errorf("host %s: validate: %w", host, err)
	}
	if err != nil {
		fp.addError("probe", err.Error(), "run the probe again; if it keeps failing, look for a command that hangs on the host")
	}
	p := &linuxProbe{fp: fp, secs: secs, opts: opts}
	p.generic()
	p.units()
	p.ports()
	p.mounts()
	p.filesystems()
	p.databases(plan)
	p.http()
	p.commands()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("host %s: validate: %w", host, ctx.Err())
	}
	return fp, nil
}

// probeClock reads the host's clock in its own round trip and measures the
// skew against the appliance's clock at the middle of it.
func probeClock(ctx context.Context, c sshRunner, fp *Fingerprint) error {
	t0 := time.Now()
	res, err := c.Run(ctx, "date +%s.%N")
	t1 := time.Now()
	if err != nil {
		return err
	}
	hostNow, perr := parseEpoch(res.Stdout)
	if res.ExitCode != 0 || perr != nil {
		fp.addError("clock", fmt.Sprintf("date +%%s.%%N: exit %d: %v", res.ExitCode, perr), "")
		return nil
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	fp.Generic.ClockSkew = hostNow.Sub(mid).Round(time.Millisecond)
	return nil
}

// addError records a section that could not be read.
func (fp *Fingerprint) addError(section, msg, hint string) {
	fp.Errors = append(fp.Errors, ProbeError{Section: section, Message: msg, Hint: hint})
}

// linuxPlan is the probe script's steps and the secrets they read from
// stdin (S0, S1, …).
type linuxPlan struct {
	steps   []shscript.Step
	secrets []string
	// pre sets variables every step reads.
	pre string
	// dbs are the database checks, auto-detected ones included; step
	// db<i> reads dbs[i].
	dbs []DatabaseCheck
	// auto marks the checks added because nothing was asked for.
	auto []bool
}

func (p *linuxPlan) secret(v string) string {
	p.secrets = append(p.secrets, v)
	return fmt.Sprintf("$S%d", len(p.secrets)-1)
}

// linuxSteps builds the probe script for opts.
func linuxSteps(opts Options) *linuxPlan {
	p := &linuxPlan{}
	budget := opts.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	p.steps = []shscript.Step{
		{Name: "hostname", Cmd: `hostname 2>/dev/null || cat /proc/sys/kernel/hostname`},
		{Name: "btime", Cmd: `cat /proc/stat`},
		{Name: "df", Cmd: `if command -v timeout >/dev/null 2>&1; then timeout 20 df -lPT -B1; else df -lPT -B1; fi`},
		{Name: "systemd", Cmd: `[ -d /run/systemd/system ] || return 3; systemctl is-system-running 2>/dev/null; return 0`},
		{Name: "units", Cmd: `[ -d /run/systemd/system ] || return 3; systemctl list-units --type=service,socket,mount --state=active --plain --no-legend --no-pager`},
		{Name: "ss", Cmd: `ss -Hltnu`},
		{Name: "portrange", Cmd: `cat /proc/sys/net/ipv4/ip_local_port_range`},
		{Name: "fstab", Cmd: `cat /etc/fstab`},
		{Name: "mountinfo", Cmd: `cat /proc/self/mountinfo`},
		{Name: "lsblk", Cmd: `lsblk -J -o PATH,NAME,FSTYPE,UUID,LABEL,MOUNTPOINT 2>/dev/null || lsblk -J -o NAME,FSTYPE,UUID,LABEL,MOUNTPOINT`},
	}
	// The databases share one deadline, by the host's clock.
	p.pre = fmt.Sprintf("DEADLINE=$(( $(date +%%s) + %d ))\n", int(budget.Seconds()+0.5))
	dbs := opts.Databases
	explicit := map[string]bool{}
	for _, d := range dbs {
		explicit[engineOf(d.Engine)] = true
	}
	for _, d := range dbs {
		p.dbs, p.auto = append(p.dbs, d), append(p.auto, false)
	}
	for _, e := range []string{"postgresql", "mysql"} {
		if !explicit[e] {
			p.dbs, p.auto = append(p.dbs, DatabaseCheck{Engine: e}), append(p.auto, true)
		}
	}
	for i, d := range p.dbs {
		var body string
		switch engineOf(d.Engine) {
		case "postgresql":
			body = p.postgresStep(d, p.auto[i])
		case "mysql":
			body = p.mysqlStep(d, p.auto[i])
		default:
			body = fmt.Sprintf(`echo %s >&2; return 2`, remote.ShellQuote("unknown database engine "+strconv.Quote(d.Engine)+": use postgresql or mysql"))
		}
		p.steps = append(p.steps, shscript.Step{Name: fmt.Sprintf("db%d", i), Cmd: body})
	}
	if len(opts.HTTP) > 0 {
		p.steps = append(p.steps, shscript.Step{Name: "http", Cmd: p.httpStep(opts.HTTP)})
	}
	for i, c := range opts.Commands {
		p.steps = append(p.steps, shscript.Step{Name: fmt.Sprintf("cmd%d", i), Cmd: "sh -c " + remote.ShellQuote(c.Command)})
	}
	return p
}

// engineOf normalises an engine name: mariadb is mysql, postgres and pg are
// postgresql.
func engineOf(e string) string {
	switch strings.ToLower(e) {
	case "postgresql", "postgres", "pg":
		return "postgresql"
	case "mysql", "mariadb":
		return "mysql"
	}
	return e
}

// httpStep requests each URL with curl, reading the URL from a curl config
// on stdin so that it never shows on a command line.
func (p *linuxPlan) httpStep(checks []HTTPCheck) string {
	var b strings.Builder
	b.WriteString("command -v curl >/dev/null 2>&1 || { echo 'curl not found: install curl on the host for HTTP checks' >&2; return 127; }\n")
	b.WriteString("tmp=$(mktemp) || return 1\n")
	for i, c := range checks {
		v := p.secret(c.URL)
		fmt.Fprintf(&b, "u=%s; u=$(printf '%%s' \"$u\" | sed 's/\\\\/\\\\\\\\/g; s/\"/\\\\\"/g')\n", v)
		fmt.Fprintf(&b, "code=$(printf 'url = \"%%s\"\\n' \"$u\" | curl -K - -sS -o \"$tmp\" -w '%%{http_code}' --max-time 20) || code=0\n")
		contains := "-"
		if c.Contains != "" {
			contains = fmt.Sprintf(`$(grep -qF -- %s "$tmp" && echo 1 || echo 0)`, remote.ShellQuote(c.Contains))
		}
		fmt.Fprintf(&b, "echo %d \"$code\" %s\n", i, contains)
	}
	// curl's errors go to the step's stderr, kept for the messages.
	b.WriteString(`rm -f "$tmp"`)
	return b.String()
}

// linuxProbe turns the script's sections into the fingerprint.
type linuxProbe struct {
	fp   *Fingerprint
	secs map[string]shscript.Section
	opts Options
}

// sec returns a step's section and whether it ran and succeeded; a failure
// is recorded under name with hint.
func (p *linuxProbe) sec(step, name, hint string) (shscript.Section, bool) {
	s, ok := p.secs[step]
	if !ok {
		p.fp.addError(name, "the step did not run (the probe script ended early)", "")
		return s, false
	}
	if s.Code != 0 {
		p.fp.addError(name, s.Problem(), hint)
		return s, false
	}
	return s, true
}

func (p *linuxProbe) generic() {
	g := &p.fp.Generic
	if s, ok := p.sec("hostname", "hostname", ""); ok {
		g.Hostname = strings.TrimSpace(string(s.Stdout))
	}
	if s, ok := p.sec("btime", "boot time", ""); ok {
		t, err := parseBtime(s.Stdout)
		if err != nil {
			p.fp.addError("boot time", err.Error(), "")
		}
		g.BootTime = t
	}
	if s, ok := p.sec("df", "free space", "df timed out or failed: look for a hung network filesystem"); ok || len(s.Stdout) > 0 {
		g.Volumes = parseDF(s.Stdout)
	}
}

func (p *linuxProbe) units() {
	l := p.fp.Linux
	if s := p.secs["systemd"]; s.Code == 3 {
		return // no systemd: no units to compare
	}
	l.Systemd = true
	if s, ok := p.sec("systemd", "systemd", ""); ok {
		l.SystemState = strings.TrimSpace(string(s.Stdout))
	}
	if s, ok := p.sec("units", "systemd units", ""); ok {
		l.Units = parseUnits(s.Stdout)
	}
}

func (p *linuxProbe) ports() {
	if s, ok := p.sec("ss", "listening ports", "install iproute2 (ss) on the host"); ok {
		p.fp.Linux.Ports = parseSS(s.Stdout)
	}
	p.fp.Linux.EphemeralPorts = parsePortRange(p.secs["portrange"].Stdout)
}

func (p *linuxProbe) mounts() {
	s, ok := p.sec("fstab", "mounts", "")
	if !ok {
		return
	}
	ms := parseFstab(s.Stdout)
	mi, ok := p.sec("mountinfo", "mounts", "")
	if !ok {
		return
	}
	mounted := parseMountinfo(mi.Stdout)
	for i := range ms {
		if src, ok := mounted[ms[i].Target]; ok {
			ms[i].Mounted, ms[i].MountedFrom = true, src
		}
	}
	p.fp.Linux.Mounts = ms
}

func (p *linuxProbe) filesystems() {
	s, ok := p.sec("lsblk", "filesystems", "install util-linux (lsblk) on the host")
	if !ok {
		return
	}
	fss, err := parseLsblk(s.Stdout)
	if err != nil {
		p.fp.addError("filesystems", err.Error(), "")
	}
	p.fp.Linux.Filesystems = fss
}

func (p *linuxProbe) http() {
	checks := p.opts.HTTP
	if len(checks) == 0 {
		return
	}
	s := p.secs["http"]
	got := parseHTTP(s.Stdout)
	for i, c := range checks {
		r := HTTPResult{Name: c.Name, URL: RedactURL(c.URL), Expected: c.Status}
		v, ok := got[i]
		switch {
		case !ok:
			r.Error = "not requested: " + orDefault(s.Problem(), "the probe script ended early")
		case v[0] == "000" || v[0] == "0":
			r.Error = orDefault(curlError(s.Stderr, c.URL), "no answer")
		default:
			r.Status, _ = strconv.Atoi(v[0])
		}
		if ok && v[1] != "-" {
			b := v[1] == "1"
			r.Contains = &b
		}
		p.fp.HTTP = append(p.fp.HTTP, r)
	}
}

// curlError returns curl's first error line, with the URL (which may hold
// a token) replaced by its redacted form.
func curlError(stderr []byte, url string) string {
	for _, l := range strings.Split(string(stderr), "\n") {
		if strings.HasPrefix(l, "curl:") {
			return scrub(strings.TrimSpace(l), url)
		}
	}
	return ""
}

func (p *linuxProbe) commands() {
	for i, c := range p.opts.Commands {
		r := CommandResult{Name: c.Name, Compare: c.Compare}
		s, ok := p.secs[fmt.Sprintf("cmd%d", i)]
		if !ok {
			r.ExitCode, r.Error = -1, "not run: the probe script ended early"
		} else {
			sum := sha256.Sum256(s.Stdout)
			r.ExitCode, r.OutputSHA256 = s.Code, hex.EncodeToString(sum[:])
			if s.Code != 0 {
				r.Error = s.Problem()
			}
		}
		p.fp.Commands = append(p.fp.Commands, r)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Booting reports whether the fingerprint was taken while the host was
// still starting up (systemd "initializing" or "starting"): services may
// not be up yet, so it is too early to compare.
func (f *Fingerprint) Booting() bool {
	if f == nil || f.Linux == nil {
		return false
	}
	switch f.Linux.SystemState {
	case "initializing", "starting":
		return true
	}
	return false
}

package validate

import (
	"strings"
	"testing"
	"time"
)

// healthyLinux is a Linux fingerprint with one of everything.
func healthyLinux() *Fingerprint {
	return &Fingerprint{
		Version: FormatVersion, Host: "web01",
		Generic: Generic{Transport: "ssh", Reachable: true, Hostname: "web01",
			Volumes: []VolumeSpace{{Mount: "/", SizeBytes: 100 << 30, FreeBytes: 50 << 30}}},
		Linux: &Linux{
			Systemd: true, SystemState: "running",
			Units:          []Unit{{"nginx.service", "running"}},
			Ports:          []Port{{"tcp", "0.0.0.0", 80}, {"tcp", "127.0.0.1", 40000}},
			EphemeralPorts: [2]int{32768, 60999},
			Mounts:         []Mount{{Target: "/srv", Source: "UUID=aa", FSType: "ext4", Mounted: true}},
			Filesystems:    []Filesystem{{Device: "/dev/sdb1", UUID: "aa", Mountpoint: "/srv"}},
			Databases: []Database{{Engine: "postgresql", Name: "app", Tables: []Table{
				{Schema: "public", Name: "orders", Mode: TableFull, Rows: 10, Checksum: "99"},
				{Schema: "public", Name: "huge", Mode: TableSkipped},
			}}},
		},
		HTTP:     []HTTPResult{{Name: "shop", URL: "http://web01/", Status: 200}},
		Commands: []CommandResult{{Name: "ver", ExitCode: 0, OutputSHA256: "aaaa", Compare: true}},
	}
}

func TestCompareRules(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Fingerprint)
		sev    Severity
		check  string
		object string
	}{
		{"unreachable", func(f *Fingerprint) { *f = *Unreachable("web01", "ssh", errString("connection refused")) }, Blocking, "generic/reachable", "host web01"},
		{"hostname", func(f *Fingerprint) { f.Generic.Hostname = "web01-new" }, Blocking, "generic/hostname", "hostname"},
		{"clock", func(f *Fingerprint) { f.Generic.ClockSkew = -6 * time.Minute }, Warning, "generic/clock", "clock"},
		{"free ratio", func(f *Fingerprint) { f.Generic.Volumes[0].FreeBytes = 2 << 30 }, Warning, "generic/free-space", "volume /"},
		{"free bytes", func(f *Fingerprint) {
			f.Generic.Volumes = []VolumeSpace{{Mount: "/data", SizeBytes: 10 << 30, FreeBytes: 600 << 20}}
		}, Warning, "generic/free-space", "volume /data"},
		{"probe error", func(f *Fingerprint) { f.addError("postgresql", "psql: connection refused", "") }, Warning, "probe/postgresql", "postgresql"},
		{"unit", func(f *Fingerprint) { f.Linux.Units = nil }, Blocking, "linux/unit", "unit nginx.service"},
		{"port", func(f *Fingerprint) { f.Linux.Ports = f.Linux.Ports[1:] }, Blocking, "linux/port", "port tcp/80"},
		{"ephemeral port", func(f *Fingerprint) { f.Linux.Ports = f.Linux.Ports[:1] }, Warning, "linux/port", "port tcp/40000"},
		{"mount", func(f *Fingerprint) { f.Linux.Mounts[0].Mounted = false }, Blocking, "linux/mount", "mount /srv"},
		{"fstab entry gone", func(f *Fingerprint) { f.Linux.Mounts = nil }, Blocking, "linux/mount", "mount /srv"},
		{"uuid", func(f *Fingerprint) { f.Linux.Filesystems[0].UUID = "bb" }, Warning, "linux/fs-uuid", "filesystem at /srv"},
		{"system state", func(f *Fingerprint) { f.Linux.SystemState = "degraded" }, Warning, "linux/system-state", "systemd"},
		{"rows", func(f *Fingerprint) { f.Linux.Databases[0].Tables[0].Rows = 9 }, Blocking, "linux/table-rows", "table app.public.orders"},
		{"checksum", func(f *Fingerprint) { f.Linux.Databases[0].Tables[0].Checksum = "98" }, Blocking, "linux/table-checksum", "table app.public.orders"},
		{"table missing", func(f *Fingerprint) { f.Linux.Databases[0].Tables = f.Linux.Databases[0].Tables[1:] }, Blocking, "linux/table", "table app.public.orders"},
		{"database missing", func(f *Fingerprint) { f.Linux.Databases = nil }, Blocking, "linux/database", "postgresql database app"},
		{"table budget", func(f *Fingerprint) { f.Linux.Databases[0].Tables[0].Mode = TableSkipped }, Info, "linux/table", "table app.public.orders"},
		{"http status", func(f *Fingerprint) { f.HTTP[0].Status = 502 }, Blocking, "http/status", "HTTP shop (http://web01/)"},
		{"http error", func(f *Fingerprint) { f.HTTP[0].Status, f.HTTP[0].Error = 0, "connection refused" }, Blocking, "http/status", "HTTP shop (http://web01/)"},
		{"command exit", func(f *Fingerprint) { f.Commands[0].ExitCode = 1 }, Blocking, "command/exit", "command ver"},
		{"command output", func(f *Fingerprint) { f.Commands[0].OutputSHA256 = "bbbb" }, Blocking, "command/output", "command ver"},
	}
	if fs := Compare(healthyLinux(), healthyLinux()); len(fs) != 1 || fs[0].Severity != Info {
		t.Fatalf("healthy before and after: findings %+v, want only the info on the table skipped by the budget", fs)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			after := healthyLinux()
			c.change(after)
			var hit *Finding
			for _, f := range Compare(healthyLinux(), after) {
				if f.Check == c.check && f.Object == c.object {
					hit = &f
					break
				}
				if f.Severity == Blocking && c.sev != Blocking {
					t.Errorf("unexpected blocking finding %+v", f)
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding on %q in %+v", c.check, c.object, Compare(healthyLinux(), after))
			}
			if hit.Severity != c.sev {
				t.Errorf("severity %s, want %s", hit.Severity, c.sev)
			}
			if hit.Message == "" || hit.Expected == "" || hit.Actual == "" {
				t.Errorf("finding lacks message, expected or actual: %+v", hit)
			}
			if Blocks([]Finding{*hit}) != (c.sev == Blocking) {
				t.Errorf("Blocks disagrees with severity %s", c.sev)
			}
		})
	}
}

func TestCompareWithoutBefore(t *testing.T) {
	after := healthyLinux()
	after.Linux.Mounts = append(after.Linux.Mounts, Mount{Target: "/backup", Source: "nas:/b", Mounted: false})
	after.HTTP[0].Status = 500
	fs := Compare(nil, after)
	var sawMount, sawHTTP bool
	for _, f := range fs {
		sawMount = sawMount || f.Object == "mount /backup" && f.Severity == Warning
		sawHTTP = sawHTTP || f.Check == "http/status" && f.Severity == Blocking && f.Expected == "status 200"
	}
	if !sawMount || !sawHTTP {
		t.Errorf("findings without before = %+v, want the unmounted fstab entry and the HTTP 500", fs)
	}
	if fs[0].Severity != Blocking {
		t.Errorf("findings not worst first: %+v", fs)
	}
}

func TestReportVerdict(t *testing.T) {
	after := healthyLinux()
	after.Linux.Units = nil
	var b strings.Builder
	if err := WriteReport(&b, healthyLinux(), after, Compare(healthyLinux(), after)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"host web01 (ssh)", "BLOCKING unit nginx.service", "expected active (running), found not active", "FAIL: 1 blocking", "1 skipped: budget"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// A unit that comes and goes with use is reported, not blocking; a service
// that is gone blocks.
func TestCompareIncidentalUnits(t *testing.T) {
	before := &Linux{Systemd: true, Units: []Unit{{Name: "proc-sys-fs-binfmt_misc.mount", Sub: "mounted"},
		{Name: "session-3.scope", Sub: "running"}, {Name: "nginx.service", Sub: "running"}}}
	after := &Linux{Systemd: true}
	got := map[string]Severity{}
	for _, f := range compareUnits(before, after) {
		got[f.Object] = f.Severity
	}
	want := map[string]Severity{"unit proc-sys-fs-binfmt_misc.mount": Info, "unit session-3.scope": Info, "unit nginx.service": Blocking}
	for o, s := range want {
		if got[o] != s {
			t.Errorf("%s: %q, want %q (all: %v)", o, got[o], s, got)
		}
	}
}

func TestBooting(t *testing.T) {
	for state, want := range map[string]bool{"starting": true, "initializing": true, "running": false, "degraded": false, "": false} {
		fp := &Fingerprint{Linux: &Linux{SystemState: state}}
		if fp.Booting() != want {
			t.Errorf("SystemState %q: Booting() = %v", state, !want)
		}
	}
	if (&Fingerprint{}).Booting() || (*Fingerprint)(nil).Booting() {
		t.Error("a fingerprint without a Linux section is booting")
	}
}

// TestCompareDatabaseServerAbsent: the default server of an engine that
// held databases before and is absent after is one blocking finding, not
// one per database; a server named by address is still compared database
// by database, and an absent engine that had nothing before is no finding.
func TestCompareDatabaseServerAbsent(t *testing.T) {
	before := healthyLinux()
	before.Linux.Databases = append(before.Linux.Databases,
		Database{Engine: "postgresql", Name: "billing"},
		Database{Engine: "mysql", Server: "10.0.0.5:3306", Name: "shop"})
	after := healthyLinux()
	after.Linux.Databases = nil
	after.Absent = []string{"postgresql: no server answers on the default socket (pg_isready)", "mysql: the mysql client is not installed"}
	var db []Finding
	for _, f := range Compare(before, after) {
		if strings.HasPrefix(f.Check, "linux/database") || strings.HasPrefix(f.Check, "linux/table") {
			db = append(db, f)
		}
	}
	if len(db) != 2 {
		t.Fatalf("findings %s, want one for the PostgreSQL server and one for shop", findingsText(db))
	}
	byCheck := map[string]Finding{db[0].Check: db[0], db[1].Check: db[1]}
	if f := byCheck["linux/database-server"]; f.Severity != Blocking || f.Object != "postgresql server" || f.Expected != "running with 2 database(s)" ||
		f.Actual != "absent" || !strings.Contains(f.Message, "PostgreSQL") || !strings.Contains(f.Message, "pg_isready") {
		t.Errorf("server finding %s", findingsText([]Finding{f}))
	}
	if f := byCheck["linux/database"]; f.Severity != Blocking || f.Object != "mysql database shop on 10.0.0.5:3306" {
		t.Errorf("database finding %s", findingsText([]Finding{f}))
	}
	// Absent before and after, or absent after with nothing before: no finding.
	before.Linux.Databases = nil
	for _, f := range Compare(before, after) {
		if strings.HasPrefix(f.Check, "linux/database") {
			t.Errorf("nothing before: %s", findingsText([]Finding{f}))
		}
	}
}

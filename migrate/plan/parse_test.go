package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest plan Parse accepts; cases below vary it.
const minimal = `version: 1
hosts: hosts.yaml
waves:
  - name: w1
    hosts:
      - name: a
`

func TestParseMinimal(t *testing.T) {
	p, err := Parse("plan.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if p.Target.Kind != "" || len(p.Waves) != 1 || p.Waves[0].Hosts[0].Name != "a" {
		t.Fatalf("plan %+v", p)
	}
	if p.Waves[0].Pos != (Pos{4, 5}) || p.Waves[0].Hosts[0].Pos != (Pos{6, 9}) {
		t.Errorf("positions wave %+v host %+v", p.Waves[0].Pos, p.Waves[0].Hosts[0].Pos)
	}
	e, ok := p.Effective("a")
	if !ok || e.Concurrency != DefaultConcurrency || e.Approval != Manual || e.Delta.MaxPasses != DefaultMaxPasses ||
		e.Delta.SyncBelow != DefaultSyncBelow || e.TestMigration || e.Hold {
		t.Errorf("built-in defaults not applied: %+v", e)
	}
	if _, ok := p.Effective("nope"); ok {
		t.Error("Effective of an unknown host reports ok")
	}
}

// TestParseErrors: every problem is reported at its line and column, names
// its field and says what to do.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // each must appear in the error
		not  string   // must not appear (a secret)
	}{
		{"empty", "  \n", []string{"plan.yaml: the file is empty: start with version: 1"}, ""},
		{"syntax", "version: 1\nwaves:\n  - name: a\n   hosts: []\n", []string{"plan.yaml:2: YAML syntax: did not find expected '-' indicator (check the indentation"}, ""},
		{"not a mapping", "- a\n- b\n", []string{"plan.yaml:1:1: the plan must be a mapping"}, ""},
		{"unknown top field", "version: 1\nhosts: h.yaml\nwave:\n  - name: a\n", []string{"plan.yaml:3:1: wave: unknown field: did you mean waves?"}, ""},
		{"unknown host field", minimal + "        szie: Standard_D2s_v5\n", []string{"plan.yaml:7:9: waves[0].hosts[0].szie: unknown field: did you mean size?"}, ""},
		{"unknown far field", minimal + "        flavour: x\n", []string{"plan.yaml:7:9: waves[0].hosts[0].flavour: unknown field: the fields here are approval, bandwidth, checks,"}, ""},
		{"case of a field", minimal + "        checks: {sqlServer: {checkDB: true}}\n", []string{"plan.yaml:7:30: waves[0].hosts[0].checks.sqlServer.checkDB: unknown field: did you mean checkdb?"}, ""},
		{"field of a validate type", minimal + "        checks:\n          http:\n            - {name: x, url: 'http://localhost/', contans: ok}\n",
			[]string{"plan.yaml:9:51: waves[0].hosts[0].checks.http[0].contans: unknown field: did you mean contains?"}, ""},
		{"key twice", "version: 1\nhosts: h.yaml\nversion: 1\n", []string{"plan.yaml:3:1: version: set twice (first on line 1): keep one"}, ""},
		{"version missing", "hosts: h.yaml\nwaves:\n  - name: w\n    hosts: [{name: a}]\n", []string{"plan.yaml:1:1: version: missing: add version: 1"}, ""},
		{"version 2", strings.Replace(minimal, "version: 1", "version: 2", 1), []string{"plan.yaml:1:10: version: version 2 is not supported: this shift reads version 1"}, ""},
		{"version text", strings.Replace(minimal, "version: 1", "version: one", 1), []string{`plan.yaml:1:10: version: want a whole number, not a value ("one")`}, ""},
		{"hosts file missing", "version: 1\nwaves:\n  - name: w\n    hosts: [{name: a}]\n", []string{"plan.yaml:1:1: hosts: missing: name the hosts file"}, ""},
		{"no waves", "version: 1\nhosts: h.yaml\n", []string{"plan.yaml:1:1: waves: no waves: add waves:"}, ""},
		{"waves not a list", "version: 1\nhosts: h.yaml\nwaves: w1\n", []string{`plan.yaml:3:8: waves: want a list (- item per line, or [a, b]), not a value ("w1")`}, ""},
		{"wave without hosts", "version: 1\nhosts: h.yaml\nwaves:\n  - name: w1\n", []string{"plan.yaml:4:5: waves[0].hosts: wave w1 has no hosts: add hosts or remove the wave"}, ""},
		{"wave name", strings.Replace(minimal, "name: w1", "name: 'wave one'", 1), []string{`plan.yaml:4:11: waves[0].name: "wave one": use letters, digits`}, ""},
		{"duplicate wave", minimal + "  - name: w1\n    hosts: [{name: b}]\n", []string{"plan.yaml:7:11: waves[1].name: wave w1 is defined twice (first on line 4)"}, ""},
		{"host in two waves", minimal + "  - name: w2\n    hosts:\n      - name: a\n", []string{"plan.yaml:9:15: waves[1].hosts[0].name: host a is already in wave w1 (line 6): a host moves in one wave only"}, ""},
		{"concurrency 0", strings.Replace(minimal, "    hosts:", "    concurrency: 0\n    hosts:", 1), []string{"plan.yaml:5:18: waves[0].concurrency: 0: must be at least 1"}, ""},
		{"defaults concurrency", minimal + "defaults: {concurrency: -2}\n", []string{"plan.yaml:7:25: defaults.concurrency: -2: must be at least 1"}, ""},
		{"approval", minimal + "        approval: sometimes\n", []string{`plan.yaml:7:19: waves[0].hosts[0].approval: "sometimes": must be manual (an operator approves each cutover) or automatic`}, ""},
		{"bool", minimal + "        hold: yes\n", []string{`plan.yaml:7:15: waves[0].hosts[0].hold: want true or false, not a value ("yes")`}, ""},
		{"bandwidth", minimal + "        bandwidth: 50 furlongs\n", []string{`plan.yaml:7:20: waves[0].hosts[0].bandwidth: bandwidth "50 furlongs": write bytes per second as 50M (MiB/s) or bits as 400Mbit/s`}, ""},
		{"bandwidth zero", "version: 1\nhosts: h.yaml\ndefaults:\n  bandwidth: 0M\n" + minimal[len("version: 1\nhosts: hosts.yaml\n"):], []string{`plan.yaml:4:14: defaults.bandwidth: bandwidth "0M": must be at least 1 byte per second`}, ""},
		{"duration", minimal + "        checks: {sqlServer: {budget: soon}}\n", []string{`plan.yaml:7:38: waves[0].hosts[0].checks.sqlServer.budget: duration "soon": write it as 90s, 2m or 1h30m`}, ""},
		{"delta size", minimal + "        delta: {syncBelow: lots, maxPasses: 0}\n", []string{`plan.yaml:7:28: waves[0].hosts[0].delta.syncBelow: size "lots": write it as 256M or 16G`}, ""},
		{"delta passes", minimal + "        delta: {maxPasses: 0}\n", []string{`plan.yaml:7:28: waves[0].hosts[0].delta.maxPasses: 0: must be at least 1`}, ""},
		{"window end before start", strings.Replace(minimal, "    hosts:", "    window:\n      start: 2025-07-06T06:00:00+02:00\n      end: 2025-07-05T22:00:00+02:00\n    hosts:", 1),
			[]string{"plan.yaml:6:7: waves[0].window: end 2025-07-05T22:00:00+02:00 is not after start 2025-07-06T06:00:00+02:00"}, ""},
		{"window half", strings.Replace(minimal, "    hosts:", "    window: {start: 2025-07-06T06:00:00+02:00}\n    hosts:", 1),
			[]string{"plan.yaml:5:13: waves[0].window: give start: and end:"}, ""},
		{"window no offset", strings.Replace(minimal, "    hosts:", "    window: {start: 2025-07-06 06:00, end: 2025-07-07T06:00:00Z}\n    hosts:", 1),
			[]string{`plan.yaml:5:21: waves[0].window.start: time "2025-07-06 06:00": write it in RFC 3339 with its offset`}, ""},
		{"window zone missing", strings.Replace(minimal, "    hosts:", "    window: sat 22:00-sun 06:00\n    hosts:", 1),
			[]string{`plan.yaml:5:13: waves[0].window: window "sat 22:00-sun 06:00": add a time zone at the end, e.g. "sat 22:00-sun 06:00 Europe/Berlin"`}, ""},
		{"window zone unknown", strings.Replace(minimal, "    hosts:", "    window: sat 22:00-sun 06:00 Mars/Olympus\n    hosts:", 1),
			[]string{`plan.yaml:5:13: waves[0].window: window "sat 22:00-sun 06:00 Mars/Olympus": time zone "mars/olympus" is unknown`}, ""},
		{"window day", strings.Replace(minimal, "    hosts:", "    window: sam 22:00-sun 06:00 UTC\n    hosts:", 1),
			[]string{`plan.yaml:5:13: waves[0].window: window "sam 22:00-sun 06:00 UTC": "sam" is not a day`}, ""},
		{"window clock", strings.Replace(minimal, "    hosts:", "    window: daily 25:00-06:00 UTC\n    hosts:", 1),
			[]string{`plan.yaml:5:13: waves[0].window: window "daily 25:00-06:00 UTC": 25:00 is not a time of day`}, ""},
		{"window shape", strings.Replace(minimal, "    hosts:", "    window: tonight\n    hosts:", 1),
			[]string{`plan.yaml:5:13: waves[0].window: window "tonight": write it as DAY HH:MM-DAY HH:MM ZONE`}, ""},
		{"blackout both", minimal + "blackouts:\n  - every: daily 01:00-02:00 UTC\n    start: 2025-01-01T00:00:00Z\n    reason: x\n", []string{"plan.yaml:8:5: blackouts[0]: give either every: or start: and end:, not both"}, ""},
		{"literal password", minimal + "        checks:\n          sqlServer: {user: sa, password: hunter2}\n",
			[]string{"plan.yaml:8:43: waves[0].hosts[0].checks.sqlServer.password: a secret must be a reference, env:NAME or file:PATH; a literal password is not accepted"}, "hunter2"},
		{"user without password", minimal + "        checks:\n          sqlServer: {user: sa}\n",
			[]string{"plan.yaml:8:29: waves[0].hosts[0].checks.sqlServer.user: user sa needs password: env:NAME or file:PATH"}, ""},
		{"http url", minimal + "        checks:\n          http: [{name: home, url: localhost/}]\n",
			[]string{`plan.yaml:8:36: waves[0].hosts[0].checks.http[0].url: "localhost/": give a full http:// or https:// URL`}, ""},
		{"http names", minimal + "        checks:\n          http: [{name: a, url: 'http://x/'}, {name: a, url: 'http://y/'}]\n",
			[]string{`plan.yaml:8:54: waves[0].hosts[0].checks.http[1].name: "a" is used twice in this list`}, ""},
		{"command empty", "version: 1\nhosts: h.yaml\ndefaults:\n  checks:\n    commands:\n      - name: x\n" + minimal[len("version: 1\nhosts: hosts.yaml\n"):],
			[]string{"plan.yaml:6:9: defaults.checks.commands[0].command: missing: the command to run on the host"}, ""},
		{"database engine", minimal + "        checks: {linux: {databases: [{engine: oracle}]}}\n",
			[]string{`plan.yaml:7:47: waves[0].hosts[0].checks.linux.databases[0].engine: "oracle": must be postgresql or mysql`}, ""},
		{"size both", minimal + "        size: {vmSize: Standard_D2s_v5, cpus: 2}\n", []string{"plan.yaml:7:15: waves[0].hosts[0].size: host a: set a size name or cpus and memory, not both"}, ""},
		{"size half", minimal + "        size: {cpus: 2}\n", []string{"plan.yaml:7:15: waves[0].hosts[0].size: host a: give both cpus and memory"}, ""},
		{"size name", minimal + "        size: 'D2 s v5'\n", []string{`plan.yaml:7:15: waves[0].hosts[0].size: size "D2 s v5": name a VM size`}, ""},
		{"disks overlap", minimal + "        disks: {include: [/dev/sda, /dev/sdb], exclude: [/dev/sdb]}\n",
			[]string{"plan.yaml:7:58: waves[0].hosts[0].disks.exclude[0]: host a: disk /dev/sdb is both included and excluded"}, ""},
		{"disk tier", minimal + "        disks: {type: ultra}\n", []string{`plan.yaml:7:23: waves[0].hosts[0].disks.type: "ultra": must be one of standard-hdd, standard-ssd, premium-ssd`}, ""},
		{"nic twice", minimal + "        nics: [{source: eth0}, {source: eth0}]\n", []string{"plan.yaml:7:41: waves[0].hosts[0].nics[1].source: host a: NIC eth0 is listed twice"}, ""},
		{"wave depends unknown", strings.Replace(minimal, "    hosts:", "    dependsOn: [w11]\n    hosts:", 1),
			[]string{`plan.yaml:5:17: waves[0].dependsOn[0]: wave w1 depends on "w11", which is not a wave of this plan (did you mean w1?)`}, ""},
		{"wave cycle", "version: 1\nhosts: h.yaml\nwaves:\n  - name: a\n    dependsOn: [c]\n    hosts: [{name: x}]\n  - name: b\n    dependsOn: [a]\n    hosts: [{name: y}]\n  - name: c\n    dependsOn: [b]\n    hosts: [{name: z}]\n",
			[]string{"plan.yaml:5:16: waves[0].dependsOn: waves depend on each other in a cycle: a → c → b → a"}, ""},
		{"wave self", strings.Replace(minimal, "    hosts:", "    dependsOn: [w1]\n    hosts:", 1), []string{"plan.yaml:5:17: waves[0].dependsOn[0]: wave w1 depends on itself"}, ""},
		{"host cycle", "version: 1\nhosts: h.yaml\nwaves:\n  - name: a\n    hosts:\n      - {name: x, dependsOn: [y]}\n      - {name: y, dependsOn: [x]}\n",
			[]string{"plan.yaml:6:30: waves[0].hosts[0].dependsOn: hosts depend on each other in a cycle: x → y → x"}, ""},
		{"host depends unknown", minimal + "        dependsOn: [b]\n", []string{`plan.yaml:7:21: waves[0].hosts[0].dependsOn[0]: host a depends on "b", which is not a host of this plan`}, ""},
		{"target kind", minimal + "target: {kind: aws}\n", []string{`plan.yaml:7:16: target.kind: "aws": must be local or azure`}, ""},
		{"azure without settings", minimal + "target: {kind: azure}\n", []string{"plan.yaml:7:9: target: kind azure needs azure: {subscription: ID, resourceGroup: NAME, location: REGION}"}, ""},
		{"azure settings", minimal + "target:\n  kind: azure\n  azure:\n    subscription: my-sub\n    resourceGroup: rg\n    location: West Europe\n    upload: storage\n",
			[]string{`plan.yaml:10:19: target.azure.subscription: "my-sub": give the subscription ID, a GUID`,
				`plan.yaml:12:15: target.azure.location: "West Europe": give a region name such as westeurope`,
				"plan.yaml:13:13: target.azure.storageAccount: upload: storage needs storageAccount:",
				"plan.yaml:13:13: target.azure.container: upload: storage needs container:"}, ""},
		{"local with azure", minimal + "target: {azure: {location: x}}\n", []string{"plan.yaml:7:17: target.azure: azure settings need kind: azure"}, ""},
		{"a hosts file", "version: 1\nhosts:\n  - {name: a, address: 10.0.0.1}\n", []string{"plan.yaml:3:3: hosts: this is a hosts file (its hosts: lists servers), not a plan"}, ""},
		{"shape and meaning at once", strings.Replace(minimal, "    hosts:", "    concurrency: 0\n    hold: maybe\n    hosts:", 1),
			[]string{"plan.yaml:5:18: waves[0].concurrency: 0: must be at least 1", `plan.yaml:6:11: waves[0].hold: want true or false, not a value ("maybe")`}, ""},
		{"several at once", minimal + "        approval: later\n        size: {cpus: 2}\n",
			[]string{"plan.yaml:7:19: waves[0].hosts[0].approval", "plan.yaml:8:15: waves[0].hosts[0].size"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("plan.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks\n%s", err, w)
				}
			}
			if tc.not != "" && strings.Contains(err.Error(), tc.not) {
				t.Errorf("error repeats %q: %v", tc.not, err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml: cannot read the plan: no such file or directory") {
		t.Fatalf("err = %v", err)
	}
}

// TestExample: the documented example parses, and its settings merge the
// way SCHEMA.md says (host over wave over defaults).
func TestExample(t *testing.T) {
	p, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Label() != "contoso-datacenter-exit" {
		t.Errorf("Label = %s", p.Label())
	}
	if m, _ := Parse("dir/waves.yaml", []byte(minimal)); m.Label() != "waves" {
		t.Errorf("Label without name = %s", m.Label())
	}
	if got := p.HostsPath(); got != filepath.Join("testdata", "hosts.yaml") {
		t.Errorf("HostsPath = %s", got)
	}
	web01, _ := p.Effective("web01")
	if web01.Approval != Automatic || web01.Concurrency != 4 || web01.WaveBandwidth != 50_000_000 || !web01.TestMigration {
		t.Errorf("web01 = %+v", web01)
	}
	if web01.Checks.Linux == nil || web01.Checks.Linux.Units[0] != "nginx.service" ||
		len(web01.Checks.HTTP) != 1 || len(web01.Checks.Commands) != 1 || web01.Checks.Commands[0].Name != "time-in-sync" {
		t.Errorf("web01 checks = %+v", web01.Checks)
	}
	web02, _ := p.Effective("web02")
	if web02.Size != (Size{CPUs: 2, Memory: 8 << 30}) || web02.Bandwidth != 20<<20 {
		t.Errorf("web02 = %+v", web02)
	}
	sql, _ := p.Effective("sql01")
	if sql.Approval != Manual || sql.Concurrency != 2 || sql.Checks.SQLServer == nil || !sql.Checks.SQLServer.CheckDB ||
		time.Duration(sql.Checks.SQLServer.Budget) != 10*time.Minute || sql.Delta.SyncRateBelow != 2<<20 {
		t.Errorf("sql01 = %+v", sql)
	}
	if len(sql.Disks.Exclude) != 1 || sql.Disks.Types["Disk 2"] != "premium-ssd" || !sql.NICs[0].KeepStaticIP {
		t.Errorf("sql01 disks/nics = %+v %+v", sql.Disks, sql.NICs)
	}
	sp, _ := p.Effective("sp01")
	if sp.Checks.SharePoint == nil || sp.DependsOn[0] != "sql01" || sp.DependsOnWaves[0] != "web" {
		t.Errorf("sp01 = %+v", sp)
	}
	files, _ := p.Effective("files01")
	if !files.Hold || !strings.Contains(p.Waves[2].Hosts[0].Comment, "manage-bde -off C:") {
		t.Errorf("files01 = %+v, comment %q", files, p.Waves[2].Hosts[0].Comment)
	}
	if got := strings.Join(p.Order(), ","); got != "web,sharepoint,not-ready" {
		t.Errorf("Order = %s", got)
	}

	t.Setenv("SQL_CHECK_PASSWORD", "Pa55-w0rd")
	opts, err := sql.Checks.ValidateOptions(p.Dir())
	if err != nil || opts.SQL.User != "shift_check" || opts.SQL.Password.Reveal() != "Pa55-w0rd" || !opts.CheckDB || len(opts.Commands) != 1 {
		t.Errorf("ValidateOptions = %+v, %v", opts, err)
	}
	os.Unsetenv("SQL_CHECK_PASSWORD")
	if _, err := sql.Checks.ValidateOptions(p.Dir()); err == nil || !strings.Contains(err.Error(), "checks.sqlServer.password") || !strings.Contains(err.Error(), "SQL_CHECK_PASSWORD is not set") {
		t.Errorf("unset password reference: %v", err)
	}
}

// TestChecksMerge: sections replace, lists add up, an entry of the same
// name replaces the one above, and off: true cancels an inherited section.
func TestChecksMerge(t *testing.T) {
	p, err := Parse("p.yaml", []byte(`version: 1
hosts: h.yaml
defaults:
  checks:
    sqlServer: {checkdb: true}
    http: [{name: a, url: "http://a/"}, {name: b, url: "http://b/"}]
waves:
  - name: w
    checks:
      http: [{name: b, url: "http://wave-b/"}]
    hosts:
      - name: x
        checks:
          sqlServer: {off: true}
          http: [{name: c, url: "http://c/"}]
      - name: y
        checks:
          sqlServer: {budget: 5m}
`))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := p.Effective("x")
	if x.Checks.SQLServer != nil {
		t.Errorf("off: true left sqlServer: %+v", x.Checks.SQLServer)
	}
	var urls []string
	for _, h := range x.Checks.HTTP {
		urls = append(urls, h.Name+"="+h.URL)
	}
	if got := strings.Join(urls, " "); got != "a=http://a/ b=http://wave-b/ c=http://c/" {
		t.Errorf("http = %s", got)
	}
	y, _ := p.Effective("y")
	if y.Checks.SQLServer == nil || y.Checks.SQLServer.CheckDB || time.Duration(y.Checks.SQLServer.Budget) != 5*time.Minute {
		t.Errorf("a section replaces the one above whole: %+v", y.Checks.SQLServer)
	}
}

func TestCheckHosts(t *testing.T) {
	p, err := Parse("p.yaml", []byte(minimal+"      - name: db01\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckHosts([]string{"a", "db01", "web01"}); err != nil {
		t.Fatal(err)
	}
	err = p.CheckHosts([]string{"a", "db02"})
	if err == nil || err.Error() != "p.yaml:7:15: waves[0].hosts[1].name: host db01 is not in hosts.yaml (did you mean db02?): add it there or fix the name" {
		t.Fatalf("err = %v", err)
	}
}

// TestBandwidthAndSizes: the units an operator writes, and that String
// writes what parse reads back.
func TestBandwidthAndSizes(t *testing.T) {
	for in, want := range map[string]Bandwidth{
		"50M": 50 << 20, "50MB/s": 50 << 20, "50MiB/s": 50 << 20, "1.5G": 3 << 29, "800K": 800 << 10,
		"400Mbit/s": 50_000_000, "400Mbps": 50_000_000, "1Gbit": 125_000_000, "100kbit/s": 12_500, "4096": 4096, "4096B/s": 4096,
	} {
		var b Bandwidth
		if err := b.parse(in); err != nil || b != want {
			t.Errorf("%s: %d, %v; want %d", in, b, err, want)
			continue
		}
		var back Bandwidth
		if err := back.parse(b.String()); err != nil || back != b {
			t.Errorf("%s → %s → %d, %v", in, b, back, err)
		}
	}
	for _, bad := range []string{"", "fast", "-5M", "0", "50 M/h", "5e9"} {
		var b Bandwidth
		if err := b.parse(bad); err == nil {
			t.Errorf("bandwidth %q accepted as %d", bad, b)
		}
	}
	var z ByteSize
	if err := z.parse("16GiB"); err != nil || z != 16<<30 || z.String() != "16G" {
		t.Errorf("16GiB = %d %s %v", z, z, err)
	}
	if got := Duration(90 * time.Second).String(); got != "1m30s" {
		t.Errorf("90s = %s", got)
	}
	if got := Duration(2 * time.Hour).String(); got != "2h" {
		t.Errorf("2h = %s", got)
	}
}

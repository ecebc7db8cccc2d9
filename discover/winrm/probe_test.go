package winrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden/*.json from the presets")

// hostRunner runs scripts on a fixture host directly, as the WinRM server
// would after authentication. edit, when set, changes a script before it is
// sent.
type hostRunner struct {
	host *windows.Host
	edit func(name, script string) string
}

func (r hostRunner) RunPowerShell(ctx context.Context, script string) (*remote.Result, error) {
	if r.edit != nil {
		script = r.edit(ProbeName(script), script)
	}
	stdout, stderr, code := r.host.Run(ctx, remote.PowerShellCommandLine(), []byte(script))
	return &remote.Result{Stdout: stdout, Stderr: stderr, ExitCode: code}, nil
}

func probePreset(t *testing.T, preset string, edit func(name, script string) string) *inventory.Host {
	t.Helper()
	fx, err := windows.Load(preset)
	if err != nil {
		t.Fatal(err)
	}
	h := &inventory.Host{Name: preset, Address: "127.0.0.1", Transport: "winrm"}
	Probe(context.Background(), hostRunner{host: fx, edit: edit}, h)
	return h
}

func find[T any](items []T, match func(T) bool) *T {
	for i := range items {
		if match(items[i]) {
			return &items[i]
		}
	}
	return nil
}

func TestProbePresetGolden(t *testing.T) {
	for _, preset := range windows.Presets() {
		h := probePreset(t, preset, nil)
		if !h.OK() {
			t.Errorf("%s: errors %+v", preset, h.Errors)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(h); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden", preset+".json")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./discover/winrm -run Golden -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: inventory differs from %s (run with -update and review the diff)", preset, path)
		}
	}
}

func TestProbeSQLServerAndSharePointFarm(t *testing.T) {
	h := probePreset(t, "ws2019-sql2019-sp2019", nil)
	if !h.OK() || len(h.Absent) != 0 {
		t.Fatalf("errors %+v, absent %v", h.Errors, h.Absent)
	}
	id, osi := h.Identity, h.OS
	if id.Hostname != "SP19-APP01" || id.Domain != "contoso.local" || id.FQDN != "SP19-APP01.contoso.local" ||
		id.SystemUUID != "420e5c35-7f8b-2d9a-6b1e-3c4a5f6d7e8f" || id.Virtualization != "vmware" {
		t.Errorf("identity = %+v", id)
	}
	if osi.Name != "Microsoft Windows Server 2019 Datacenter" || osi.Build != "17763" || osi.Version != "10.0.17763" ||
		osi.Edition != "ServerDatacenter" || osi.Architecture != "x86_64" || osi.EndOfSupport != "2029-01-09" ||
		!osi.InstallDate.Equal(time.Date(2019, 11, 6, 10, 42, 17, 0, time.UTC)) {
		t.Errorf("os = %+v", osi)
	}
	if h.CPU.Sockets != 2 || h.CPU.Cores != 8 || h.CPU.Logical != 8 || h.CPU.Model != "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz" {
		t.Errorf("cpu = %+v", h.CPU)
	}
	if h.Firmware.Type != "uefi" || h.Firmware.SecureBoot == nil || *h.Firmware.SecureBoot {
		t.Errorf("firmware = %+v", h.Firmware)
	}
	if h.PendingReboot == nil || *h.PendingReboot || h.Power.Hibernation == nil || *h.Power.Hibernation {
		t.Errorf("pending reboot %v, power %+v", h.PendingReboot, h.Power)
	}

	if len(h.Disks) != 3 || h.Disks[0].PartitionTable != "gpt" || len(h.Disks[0].Partitions) != 4 || !h.Disks[0].System {
		t.Fatalf("disks = %+v", h.Disks)
	}
	esp := h.Disks[0].Partitions[1]
	if esp.TypeName != "EFI System" || esp.FSType != "vfat" || esp.Type != "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" {
		t.Errorf("ESP = %+v", esp)
	}
	c := find(h.Volumes, func(v inventory.Volume) bool { return v.DriveLetter == "C" })
	if c == nil || c.FSType != "ntfs" || c.Disk != "Disk 0" || c.Partition != 4 || !c.System || c.UsedBytes == nil ||
		c.Dirty == nil || *c.Dirty || c.Encrypted || !slices.Equal(c.MountPoints, []string{`C:\`}) {
		t.Errorf("C: = %+v", c)
	}
	if rec := find(h.Volumes, func(v inventory.Volume) bool { return v.Label == "Recovery" }); rec == nil || rec.DriveLetter != "" {
		t.Errorf("recovery volume = %+v, want no drive letter for \\u0000", rec)
	}

	nic := h.NICs[0]
	if len(h.NICs) != 1 || nic.Name != "Ethernet0" || nic.MAC != "00:50:56:9a:3c:12" || nic.DHCP == nil || *nic.DHCP ||
		nic.SpeedMbps != 10000 || nic.Addresses[0] != (inventory.IPAddress{Address: "10.10.20.31", Prefix: 24, Family: "ipv4", Origin: "static"}) ||
		nic.Addresses[1].Origin != "link-local" || nic.Addresses[1].Prefix != 64 || !slices.Equal(nic.DNS, []string{"10.10.20.10", "10.10.20.11"}) {
		t.Errorf("nic = %+v", h.NICs)
	}
	for _, want := range []inventory.Service{
		{Name: "MSSQLSERVER", StartMode: "auto", State: "running", Account: `CONTOSO\svc-sql`},
		{Name: "SQLSERVERAGENT", StartMode: "auto", State: "running"},
		{Name: "SPTimerV4", StartMode: "auto", State: "running"},
		{Name: "W3SVC", StartMode: "auto", State: "running"},
		{Name: "WinRM", StartMode: "auto", State: "running"},
		{Name: "MSDTC", StartMode: "auto-delayed", State: "running"},
		{Name: "SQLBrowser", StartMode: "disabled", State: "stopped"},
	} {
		got := find(h.Services, func(s inventory.Service) bool { return s.Name == want.Name })
		if got == nil || got.StartMode != want.StartMode || got.State != want.State || (want.Account != "" && got.Account != want.Account) {
			t.Errorf("service %s = %+v", want.Name, got)
		}
	}
	if len(h.Services) < 40 || len(h.Software) < 15 {
		t.Errorf("%d services, %d programs", len(h.Services), len(h.Software))
	}
	if p := find(h.Ports, func(p inventory.Port) bool { return p.Port == 1433 }); p == nil || p.Process != "sqlservr" || p.PID != 3312 {
		t.Errorf("port 1433 = %+v", p)
	}
	if sw := find(h.Software, func(s inventory.Software) bool { return s.Name == "Microsoft SharePoint Server 2019" }); sw == nil ||
		sw.Version != "16.0.10337.12109" || sw.InstallDate != "2019-11-07" || sw.Source != "registry" {
		t.Errorf("SharePoint package = %+v", sw)
	}

	if len(h.SQLServer) != 1 {
		t.Fatalf("sql = %+v", h.SQLServer)
	}
	sql := h.SQLServer[0]
	if sql.Name != "MSSQLSERVER" || sql.Version != "15.0.4355.3" || sql.Release != "SQL Server 2019" || sql.EndOfSupport != "2030-01-08" ||
		sql.UpdateLevel != "CU22" || sql.TCPPort != 1433 || sql.ServiceState != "running" || sql.AgentState != "running" ||
		sql.Logins != 27 || sql.Clustered || sql.HADREnabled || len(sql.Databases) != 13 {
		t.Errorf("sql = %+v", sql)
	}
	wss := find(sql.Databases, func(d inventory.SQLDatabase) bool { return d.Name == "WSS_Content_Portal" })
	if wss == nil || wss.State != "ONLINE" || wss.RecoveryModel != "FULL" || wss.CompatibilityLevel != 150 ||
		wss.SizeBytes != 5<<30 || wss.Collation != "Latin1_General_CI_AS_KS_WS" || wss.System {
		t.Errorf("WSS_Content_Portal = %+v", wss)
	}
	if master := sql.Databases[0]; master.Name != "master" || !master.System {
		t.Errorf("master = %+v", master)
	}
	if dw := find(sql.Databases, func(d inventory.SQLDatabase) bool { return d.Name == "SalesDW" }); dw == nil || dw.RecoveryModel != "SIMPLE" {
		t.Errorf("SalesDW = %+v", dw)
	}
	if j := find(sql.AgentJobs, func(j inventory.SQLAgentJob) bool { return j.Name == "Output File Cleanup" }); j == nil || j.Enabled || j.LastOutcome != "never" {
		t.Errorf("job = %+v", j)
	}
	if len(sql.AgentJobs) != 7 || sql.AgentJobs[0].LastOutcome != "succeeded" || !sql.AgentJobs[0].Enabled {
		t.Errorf("jobs = %+v", sql.AgentJobs)
	}

	sp := h.SharePoint
	if sp == nil {
		t.Fatal("no SharePoint farm")
	}
	if sp.Build != "16.0.10337.12109" || sp.Release != "SharePoint Server 2019" || sp.EndOfSupport != "2026-07-14" || sp.Status != "Online" ||
		sp.ConfigDatabase != "SharePoint_Config" || len(sp.Servers) != 2 || sp.Servers[0].Role != "SingleServerFarm" ||
		len(sp.WebApplications) != 2 || len(sp.SiteCollections) != 6 || len(sp.ContentDatabases) != 3 {
		t.Errorf("farm = %+v", sp)
	}
	site := find(sp.SiteCollections, func(s inventory.SharePointSite) bool { return s.URL == "https://portal.contoso.local/sites/news" })
	if site == nil || site.ContentDatabase != "WSS_Content_Portal" || site.WebApplication != "https://portal.contoso.local" ||
		site.Owner != `i:0#.w|contoso\comms` || site.StorageBytes != 1610612736 {
		t.Errorf("news site = %+v", site)
	}
	cdb := find(sp.ContentDatabases, func(d inventory.SharePointContentDB) bool { return d.Name == "WSS_Content" })
	if cdb == nil || cdb.Status != "Online" || cdb.Sites != 3 || cdb.Server != "SP19-APP01" || cdb.SizeBytes != 2<<30 {
		t.Errorf("WSS_Content = %+v", cdb)
	}
	if w := sp.WebApplications[1]; w.Name != "SharePoint - portal.contoso.local443" || w.URL != "https://portal.contoso.local/" || w.ApplicationPool != w.Name {
		t.Errorf("web app = %+v", w)
	}
}

func TestProbeOldServerWithSQL2014(t *testing.T) {
	h := probePreset(t, "ws2012r2-sql2014", nil)
	if !h.OK() || !slices.Equal(h.Absent, []string{"sharepoint"}) || h.SharePoint != nil {
		t.Fatalf("errors %+v, absent %v", h.Errors, h.Absent)
	}
	if h.OS.Name != "Microsoft Windows Server 2012 R2 Standard" || h.OS.EndOfSupport != "2023-10-10" ||
		!h.OS.InstallDate.Equal(time.Date(2015, 3, 12, 8, 45, 12, 0, time.UTC)) ||
		!h.OS.LastBoot.Equal(time.Date(2024, 6, 2, 1, 15, 2, 125000000, time.UTC)) {
		t.Errorf("os = %+v (DMTF dates)", h.OS)
	}
	if h.Firmware.Type != "bios" || h.Firmware.SecureBoot == nil || *h.Firmware.SecureBoot {
		t.Errorf("firmware = %+v", h.Firmware)
	}
	if h.CPU.Sockets != 1 || h.CPU.Cores != 8 || h.CPU.Logical != 16 {
		t.Errorf("cpu = %+v (one socket: a bare object)", h.CPU)
	}
	if len(h.Disks) != 3 || h.Disks[0].PartitionTable != "mbr" || h.Disks[0].PartitionTableID != "a7a7073a" ||
		!h.Disks[0].Partitions[0].Bootable || h.Disks[0].Partitions[0].Type != "0x07" || !h.Disks[2].Dynamic || h.Disks[1].Dynamic {
		t.Errorf("disks = %+v", h.Disks)
	}
	team := find(h.NICs, func(n inventory.NIC) bool { return n.Name == "Team1" })
	if team == nil || !team.Team || !slices.Equal(team.Members, []string{"NIC1", "NIC2"}) {
		t.Errorf("team = %+v", team)
	}
	if b := find(h.NICs, func(n inventory.NIC) bool { return n.Name == "Backup" }); b == nil || len(b.Gateways) != 0 || len(b.DNS) != 0 || len(b.Addresses) != 1 {
		t.Errorf("backup NIC = %+v ([null] arrays)", b)
	}
	if s := find(h.Services, func(s inventory.Service) bool { return s.Name == "MSDTC" }); s == nil || s.StartMode != "auto" {
		t.Errorf("MSDTC = %+v (no DelayedAutoStart before 2016)", s)
	}
	if len(h.SQLServer) != 1 {
		t.Fatalf("sql = %+v", h.SQLServer)
	}
	sql := h.SQLServer[0]
	if sql.Name != "FINANCE" || sql.ServiceName != "MSSQL$FINANCE" || sql.Release != "SQL Server 2014" || sql.EndOfSupport != "2024-07-09" ||
		sql.Level != "SP3" || sql.Edition != "Standard Edition (64-bit)" || sql.TCPPort != 49712 {
		t.Errorf("sql = %+v", sql)
	}
	if d := find(sql.Databases, func(d inventory.SQLDatabase) bool { return d.Name == "Budget2016" }); d == nil || d.State != "OFFLINE" || d.Collation != "" || d.CompatibilityLevel != 100 {
		t.Errorf("Budget2016 = %+v", d)
	}
	outcomes := map[string]string{}
	for _, j := range sql.AgentJobs {
		outcomes[j.Name] = j.LastOutcome
	}
	if outcomes["Finance - Month End Close"] != "failed" || outcomes["Archive purge"] != "canceled" {
		t.Errorf("job outcomes = %v", outcomes)
	}
}

func TestProbeBitLockerHidesKeys(t *testing.T) {
	h := probePreset(t, "ws2022-bitlocker", nil)
	if !h.OK() || !slices.Equal(h.Absent, []string{"sqlserver", "sharepoint"}) {
		t.Fatalf("errors %+v, absent %v", h.Errors, h.Absent)
	}
	if h.Firmware.Type != "uefi" || h.Firmware.SecureBoot == nil || !*h.Firmware.SecureBoot {
		t.Errorf("firmware = %+v, want Secure Boot on", h.Firmware)
	}
	if h.Identity.Workgroup != "WORKGROUP" || h.Identity.Domain != "" || h.OS.EndOfSupport != "2031-10-14" {
		t.Errorf("identity = %+v, os = %+v", h.Identity, h.OS)
	}
	c := find(h.Volumes, func(v inventory.Volume) bool { return v.DriveLetter == "C" })
	d := find(h.Volumes, func(v inventory.Volume) bool { return v.DriveLetter == "D" })
	if c == nil || !c.Encrypted || c.Encryption != "bitlocker:FullyEncrypted" || d == nil || d.Encrypted {
		t.Errorf("C: = %+v, D: = %+v", c, d)
	}
	if p := h.Disks[0].Partitions[2]; p.FSType != "BitLocker" {
		t.Errorf("C: partition = %+v", p)
	}
	inv := inventory.New("test", time.Unix(0, 0))
	inv.Hosts = append(inv.Hosts, *h)
	var b bytes.Buffer
	if err := inv.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"RecoveryPassword", "KeyProtector", "recoveryPassword"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("inventory JSON contains %q", secret)
		}
	}
}

// TestProbeIgnoresKeyProtectors feeds storage output that carries key
// protectors (as an unfiltered Get-BitLockerVolume would): the parser drops them.
func TestProbeIgnoresKeyProtectors(t *testing.T) {
	fleet := readTestdata(t, "bitlocker-fleet.json")
	out := []byte(`{"Disks": [], "Partitions": [], "Volumes": [{"DriveLetter": "C", "FileSystem": "NTFS", "UniqueId": "\\\\?\\Volume{x}\\", "Size": 10}], "BitLocker": ` +
		strings.ReplaceAll(string(fleet), "<REDACTED-48-DIGIT-RECOVERY-PASSWORD>", "123456-123456-123456-123456-123456-123456-123456-123456") + `}`)
	var h inventory.Host
	if _, err := parseStorage(&h, out); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(h)
	if strings.Contains(string(b), "123456") || len(h.Volumes) != 1 || !h.Volumes[0].Encrypted {
		t.Errorf("host = %s", b)
	}
}

func TestProbeKeepsGoingAfterAFailedProbe(t *testing.T) {
	h := probePreset(t, "ws2019-sql2019-sp2019", func(name, script string) string {
		if name == "network" {
			return script + "\n# edited"
		}
		return script
	})
	if len(h.Errors) != 1 {
		t.Fatalf("errors = %+v, want one", h.Errors)
	}
	e := h.Errors[0]
	if e.Step != "network" || e.Kind != inventory.ErrProbe || !strings.Contains(e.Message, "probe 'network' changed since preset ws2019-sql2019-sp2019 was recorded") || e.Hint == "" {
		t.Errorf("error = %+v", e)
	}
	if len(h.NICs) != 0 || h.SharePoint == nil || len(h.SQLServer) != 1 || len(h.Disks) != 3 {
		t.Errorf("the other probes did not run: %d disks, %d sql", len(h.Disks), len(h.SQLServer))
	}
}

// scriptedRunner answers every script with the same result or error.
type scriptedRunner struct {
	calls  int
	result func(name string) (*remote.Result, error)
}

func (r *scriptedRunner) RunPowerShell(_ context.Context, script string) (*remote.Result, error) {
	r.calls++
	return r.result(ProbeName(script))
}

func TestProbeStopsWhenTheHostRefusesUs(t *testing.T) {
	for _, kind := range []string{inventory.ErrAuth, inventory.ErrUnreachable, inventory.ErrTLS} {
		r := &scriptedRunner{result: func(string) (*remote.Result, error) {
			return nil, &remote.Error{Host: "hr-app02", Step: "winrm", Kind: kind, Err: errors.New("http 401"), Hint: "check the password"}
		}}
		var h inventory.Host
		Probe(context.Background(), r, &h)
		if r.calls != 1 || len(h.Errors) != 1 || h.Errors[0].Kind != kind || h.Reachable() {
			t.Errorf("%s: %d calls, errors %+v", kind, r.calls, h.Errors)
		}
	}
	r := &scriptedRunner{result: func(string) (*remote.Result, error) { return nil, errors.New("something odd") }}
	var h inventory.Host
	Probe(context.Background(), r, &h)
	if r.calls != len(Scripts()) || len(h.Errors) != len(Scripts()) || h.Errors[1].Step != "storage" {
		t.Errorf("unclassified errors: %d calls, errors %+v", r.calls, h.Errors)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h = inventory.Host{}
	Probe(ctx, &scriptedRunner{result: func(string) (*remote.Result, error) { return nil, ctx.Err() }}, &h)
	if len(h.Errors) != 1 || h.Errors[0].Kind != inventory.ErrCanceled {
		t.Errorf("canceled: errors %+v", h.Errors)
	}
}

func TestProbeReportsScriptErrorsAndParseErrors(t *testing.T) {
	clixml := readTestdata(t, "clixml-error.txt")
	r := &scriptedRunner{result: func(name string) (*remote.Result, error) {
		switch name {
		case "system":
			return &remote.Result{Stderr: clixml, ExitCode: 1}, nil
		case "storage":
			return &remote.Result{Stdout: []byte(`{"Disks": [{"Number": 0, "Size": "Microsoft.Management.Infrastructure.CimInstance"}]}`)}, nil
		case "network":
			return &remote.Result{Stdout: []byte(`{"Adapters": "Microsoft.Management.Infrastructure.CimInstance"}`)}, nil
		case "software":
			return &remote.Result{Stdout: []byte(`{"Software": [], "Services": []}`), Stderr: clixml}, nil
		case "sqlserver":
			return &remote.Result{Stdout: []byte(`{"Name": "X", "Error": "Login failed for user 'CONTOSO\\shift'."}`)}, nil
		}
		return &remote.Result{Stdout: []byte("\xef\xbb\xbf{\"Installed\":  false}\r\n")}, nil
	}}
	var h inventory.Host
	Probe(context.Background(), r, &h)
	byStep := map[string]inventory.Error{}
	for _, e := range h.Errors {
		byStep[e.Step] = e
	}
	if e := byStep["system"]; e.Kind != inventory.ErrUnsupported || !strings.Contains(e.Message, "The term 'fake' is not recognized") {
		t.Errorf("system = %+v", e)
	}
	if e := byStep["storage"]; e.Kind != inventory.ErrParse || !strings.Contains(e.Message, "Disks.Size") {
		t.Errorf("storage = %+v", e)
	}
	if e := byStep["network"]; e.Kind != inventory.ErrParse || !strings.Contains(e.Message, "Adapters") || !strings.Contains(e.Message, "-Depth") {
		t.Errorf("network = %+v", e)
	}
	if e := byStep["software"]; !strings.Contains(e.Message, "wrote errors") {
		t.Errorf("software = %+v", e)
	}
	if e := byStep["sqlserver/X"]; e.Kind != inventory.ErrPermission || !strings.Contains(e.Hint, "SQL Server login") {
		t.Errorf("sqlserver = %+v", e)
	}
	if len(h.SQLServer) != 1 || !slices.Equal(h.Absent, []string{"sharepoint"}) || len(h.Errors) != 5 {
		t.Errorf("sql %+v, absent %v, errors %+v", h.SQLServer, h.Absent, h.Errors)
	}
}

func TestScriptsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scripts() {
		if ProbeName(s.Text) != s.Name || seen[s.Name] {
			t.Errorf("script %s: header names %q", s.Name, ProbeName(s.Text))
		}
		seen[s.Name] = true
		if parsers[s.Name] == nil {
			t.Errorf("script %s has no parser", s.Name)
		}
		for _, banned := range []string{"??", "-AsArray", "-EnumsAsStrings", "RecoveryPassword", "KeyProtector"} {
			if strings.Contains(s.Text, banned) {
				t.Errorf("script %s uses %q (not PowerShell 5.1, or a secret)", s.Name, banned)
			}
		}
		if !strings.Contains(s.Text, "ConvertTo-Json") {
			t.Errorf("script %s prints no JSON", s.Name)
		}
		for _, line := range strings.Split(s.Text, "\n") {
			if strings.Contains(line, "ConvertTo-Json") && !strings.Contains(line, "-Depth") {
				t.Errorf("script %s: ConvertTo-Json without -Depth: %s", s.Name, strings.TrimSpace(line))
			}
		}
	}
	if len(seen) != len(parsers) {
		t.Errorf("%d scripts for %d parsers", len(seen), len(parsers))
	}
}

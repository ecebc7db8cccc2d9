package report_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// asOf fixes the assessment date so that support verdicts do not drift with
// the calendar: on 2025-06-01 SharePoint Server 2019 is still supported
// (until 2026-07-14) and Windows Server 2012 R2 and SQL Server 2014 are not.
var asOf = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// labInventory discovers the Windows presets of the lab (the local machine
// is left out: it differs per machine) over real WinRM and normalises the
// fields that change per run.
func labInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	lab, err := fixtures.StartLab(ctx, fixtures.LabOptions{Dir: dir, NoSSH: true})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	defer lab.Close()
	hostsFile := filepath.Join(dir, "hosts.yaml")
	if err := lab.WriteHosts(hostsFile); err != nil {
		t.Fatal(err)
	}
	hf, err := remote.LoadHosts(hostsFile)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := discover.Run(ctx, hf, nil, discover.Options{Generator: "shift test"})
	if err != nil {
		t.Fatal(err)
	}
	inv.GeneratedAt = time.Date(2025, 5, 30, 12, 0, 0, 0, time.UTC)
	for i := range inv.Hosts {
		inv.Hosts[i].DiscoveredAt, inv.Hosts[i].ProbeSeconds = time.Time{}, 0
		inv.Hosts[i].Address = "127.0.0.1"
	}
	return inv
}

func labResult(t testing.TB) *assess.Result {
	t.Helper()
	res, err := assess.Assess(labInventory(t), assess.Options{AsOf: asOf, Generator: "shift test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func findingOf(h *assess.HostResult, rule string) *assess.Finding {
	for i := range h.Findings {
		if h.Findings[i].Rule == rule {
			return &h.Findings[i]
		}
	}
	return nil
}

// TestLabVerdicts checks that every lab preset gets the verdict its set-up
// implies, with the reasons and fixes the issue asks for.
func TestLabVerdicts(t *testing.T) {
	res := labResult(t)
	if len(res.Hosts) != 4 {
		t.Fatalf("hosts = %d, want the 4 Windows presets", len(res.Hosts))
	}
	get := func(name string) *assess.HostResult {
		h := res.Host(name)
		if h == nil {
			t.Fatalf("no result for %s", name)
		}
		return h
	}

	bl := get("ws2022-bitlocker")
	if bl.Verdict != assess.NotReady {
		t.Errorf("ws2022-bitlocker: verdict %s, want not-ready", bl.Verdict)
	}
	for rule, want := range map[string][]string{
		"encryption.bitlocker": {"C: is BitLocker FullyEncrypted", "volumes[C:].encryption", "manage-bde -off C:", "Suspend-BitLocker is not enough"},
		"firmware.secure-boot": {"Secure Boot is on", "firmware.secureBoot", "-EnableSecureBoot Off", "Trusted Launch"},
	} {
		f := findingOf(bl, rule)
		if f == nil || f.Verdict != assess.NotReady {
			t.Errorf("ws2022-bitlocker: no blocker %s: %+v", rule, bl.Findings)
			continue
		}
		for _, w := range want {
			if !strings.Contains(f.Message+" "+f.Fix, w) {
				t.Errorf("ws2022-bitlocker %s: %q missing from %q / %q", rule, w, f.Message, f.Fix)
			}
		}
	}

	old := get("ws2012r2-sql2014")
	if f := findingOf(old, "os.end-of-support"); f == nil || !strings.Contains(f.Message, "2023-10-10") {
		t.Errorf("ws2012r2-sql2014: OS not flagged out of support: %+v", f)
	}
	if f := findingOf(old, "sql.support"); f == nil || !strings.Contains(f.Message, "SQL Server 2014") || !strings.Contains(f.Message, "2024-07-09") {
		t.Errorf("ws2012r2-sql2014: SQL Server 2014 not flagged out of support: %+v", f)
	}
	if old.Verdict != assess.NotReady || findingOf(old, "network.team") == nil {
		t.Errorf("ws2012r2-sql2014: verdict %s, want not-ready for its LBFO team", old.Verdict)
	}
	if f := findingOf(old, "disk.dynamic"); f == nil || f.Verdict != assess.Conditional {
		t.Errorf("ws2012r2-sql2014: dynamic data disk should be a condition: %+v", f)
	}
	if len(old.SQLServer) != 1 || old.SQLServer[0].Supported == nil || *old.SQLServer[0].Supported {
		t.Errorf("ws2012r2-sql2014: SQL summary %+v", old.SQLServer)
	}

	sp := get("ws2019-sql2019-sp2019")
	if sp.Verdict != assess.Conditional || len(sp.Blockers()) != 0 {
		t.Errorf("ws2019-sql2019-sp2019: verdict %s blockers %+v, want ready with conditions and no blocker", sp.Verdict, sp.Blockers())
	}
	if f := findingOf(sp, "workload.sql-sharepoint-colocated"); f == nil || !strings.Contains(f.Fix, "max server memory") {
		t.Errorf("ws2019-sql2019-sp2019: no co-location condition: %+v", f)
	}
	if sp.SharePoint == nil || sp.SharePoint.Supported == nil || !*sp.SharePoint.Supported {
		t.Errorf("ws2019-sql2019-sp2019: SharePoint 2019 should be in support on %s: %+v", asOf.Format(time.DateOnly), sp.SharePoint)
	}

	bad := get("ws2016-badpass")
	if bad.Verdict != assess.NotAssessed || bad.Sizing != nil || len(bad.Findings) != 0 {
		t.Errorf("ws2016-badpass: verdict %s, want not-assessed without findings", bad.Verdict)
	}
	if len(bad.DiscoveryErrors) == 0 || bad.DiscoveryErrors[0].Kind != inventory.ErrAuth {
		t.Errorf("ws2016-badpass: discovery error not surfaced: %+v", bad.DiscoveryErrors)
	}
	if res.Summary.Verdicts[assess.Ready] != 0 || res.Summary.Verdicts[assess.NotAssessed] != 1 {
		t.Errorf("summary %+v", res.Summary)
	}
}

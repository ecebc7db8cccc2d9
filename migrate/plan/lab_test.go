package plan_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// TestDraftLab drafts a plan for the lab's Windows presets, discovered over
// real WinRM from the fixture server, and checks that the SharePoint farm
// and its SQL Server move in one wave with their checks, that the hosts
// that cannot move are held with their blockers, and that the draft loads
// back against the lab's own hosts file.
func TestDraftLab(t *testing.T) {
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
	res, err := assess.Assess(inv, assess.Options{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Draft(inv, res, plan.DraftOptions{Hosts: "hosts.yaml"})

	const sp = "ws2019-sql2019-sp2019"
	e, ok := p.Effective(sp)
	if !ok || e.Hold {
		t.Fatalf("%s: in plan %v, held %v", sp, ok, e.Hold)
	}
	if e.Checks.SQLServer == nil || e.Checks.SharePoint == nil {
		t.Errorf("%s: checks %+v, want sqlServer and sharePoint", sp, e.Checks)
	}
	var urls []string
	for _, h := range e.Checks.HTTP {
		urls = append(urls, h.URL)
	}
	if got := strings.Join(urls, " "); got != "http://sp19-app01/ https://portal.contoso.local/" {
		t.Errorf("%s: web application checks %s", sp, got)
	}
	// The farm's SQL Server is the host itself (a single-server farm): it
	// is in the farm's wave, and no other host joined it.
	if w := p.Wave(e.Wave); w == nil || len(w.Hosts) != 1 || w.Hold {
		t.Errorf("farm wave %+v", w)
	}
	held := p.Wave(plan.HeldWave)
	if held == nil || !held.Hold {
		t.Fatalf("no held wave: %+v", p.Waves)
	}
	want := map[string]string{
		"ws2012r2-sql2014": "blocked: network.team",
		"ws2022-bitlocker": "blocked: encryption.bitlocker",
		"ws2016-badpass":   "not assessed: discovery",
	}
	for _, h := range held.Hosts {
		if w, ok := want[h.Name]; !ok || !strings.Contains(h.Comment, w) {
			t.Errorf("held %s: comment %q, want %q", h.Name, h.Comment, w)
		}
		delete(want, h.Name)
	}
	if len(want) != 0 {
		t.Errorf("not held: %v", want)
	}

	out := filepath.Join(dir, "waves.yaml")
	if err := p.WriteFile(out, false); err != nil {
		t.Fatal(err)
	}
	q, err := plan.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.CheckHosts(hf.Names()); err != nil {
		t.Errorf("the draft names hosts the lab's hosts file lacks: %v", err)
	}
	if q.Digest() != p.Digest() || q.HostsPath() != hostsFile {
		t.Errorf("round trip: digest %v, hosts path %s", q.Digest() == p.Digest(), q.HostsPath())
	}
}

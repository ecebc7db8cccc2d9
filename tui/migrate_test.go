package tui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// testPlan is the lab's drafted plan as the engine describes it.
func testPlan() planLoadedMsg {
	return planLoadedMsg{path: "out/waves.yaml", what: "drafted", invGen: 1,
		note: "lab: local copies a 64 MiB disk image; the simulated Windows hosts are held",
		summary: face.PlanSummary{Path: "out/waves.yaml", Name: "waves", Target: "local", Waves: []face.PlanWave{
			{Name: "all", Hosts: []face.PlanHost{{Name: "ws2019-sql2019-sp2019", Held: true, Size: "8 CPUs, 32 GiB", Approval: "manual",
				Checks: []string{"sqlServer", "sharePoint", "2 http"}, Comment: "# lab: simulated host: it answers discovery and validation, but has no disks to copy"}}},
			{Name: "not-ready", Held: true, Hosts: []face.PlanHost{
				{Name: "ws2012r2-sql2014", Held: true, Size: "16 CPUs, 64 GiB", Approval: "manual", Checks: []string{"sqlServer"}},
				{Name: "ws2016-badpass", Held: true, Approval: "manual"}}},
			{Name: "lab", Hosts: []face.PlanHost{{Name: "local", Size: "1 CPUs, 512 MiB", Approval: "manual",
				Comment: "# lab: copies the lab's 64 MiB disk image instead of this machine's disks\n# ready with conditions: linux.hyperv-drivers (see the assessment report)"}}},
		}},
		settings: map[string]face.PlanHostSettings{
			"ws2019-sql2019-sp2019": {Host: "ws2019-sql2019-sp2019", Wave: "all", Disks: []string{"Disk 0", "Disk 1", "Disk 2"}},
			"ws2012r2-sql2014":      {Host: "ws2012r2-sql2014", Wave: "not-ready", Disks: []string{"Disk 0", "Disk 1", "Disk 2"}},
			"ws2016-badpass":        {Host: "ws2016-badpass", Wave: "not-ready"},
			"local":                 {Host: "local", Wave: "lab", Disks: []string{"/lab/local-disk.img"}, Bandwidth: "4M/s"},
		},
	}
}

// planned is a lab model on the Plan screen with the test plan.
func planned(t *testing.T, w, h int) *model {
	t.Helper()
	m := labModel(t, w, h)
	discovered(t, m)
	assessed(t, m)
	m.screen = planScreen
	m.Update(testPlan())
	return m
}

// replicating starts a replication and feeds the events of its first
// seconds.
func replicating(t *testing.T, m *model) {
	t.Helper()
	press(m, "r")
	if m.screen != replicationScreen || !m.mig.running || m.mig.kind != replicateRun {
		t.Fatalf("r did not start replication: screen %v running %v", m.screen, m.mig.running)
	}
	tag := m.mig.tag
	for _, ev := range []face.Event{
		face.PhaseChanged{ID: 3, Host: "local", From: face.Pending, To: face.Discovered, Detail: "Debian GNU/Linux 12 (bookworm), 1 disk(s)"},
		face.PhaseChanged{ID: 3, Host: "local", From: face.Discovered, To: face.Assessed, Detail: "verdict ready with conditions"},
		face.StepDone{ID: 3, Host: "local", Phase: face.Assessed, Step: "create disk", Detail: "local-local-disk-img (64.0 MiB) for /lab/local-disk.img"},
		face.PhaseChanged{ID: 3, Host: "local", From: face.Assessed, To: face.Prepared, Detail: "1 target disk(s) on local"},
		face.DiskProgress{ID: 3, Host: "local", Disk: "/lab/local-disk.img", Pass: 1, Done: 28 << 20, Total: 64 << 20, Wire: 12 << 20, Rate: 4 << 20, ETA: 9 * time.Second},
	} {
		m.Update(eventMsg{tag, ev})
	}
	m.Update(redrawMsg{})
}

// inSync ends the replication with local in sync.
func inSync(t *testing.T, m *model) {
	t.Helper()
	tag := m.mig.tag
	m.Update(eventMsg{tag, face.DiskProgress{ID: 3, Host: "local", Disk: "/lab/local-disk.img", Pass: 1, Done: 64 << 20, Total: 64 << 20, Rate: 4 << 20, Final: true}})
	m.Update(eventMsg{tag, face.StepDone{ID: 3, Host: "local", Phase: face.Replicating, Step: "full copy",
		Detail: "/lab/local-disk.img pass 1: 16 chunks sent, 0 unchanged, 0 zero, 48.0 MiB moved, 24.1 MiB on the wire, in 12s"}})
	m.Update(eventMsg{tag, face.PhaseChanged{ID: 3, Host: "local", From: face.Prepared, To: face.InSync, Detail: "1 pass(es) this run, 48.0 MiB moved by the last"}})
	m.Update(eventMsg{tag, face.MigrationDone{ID: 3, Took: 14 * time.Second, Servers: []face.ServerResult{
		{Host: "local", Wave: "lab", Phase: face.InSync, Passes: 1, Bytes: 48 << 20},
		{Host: "ws2019-sql2019-sp2019", Wave: "all", Phase: face.Pending, Waiting: "the plan to release it (hold: true)"},
	}}})
}

// rolledBack cuts local over and feeds a cutover whose validation fails.
func rolledBack(t *testing.T, m *model) {
	t.Helper()
	tag := m.mig.tag
	for _, ev := range []face.Event{
		face.PhaseChanged{ID: 4, Host: "local", From: face.InSync, To: face.CuttingOver, Detail: "cutover approved"},
		face.StepDone{ID: 4, Host: "local", Phase: face.CuttingOver, Step: "fingerprint source", Detail: "linux"},
		face.StepDone{ID: 4, Host: "local", Phase: face.CuttingOver, Step: "stop services", Detail: "nginx"},
		face.StepDone{ID: 4, Host: "local", Phase: face.CuttingOver, Step: "final pass", Detail: "/lab/local-disk.img pass 2: 0 chunks sent, 12 unchanged, 4 zero, 0 KiB moved"},
		face.StepDone{ID: 4, Host: "local", Phase: face.CuttingOver, Step: "boot", Detail: "VM local started on local"},
		face.ValidationFinding{ID: 4, Host: "local", Severity: "blocking", Check: "linux", Object: "unit nginx.service", Expected: "active", Actual: "inactive", Message: "a service that ran on the source does not run"},
		face.ValidationFinding{ID: 4, Host: "local", Severity: "info", Check: "linux", Object: "hostname", Expected: "lab-local", Actual: "lab-local"},
		face.PhaseChanged{ID: 4, Host: "local", From: face.CuttingOver, To: face.RolledBack,
			Detail: "local: cutting-over: validate the target: 1 blocking finding(s): unit nginx.service: a service that ran on the source does not run; rolled back: stopped VM local (kept for inspection), started nginx on the source; the source serves again. Fix the cause, then run again to copy the changes and cut over anew"},
	} {
		m.Update(eventMsg{tag, ev})
	}
	m.Update(eventMsg{tag, face.MigrationDone{ID: 4, Took: 95 * time.Second, Servers: []face.ServerResult{{Host: "local", Wave: "lab", Phase: face.RolledBack,
		Err: "local: cutting-over: validate the target: 1 blocking finding(s): unit nginx.service: a service that ran on the source does not run; rolled back: stopped VM local (kept for inspection), started nginx on the source; the source serves again. Fix the cause, then run again to copy the changes and cut over anew"}}}})
}

// TestGoldenMigrationViews renders the Plan, Replication and Cutover
// screens and the resume offer at 80×24 and 120×40.
func TestGoldenMigrationViews(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		sz := func(name string) string { return name + "-" + itoa(size.w) + "x" + itoa(size.h) }
		t.Run(sz("plan"), func(t *testing.T) {
			m := planned(t, size.w, size.h)
			golden(t, sz("plan"), m)
			press(m, "z")
			golden(t, sz("plan-edit-size"), m)
		})
		t.Run(sz("replication"), func(t *testing.T) {
			m := planned(t, size.w, size.h)
			m.plan.settings["local"] = face.PlanHostSettings{Host: "local", Wave: "lab", Disks: []string{"/lab/local-disk.img"}, StopServices: []string{"nginx"}}
			m.Update(testPlan())
			replicating(t, m)
			golden(t, sz("replication-running"), m)
			inSync(t, m)
			golden(t, sz("replication-in-sync"), m)
			press(m, "tab", "enter")
			golden(t, sz("cutover-confirm"), m)
			press(m, "y")
			rolledBack(t, m)
			golden(t, sz("cutover-rolled-back"), m)
		})
		t.Run(sz("test"), func(t *testing.T) {
			m := planned(t, size.w, size.h)
			replicating(t, m)
			inSync(t, m)
			press(m, "tab")
			for m.mig.servers[m.mig.sel].host != "local" {
				press(m, "down")
			}
			press(m, "t")
			golden(t, sz("test-confirm"), m)
			press(m, "y")
			testMigrated(t, m)
			golden(t, sz("test-migrated"), m)
		})
		t.Run(sz("resume"), func(t *testing.T) {
			m := labModel(t, size.w, size.h)
			msg := testPlan()
			msg.what, msg.resume = "", true
			msg.status = []face.ServerResult{{Host: "local", Wave: "lab", Phase: face.Replicating}, {Host: "ws2016-badpass", Wave: "not-ready", Phase: face.Pending}}
			m.Update(msg)
			golden(t, sz("resume"), m)
		})
	}
}

// TestPlanFlow drafts a plan through the real engine into a file, then
// edits it key by key: every edit is written to the file and read back.
func TestPlanFlow(t *testing.T) {
	m := labModel(t, 120, 40)
	discovered(t, m)
	assessed(t, m)
	dir := t.TempDir()
	m.plan.path = filepath.Join(dir, "waves.yaml")
	m.src.base = filepath.Join(dir, "hosts.yaml")
	disk := "/lab/local-disk.img"
	m.opts.PlanEdits = []face.PlanEdit{{Host: "local", Disks: &[]string{disk}}}
	m.opts.PlanNote = "lab: local copies a disk image"

	exec(m, press(m, "p"))
	if m.screen != planScreen || m.plan.summary == nil {
		t.Fatalf("p: screen %v, plan %v, err %v, status %q", m.screen, m.plan.summary, m.plan.err, m.status)
	}
	if !strings.Contains(m.status, "plan drafted to "+m.plan.path) || !strings.Contains(m.status, "lab: local copies") {
		t.Errorf("status %q", m.status)
	}
	if got := m.plan.settings["local"].Disks; len(got) != 1 || got[0] != disk {
		t.Fatalf("the wizard's edit was not applied: local's disks %v", got)
	}
	sel := func(host string) {
		for i, r := range m.plan.rows() {
			if r.host.Name == host {
				m.plan.sel = i
				return
			}
		}
		t.Fatalf("%s is not in the plan", host)
	}
	host := func(name string) face.PlanHost {
		for _, r := range m.plan.rows() {
			if r.host.Name == name {
				return r.host
			}
		}
		t.Fatalf("%s is not in the plan", name)
		return face.PlanHost{}
	}
	sel("local")

	// space holds, and again releases.
	exec(m, press(m, "space"))
	if !host("local").Held {
		t.Fatalf("space did not hold local; status %q", m.status)
	}
	exec(m, press(m, "space"))
	if host("local").Held {
		t.Fatal("space did not release local")
	}

	// A size that is not one: the error stays in the prompt, the file is unchanged.
	before, _ := os.ReadFile(m.plan.path)
	press(m, "z")
	pr := m.dialog.(*prompt)
	pr.input.SetValue("4 CPUs, lots")
	exec(m, press(m, "enter"))
	if pr, ok := m.dialog.(*prompt); !ok || !strings.Contains(pr.err, "lots") {
		t.Fatalf("a bad size was not refused in the prompt: %T %+v", m.dialog, m.dialog)
	}
	if after, _ := os.ReadFile(m.plan.path); string(after) != string(before) {
		t.Error("a refused edit changed the file")
	}
	m.dialog.(*prompt).input.SetValue("2 CPUs, 4G")
	exec(m, press(m, "enter"))
	if m.dialog != nil || host("local").Size != "2 CPUs, 4G" {
		t.Fatalf("size: dialog %T, size %q, status %q", m.dialog, host("local").Size, m.status)
	}

	// Checks, services, wave, bandwidth.
	for _, c := range []struct{ key, value string }{{"c", "linux"}, {"o", "nginx, postgresql"}, {"w", "first"}, {"b", "50M"}} {
		press(m, c.key)
		m.dialog.(*prompt).input.SetValue(c.value)
		exec(m, press(m, "enter"))
		if m.dialog != nil {
			t.Fatalf("%s %q: %s", c.key, c.value, m.dialog.(*prompt).err)
		}
	}
	sel("local")
	set := m.plan.settings["local"]
	if h := host("local"); strings.Join(h.Checks, ",") != "linux" || set.Wave != "first" ||
		strings.Join(set.StopServices, ",") != "nginx,postgresql" || set.Bandwidth != "50M/s" {
		t.Errorf("after edits: host %+v, settings %+v", h, set)
	}
	// Empty disks move every disk.
	press(m, "d")
	m.dialog.(*prompt).input.SetValue("")
	exec(m, press(m, "enter"))
	if d := m.plan.settings["local"].Disks; d != nil {
		t.Errorf("empty disks: %v", d)
	}
	// The file is what the screen shows.
	s, err := m.eng.LoadPlan(m.plan.path)
	if err != nil || s.Waves[len(s.Waves)-1].Name != "first" {
		t.Fatalf("the file: %v, %+v", err, s)
	}

	// p again keeps the plan; n asks before drafting it anew.
	exec(m, press(m, "shift+tab", "p"))
	if host("local").Size != "2 CPUs, 4G" {
		t.Error("going back and forth replaced the edited plan")
	}
	press(m, "n")
	if c, ok := m.dialog.(*confirm); !ok || !strings.Contains(c.text, "edits made to it are lost") {
		t.Fatalf("n did not ask: %T", m.dialog)
	}
	exec(m, press(m, "y"))
	if host("local").Size != "" && host("local").Size == "2 CPUs, 4G" {
		t.Error("n did not draft anew")
	}
}

// TestReplicationFlow starts a replication, shows progress with rate and
// ETA, ignores a stale run's events and ends in sync.
func TestReplicationFlow(t *testing.T) {
	m := planned(t, 80, 24)
	if m.mig.plan != "out/waves.yaml" || len(m.mig.moving()) != 1 {
		t.Fatalf("servers: %+v", m.mig.servers)
	}
	replicating(t, m)
	s := plainText(m)
	for _, want := range []string{"replicating", "local-disk.img", "44%", "28.0/64.0 MiB", "4.0 MiB/s", "ETA 00:09", "full copy", "x stops"} {
		if !strings.Contains(s, want) {
			t.Errorf("the running view lacks %q:\n%s", want, s)
		}
	}
	// r while running starts nothing more; x stops.
	tag := m.mig.tag
	press(m, "r")
	if m.mig.tag != tag {
		t.Fatal("r started a second run")
	}
	// An event of another run is ignored.
	m.Update(eventMsg{tag + 100, face.PhaseChanged{Host: "local", To: face.Failed}})
	if m.mig.server("local").phase == face.Failed {
		t.Fatal("a stale run's event was applied")
	}
	inSync(t, m)
	s = plainText(m)
	for _, want := range []string{"✓ in-sync", "✓ full copy", "1 server in sync after 00:14", "tab to Cutover"} {
		if !strings.Contains(s, want) {
			t.Errorf("the done view lacks %q:\n%s", want, s)
		}
	}
	if m.running() != "" {
		t.Error("still running after MigrationDone")
	}

	// A run that cannot start says why.
	press(m, "r")
	m.Update(eventMsg{m.mig.tag, face.MigrationDone{Err: errors.New("state directory /x: permission denied")}})
	if !m.statusBad || !strings.Contains(m.status, "did not start") || !strings.Contains(m.status, "permission denied") {
		t.Errorf("start error: %q", m.status)
	}
}

// TestProgressRedrawsAtMostEvery100ms checks that progress alone does not
// redraw the screen: one redraw is scheduled, and the screen changes when
// it comes.
func TestProgressRedrawsAtMostEvery100ms(t *testing.T) {
	m := planned(t, 80, 24)
	replicating(t, m)
	before := plainText(m)
	tag := m.mig.tag
	_, cmd := m.Update(eventMsg{tag, face.DiskProgress{ID: 3, Host: "local", Disk: "/lab/local-disk.img", Pass: 1, Done: 40 << 20, Total: 64 << 20, Rate: 4 << 20, ETA: 6 * time.Second}})
	if cmd == nil {
		t.Fatal("no redraw scheduled")
	}
	_, again := m.Update(eventMsg{tag, face.DiskProgress{ID: 3, Host: "local", Disk: "/lab/local-disk.img", Pass: 1, Done: 44 << 20, Total: 64 << 20, Rate: 4 << 20, ETA: 5 * time.Second}})
	if again != nil {
		t.Error("a second redraw was scheduled before the first came")
	}
	if plainText(m) != before {
		t.Error("progress redrew the screen before the scheduled redraw")
	}
	m.Update(redrawMsg{})
	if s := plainText(m); !strings.Contains(s, "44.0/64.0 MiB") || !strings.Contains(s, "ETA 00:05") {
		t.Errorf("the redraw does not show the last progress:\n%s", s)
	}
}

// TestCutoverFlow confirms, cuts over the server in sync only, and shows
// the checklist, the findings and the rollback.
func TestCutoverFlow(t *testing.T) {
	m := planned(t, 120, 40)
	press(m, "tab", "tab")
	press(m, "enter")
	if m.dialog != nil || !m.statusBad {
		t.Fatalf("cutover with nothing in sync: dialog %T, status %q", m.dialog, m.status)
	}
	press(m, "shift+tab", "shift+tab")
	replicating(t, m)
	inSync(t, m)
	press(m, "tab", "enter")
	c, ok := m.dialog.(*confirm)
	if !ok || !strings.Contains(c.title, "Cut over 1 server") || !strings.Contains(c.text, "local") || !strings.Contains(c.text, "rolls back") {
		t.Fatalf("the confirmation: %T %+v", m.dialog, m.dialog)
	}
	press(m, "n")
	if m.mig.running {
		t.Fatal("n cut over")
	}
	press(m, "enter", "y")
	if !m.mig.running || m.mig.kind != cutoverRun {
		t.Fatal("y did not start the cutover")
	}
	rolledBack(t, m)
	s := plainText(m)
	for _, want := range []string{"✓ fingerprint the source", "✓ stop services on the source", "✓ final sync", "✓ boot the target", "✗ validate",
		"1 blocking finding", "✗ linux unit nginx.service: expected active, actual inactive", "✓ linux hostname", "↺ rolled back", "the source serves again"} {
		if !strings.Contains(s, want) {
			t.Errorf("the checklist lacks %q:\n%s", want, s)
		}
	}
	// A test of the rolled-back server says that the VM kept for
	// inspection goes first.
	for m.mig.servers[m.mig.sel].host != "local" {
		press(m, "down")
	}
	press(m, "t")
	if c, ok := m.dialog.(*confirm); !ok || !strings.Contains(c.text, "delete the rolled-back VM kept for inspection") {
		t.Errorf("t on a rolled-back server: %T %+v", m.dialog, m.dialog)
	}
}

// TestQuitMidReplication asks, stops the run and quits only once the
// engine says the servers stopped.
func TestQuitMidReplication(t *testing.T) {
	m := planned(t, 80, 24)
	replicating(t, m)
	press(m, "q")
	c, ok := m.dialog.(*confirm)
	if !ok || !strings.Contains(c.text, "The next start offers to resume") {
		t.Fatalf("q while replicating: %T", m.dialog)
	}
	cmd := press(m, "y")
	if !m.quitting || cmd == nil || !strings.Contains(m.status, "the next start resumes") {
		t.Fatalf("y: quitting %v, status %q", m.quitting, m.status)
	}
	if !m.mig.stopping {
		t.Fatal("the run was not canceled")
	}
	_, cmd = m.Update(eventMsg{m.mig.tag, face.MigrationDone{ID: 3, Canceled: true, Servers: []face.ServerResult{{Host: "local", Phase: face.Prepared}}}})
	if cmd == nil {
		t.Fatal("no command after the run ended")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("the wizard did not quit once the run ended")
	}
}

// TestResumeOffer offers to resume a plan whose servers stopped mid-way,
// and resumes on yes; a plan with nothing mid-way offers nothing.
func TestResumeOffer(t *testing.T) {
	m := labModel(t, 80, 24)
	msg := testPlan()
	msg.what, msg.resume = "", true
	msg.status = []face.ServerResult{{Host: "local", Phase: face.Pending}, {Host: "ws2016-badpass", Phase: face.Done}}
	m.Update(msg)
	if m.dialog != nil {
		t.Fatalf("offered to resume a plan with nothing mid-way: %T", m.dialog)
	}
	msg.status = []face.ServerResult{{Host: "local", Phase: face.Replicating}}
	m.Update(msg)
	c, ok := m.dialog.(*confirm)
	if !ok || !strings.Contains(c.title, "Resume the migration of 1 server (plan waves.yaml)") || !strings.Contains(c.text, "local") {
		t.Fatalf("no resume offer: %T %+v", m.dialog, m.dialog)
	}
	// Hosts loading at start does not close it.
	m.Update(hostsLoadedMsg{path: "/lab/hosts.yaml", specs: labSpecs})
	if m.dialog == nil {
		t.Fatal("loading the hosts closed the resume offer")
	}
	press(m, "y")
	if m.screen != replicationScreen || !m.mig.running || m.mig.server("local").phase != face.Replicating {
		t.Fatalf("y: screen %v running %v", m.screen, m.mig.running)
	}
}

// TestCheckResumeWithoutPlan starts without a plan file: nothing is
// offered, and the Plan screen is not left busy.
func TestCheckResumeWithoutPlan(t *testing.T) {
	m := newTestModel(t, 80, 24, false)
	m.plan.path = filepath.Join(t.TempDir(), "waves.yaml")
	exec(m, m.checkResume())
	if m.plan.busy || m.dialog != nil || m.plan.summary != nil {
		t.Fatalf("busy %v dialog %T summary %v", m.plan.busy, m.dialog, m.plan.summary)
	}
}

// testMigrated feeds a test migration of local that passes.
func testMigrated(t *testing.T, m *model) {
	t.Helper()
	tag := m.mig.tag
	for _, ev := range []face.Event{
		face.StepDone{ID: 5, Host: "local", Phase: face.TestMigrated, Step: "fingerprint source", Detail: "linux: 3 units, 1 port"},
		face.StepDone{ID: 5, Host: "local", Phase: face.TestMigrated, Step: "boot test copy", Detail: "VM local-test started on local, on an isolated network"},
		face.ValidationFinding{ID: 5, Host: "local", Severity: "info", Check: "linux", Object: "table app.orders", Expected: "1200 rows", Actual: "1177 rows",
			Message: "the copy holds the last pass; the source took writes since"},
		face.StepDone{ID: 5, Host: "local", Phase: face.TestMigrated, Step: "validate test copy", Detail: "test copy local-test booted in isolation and validated (0 blocking, 1 info), then deleted"},
		face.PhaseChanged{ID: 5, Host: "local", From: face.InSync, To: face.TestMigrated, Detail: "test copy local-test booted in isolation and validated (0 blocking, 1 info), then deleted"},
	} {
		m.Update(eventMsg{tag, ev})
	}
	m.Update(eventMsg{tag, face.MigrationDone{ID: 5, Took: 48 * time.Second, Servers: []face.ServerResult{{Host: "local", Wave: "lab", Phase: face.TestMigrated}}}})
}

// TestTestMigrationFlow test-migrates the selected server from the Cutover
// screen: t names what will happen, y runs the test of that server alone,
// the checklist follows the test's steps, and a failed test shows where it
// failed and why.
func TestTestMigrationFlow(t *testing.T) {
	m := planned(t, 120, 40)
	press(m, "tab", "tab")
	press(m, "t")
	if m.dialog != nil || !m.statusBad || !strings.Contains(m.status, "not in sync yet") {
		t.Fatalf("a test with nothing in sync: dialog %T, status %q", m.dialog, m.status)
	}
	press(m, "shift+tab", "shift+tab")
	replicating(t, m)
	inSync(t, m)
	press(m, "tab")
	if s := plainText(m); !strings.Contains(s, "t tests a copy") || !strings.Contains(s, "t test migration") {
		t.Errorf("the Cutover screen does not offer the test:\n%s", s)
	}
	// A held server cannot be tested.
	for m.mig.servers[m.mig.sel].host != "ws2019-sql2019-sp2019" {
		press(m, "up")
	}
	press(m, "t")
	if m.dialog != nil || !strings.Contains(m.status, "held") {
		t.Fatalf("t on a held server: dialog %T, status %q", m.dialog, m.status)
	}
	for m.mig.sel < len(m.mig.servers) && m.mig.servers[m.mig.sel].host != "local" {
		press(m, "down")
	}
	press(m, "t")
	c, ok := m.dialog.(*confirm)
	if !ok || c.title != "Test-migrate local?" || !strings.Contains(c.text, "keeps running") || !strings.Contains(c.text, "isolated network") ||
		!strings.Contains(c.text, "delete the test VM") {
		t.Fatalf("the confirmation: %T %+v", m.dialog, m.dialog)
	}
	press(m, "n")
	if m.mig.running {
		t.Fatal("n started the test")
	}
	press(m, "t", "y")
	if !m.mig.running || m.mig.kind != testRun || len(m.mig.only) != 1 || m.mig.only[0] != "local" {
		t.Fatalf("y did not start a test of local alone: running %v kind %v only %v", m.mig.running, m.mig.kind, m.mig.only)
	}
	if m.running() != "Test migration" {
		t.Errorf("running() = %q", m.running())
	}
	// Under way: the next step spins.
	m.Update(eventMsg{m.mig.tag, face.StepDone{ID: 5, Host: "local", Phase: face.TestMigrated, Step: "fingerprint source", Detail: "linux"}})
	s := plainText(m)
	for _, want := range []string{"local  test migration", "✓ fingerprint the source", "clone the disks, boot the copy in isolation", "Testing a copy in isolation"} {
		if !strings.Contains(s, want) {
			t.Errorf("the running test lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "✓ clone the disks") || strings.Contains(s, "✗") {
		t.Errorf("a step not yet done is marked:\n%s", s)
	}
	m.mig.servers[m.mig.sel].steps = nil // testMigrated feeds every step
	testMigrated(t, m)
	s = plainText(m)
	for _, want := range []string{"✓ fingerprint the source", "✓ clone the disks, boot the copy in isolation", "✓ validate the copy, then delete it",
		"✓ tested", "tested: enter cuts over", "table app.orders", "test migration of local passed"} {
		if !strings.Contains(s, want) {
			t.Errorf("the passed test lacks %q:\n%s", want, s)
		}
	}
	if len(m.mig.ready()) != 1 {
		t.Errorf("a tested server is not ready for its cutover: %d ready", len(m.mig.ready()))
	}
	press(m, "t")
	if m.dialog != nil || !strings.Contains(m.status, "already") {
		t.Errorf("t on a tested server: dialog %T, status %q", m.dialog, m.status)
	}

	// A test that fails: the step, the finding and the error with its fix.
	m = planned(t, 120, 40)
	replicating(t, m)
	inSync(t, m)
	press(m, "tab")
	for m.mig.servers[m.mig.sel].host != "local" {
		press(m, "down")
	}
	press(m, "t", "y")
	tag := m.mig.tag
	const why = "local: in-sync: test migration: validate the test copy: 1 blocking finding(s): unit nginx.service: a service that ran on the source does not run; the test copy is deleted and the source was not touched; fix the cause and run again to test anew"
	for _, ev := range []face.Event{
		face.StepDone{ID: 6, Host: "local", Phase: face.TestMigrated, Step: "fingerprint source", Detail: "linux"},
		face.StepDone{ID: 6, Host: "local", Phase: face.TestMigrated, Step: "boot test copy", Detail: "VM local-test started on local, on an isolated network"},
		face.ValidationFinding{ID: 6, Host: "local", Severity: "blocking", Check: "linux", Object: "unit nginx.service", Expected: "active", Actual: "inactive", Message: "a service that ran on the source does not run"},
		face.PhaseChanged{ID: 6, Host: "local", From: face.InSync, To: face.Failed, Detail: why},
	} {
		m.Update(eventMsg{tag, ev})
	}
	m.Update(eventMsg{tag, face.MigrationDone{ID: 6, Took: 70 * time.Second, Servers: []face.ServerResult{{Host: "local", Wave: "lab", Phase: face.Failed, Err: why}}}})
	s = plainText(m)
	for _, want := range []string{"test migration · failed", "✓ clone the disks, boot the copy in isolation", "✗ validate the copy, then delete it", "1 blocking finding",
		"✗ linux unit nginx.service", "the source was not touched", "1 server failed"} {
		if !strings.Contains(s, want) {
			t.Errorf("the failed test lacks %q:\n%s", want, s)
		}
	}
	press(m, "t")
	if m.dialog != nil || !strings.Contains(m.status, "local failed") || !strings.Contains(m.status, "runs it again") {
		t.Errorf("t on a failed server: dialog %T, status %q", m.dialog, m.status)
	}
}

package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shift-migrate/shift/migrate/face"
)

// ready lists the servers a cutover may take: in sync, or rolled back
// (whose changes are copied again before it cuts over anew).
func (g *migrationState) ready() []*serverState {
	var out []*serverState
	for _, s := range g.moving() {
		switch s.phase {
		case face.InSync, face.TestMigrated, face.RolledBack:
			out = append(out, s)
		}
	}
	return out
}

func (m *model) cutoverKey(msg tea.KeyPressMsg) tea.Cmd {
	k, g := m.keys, &m.mig
	switch {
	case key.Matches(msg, k.Up):
		g.sel = max(0, g.sel-1)
	case key.Matches(msg, k.Down):
		g.sel = min(max(0, len(g.servers)-1), g.sel+1)
	case g.running && key.Matches(msg, k.StopRun):
		m.stopMigration()
	case !g.running && key.Matches(msg, k.Cutover):
		m.askCutover()
	case !g.running && key.Matches(msg, k.TestRun):
		m.askTest()
	}
	return nil
}

// askTest offers a test migration of the selected server: a copy of its
// disks boots in isolation and is validated and deleted, while the source
// keeps running. A server must be in sync for it (a rolled-back one is
// copied again first).
func (m *model) askTest() {
	g := &m.mig
	if g.sel >= len(g.servers) {
		return
	}
	s := g.servers[g.sel]
	switch {
	case s.held:
		m.setStatus(true, "%s is held by the plan: release it on the Plan screen (space)", s.host)
		return
	case s.phase == face.TestMigrated:
		m.setStatus(false, "%s's test copy already booted and validated: enter cuts over", s.host)
		return
	case s.phase == face.Done || s.phase == face.Validated:
		m.setStatus(true, "%s is migrated already: there is nothing to test", s.host)
		return
	case s.phase == face.Failed:
		m.setStatus(true, "%s failed: see its error below; r on the Replication screen runs it again, then t tests it", s.host)
		return
	case s.phase != face.InSync && s.phase != face.RolledBack:
		m.setStatus(true, "%s is not in sync yet: replicate it first (shift+tab, r)", s.host)
		return
	}
	again := ""
	if s.phase == face.RolledBack {
		again = "0. delete the rolled-back VM kept for inspection, then copy the changes since the rollback\n"
	}
	text := fmt.Sprintf("%s keeps running throughout; its target disks are not touched.\n\n%s1. fingerprint the source for validation\n2. clone the target disks as they stand after the last pass\n3. boot the clone in %s on an isolated network: it cannot reach the source's network\n4. validate it against the source; data written since the last pass is a note, not a failure\n5. delete the test VM and its disks, whatever the outcome",
		s.host, again, m.targetName())
	host := s.host
	m.dialog = &confirm{title: "Test-migrate " + host + "?", text: text, onYes: func(m *model) tea.Cmd {
		return m.startMigration(testRun, face.MigrateOptions{Test: true, Until: face.TestMigrated, Only: []string{host}})
	}}
}

// testDone says how a test migration that ended without a failure went.
func (m *model) testDone(took time.Duration) {
	g := &m.mig
	for _, h := range g.only {
		s := g.server(h)
		switch {
		case s == nil:
		case s.phase == face.TestMigrated:
			m.setStatus(false, "test migration of %s passed in %s: the copy booted in isolation, validated and was deleted; enter cuts over", h, fmtDuration(took))
		case s.waiting != "":
			m.setStatus(true, "the test migration of %s did not run: it waits for %s", h, s.waiting)
		default:
			m.setStatus(true, "the test migration of %s did not run: it stands at %s", h, s.phase)
		}
	}
}

// askCutover names the servers and what will happen to them, and cuts
// over on yes.
func (m *model) askCutover() {
	ready := m.mig.ready()
	if len(ready) == 0 {
		m.setStatus(true, "no server is in sync yet: replicate first (shift+tab, r)")
		return
	}
	var names, stops []string
	for _, s := range ready {
		names = append(names, s.host)
		if len(s.stopServes) > 0 {
			stops = append(stops, fmt.Sprintf("%s: %s", s.host, strings.Join(s.stopServes, ", ")))
		}
	}
	stop := "the plan names no services to stop, so the source keeps running: data written during the final pass may be missed"
	if len(stops) > 0 {
		stop = "stop on the source: " + strings.Join(stops, "; ") + " (unavailable from here on)"
	}
	text := fmt.Sprintf("%s:\n\n1. fingerprint the source for validation\n2. %s\n3. final copy pass, target disks finalized\n4. boot the target VM in %s\n5. validate it against the source: a blocking finding rolls back (target stopped, services started again on the source)",
		strings.Join(names, ", "), stop, m.targetName())
	m.dialog = &confirm{title: "Cut over " + plural(len(ready), "server", "servers") + "?", text: text, onYes: func(m *model) tea.Cmd {
		m.screen = cutoverScreen
		return m.startMigration(cutoverRun, face.MigrateOptions{Approve: true, Only: names})
	}}
}

func (m *model) targetName() string {
	if m.plan.summary != nil && m.plan.summary.Target != "local" {
		return m.plan.summary.Target
	}
	return "the local cloud"
}

func (m *model) cutoverView(w, h int) string {
	g := &m.mig
	title := m.st.Title.Render("Cutover")
	if g.running && (g.kind == cutoverRun || g.kind == testRun) {
		title += " " + m.spin.View()
	}
	if len(g.servers) == 0 {
		return title + "\n\nNothing to cut over yet: draft a plan and replicate first."
	}
	head := fmt.Sprintf("%d ready · %d done", len(g.ready()), g.count(face.Done))
	if n := g.count(face.Failed, face.RolledBack); n > 0 {
		head += " · " + m.st.Bad.Render(fmt.Sprintf("%d failed or rolled back", n))
	}
	if g.running && (g.kind == cutoverRun || g.kind == testRun) {
		head += " · " + fmtDuration(m.now().Sub(g.started))
	}
	cols := []column{
		{title: "SERVER", width: 16, flex: true},
		{title: "PHASE", width: 16},
		{title: "STATE", width: 20, flex: true},
	}
	rows := make([][]cell, len(g.servers))
	for i, s := range g.servers {
		state := ""
		switch {
		case s.held:
			state = "held by the plan"
		case s.phase == face.InSync:
			state = "ready: enter cuts over, t tests a copy"
		case s.phase == face.TestMigrated:
			state = "tested: enter cuts over"
		case s.phase == face.Done:
			state = "migrated"
		case s.phase == face.RolledBack:
			state = "the source serves again"
		case s.phase == face.Pending || s.phase == face.Replicating || s.phase == face.Prepared:
			state = "replicate it first"
		}
		pc := m.phaseCell(s)
		rows[i] = []cell{plain(s.host), pc, {text: state, style: m.st.Muted}}
	}
	tableH := min(len(rows)+1, max(3, (h-2)/3))
	out := title + "  " + head + "\n" + table(m.st, cols, rows, g.sel, w, tableH)
	detailH := h - 1 - tableH - 1
	if detailH >= 2 && g.sel < len(g.servers) {
		out += "\n" + m.st.Rule.Render(strings.Repeat("╌", w)) + "\n" + fitMore(m.checklist(g.servers[g.sel], w), w, detailH, m.st.Muted.Render("… more: 'shift migrate --plan "+lastElem(g.plan)+" --json' lists every finding"))
	}
	return out
}

type checklistItem struct{ step, label string }

// checklistItems are a cutover's steps as the engine reports them, in order.
var checklistItems = []checklistItem{
	{"fingerprint source", "fingerprint the source"},
	{"stop services", "stop services on the source"},
	{"final pass", "final sync"},
	{"boot", "boot the target"},
	{"validate", "validate"},
}

// testItems are a test migration's steps, reported with the phase
// test-migrated.
var testItems = []checklistItem{
	{"fingerprint source", "fingerprint the source"},
	{"boot test copy", "clone the disks, boot the copy in isolation"},
	{"validate test copy", "validate the copy, then delete it"},
}

// testShown reports whether a server's checklist is its test migration's:
// one runs or ran last, and no cutover has begun since.
func (g *migrationState) testShown(s *serverState) bool {
	if g.running && (g.only == nil || slices.Contains(g.only, s.host)) {
		return g.kind == testRun
	}
	test := s.phase == face.TestMigrated
	for _, st := range s.steps {
		switch st.Phase {
		case face.CuttingOver:
			return false
		case face.TestMigrated:
			test = true
		}
	}
	return test
}

// checklist shows a server's cutover, or its test migration: each step ✓
// when done, ✗ where it failed, the validation findings, and a rollback
// with its hint.
func (m *model) checklist(s *serverState, w int) string {
	wrap := lipgloss.NewStyle().Width(w)
	items, phase, what := checklistItems, face.CuttingOver, "cutover checklist"
	test := m.mig.testShown(s)
	if test {
		items, phase, what = testItems, face.TestMigrated, "test migration"
	}
	lines := []string{m.st.Title.Render(s.host) + m.st.Muted.Render("  "+what+" · "+string(s.phase))}
	done := map[string]string{}
	started := false
	for _, st := range s.steps {
		if st.Phase != phase {
			continue // a test migration's steps and a cutover's share names
		}
		for _, it := range items {
			if st.Step == it.step {
				started = true
				done[it.step] = st.Detail
			}
		}
	}
	if !test && !started && s.phase != face.CuttingOver && s.phase != face.Done && s.phase != face.Validated && s.phase != face.RolledBack && s.err == "" {
		hint := "not cut over yet: enter asks for confirmation, naming what will happen"
		if s.phase == face.InSync {
			hint += "; t test-migrates a copy first, in isolation"
		}
		lines = append(lines, m.st.Muted.Render(hint))
		return strings.Join(lines, "\n")
	}
	// A test starts from a rolled-back server too: there the rollback is
	// the past, not the test's failure.
	failed := s.phase == face.Failed || !test && s.phase == face.RolledBack
	blocking := 0
	for _, f := range s.findings {
		if f.Severity == "blocking" {
			blocking++
		}
	}
	markedFail := false
	for _, it := range items {
		detail, ok := done[it.step]
		switch {
		case ok:
			lines = append(lines, fit(m.st.OK.Render("✓ ")+it.label+m.st.Muted.Render("  "+detail), w, 1))
		case failed && !markedFail:
			markedFail = true
			why := ""
			if (it.step == "validate" || it.step == "validate test copy") && blocking > 0 {
				why = plural(blocking, "blocking finding", "blocking findings")
			}
			lines = append(lines, m.st.Bad.Render("✗ "+it.label)+m.st.Muted.Render("  "+why))
		case m.mig.running && !markedFail && (s.phase == face.CuttingOver || test && m.mig.kind == testRun && !failed):
			markedFail = true // the step under way
			lines = append(lines, m.st.Running.Render(ansi.Strip(m.spin.View())+" "+it.label))
		default:
			lines = append(lines, m.st.Muted.Render("· "+it.label))
		}
	}
	switch {
	case s.phase == face.RolledBack && !test:
		lines = append(lines, wrap.Render(m.st.Warn.Render("↺ rolled back: "+s.err)))
	case s.phase == face.Failed:
		lines = append(lines, wrap.Render(m.st.Bad.Render("✗ "+s.err)))
	case s.phase == face.Done:
		lines = append(lines, m.st.OK.Render("✓ migrated: the target runs the workload"))
	case s.phase == face.TestMigrated:
		lines = append(lines, m.st.OK.Render("✓ tested: the copy ran the workload and is deleted; enter cuts over"))
	}
	if len(s.findings) > 0 {
		lines = append(lines, m.st.Title.Render("findings"))
		for _, f := range s.findings {
			mark, st := "✓", m.st.OK
			switch f.Severity {
			case "blocking":
				mark, st = "✗", m.st.Bad
			case "warning":
				mark, st = "!", m.st.Warn
			}
			l := fmt.Sprintf("%s %s %s", mark, f.Check, f.Object)
			if f.Expected != "" || f.Actual != "" {
				l += fmt.Sprintf(": expected %s, actual %s", dash(f.Expected), dash(f.Actual))
			}
			if f.Message != "" {
				l += " — " + f.Message
			}
			lines = append(lines, wrap.Render(st.Render(l)))
		}
	}
	return strings.Join(lines, "\n")
}

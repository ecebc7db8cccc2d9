package tui

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shift-migrate/shift/migrate/face"
)

// runKind says what a migration run does.
type runKind int

const (
	replicateRun runKind = iota + 1 // copy until in sync
	cutoverRun                      // approved: cut over the servers in sync
	testRun                         // boot a copy of one server in isolation, validate it, delete it
)

// migrationState is the Replication and Cutover screens: the servers of the
// plan, where each stands, and the run under way. The engine moves the
// servers; this only shows its events.
type migrationState struct {
	plan     string // the plan file the servers come from
	running  bool
	kind     runKind
	tag      uint64
	cancel   context.CancelFunc
	started  time.Time
	took     time.Duration
	stopping bool
	servers  []*serverState // in plan order
	sel      int
	done     *face.MigrationDone // the last run's end
	err      error               // why the last run could not start
	only     []string            // the hosts the run under way or the last run took; nil: all
	// redrawing is true while a redraw for progress is scheduled: progress
	// alone redraws the screen at most every redrawEvery.
	redrawing bool
}

// serverState is one server of the plan.
type serverState struct {
	host, wave string
	held       bool
	phase      face.Phase
	detail     string // the last phase change's or step's detail
	disks      []*diskState
	steps      []face.StepDone // of the last run, oldest first
	findings   []face.ValidationFinding
	err        string // why it failed or was rolled back, with the fix
	waiting    string // what it waits for
	passes     int
	bytes      int64
	stopServes []string // stopped on the source at cutover
}

// diskState is the last progress of one disk's copy.
type diskState struct {
	name              string
	pass              int
	done, total, wire int64
	rate              float64
	eta               time.Duration
	finalPass         bool // the cutover's final pass
	passEnded         bool // the pass's last report came, or its step
}

func (s *serverState) disk(name string) *diskState {
	for _, d := range s.disks {
		if d.name == name {
			return d
		}
	}
	d := &diskState{name: name}
	s.disks = append(s.disks, d)
	return d
}

func (g *migrationState) server(host string) *serverState {
	for _, s := range g.servers {
		if s.host == host {
			return s
		}
	}
	return nil
}

// setPlan lists the plan's servers with where the ledger says they stand,
// keeping what this wizard saw of servers already listed.
func (g *migrationState) setPlan(p *planState, status []face.ServerResult) {
	old := map[string]*serverState{}
	for _, s := range g.servers {
		old[s.host] = s
	}
	if g.plan != p.path {
		old = map[string]*serverState{}
	}
	g.plan, g.servers = p.path, nil
	phase := map[string]face.ServerResult{}
	for _, r := range status {
		phase[r.Host] = r
	}
	for _, r := range p.rows() {
		s := old[r.host.Name]
		if s == nil {
			s = &serverState{host: r.host.Name, phase: face.Pending}
		}
		s.wave, s.held = r.wave, r.host.Held
		s.stopServes = p.settings[r.host.Name].StopServices
		if st, ok := phase[s.host]; ok {
			s.phase = st.Phase
			if st.Err != "" {
				s.err = st.Err
			}
		}
		g.servers = append(g.servers, s)
	}
	g.sel = min(g.sel, max(0, len(g.servers)-1))
	if len(g.servers) > 0 && g.servers[g.sel].held {
		for i, s := range g.servers {
			if !s.held {
				g.sel = i
				break
			}
		}
	}
}

// count returns how many servers are in one of phases.
func (g *migrationState) count(phases ...face.Phase) int {
	n := 0
	for _, s := range g.servers {
		if slices.Contains(phases, s.phase) {
			n++
		}
	}
	return n
}

// moving lists the servers the plan moves.
func (g *migrationState) moving() []*serverState {
	var out []*serverState
	for _, s := range g.servers {
		if !s.held {
			out = append(out, s)
		}
	}
	return out
}

// redrawEvery bounds how often progress alone redraws the screen.
const redrawEvery = 100 * time.Millisecond

type redrawMsg struct{}

// startReplication runs the plan until every server it moves is in sync.
func (m *model) startReplication() tea.Cmd {
	g := &m.mig
	switch {
	case g.running:
		return nil
	case m.plan.summary == nil:
		m.setStatus(true, "no plan yet: press p on the Assessment screen to draft one")
		return nil
	case m.plan.busy:
		return nil
	case len(g.moving()) == 0:
		m.setStatus(true, "every server of the plan is held: release one on the Plan screen (space)")
		return nil
	}
	return m.startMigration(replicateRun, face.MigrateOptions{Until: face.InSync})
}

// startMigration starts a run of the plan.
func (m *model) startMigration(kind runKind, o face.MigrateOptions) tea.Cmd {
	g := &m.mig
	ctx, cancel := context.WithCancel(m.ctx)
	g.tag, g.cancel, g.running, g.kind, g.err, g.done, g.stopping = m.nextTag(), cancel, true, kind, nil, nil, false
	g.started, g.took, g.only = m.now(), 0, o.Only
	for _, s := range g.servers {
		if o.Only != nil && !slices.Contains(o.Only, s.host) {
			continue
		}
		s.err, s.waiting, s.steps = "", "", nil
		if kind == cutoverRun || kind == testRun {
			s.findings = nil
		}
		for _, d := range s.disks {
			d.passEnded = true
		}
	}
	eng, path := m.eng, g.plan
	return tea.Batch(m.startRun(g.tag, func() <-chan face.Event { return eng.Migrate(ctx, path, o) }), m.spin.Tick)
}

func (m *model) migrationEvent(ev face.Event) tea.Cmd {
	g := &m.mig
	switch ev := ev.(type) {
	case face.DiskProgress:
		s := g.server(ev.Host)
		if s == nil {
			return nil
		}
		d := s.disk(ev.Disk)
		d.pass, d.done, d.total, d.wire, d.rate, d.eta = ev.Pass, ev.Done, ev.Total, ev.Wire, ev.Rate, ev.ETA
		d.finalPass, d.passEnded = g.kind == cutoverRun, ev.Final
		if s.phase == face.Prepared {
			s.phase = face.Replicating // progress can come before the phase event
		}
		if g.redrawing {
			return nil
		}
		g.redrawing = true
		return tea.Tick(redrawEvery, func(time.Time) tea.Msg { return redrawMsg{} })
	case face.PhaseChanged:
		if s := g.server(ev.Host); s != nil {
			s.phase, s.detail = ev.To, ev.Detail
			if ev.To == face.Failed || ev.To == face.RolledBack {
				s.err = ev.Detail
			}
		}
	case face.StepDone:
		if s := g.server(ev.Host); s != nil {
			s.steps = append(s.steps, ev)
			s.detail = ev.Step + ": " + ev.Detail
			if d := diskOfStep(s, ev); d != nil {
				d.passEnded = true
				d.done = d.total
			}
		}
	case face.ValidationFinding:
		if s := g.server(ev.Host); s != nil {
			s.findings = append(s.findings, ev)
		}
	case face.MigrationDone:
		return m.migrationDone(ev)
	}
	return nil
}

// diskOfStep is the disk whose pass a copy step ended.
func diskOfStep(s *serverState, ev face.StepDone) *diskState {
	if ev.Step != "full copy" && ev.Step != "delta pass" && ev.Step != "final pass" {
		return nil
	}
	for _, d := range s.disks {
		if strings.HasPrefix(ev.Detail, d.name+" ") {
			return d
		}
	}
	return nil
}

func (m *model) migrationDone(ev face.MigrationDone) tea.Cmd {
	g := &m.mig
	g.running, g.took, g.stopping = false, ev.Took, false
	g.cancel()
	g.done = &ev
	if ev.Err != nil {
		g.err = ev.Err
		m.setStatus(true, "the migration did not start: %v", ev.Err)
		return nil
	}
	for _, r := range ev.Servers {
		s := g.server(r.Host)
		if s == nil {
			continue
		}
		s.phase, s.err, s.waiting, s.passes, s.bytes = r.Phase, r.Err, r.Waiting, r.Passes, r.Bytes
	}
	failed, back := g.count(face.Failed), g.count(face.RolledBack)
	switch {
	case ev.Canceled:
		m.setStatus(false, "stopped after %s where each server stood; the next start offers to resume", fmtDuration(ev.Took))
	case failed > 0:
		m.setStatus(true, "%s after %s: see the server's error and fix (↑/↓)", plural(failed, "server failed", "servers failed"), fmtDuration(ev.Took))
	case back > 0:
		m.setStatus(true, "%s after %s: the source serves again; see why (↑/↓)", plural(back, "server rolled back", "servers rolled back"), fmtDuration(ev.Took))
	case g.kind == cutoverRun:
		m.setStatus(false, "cutover finished in %s: %d done", fmtDuration(ev.Took), g.count(face.Done))
	case g.kind == testRun:
		m.testDone(ev.Took)
	default:
		m.setStatus(false, "%s in sync after %s", plural(g.count(face.InSync), "server", "servers"), fmtDuration(ev.Took))
	}
	return nil
}

func (m *model) replicationKey(msg tea.KeyPressMsg) tea.Cmd {
	k, g := m.keys, &m.mig
	switch {
	case key.Matches(msg, k.Up):
		g.sel = max(0, g.sel-1)
	case key.Matches(msg, k.Down):
		g.sel = min(max(0, len(g.servers)-1), g.sel+1)
	case g.running && key.Matches(msg, k.StopRun):
		m.stopMigration()
	case !g.running && key.Matches(msg, k.StartRun):
		return m.startReplication()
	}
	return nil
}

// stopMigration cancels the run; its MigrationDone still arrives.
func (m *model) stopMigration() {
	g := &m.mig
	if !g.running || g.stopping {
		return
	}
	g.stopping = true
	g.cancel()
	m.setStatus(false, "stopping… each server stops where it stands; the next run resumes there")
}

// phaseCell shows a phase with its mark.
func (m *model) phaseCell(s *serverState) cell {
	switch {
	case s.held:
		return cell{text: "- held", style: m.st.Muted}
	case s.phase == face.Done:
		return cell{text: "✓ done", style: m.st.OK}
	case s.phase == face.InSync || s.phase == face.TestMigrated || s.phase == face.Validated:
		return cell{text: "✓ " + string(s.phase), style: m.st.OK}
	case s.phase == face.Failed:
		return cell{text: "✗ failed", style: m.st.Bad}
	case s.phase == face.RolledBack:
		return cell{text: "↺ rolled back", style: m.st.Warn}
	case m.mig.running && s.phase != face.Pending:
		return cell{text: ansi.Strip(m.spin.View()) + " " + string(s.phase), style: m.st.Running}
	case s.phase == face.Pending:
		return cell{text: "· pending", style: m.st.Muted}
	}
	return cell{text: "! " + string(s.phase), style: m.st.Warn}
}

func (m *model) replicationView(w, h int) string {
	g := &m.mig
	title := m.st.Title.Render("Replication")
	if g.running && g.kind == replicateRun {
		title += " " + m.spin.View()
	}
	if len(g.servers) == 0 {
		return title + "\n\nNothing to replicate yet: draft a plan first (p on the Assessment screen, or tab to Plan)."
	}
	mv := g.moving()
	head := fmt.Sprintf("%s · %s · %d in sync", lastElem(g.plan), plural(len(mv), "server moves", "servers move"), g.count(face.InSync, face.TestMigrated, face.CuttingOver, face.Validated, face.Done))
	switch {
	case g.running && g.stopping:
		head += " · " + m.st.Warn.Render("stopping…")
	case g.running:
		head += " · " + fmtDuration(m.now().Sub(g.started))
	case g.took > 0:
		head += " · took " + fmtDuration(g.took)
	}
	var lines []string
	selLine := 0
	for i, s := range g.servers {
		if i == g.sel {
			selLine = len(lines)
		}
		lines = append(lines, m.serverLine(s, i == g.sel, w))
		if s.held {
			continue
		}
		for _, d := range s.disks {
			lines = append(lines, m.diskLine(d, w))
		}
	}
	listH := min(len(lines), max(3, (h-2)*3/5))
	first := 0
	if selLine >= listH {
		first = selLine - listH + 1
	}
	out := title + "  " + head + "\n" + strings.Join(lines[first:min(len(lines), first+listH)], "\n")
	detailH := h - 1 - listH - 1
	if detailH >= 2 && g.sel < len(g.servers) {
		out += "\n" + m.st.Rule.Render(strings.Repeat("╌", w)) + "\n" + fitMore(m.serverDetail(g.servers[g.sel], w), w, detailH, m.st.Muted.Render("… more: shift migrate --plan "+lastElem(g.plan)+" --until in-sync prints every step"))
	}
	return out
}

// serverLine is a server's row: mark and phase, and what it did last.
func (m *model) serverLine(s *serverState, selected bool, w int) string {
	pc := m.phaseCell(s)
	name := fmt.Sprintf("%-18s", ellipsis(s.host, 18))
	what := s.detail
	switch {
	case s.held:
		what = "held by the plan"
	case s.err != "":
		what = s.err
	case s.waiting != "":
		what = "waiting for " + s.waiting
	case s.phase == face.Pending && !m.mig.running:
		what = "r starts the copy"
	}
	phase := pc.style.Render(fmt.Sprintf("%-16s", ellipsis(pc.text, 16)))
	rest := ansiTrunc(what, max(0, w-36))
	if selected {
		return m.st.Selected.Render(fmt.Sprintf("%s %-16s %s", name, ellipsis(pc.text, 16), rest))
	}
	return name + " " + phase + " " + m.st.Muted.Render(rest)
}

// diskLine is a disk's progress bar with its numbers: share and bytes of
// the pass, rate, time left and which pass it is.
func (m *model) diskLine(d *diskState, w int) string {
	frac := 0.0
	if d.total > 0 {
		frac = math.Min(1, float64(d.done)/float64(d.total))
	}
	kind := "full copy"
	switch {
	case d.finalPass:
		kind = "final pass"
	case d.pass > 1:
		kind = fmt.Sprintf("delta pass %d", d.pass-1)
	}
	var tail string
	switch {
	case d.passEnded:
		tail = m.st.OK.Render("✓ " + kind)
	case d.rate > 0:
		tail = fmt.Sprintf("%s/s  ETA %s  ", mib(int64(d.rate)), fmtDuration(d.eta)) + m.st.Muted.Render(kind)
	default:
		tail = m.st.Muted.Render(kind + ", starting")
	}
	// name 14, three gaps, percentage 4, bytes 13, the tail up to 33.
	barW := max(10, min(30, w-2-14-1-1-4-1-13-2-33))
	filled := int(math.Round(frac * float64(barW)))
	barStyle := m.st.Running
	if d.passEnded {
		barStyle = m.st.OK
	}
	bar := barStyle.Render(strings.Repeat("█", filled)) + m.st.Muted.Render(strings.Repeat("░", barW-filled))
	line := fmt.Sprintf("  %-14s %s %3.0f%% %13s  %s", ellipsis(lastElem(d.name), 14), bar, frac*100, sizes(d.done, d.total), tail)
	return fit(line, w, 1)
}

// sizes is "done/total" in the total's unit.
func sizes(done, total int64) string {
	if total >= 1<<30 {
		return fmt.Sprintf("%.1f/%.1f GiB", float64(done)/(1<<30), float64(total)/(1<<30))
	}
	return fmt.Sprintf("%.1f/%.1f MiB", float64(done)/(1<<20), float64(total)/(1<<20))
}

// serverDetail lists a server's last steps, its error with the fix, or
// what it waits for.
func (m *model) serverDetail(s *serverState, w int) string {
	wrap := lipgloss.NewStyle().Width(w)
	lines := []string{m.st.Title.Render(s.host) + m.st.Muted.Render(fmt.Sprintf("  wave %s · %s", s.wave, s.phase))}
	if s.passes > 0 {
		lines[0] += m.st.Muted.Render(fmt.Sprintf(" · %s, %s moved this run", plural(s.passes, "pass", "passes"), mib(s.bytes)))
	}
	if s.err != "" {
		lines = append(lines, wrap.Render(m.st.Bad.Render("✗ "+s.err)))
	}
	if s.waiting != "" {
		lines = append(lines, wrap.Render(m.st.Warn.Render("waiting for "+s.waiting)))
	}
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		lines = append(lines, wrap.Render(m.st.OK.Render("✓ ")+st.Step+m.st.Muted.Render(": "+st.Detail)))
	}
	if len(lines) == 1 {
		switch s.phase {
		case face.Pending:
			lines = append(lines, m.st.Muted.Render("not started: r copies its disks while it keeps running"))
		case face.InSync:
			lines = append(lines, m.st.OK.Render("in sync: the copy is ready; tab to Cutover to switch over"))
		default:
			lines = append(lines, m.st.Muted.Render("the ledger says: "+string(s.phase)))
		}
	}
	return strings.Join(lines, "\n")
}

// mib formats bytes in MiB or GiB.
func mib(b int64) string {
	if b >= 10<<30 {
		return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
	}
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func ansiTrunc(s string, n int) string {
	if n <= 0 {
		return ""
	}
	return ellipsis(strings.ReplaceAll(s, "\n", " "), n)
}

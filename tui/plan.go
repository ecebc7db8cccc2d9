package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// planState is the Plan screen: the plan file, as the engine describes it.
// The file is the source of truth: every edit is written to it at once and
// the screen shows it read back.
type planState struct {
	path     string // the plan file
	summary  *face.PlanSummary
	settings map[string]face.PlanHostSettings
	sel      int
	busy     bool   // a draft, load or edit is under way
	err      error  // why the last draft or load failed
	invGen   int    // the inventory the plan was drafted from; 0 when loaded
	note     string // said once after a draft (the lab's edits)
}

// planRow is one host of the plan, in file order.
type planRow struct {
	wave string
	host face.PlanHost
}

func (p *planState) rows() []planRow {
	if p.summary == nil {
		return nil
	}
	var out []planRow
	for _, w := range p.summary.Waves {
		for _, h := range w.Hosts {
			out = append(out, planRow{wave: w.Name, host: h})
		}
	}
	return out
}

// moving counts the hosts that move (not held).
func (p *planState) moving() int {
	n := 0
	for _, r := range p.rows() {
		if !r.host.Held {
			n++
		}
	}
	return n
}

// planLoadedMsg carries a plan read back after a draft, a load or an edit.
type planLoadedMsg struct {
	path      string
	summary   face.PlanSummary
	settings  map[string]face.PlanHostSettings
	status    []face.ServerResult // where its servers stand; nil when unknown
	statusErr error               // why the ledger could not say
	err       error
	what      string // "drafted", "loaded", "saved…"
	note      string // what the wizard's own edits did
	invGen    int
	resume    bool // offer to resume when servers stopped mid-way
}

// planReader reads a plan back, with its servers' standing; it is made in
// Update and called in a command.
type planReader struct {
	eng Engine
	ctx context.Context
	// status asks the ledger where the servers stand; not while this
	// wizard's own run holds the ledger.
	status bool
}

func (m *model) planReader() planReader {
	return planReader{eng: m.eng, ctx: m.ctx, status: !m.mig.running}
}

func (r planReader) read(path string) planLoadedMsg {
	msg := planLoadedMsg{path: path}
	s, err := r.eng.LoadPlan(path)
	if err != nil {
		msg.err = err
		return msg
	}
	msg.summary = s
	if msg.settings, msg.err = r.eng.PlanSettings(path); msg.err != nil {
		return msg
	}
	if r.status {
		msg.status, msg.statusErr = r.eng.MigrationStatus(r.ctx, path, face.MigrateOptions{})
	}
	return msg
}

// openPlan makes sure the Plan screen has a plan: the file at the plan path
// when there is one, else a draft from the assessment.
func (m *model) openPlan() tea.Cmd {
	p := &m.plan
	if p.busy || (p.summary != nil && (p.invGen == 0 || p.invGen == m.disc.invGen)) {
		return nil
	}
	if p.summary != nil && m.asm.result == nil {
		return nil
	}
	return m.draftPlan(false)
}

// draftPlan drafts the plan from the inventory and its assessment, and
// applies the wizard's own edits (the lab's). Without overwrite, an existing
// file is loaded instead.
func (m *model) draftPlan(overwrite bool) tea.Cmd {
	p := &m.plan
	inv, res, hosts, gen := m.disc.inv, m.asm.result, m.src.base, m.disc.invGen
	path, edits, note := p.path, m.opts.PlanEdits, m.opts.PlanNote
	p.busy, p.err = true, nil
	rd := m.planReader()
	return func() tea.Msg {
		if !overwrite {
			if _, err := os.Stat(path); err == nil {
				msg := rd.read(path)
				msg.what, msg.resume = "loaded", true
				return msg
			}
		}
		if inv == nil {
			return planLoadedMsg{path: path, err: errNoInventory}
		}
		if _, err := rd.eng.DraftPlan(path, hosts, inv, res, overwrite); err != nil {
			return planLoadedMsg{path: path, err: err}
		}
		if len(edits) > 0 {
			if err := rd.eng.EditPlan(path, edits...); err != nil {
				return planLoadedMsg{path: path, err: fmt.Errorf("plan drafted to %s, but: %w", path, err)}
			}
		}
		msg := rd.read(path)
		msg.what, msg.invGen, msg.note = "drafted", gen, note
		return msg
	}
}

var errNoInventory = errors.New("no plan yet: discover and assess servers first (shift+tab), or press i to open a plan file")

// editPlan writes one edit to the plan file and reads it back.
func (m *model) editPlan(ed face.PlanEdit, what string) tea.Cmd {
	path := m.plan.path
	rd := m.planReader()
	return func() tea.Msg {
		if err := rd.eng.EditPlan(path, ed); err != nil {
			return planLoadedMsg{path: path, err: err, what: "edit"}
		}
		msg := rd.read(path)
		msg.what = what
		return msg
	}
}

func (m *model) planLoaded(msg planLoadedMsg) tea.Cmd {
	p := &m.plan
	p.busy = false
	if msg.err != nil {
		if pr, ok := m.dialog.(*prompt); ok {
			pr.err, pr.busy = msg.err.Error(), false
			return nil
		}
		if p.summary == nil {
			p.err = msg.err
		}
		m.setStatus(true, "%v", msg.err)
		return nil
	}
	if _, ok := m.dialog.(*prompt); ok {
		m.dialog = nil
	}
	prev := ""
	if rows := p.rows(); p.sel < len(rows) {
		prev = rows[p.sel].host.Name
	}
	s := msg.summary
	p.path, p.summary, p.settings, p.err = msg.path, &s, msg.settings, nil
	for i, r := range p.rows() {
		if r.host.Name == prev {
			p.sel = i // the selection follows its host to another wave
		}
	}
	if msg.invGen != 0 || msg.what == "loaded" {
		p.invGen = msg.invGen
	}
	p.sel = min(p.sel, max(0, len(p.rows())-1))
	if msg.what == "drafted" || msg.what == "loaded" {
		p.sel = firstMoving(p.rows())
	}
	if !m.mig.running {
		m.mig.setPlan(p, msg.status)
	}
	switch msg.what {
	case "loaded":
		m.setStatus(false, "plan loaded from %s (n drafts it anew from the assessment)", msg.path)
	case "drafted":
		m.setStatus(false, "plan drafted to %s", msg.path)
		if msg.note != "" {
			m.status += " · " + msg.note
		}
	case "":
	default:
		m.setStatus(false, "%s (%s)", msg.what, lastElem(msg.path))
	}
	if msg.resume {
		m.offerResume(msg.path, msg.status)
	}
	return nil
}

func (m *model) planKey(msg tea.KeyPressMsg) tea.Cmd {
	k, p := m.keys, &m.plan
	rows := p.rows()
	switch {
	case key.Matches(msg, k.Up):
		p.sel = max(0, p.sel-1)
		return nil
	case key.Matches(msg, k.Down):
		p.sel = min(max(0, len(rows)-1), p.sel+1)
		return nil
	case key.Matches(msg, k.OpenPlan):
		m.dialog = newPrompt("Open a plan file", "A waves.yaml as 'shift plan' drafts it; its servers' progress is read from the ledger.",
			p.path, m.width, func(m *model, path string) tea.Cmd {
				rd := m.planReader()
				return func() tea.Msg {
					msg := rd.read(path)
					msg.what, msg.resume = "loaded", true
					return msg
				}
			})
		return nil
	case key.Matches(msg, k.Redraft):
		if m.disc.inv == nil || m.asm.result == nil {
			m.setStatus(true, "nothing to draft from: discover and assess first (shift+tab)")
			return nil
		}
		m.dialog = &confirm{title: "Draft the plan anew?", text: fmt.Sprintf("%s is replaced by a fresh draft from the assessment; edits made to it are lost. Servers keep their progress in the ledger.", p.path),
			onYes: func(m *model) tea.Cmd { return m.draftPlan(true) }}
		return nil
	}
	if p.summary == nil || p.busy || len(rows) == 0 {
		if key.Matches(msg, k.Replicate) {
			m.setStatus(true, "no plan yet: it is drafted once servers are assessed")
		}
		return nil
	}
	r := rows[p.sel]
	h, set := r.host, p.settings[r.host.Name]
	switch {
	case key.Matches(msg, k.Replicate):
		m.screen = replicationScreen
		return m.startReplication()
	case key.Matches(msg, k.Hold):
		hold := !h.Held
		p.busy = true
		what := "saved: " + h.Name + " moves"
		if hold {
			what = "saved: " + h.Name + " held"
		}
		return m.editPlan(face.PlanEdit{Host: h.Name, Hold: &hold}, what)
	case key.Matches(msg, k.Wave):
		m.dialog = m.editPrompt(h.Name, "Wave", "Waves run in file order; a new name makes a new wave at the end.", r.wave, false,
			func(v string) face.PlanEdit { return face.PlanEdit{Host: h.Name, Wave: &v} })
	case key.Matches(msg, k.Size):
		m.dialog = m.editPrompt(h.Name, "Target size", "CPUs and memory (4 CPUs, 16G), a VM size name (Standard_D4s_v5), or empty for the source's.", h.Size, true,
			func(v string) face.PlanEdit { return face.PlanEdit{Host: h.Name, Size: &v} })
	case key.Matches(msg, k.Disks):
		m.dialog = m.editPrompt(h.Name, "Disks to move", "Source disks by the OS's name (/dev/sda, Disk 0) or image path, comma-separated; empty moves every disk.",
			strings.Join(set.Disks, ", "), true, func(v string) face.PlanEdit {
				l := splitList(v)
				return face.PlanEdit{Host: h.Name, Disks: &l}
			})
	case key.Matches(msg, k.Checks):
		m.dialog = m.editPrompt(h.Name, "Validation checks", "Sections run after cutover, comma-separated: linux, sqlServer, sharePoint; empty for none. HTTP and command checks are edited in the file.",
			strings.Join(sections(h.Checks), ", "), true, func(v string) face.PlanEdit {
				l := splitList(v)
				return face.PlanEdit{Host: h.Name, Checks: &l}
			})
	case key.Matches(msg, k.Services):
		m.dialog = m.editPrompt(h.Name, "Services to stop at cutover", "Stopped on the source before the final pass, in order (application first, database last), and started again by a rollback; comma-separated.",
			strings.Join(set.StopServices, ", "), true, func(v string) face.PlanEdit {
				l := splitList(v)
				return face.PlanEdit{Host: h.Name, StopServices: &l}
			})
	case key.Matches(msg, k.Bandwidth):
		m.dialog = m.editPrompt(h.Name, "Bandwidth cap", "This host's copy alone: 50M is 50 MiB/s, 400Mbit/s is bits; empty for no cap of its own.",
			strings.TrimSuffix(set.Bandwidth, "/s"), true, func(v string) face.PlanEdit { return face.PlanEdit{Host: h.Name, Bandwidth: &v} })
	}
	return nil
}

// editPrompt asks for one setting of host and saves it.
func (m *model) editPrompt(host, field, help, value string, allowEmpty bool, edit func(string) face.PlanEdit) *prompt {
	pr := newPrompt(fmt.Sprintf("%s of %s", field, host), help, value, m.width, func(m *model, v string) tea.Cmd {
		return m.editPlan(edit(v), fmt.Sprintf("saved: %s of %s", strings.ToLower(field), host))
	})
	pr.allowEmpty = allowEmpty
	return pr
}

func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// sections returns the validation sections among a host's checks.
func sections(checks []string) []string {
	var out []string
	for _, c := range checks {
		switch c {
		case "linux", "sqlServer", "sharePoint":
			out = append(out, c)
		}
	}
	return out
}

func (m *model) planView(w, h int) string {
	p := &m.plan
	title := m.st.Title.Render("Plan")
	switch {
	case p.busy && p.summary == nil:
		return title + " " + m.spin.View() + "\n\nDrafting the plan from the assessment…"
	case p.summary == nil && p.err != nil:
		return title + "\n\n" + lipgloss.NewStyle().Width(w).Render(m.st.Error.Render(p.err.Error()))
	case p.summary == nil:
		return title + "\n\nNo plan yet: discover and assess servers first (shift+tab); the plan is drafted from the assessment.\nOr press i to open a plan file."
	}
	s := p.summary
	rows := p.rows()
	held := len(rows) - p.moving()
	head := fmt.Sprintf("%s · %s · %s: %s, %s · target %s", lastElem(p.path),
		plural(len(s.Waves), "wave", "waves"), plural(len(rows), "server", "servers"),
		m.st.OK.Render(fmt.Sprintf("%d to move", p.moving())), m.st.Muted.Render(fmt.Sprintf("%d held", held)), s.Target)
	out := title + "  " + head + "\n"
	cols := []column{
		{title: "WAVE", width: 10, flex: true},
		{title: "SERVER", width: 16, flex: true},
		{title: "MOVES", width: 7},
		{title: "SIZE", width: 14, drop: 2},
		{title: "DISKS", width: 12, flex: true, drop: 1},
		{title: "CHECKS", width: 12, flex: true, drop: 3},
	}
	cells := make([][]cell, len(rows))
	for i, r := range rows {
		mv := cell{text: "✓ yes", style: m.st.OK}
		if r.host.Held {
			mv = cell{text: "- held", style: m.st.Muted}
		}
		cells[i] = []cell{plain(r.wave), plain(r.host.Name), mv, plain(dashOr(r.host.Size, "as source")),
			plain(disksLabel(p.settings[r.host.Name].Disks)), plain(dash(strings.Join(r.host.Checks, ", ")))}
	}
	tableH := min(len(cells)+1, max(3, (h-2)/2))
	out += table(m.st, cols, cells, p.sel, w, tableH)
	detailH := h - 1 - tableH - 1
	if detailH >= 3 && p.sel < len(rows) {
		edit := fit(m.st.Muted.Render("edit: ")+m.help.ShortHelpView(m.planEditKeys()), w, 1)
		out += "\n" + m.st.Rule.Render(strings.Repeat("╌", w)) + "\n" +
			fitMore(m.planDetail(rows[p.sel], w), w, detailH-1, m.st.Muted.Render("… more in "+lastElem(p.path))) + "\n" + edit
	}
	return out
}

func (m *model) planEditKeys() []key.Binding {
	k := m.keys
	return []key.Binding{k.Hold, k.Wave, k.Size, k.Disks, k.Checks, k.Services, k.Bandwidth}
}

// planDetail describes the selected host's settings, then the plan's
// comment on it (blockers, sizing).
func (m *model) planDetail(r planRow, w int) string {
	h, set := r.host, m.plan.settings[r.host.Name]
	wrap := lipgloss.NewStyle().Width(w)
	state := m.st.OK.Render("moves")
	if h.Held {
		state = m.st.Warn.Render("held: it stays where it is (space releases it)")
	}
	lines := []string{m.st.Title.Render(h.Name) + m.st.Muted.Render(fmt.Sprintf("  wave %s · approval %s · ", r.wave, dash(h.Approval))) + state}
	disks := "every disk"
	if len(set.Disks) > 0 {
		disks = strings.Join(set.Disks, ", ")
	}
	lines = append(lines,
		wrap.Render(fmt.Sprintf("disks: %s · size: %s", disks, dashOr(h.Size, "as the source"))),
		wrap.Render(fmt.Sprintf("checks: %s · stop at cutover: %s · bandwidth: %s",
			dashOr(strings.Join(h.Checks, ", "), "none"), dashOr(strings.Join(set.StopServices, ", "), "nothing"), dashOr(set.Bandwidth, "no cap"))))
	for _, l := range strings.Split(strings.TrimSpace(h.Comment), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
		if l != "" {
			lines = append(lines, m.st.Muted.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

// firstMoving is the index of the first host that moves, else 0.
func firstMoving(rows []planRow) int {
	for i, r := range rows {
		if !r.host.Held {
			return i
		}
	}
	return 0
}

func disksLabel(d []string) string {
	switch len(d) {
	case 0:
		return "every disk"
	case 1:
		return lastElem(d[0])
	}
	return fmt.Sprintf("%d disks", len(d))
}

func dashOr(s, zero string) string {
	if s == "" {
		return zero
	}
	return s
}

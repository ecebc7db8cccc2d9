package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// assessmentState is the Assessment screen.
type assessmentState struct {
	running bool
	tag     uint64
	cancel  context.CancelFunc
	result  *face.Assessment
	err     error
	invGen  int // the discovery inventory the result belongs to
	filter  int // index into filters
	sel     int // index into the filtered servers
}

// filters are the Assessment screen's views, in the order f cycles them.
var filters = []struct {
	name string
	keep func(face.Readiness) bool
}{
	{"all", func(face.Readiness) bool { return true }},
	{"ready", func(r face.Readiness) bool { return r == face.Ready }},
	{"conditions", func(r face.Readiness) bool { return r == face.Conditions }},
	{"not ready", func(r face.Readiness) bool { return r == face.NotReady || r == face.Unknown }},
}

func (a *assessmentState) visible() []face.Verdict {
	if a.result == nil {
		return nil
	}
	var out []face.Verdict
	for _, v := range a.result.Servers {
		if filters[a.filter].keep(v.Readiness) {
			out = append(out, v)
		}
	}
	return out
}

// maybeAssess starts an assessment when there is an inventory newer than
// the last result.
func (m *model) maybeAssess() tea.Cmd {
	a, d := &m.asm, &m.disc
	if a.running || d.inv == nil || d.running || (a.result != nil && a.invGen == d.invGen) {
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	a.tag, a.cancel, a.running, a.err, a.invGen = m.nextTag(), cancel, true, nil, d.invGen
	eng, inv := m.eng, d.inv
	return tea.Batch(m.startRun(a.tag, func() <-chan face.Event { return eng.Assess(ctx, inv) }), m.spin.Tick)
}

func (m *model) assessmentEvent(ev face.Event) tea.Cmd {
	a := &m.asm
	done, ok := ev.(face.AssessmentDone)
	if !ok {
		return nil
	}
	a.running = false
	a.cancel()
	if done.Err != nil {
		a.err = done.Err
		m.setStatus(true, "%v", done.Err)
		return nil
	}
	a.result, a.sel = done.Assessment, 0
	return nil
}

func (m *model) assessmentKey(msg tea.KeyPressMsg) tea.Cmd {
	k, a := m.keys, &m.asm
	n := len(a.visible())
	switch {
	case key.Matches(msg, k.Up):
		a.sel = max(0, a.sel-1)
	case key.Matches(msg, k.Down):
		a.sel = min(max(0, n-1), a.sel+1)
	case a.result != nil && key.Matches(msg, k.Plan):
		return m.goTo(planScreen)
	case a.result != nil && key.Matches(msg, k.Filter):
		a.filter = (a.filter + 1) % len(filters)
		a.sel = 0
	case a.result != nil && key.Matches(msg, k.Export):
		res, eng := a.result, m.eng
		m.dialog = newPrompt("Export the assessment report",
			"The extension picks the format: .html, .md, .json, .csv or .xlsx.",
			joinDir(m.opts.OutDir, "assessment.html"), m.width, func(m *model, path string) tea.Cmd {
				return func() tea.Msg {
					return fileWrittenMsg{what: "report", path: path, err: eng.ExportReport(path, res)}
				}
			})
	}
	return nil
}

func readinessCell(st styles, r face.Readiness) cell {
	switch r {
	case face.Ready:
		return cell{text: "✓ ready", style: st.OK}
	case face.Conditions:
		return cell{text: "! conditions", style: st.Warn}
	case face.NotReady:
		return cell{text: "✗ not ready", style: st.Bad}
	}
	return cell{text: "? unknown", style: st.Muted}
}

func (m *model) assessmentView(w, h int) string {
	a := &m.asm
	title := m.st.Title.Render("Assessment")
	switch {
	case a.running:
		return title + " " + m.spin.View() + "\n\nAssessing " + plural(len(m.disc.inv.Hosts), "server", "servers") + "…"
	case a.err != nil:
		return title + "\n\n" + lipgloss.NewStyle().Width(w).Render(m.st.Error.Render(a.err.Error()))
	case a.result == nil:
		return title + "\n\nNothing assessed yet: discover servers first (shift+tab), then press a."
	}
	res := a.result
	c := res.Counts()
	totals := fmt.Sprintf("%s: %s · %s · %s",
		plural(len(res.Servers), "server", "servers"),
		m.st.OK.Render(fmt.Sprintf("%d ready", c[face.Ready])),
		m.st.Warn.Render(fmt.Sprintf("%d with conditions", c[face.Conditions])),
		m.st.Bad.Render(fmt.Sprintf("%d not ready", c[face.NotReady]+c[face.Unknown])))
	cost := ""
	if res.Currency != "" {
		cost = fmt.Sprintf("est. %s %s/month · ", money(res.MonthlyTotal), res.Currency)
	}
	var tabs []string
	for i, f := range filters {
		if i == a.filter {
			tabs = append(tabs, m.st.TabActive.Render(f.name))
		} else {
			tabs = append(tabs, m.st.Tab.Render(f.name))
		}
	}
	vis := a.visible()
	cols := []column{
		{title: "SERVER", width: 14, flex: true},
		{title: "OS", width: 18, flex: true, drop: 1},
		{title: "READINESS", width: 12},
		{title: "SIZE", width: 16, drop: 2},
		{title: "COST/MONTH", width: 10},
	}
	rows := make([][]cell, len(vis))
	for i, v := range vis {
		cost := "-"
		if v.MonthlyCost > 0 {
			cost = money(v.MonthlyCost)
		}
		rows[i] = []cell{plain(v.Host), plain(dash(v.OS)), readinessCell(m.st, v.Readiness), plain(dash(v.Size)),
			cell{text: fmt.Sprintf("%10s", cost)}}
	}
	out := title + "  " + totals + "\n" + cost + m.st.Muted.Render("filter: ") + strings.Join(tabs, "  ") + "\n"
	if len(vis) == 0 {
		return out + "\nNo server matches this filter; press f for the next."
	}
	tableH := min(len(rows)+1, max(3, (h-3)/2))
	out += table(m.st, cols, rows, a.sel, w, tableH)
	detailH := h - 2 - tableH - 1
	if detailH >= 2 && a.sel < len(vis) {
		out += "\n" + m.st.Rule.Render(strings.Repeat("╌", w)) + "\n" + fitMore(m.verdictDetail(vis[a.sel], w), w, detailH, m.st.Muted.Render("… more: e exports the full report"))
	}
	return out
}

// verdictDetail lists a server's findings, worst first, each with its fix.
func (m *model) verdictDetail(v face.Verdict, w int) string {
	wrap := lipgloss.NewStyle().Width(w)
	head := m.st.Title.Render(v.Host) + "  " + readinessCell(m.st, v.Readiness).style.Render(readinessCell(m.st, v.Readiness).text)
	if v.Size != "" {
		head += m.st.Muted.Render("  → " + v.Size)
	}
	lines := []string{head}
	switch {
	case len(v.Findings) == 0 && v.Readiness == face.Unknown:
		lines = append(lines, m.st.Muted.Render("? not assessed: discovery did not finish, so no rule could run; discover it again"))
	case len(v.Findings) == 0:
		lines = append(lines, m.st.OK.Render("✓ no blockers: every rule passed"))
	}
	for _, f := range v.Findings {
		mark, st := "·", m.st.Muted
		switch f.Severity {
		case face.Blocker:
			mark, st = "✗", m.st.Bad
		case face.Condition:
			mark, st = "!", m.st.Warn
		}
		lines = append(lines, wrap.Render(st.Render(fmt.Sprintf("%s %s: %s", mark, f.Rule, f.Message))))
		if f.Fix != "" {
			lines = append(lines, wrap.Render(m.st.Hint.Render("  fix: "+f.Fix)))
		}
	}
	return strings.Join(lines, "\n")
}

// money formats an amount with thousands separators and two decimals.
func money(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 && r != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

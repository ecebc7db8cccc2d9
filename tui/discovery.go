package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
)

// discoveryState is the Discovery screen: one row per host, the run under way
// and the inventory of the last run.
type discoveryState struct {
	rows    []hostRow
	sel     int
	running bool
	tag     uint64 // the current run's bridge tag
	cancel  context.CancelFunc
	started time.Time
	took    time.Duration
	inv     *inventory.Inventory // the merged result of every run; nil before the first
	invGen  int                  // grows whenever inv changes
	err     error                // why the last run could not start
}

type rowState int

const (
	rowPending rowState = iota
	rowRunning
	rowOK       // no errors, or only notes
	rowPartial  // reachable, but some probes failed
	rowFailed   // could not connect or log in
	rowCanceled // stopped before it finished
)

type hostRow struct {
	name, transport string
	state           rowState
	started         time.Time
	host            *inventory.Host // nil until the host is done
}

// reset lists hosts as pending, keeping the results of hosts already done.
func (d *discoveryState) reset(specs []face.HostSpec) {
	old := map[string]hostRow{}
	for _, r := range d.rows {
		old[r.name] = r
	}
	d.rows = d.rows[:0]
	for _, s := range specs {
		r, ok := old[s.Name]
		if !ok || r.state == rowRunning {
			r = hostRow{name: s.Name, transport: s.Transport}
		}
		d.rows = append(d.rows, r)
	}
	d.sel = min(d.sel, max(0, len(d.rows)-1))
}

func (d *discoveryState) row(name string) *hostRow {
	for i := range d.rows {
		if d.rows[i].name == name {
			return &d.rows[i]
		}
	}
	return nil
}

func (d *discoveryState) count(s rowState) int {
	n := 0
	for _, r := range d.rows {
		if r.state == s {
			n++
		}
	}
	return n
}

func (d *discoveryState) failed() int { return d.count(rowFailed) + d.count(rowPartial) }

func stateOf(h *inventory.Host) rowState {
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrCanceled {
			return rowCanceled
		}
	}
	switch {
	case !h.Reachable():
		return rowFailed
	case h.Failed():
		return rowPartial
	}
	return rowOK
}

// startDiscovery starts a run over names (every host when empty).
func (m *model) startDiscovery(names []string) tea.Cmd {
	d := &m.disc
	if d.running {
		return nil
	}
	path := m.src.base
	if path == "" {
		m.setStatus(true, "save the hosts first (s): discovery reads a hosts file")
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	d.tag, d.cancel, d.running, d.err = m.nextTag(), cancel, true, nil
	d.started, d.took = m.now(), 0
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for i := range d.rows {
		if len(names) == 0 || want[d.rows[i].name] {
			d.rows[i].state, d.rows[i].host = rowPending, nil
		}
	}
	eng := m.eng
	names = append([]string(nil), names...)
	return tea.Batch(m.startRun(d.tag, func() <-chan face.Event { return eng.Discover(ctx, path, names) }), m.spin.Tick)
}

func (m *model) discoveryKey(msg tea.KeyPressMsg) tea.Cmd {
	k, d := m.keys, &m.disc
	switch {
	case key.Matches(msg, k.Up):
		d.sel = max(0, d.sel-1)
	case key.Matches(msg, k.Down):
		d.sel = min(max(0, len(d.rows)-1), d.sel+1)
	case d.running && key.Matches(msg, k.Stop):
		d.cancel()
		m.setStatus(false, "stopping discovery…")
	case !d.running && key.Matches(msg, k.Start):
		if len(d.rows) == 0 {
			m.setStatus(true, "no servers: add them on the Sources screen (shift+tab)")
			return nil
		}
		if len(m.src.added) > 0 {
			return m.saveHosts(m.src.savePath, true)
		}
		return m.startDiscovery(nil)
	case !d.running && key.Matches(msg, k.Retry):
		var names []string
		for _, r := range d.rows {
			if r.state == rowFailed || r.state == rowPartial || r.state == rowCanceled {
				names = append(names, r.name)
			}
		}
		if len(names) == 0 {
			m.setStatus(false, "no failed hosts to re-run")
			return nil
		}
		return m.startDiscovery(names)
	case !d.running && d.inv != nil && key.Matches(msg, k.Assess):
		return m.goTo(assessmentScreen)
	case !d.running && d.inv != nil && key.Matches(msg, k.SaveInventory):
		inv, eng := d.inv, m.eng
		m.dialog = newPrompt("Write the inventory", "JSON, as 'shift discover -o' writes it; 'shift assess' reads it.",
			joinDir(m.opts.OutDir, "inventory.json"), m.width, func(m *model, path string) tea.Cmd {
				return func() tea.Msg {
					return fileWrittenMsg{what: "inventory", path: path, err: eng.SaveInventory(path, inv)}
				}
			})
	}
	return nil
}

func (m *model) discoveryEvent(ev face.Event) tea.Cmd {
	d := &m.disc
	switch ev := ev.(type) {
	case face.HostStarted:
		if r := d.row(ev.Host); r != nil {
			r.state, r.started = rowRunning, ev.At
		}
	case face.HostDone:
		h := ev.Host
		if r := d.row(h.Name); r != nil {
			r.state, r.host = stateOf(&h), &h
		}
	case face.DiscoveryDone:
		d.running, d.took = false, ev.Took
		d.cancel()
		if ev.Err != nil {
			d.err = ev.Err
			m.setStatus(true, "discovery did not start: %v", ev.Err)
			return nil
		}
		d.inv = mergeInventory(d.inv, ev.Inventory)
		d.invGen++
		for i := range ev.Inventory.Hosts {
			h := &ev.Inventory.Hosts[i]
			if r := d.row(h.Name); r != nil {
				r.state, r.host = stateOf(h), h
			}
		}
		ok, bad := d.count(rowOK), d.failed()
		if ev.Canceled {
			m.setStatus(false, "discovery stopped after %s: %d ok, %d failed, %d not finished", ev.Took.Round(time.Second), ok, bad, d.count(rowCanceled))
		} else {
			m.setStatus(false, "discovered %s in %s: %d ok, %d failed", plural(len(ev.Inventory.Hosts), "server", "servers"), ev.Took.Round(100*time.Millisecond), ok, bad)
		}
	}
	return nil
}

// mergeInventory returns old with next's hosts replacing those of the same
// name; old is not modified.
func mergeInventory(old, next *inventory.Inventory) *inventory.Inventory {
	if old == nil {
		return next
	}
	out := *next
	out.Hosts = append([]inventory.Host(nil), next.Hosts...)
	for _, h := range old.Hosts {
		if next.Host(h.Name) == nil {
			out.Hosts = append(out.Hosts, h)
		}
	}
	out.Sort()
	return &out
}

func (m *model) discoveryView(w, h int) string {
	d := &m.disc
	if len(d.rows) == 0 {
		return m.st.Title.Render("Discovery") + "\n\nNo servers to discover yet: add them on the Sources screen (shift+tab)."
	}
	var elapsed time.Duration
	switch {
	case d.running:
		elapsed = m.now().Sub(d.started)
	default:
		elapsed = d.took
	}
	done := d.count(rowOK) + d.failed() + d.count(rowCanceled)
	summary := fmt.Sprintf("%d of %d done", done, len(d.rows))
	if n := d.failed(); n > 0 {
		summary += " · " + m.st.Bad.Render(fmt.Sprintf("%d failed", n))
	}
	if d.running || d.took > 0 {
		summary += " · " + fmtDuration(elapsed)
	}
	title := m.st.Title.Render("Discovery")
	if d.running {
		title += " " + m.spin.View()
	}
	cols := []column{
		{title: " ", width: 1},
		{title: "HOST", width: 14, flex: true},
		{title: "VIA", width: 5, drop: 3},
		{title: "OS", width: 16, flex: true, drop: 1},
		{title: "CPU", width: 3, drop: 4},
		{title: "MEMORY", width: 8, drop: 5},
		{title: "TIME", width: 6},
		{title: "RESULT", width: 16, flex: true},
	}
	rows := make([][]cell, len(d.rows))
	for i, r := range d.rows {
		rows[i] = m.hostCells(r)
	}
	tableH := min(len(rows)+1, max(3, (h-3)/2))
	out := title + "  " + summary + "\n\n" + table(m.st, cols, rows, d.sel, w, tableH)
	detailH := h - 3 - tableH - 1
	if detailH >= 2 && d.sel < len(d.rows) {
		out += "\n" + m.st.Rule.Render(strings.Repeat("╌", w)) + "\n" + fitMore(m.hostDetail(d.rows[d.sel], w), w, detailH, m.st.Muted.Render("… more: w writes the inventory with every error"))
	}
	return out
}

func (m *model) hostCells(r hostRow) []cell {
	mark, res, st := cell{text: "·", style: m.st.Muted}, "waiting", m.st.Muted
	var took string
	switch r.state {
	case rowRunning:
		mark = cell{text: m.spin.View()}
		res, st = "probing…", m.st.Running
		took = fmtDuration(m.now().Sub(r.started))
	case rowOK:
		mark, st = cell{text: "✓", style: m.st.OK}, m.st.OK
		res = "ok"
		if n := len(r.host.Errors); n > 0 {
			res = "ok, " + plural(n, "note", "notes")
		}
	case rowPartial:
		mark, st = cell{text: "!", style: m.st.Warn}, m.st.Warn
		res = fmt.Sprintf("incomplete: %s", plural(len(r.host.Errors), "error", "errors"))
	case rowFailed:
		mark, st = cell{text: "✗", style: m.st.Bad}, m.st.Bad
		e := firstFailure(r.host)
		res = fmt.Sprintf("%s: %s", e.Kind, e.Step)
	case rowCanceled:
		mark, res, st = cell{text: "-", style: m.st.Muted}, "stopped", m.st.Muted
	}
	c := []cell{mark, plain(r.name), plain(dash(r.transport)), plain("-"), plain("-"), plain("-"), plain(took), {text: res, style: st}}
	if h := r.host; h != nil {
		c[6] = plain(fmt.Sprintf("%.1fs", h.ProbeSeconds))
		if h.Reachable() {
			c[2] = plain(dash(h.Transport))
			c[3] = plain(dash(osName(h.OS)))
			c[4] = plain(count(h.CPU.Logical))
			c[5] = plain(bytesLabel(h.Memory.TotalBytes))
		}
	}
	return c
}

func firstFailure(h *inventory.Host) inventory.Error {
	for _, e := range h.Errors {
		if e.Kind != inventory.ErrUnsupported {
			return e
		}
	}
	if len(h.Errors) > 0 {
		return h.Errors[0]
	}
	return inventory.Error{}
}

// hostDetail describes the selected host: what was found, then each error
// with its hint.
func (m *model) hostDetail(r hostRow, w int) string {
	wrap := lipgloss.NewStyle().Width(w)
	h := r.host
	if h == nil {
		switch r.state {
		case rowRunning:
			return r.name + ": probing…"
		default:
			return r.name + ": not discovered yet."
		}
	}
	lines := []string{m.st.Title.Render(h.Name) + m.st.Muted.Render("  "+h.Address)}
	if h.Reachable() && h.OS.Name != "" {
		facts := []string{osName(h.OS)}
		if h.CPU.Logical > 0 {
			facts = append(facts, plural(h.CPU.Logical, "CPU", "CPUs"))
		}
		if h.Memory.TotalBytes > 0 {
			facts = append(facts, bytesLabel(h.Memory.TotalBytes)+" memory")
		}
		if len(h.Disks) > 0 {
			var total uint64
			for _, dk := range h.Disks {
				total += dk.SizeBytes
			}
			facts = append(facts, fmt.Sprintf("%s (%s)", plural(len(h.Disks), "disk", "disks"), bytesLabel(total)))
		}
		if n := len(h.SQLServer); n > 0 {
			facts = append(facts, plural(n, "SQL Server instance", "SQL Server instances"))
		}
		if h.SharePoint != nil {
			facts = append(facts, "SharePoint")
		}
		lines = append(lines, wrap.Render(strings.Join(facts, " · ")))
	}
	for _, e := range h.Errors {
		mark, st := "✗", m.st.Bad
		if e.Kind == inventory.ErrUnsupported {
			mark, st = "·", m.st.Muted
		}
		lines = append(lines, wrap.Render(st.Render(fmt.Sprintf("%s %s (%s): %s", mark, e.Step, e.Kind, e.Message))))
		if e.Hint != "" {
			lines = append(lines, wrap.Render(m.st.Hint.Render("  hint: "+e.Hint)))
		}
	}
	if len(h.Errors) == 0 {
		lines = append(lines, m.st.OK.Render("✓ discovered without errors"))
	}
	return strings.Join(lines, "\n")
}

func osName(o inventory.OS) string {
	if o.Name != "" {
		return o.Name
	}
	return strings.TrimSpace(o.ID + " " + o.Version)
}

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func bytesLabel(b uint64) string {
	const gib = 1 << 30
	switch {
	case b == 0:
		return "-"
	case b >= gib:
		return fmt.Sprintf("%.1f GiB", float64(b)/gib)
	default:
		return fmt.Sprintf("%d MiB", b>>20)
	}
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func joinDir(dir, name string) string { return filepath.Join(dir, name) }

package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shift-migrate/shift/migrate/face"
)

// Options configure the wizard.
type Options struct {
	// Engine does the work; it is required.
	Engine Engine
	// HostsFile is loaded at start; empty means start with no hosts.
	HostsFile string
	// OutDir is where the wizard proposes to save the hosts file, the
	// inventory and the report; empty means the current directory.
	OutDir string
	// Target describes where servers will move ("local cloud (QEMU)"); empty
	// means none is chosen yet.
	Target string
	// Lab says the hosts are the built-in lab, so that hints can say so.
	Lab bool
	// PlanFile is the plan the Plan screen drafts into and loads, and whose
	// migration the wizard offers to resume at start; empty means
	// waves.yaml in OutDir.
	PlanFile string
	// PlanEdits are applied to every plan the wizard drafts (the built-in
	// lab: local copies a small disk image, simulated hosts are held);
	// PlanNote says what they do, once they are applied.
	PlanEdits []face.PlanEdit
	PlanNote  string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

type screen int

const (
	sourcesScreen screen = iota
	discoveryScreen
	assessmentScreen
	planScreen
	replicationScreen
	cutoverScreen
	screenCount
)

var screenNames = [...]string{"Sources", "Discovery", "Assessment", "Plan", "Replication", "Cutover"}

// Smallest terminal the wizard lays itself out in.
const minWidth, minHeight = 60, 16

// model is the wizard's one top-level model. Update never blocks and does no
// I/O: engine calls and file access run in tea.Cmds that capture their inputs
// by value, and engine events arrive as eventMsg through the bridge.
type model struct {
	ctx    context.Context // parent of every run's context
	opts   Options
	eng    Engine
	bridge *bridge
	now    func() time.Time

	keys   keyMap
	st     styles
	help   help.Model
	spin   spinner.Model
	width  int
	height int

	screen screen
	src    sourcesState
	disc   discoveryState
	asm    assessmentState
	plan   planState
	mig    migrationState
	dialog dialog // nil when none is open

	status    string // the last thing that happened
	statusBad bool
	lastTag   uint64
	quitting  bool // waiting for runs to stop before quitting

	// view is the last rendered screen; it is drawn again only after a
	// message other than progress, so progress alone redraws at most every
	// redrawEvery however many events arrive.
	view      string
	viewValid bool
}

func newModel(ctx context.Context, opts Options, b *bridge) *model {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st := defaultStyles()
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles.ShortKey = st.Key
	h.Styles.ShortDesc = st.KeyDesc
	h.Styles.ShortSeparator = st.HelpSep
	h.Styles.Ellipsis = st.HelpSep
	m := &model{
		ctx: ctx, opts: opts, eng: opts.Engine, bridge: b, now: now,
		keys: defaultKeys(), st: st, help: h,
		spin:  spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(st.Running)),
		width: 80, height: 24,
	}
	m.src.savePath = filepath.Join(opts.OutDir, "hosts.yaml")
	if opts.HostsFile != "" {
		m.src.savePath = opts.HostsFile
	}
	m.plan.path = opts.PlanFile
	if m.plan.path == "" {
		m.plan.path = filepath.Join(opts.OutDir, "waves.yaml")
	}
	m.help.SetWidth(m.width)
	return m
}

func (m *model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.checkResume()}
	if m.opts.HostsFile != "" {
		cmds = append(cmds, loadHosts(m.eng, m.opts.HostsFile))
	}
	return tea.Batch(cmds...)
}

// running reports whether a run is under way, and which.
func (m *model) running() string {
	switch {
	case m.disc.running:
		return "Discovery"
	case m.asm.running:
		return "Assessment"
	case m.mig.running && m.mig.kind == cutoverRun:
		return "Cutover"
	case m.mig.running && m.mig.kind == testRun:
		return "Test migration"
	case m.mig.running:
		return "Replication"
	}
	return ""
}

func (m *model) setStatus(bad bool, format string, args ...any) {
	m.status = fmt.Sprintf(format, args...)
	m.statusBad = bad
}

func (m *model) nextTag() uint64 {
	m.lastTag++
	return m.lastTag
}

// startRun returns the command that starts a run and attaches its events to
// the bridge under tag. start is called in the command, not in Update.
func (m *model) startRun(tag uint64, start func() <-chan face.Event) tea.Cmd {
	b := m.bridge
	return func() tea.Msg {
		b.Attach(tag, start())
		return nil
	}
}

// cancelRuns stops every run; their Done events still arrive.
func (m *model) cancelRuns() {
	if m.disc.cancel != nil {
		m.disc.cancel()
	}
	if m.asm.cancel != nil {
		m.asm.cancel()
	}
	if m.mig.running {
		m.mig.stopping = true
		m.mig.cancel()
	}
}

// quitTimeout bounds how long quitting waits for runs to stop; a migration
// gets longer, to record where each server stands. After it, Run still
// waits for every run to end.
const (
	quitTimeout          = 10 * time.Second
	migrationQuitTimeout = time.Minute
)

type quitNowMsg struct{}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ev, ok := msg.(eventMsg); !ok || !isProgress(ev.ev) {
		m.viewValid = false
	}
	switch msg := msg.(type) {
	case redrawMsg:
		m.mig.redrawing = false
		return m, nil
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		if m.dialog != nil {
			m.dialog.resize(msg.Width)
		}
		return m, nil
	case spinner.TickMsg:
		if m.running() == "" {
			return m, nil // let the spinner stop
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case eventMsg:
		return m, m.handleEvent(msg)
	case quitNowMsg:
		return m, tea.Quit
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	if cmd, ok := m.handleResult(msg); ok {
		return m, cmd
	}
	if m.dialog != nil {
		return m, m.dialog.update(m, msg)
	}
	return m, nil
}

func (m *model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" && m.quitting {
		return tea.Quit // a second ctrl+c does not wait
	}
	m.status = "" // the hint for the next step shows again
	if m.dialog != nil {
		return m.dialog.update(m, msg)
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m.askQuit()
	case key.Matches(msg, k.NextScreen):
		return m.goTo(m.screen + 1)
	case key.Matches(msg, k.PrevScreen):
		return m.goTo(m.screen - 1)
	}
	switch m.screen {
	case sourcesScreen:
		return m.sourcesKey(msg)
	case discoveryScreen:
		return m.discoveryKey(msg)
	case assessmentScreen:
		return m.assessmentKey(msg)
	case planScreen:
		return m.planKey(msg)
	case replicationScreen:
		return m.replicationKey(msg)
	case cutoverScreen:
		return m.cutoverKey(msg)
	}
	return nil
}

func isProgress(ev face.Event) bool {
	_, ok := ev.(face.Droppable)
	return ok
}

// goTo switches screens; entering the assessment starts one when the
// inventory has changed since the last.
func (m *model) goTo(s screen) tea.Cmd {
	if s < 0 || s >= screenCount {
		return nil
	}
	m.screen = s
	switch s {
	case assessmentScreen:
		return m.maybeAssess()
	case planScreen:
		return m.openPlan()
	}
	return nil
}

func (m *model) askQuit() tea.Cmd {
	var why []string
	switch r := m.running(); r {
	case "":
	case "Replication", "Cutover":
		why = append(why, r+" is running: quitting stops every server where it stands, and the ledger records where. The next start offers to resume.")
	case "Test migration":
		why = append(why, "A test migration is running: quitting stops it; the source is not touched, and the next run deletes the test copy.")
	default:
		why = append(why, r+" is running; quitting stops it.")
	}
	if n := len(m.src.added); n > 0 {
		why = append(why, fmt.Sprintf("%s not saved to a hosts file.", plural(n, "added host is", "added hosts are")))
	}
	if len(why) == 0 {
		return tea.Quit
	}
	m.dialog = &confirm{title: "Quit shift?", text: strings.Join(why, "\n"), onYes: func(m *model) tea.Cmd {
		if m.running() == "" {
			return tea.Quit
		}
		m.quitting = true
		r := m.running()
		m.cancelRuns()
		if m.mig.running {
			m.setStatus(false, "stopping the %s where each server stands… the next start resumes", strings.ToLower(r))
			return tea.Tick(migrationQuitTimeout, func(time.Time) tea.Msg { return quitNowMsg{} })
		}
		m.setStatus(false, "stopping %s before quitting…", strings.ToLower(r))
		return tea.Tick(quitTimeout, func(time.Time) tea.Msg { return quitNowMsg{} })
	}}
	return nil
}

func (m *model) handleEvent(msg eventMsg) tea.Cmd {
	var cmd tea.Cmd
	switch ev := msg.ev.(type) {
	case face.HostStarted, face.HostDone, face.DiscoveryDone:
		if msg.tag != m.disc.tag {
			return nil // a run the user already left behind
		}
		cmd = m.discoveryEvent(ev)
	case face.AssessmentDone:
		if msg.tag != m.asm.tag {
			return nil
		}
		cmd = m.assessmentEvent(ev)
	case face.PhaseChanged, face.StepDone, face.DiskProgress, face.ValidationFinding, face.MigrationDone:
		if msg.tag != m.mig.tag {
			return nil
		}
		cmd = m.migrationEvent(ev)
	}
	if m.quitting && m.running() == "" {
		return tea.Quit
	}
	return cmd
}

// handleResult handles the results of commands.
func (m *model) handleResult(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case hostsLoadedMsg:
		return m.hostsLoaded(msg), true
	case hostsCheckedMsg:
		return m.hostsChecked(msg), true
	case hostsSavedMsg:
		return m.hostsSaved(msg), true
	case planLoadedMsg:
		return m.planLoaded(msg), true
	case noPlanMsg:
		m.plan.busy = false
		return nil, true
	case fileWrittenMsg:
		if msg.err != nil {
			if p, ok := m.dialog.(*prompt); ok {
				p.err = msg.err.Error()
				p.busy = false
				return nil, true
			}
			m.setStatus(true, "%v", msg.err)
			return nil, true
		}
		m.dialog = nil
		m.setStatus(false, "%s written to %s", msg.what, msg.path)
		return nil, true
	}
	return nil, false
}

// fileWrittenMsg reports a saved inventory or an exported report.
type fileWrittenMsg struct {
	what, path string
	err        error
}

func (m *model) View() tea.View {
	if !m.viewValid {
		m.view, m.viewValid = m.render(), true
	}
	v := tea.NewView(m.view)
	v.AltScreen = true
	v.WindowTitle = "shift"
	return v
}

// render draws the whole screen at the current size.
func (m *model) render() string {
	w, h := m.width, m.height
	if w < minWidth || h < minHeight {
		return fmt.Sprintf("shift needs a terminal of at least %d×%d (this one is %d×%d).\nEnlarge it, or press q to quit.", minWidth, minHeight, w, h)
	}
	bodyH := h - 5
	var body string
	if m.dialog != nil {
		body = lipgloss.Place(w, bodyH, lipgloss.Center, lipgloss.Center, m.dialog.view(m, w))
	} else {
		switch m.screen {
		case sourcesScreen:
			body = m.sourcesView(w, bodyH)
		case discoveryScreen:
			body = m.discoveryView(w, bodyH)
		case assessmentScreen:
			body = m.assessmentView(w, bodyH)
		case planScreen:
			body = m.planView(w, bodyH)
		case replicationScreen:
			body = m.replicationView(w, bodyH)
		case cutoverScreen:
			body = m.cutoverView(w, bodyH)
		}
	}
	rule := m.st.Rule.Render(strings.Repeat("─", w))
	return strings.Join([]string{
		m.header(w),
		rule,
		fit(body, w, bodyH),
		rule,
		fit(m.statusLine(), w, 1),
		fit(m.help.ShortHelpView(m.helpKeys()), w, 1),
	}, "\n")
}

func (m *model) header(w int) string {
	parts := []string{m.st.Brand.Render("shift")}
	for i, name := range screenNames {
		label := fmt.Sprintf("%d %s", i+1, name)
		if screen(i) == m.screen {
			parts = append(parts, m.st.TabActive.Render(label))
		} else {
			parts = append(parts, m.st.Tab.Render(label))
		}
	}
	left := strings.Join(parts, "  ")
	var ctx []string
	if m.opts.Lab {
		ctx = append(ctx, "built-in lab")
	}
	if m.opts.Target != "" {
		ctx = append(ctx, "target: "+m.opts.Target)
	}
	right := m.st.Context.Render(strings.Join(ctx, " · "))
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 2 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

// statusLine shows the last thing that happened, or else the next step.
func (m *model) statusLine() string {
	if m.status != "" {
		if m.statusBad {
			return m.st.Error.Render(m.status)
		}
		return m.status + m.st.Muted.Render(" · ") + m.st.Hint.Render(m.nextStep())
	}
	return m.st.Hint.Render(m.nextStep())
}

// nextStep tells a user who has read nothing what to do now.
func (m *model) nextStep() string {
	switch m.screen {
	case sourcesScreen:
		n := len(m.src.loaded) + len(m.src.added)
		switch {
		case n == 0:
			return "Next: press a to add a server or an address range, or i to import a hosts file."
		case m.opts.Lab && len(m.src.added) == 0:
			return fmt.Sprintf("Next: press d to discover the %d lab servers.", n)
		default:
			return fmt.Sprintf("Next: press d to discover %s.", plural(n, "server", "servers"))
		}
	case discoveryScreen:
		switch {
		case m.disc.running:
			return "Discovering… press x to stop."
		case m.disc.inv == nil && len(m.disc.rows) == 0:
			return "Next: go back (shift+tab) and add servers, then press enter here."
		case m.disc.inv == nil:
			return fmt.Sprintf("Next: press enter to discover %s.", plural(len(m.disc.rows), "server", "servers"))
		case m.disc.failed() > 0:
			return "Next: press a to assess · ↑/↓ read the errors and hints · r re-runs the failed"
		default:
			return "Next: press a (or tab) to assess which servers can move."
		}
	case assessmentScreen:
		switch {
		case m.asm.running:
			return "Assessing…"
		case m.asm.result == nil:
			return "Next: discover servers first (shift+tab), then come back."
		default:
			return "Next: press p to plan the move · ↑/↓ blockers and fixes · f filters · e exports"
		}
	case planScreen:
		switch {
		case m.plan.busy && m.plan.summary == nil:
			return "Drafting…"
		case m.plan.summary == nil:
			return "Next: discover and assess servers first (shift+tab)."
		case m.plan.moving() == 0:
			return "Every server is held: space releases the selected one."
		default:
			return fmt.Sprintf("Next: press r to replicate %s into %s (they keep running).", plural(m.plan.moving(), "server", "servers"), m.targetName())
		}
	case replicationScreen:
		g := &m.mig
		switch {
		case g.running && g.stopping:
			return "Stopping… each server stops where it stands."
		case g.running:
			return "Copying while the servers keep running… x stops (the next run resumes)."
		case len(g.servers) == 0:
			return "Next: draft a plan first (shift+tab)."
		case len(g.ready()) > 0:
			return fmt.Sprintf("Next: tab to Cutover: %s ready.", plural(len(g.ready()), "server is", "servers are"))
		default:
			return "Next: press r to copy the plan's servers until they are in sync."
		}
	case cutoverScreen:
		g := &m.mig
		switch {
		case g.running && g.kind == cutoverRun:
			return "Cutting over… x stops where it stands (the next run continues it)."
		case g.running && g.kind == testRun:
			return "Testing a copy in isolation while the source keeps running… x stops (the next run deletes the copy)."
		case len(g.ready()) > 0:
			return fmt.Sprintf("Next: press enter to cut over %s (asks first), or t to test-migrate one first.", plural(len(g.ready()), "server", "servers"))
		case g.count(face.Done) > 0:
			return "Migrated. q quits."
		default:
			return "Nothing in sync yet: replicate first (shift+tab)."
		}
	}
	return ""
}

// helpKeys lists the bindings that work in the current state, for the help
// bar.
func (m *model) helpKeys() []key.Binding {
	k := m.keys
	if m.dialog != nil {
		return m.dialog.keys(k)
	}
	var out []key.Binding
	switch m.screen {
	case sourcesScreen:
		out = []key.Binding{k.AddHost, k.Import, k.SaveHosts, k.Discover}
		if len(m.src.added) > 0 {
			out = append(out, k.DeleteHost)
		}
	case discoveryScreen:
		switch {
		case m.disc.running:
			out = []key.Binding{k.Stop}
		case len(m.disc.rows) > 0:
			out = []key.Binding{k.Start}
		}
		if m.disc.inv != nil && !m.disc.running {
			out = append([]key.Binding{k.Assess}, out...)
			out = append(out, k.SaveInventory)
		}
		if !m.disc.running && m.disc.failed() > 0 {
			out = append(out[:1], append([]key.Binding{k.Retry}, out[1:]...)...)
		}
	case assessmentScreen:
		if m.asm.result != nil {
			out = []key.Binding{k.Plan, k.Filter, k.Export}
		}
	case planScreen:
		if m.plan.summary != nil {
			out = []key.Binding{k.Replicate, k.Hold}
		}
		out = append(out, k.OpenPlan)
		if m.asm.result != nil {
			out = append(out, k.Redraft)
		}
	case replicationScreen:
		switch {
		case m.mig.running:
			out = []key.Binding{k.StopRun}
		case len(m.mig.servers) > 0:
			out = []key.Binding{k.StartRun}
		}
	case cutoverScreen:
		switch {
		case m.mig.running:
			out = []key.Binding{k.StopRun}
		case len(m.mig.ready()) > 0:
			out = []key.Binding{k.Cutover, k.TestRun}
		}
	}
	out = append(out, k.Up, k.Down, k.NextScreen, k.Quit)
	return out
}

// fit cuts or pads s to exactly h lines of at most w cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// fitMore is fit, with the last line saying more when s is cut.
func fitMore(s string, w, h int, more string) string {
	if strings.Count(s, "\n")+1 <= h {
		return fit(s, w, h)
	}
	return fit(s, w, h-1) + "\n" + fit(more, w, 1)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

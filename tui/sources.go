package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// sourcesState is the Sources screen: the hosts of an imported hosts file
// (kept as they are) and the hosts added here, until they are saved.
type sourcesState struct {
	base     string          // the hosts file imported or saved last; "" for none
	loaded   []face.HostSpec // base's hosts
	added    []face.HostSpec // entered here, not yet saved
	savePath string          // where s saves, and where d saves before discovering
	sel      int
}

func (s *sourcesState) all() []face.HostSpec {
	return append(append([]face.HostSpec(nil), s.loaded...), s.added...)
}

type hostsLoadedMsg struct {
	path  string
	specs []face.HostSpec
	err   error
}

type hostsCheckedMsg struct {
	specs []face.HostSpec
	err   error
}

type hostsSavedMsg struct {
	path         string
	err          error
	thenDiscover bool
}

func loadHosts(eng Engine, path string) tea.Cmd {
	return func() tea.Msg {
		specs, err := eng.LoadHosts(path)
		return hostsLoadedMsg{path: path, specs: specs, err: err}
	}
}

func (m *model) sourcesKey(msg tea.KeyPressMsg) tea.Cmd {
	k, s := m.keys, &m.src
	n := len(s.loaded) + len(s.added)
	switch {
	case key.Matches(msg, k.Up):
		s.sel = max(0, s.sel-1)
	case key.Matches(msg, k.Down):
		s.sel = min(max(0, n-1), s.sel+1)
	case key.Matches(msg, k.AddHost):
		m.dialog = newHostForm(m.width)
	case key.Matches(msg, k.Import):
		m.dialog = newPrompt("Import a hosts file", "The YAML file 'shift discover --hosts' reads. Its hosts replace the imported ones; hosts added here stay.",
			s.base, m.width, func(m *model, path string) tea.Cmd { return loadHosts(m.eng, path) })
	case key.Matches(msg, k.SaveHosts):
		if n == 0 {
			m.setStatus(true, "nothing to save: add a host first (a)")
			return nil
		}
		m.dialog = newPrompt("Save the hosts file", "Secrets stay references (env:NAME, file:PATH); the file holds none.",
			s.savePath, m.width, func(m *model, path string) tea.Cmd { return m.saveHosts(path, false) })
	case key.Matches(msg, k.DeleteHost):
		i := s.sel - len(s.loaded)
		if i < 0 || i >= len(s.added) {
			m.setStatus(true, "only hosts added here can be removed; edit the hosts file for the others")
			return nil
		}
		name := s.added[i].Name
		s.added = append(s.added[:i], s.added[i+1:]...)
		s.sel = max(0, min(s.sel, n-2))
		m.setStatus(false, "removed %s", name)
	case key.Matches(msg, k.Discover):
		return m.discoverFromSources()
	}
	return nil
}

func (m *model) saveHosts(path string, thenDiscover bool) tea.Cmd {
	eng, base, added := m.eng, m.src.base, append([]face.HostSpec(nil), m.src.added...)
	return func() tea.Msg {
		return hostsSavedMsg{path: path, err: eng.SaveHosts(path, base, added), thenDiscover: thenDiscover}
	}
}

// discoverFromSources moves to Discovery and starts it, saving added hosts
// first: discovery reads a hosts file.
func (m *model) discoverFromSources() tea.Cmd {
	if len(m.src.loaded)+len(m.src.added) == 0 {
		m.setStatus(true, "no servers yet: press a to add one, or i to import a hosts file")
		return nil
	}
	if len(m.src.added) > 0 {
		return m.saveHosts(m.src.savePath, true)
	}
	m.screen = discoveryScreen
	return m.startDiscovery(nil)
}

func (m *model) hostsLoaded(msg hostsLoadedMsg) tea.Cmd {
	if msg.err != nil {
		if p, ok := m.dialog.(*prompt); ok {
			p.err, p.busy = msg.err.Error(), false
		} else {
			m.setStatus(true, "%v", msg.err)
		}
		return nil
	}
	m.src.base, m.src.loaded, m.src.savePath = msg.path, msg.specs, msg.path
	m.src.sel = 0
	m.disc.reset(m.src.all())
	if _, ok := m.dialog.(*prompt); ok { // imported by the user; at start, the hint says more
		m.dialog = nil
		m.setStatus(false, "%s loaded from %s", plural(len(msg.specs), "server", "servers"), msg.path)
	}
	return nil
}

func (m *model) hostsSaved(msg hostsSavedMsg) tea.Cmd {
	if msg.err != nil {
		if p, ok := m.dialog.(*prompt); ok {
			p.err, p.busy = msg.err.Error(), false
		} else {
			m.setStatus(true, "%v (press s to save elsewhere)", msg.err)
		}
		return nil
	}
	m.dialog = nil
	for i := range m.src.added {
		m.src.added[i].Origin = fmt.Sprintf("%s (new)", lastElem(msg.path))
	}
	m.src.loaded = append(m.src.loaded, m.src.added...)
	m.src.added = nil
	m.src.base, m.src.savePath = msg.path, msg.path
	m.disc.reset(m.src.all())
	m.setStatus(false, "hosts file saved to %s", msg.path)
	if msg.thenDiscover {
		m.screen = discoveryScreen
		return m.startDiscovery(nil)
	}
	return nil
}

func (m *model) hostsChecked(msg hostsCheckedMsg) tea.Cmd {
	f, ok := m.dialog.(*hostForm)
	if !ok {
		return nil
	}
	f.busy = false
	if msg.err != nil {
		f.err = msg.err.Error()
		return nil
	}
	m.dialog = nil
	m.src.added = append(m.src.added, msg.specs...)
	m.src.sel = len(m.src.loaded) + len(m.src.added) - 1
	m.disc.reset(m.src.all())
	if len(msg.specs) == 1 {
		m.setStatus(false, "added %s; press d to discover, or s to save the hosts file", msg.specs[0].Name)
	} else {
		m.setStatus(false, "added %d hosts (%s … %s); press d to discover", len(msg.specs), msg.specs[0].Name, msg.specs[len(msg.specs)-1].Name)
	}
	return nil
}

func lastElem(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (m *model) sourcesView(w, h int) string {
	s := &m.src
	all := s.all()
	title := "Servers to discover"
	if s.base != "" {
		title += m.st.Muted.Render("  from " + s.base)
	}
	if len(s.added) > 0 {
		title += m.st.Warn.Render(fmt.Sprintf("  %d not saved", len(s.added)))
	}
	if len(all) == 0 {
		return m.st.Title.Render(title) + "\n\n" +
			"No servers yet. shift reaches Linux servers over SSH and Windows servers over WinRM.\n\n" +
			"  a  add a server, or a range of addresses (10.0.0.0/28, 10.0.0.5-20)\n" +
			"  i  import a hosts file (the one 'shift discover --hosts' reads)\n\n" +
			m.st.Muted.Render("Credentials are references, never values: env:NAME or file:PATH.")
	}
	cols := []column{
		{title: "NAME", width: 14, flex: true},
		{title: "ADDRESS", width: 15, flex: true},
		{title: "TRANSPORT", width: 9},
		{title: "USER", width: 12, drop: 2},
		{title: "CREDENTIAL", width: 14, flex: true, drop: 1},
		{title: "FROM", width: 14, drop: 3},
	}
	rows := make([][]cell, len(all))
	for i, hs := range all {
		addr := hs.Address
		if hs.Port != 0 {
			addr = fmt.Sprintf("%s:%d", hs.Address, hs.Port)
		}
		cred := hs.Key
		if cred == "" {
			cred = hs.Password
		}
		if cred == "" && hs.Group != "" {
			cred = "group " + hs.Group
		}
		from := hs.Origin
		st := lipgloss.NewStyle()
		if from == "" {
			from, st = "added, not saved", m.st.Warn
		}
		rows[i] = []cell{plain(hs.Name), plain(addr), plain(dash(hs.Transport)), plain(dash(hs.User)),
			cell{text: dash(cred), style: m.st.Muted}, cell{text: from, style: st}}
	}
	return m.st.Title.Render(title) + "\n\n" + table(m.st, cols, rows, s.sel, w, h-2)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// hostForm adds a host or an address range.
type hostForm struct {
	fields []formField
	focus  int
	err    string // the engine's verdict on the whole entry
	busy   bool
}

type formField struct {
	label, help string
	input       textinput.Model
	err         string
}

const (
	fName = iota
	fAddress
	fTransport
	fUser
	fPort
	fPassword
	fKey
)

func newHostForm(width int) *hostForm {
	mk := func(label, help, placeholder, value string) formField {
		in := textinput.New()
		in.Prompt = ""
		in.Placeholder = placeholder
		in.SetValue(value)
		return formField{label: label, help: help, input: in}
	}
	f := &hostForm{fields: []formField{
		fName:      mk("Name", "for a range, the prefix of every name", "web01", ""),
		fAddress:   mk("Address", "host name, IP, CIDR or a-b range", "10.0.0.5", ""),
		fTransport: mk("Transport", "ssh (Linux) or winrm (Windows)", "ssh", "ssh"),
		fUser:      mk("User", "login user", "shift", ""),
		fPort:      mk("Port", "empty: 22 for ssh, 5985/5986 for winrm", "", ""),
		fPassword:  mk("Password", "env:NAME or file:PATH", "env:WIN_PASSWORD", ""),
		fKey:       mk("SSH key", "file:PATH of a private key", "file:~/.ssh/id_ed25519", ""),
	}}
	f.fields[0].input.Focus()
	f.resize(width)
	return f
}

func (f *hostForm) resize(width int) {
	for i := range f.fields {
		f.fields[i].input.SetWidth(max(10, min(30, dialogWidth(width)-14)))
	}
}

func (f *hostForm) move(d int) tea.Cmd {
	f.fields[f.focus].input.Blur()
	f.focus = (f.focus + d + len(f.fields)) % len(f.fields)
	return f.fields[f.focus].input.Focus()
}

func (f *hostForm) update(m *model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Cancel):
			m.dialog = nil
			return nil
		case key.Matches(k, m.keys.NextField):
			return f.move(1)
		case key.Matches(k, m.keys.PrevField):
			return f.move(-1)
		case key.Matches(k, m.keys.Submit):
			if f.busy {
				return nil
			}
			specs, ok := f.specs()
			if !ok {
				f.err = "fix the fields marked above"
				return nil
			}
			f.err, f.busy = "", true
			eng, base := m.eng, m.src.base
			all := append(append([]face.HostSpec(nil), m.src.added...), specs...)
			return func() tea.Msg { return hostsCheckedMsg{specs: specs, err: eng.CheckHosts(base, all)} }
		}
	}
	var cmd tea.Cmd
	f.fields[f.focus].input, cmd = f.fields[f.focus].input.Update(msg)
	return cmd
}

// specs checks each field and returns the hosts the form describes: one, or
// one per address of a range. The engine checks the rest (names, duplicates,
// credentials per transport).
func (f *hostForm) specs() ([]face.HostSpec, bool) {
	v := func(i int) string { return strings.TrimSpace(f.fields[i].input.Value()) }
	for i := range f.fields {
		f.fields[i].err = ""
	}
	ok := true
	bad := func(i int, format string, args ...any) {
		f.fields[i].err = fmt.Sprintf(format, args...)
		ok = false
	}
	if v(fName) == "" {
		bad(fName, "a name is needed")
	}
	if v(fAddress) == "" {
		bad(fAddress, "an address is needed")
	}
	tr := strings.ToLower(v(fTransport))
	if tr != "ssh" && tr != "winrm" {
		bad(fTransport, "ssh or winrm")
	}
	if v(fUser) == "" {
		bad(fUser, "a user is needed")
	}
	port := 0
	if p := v(fPort); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			bad(fPort, "a number from 1 to 65535")
		}
		port = n
	}
	for _, i := range []int{fPassword, fKey} {
		if r := v(i); r != "" && !strings.HasPrefix(r, "env:") && !strings.HasPrefix(r, "file:") {
			bad(i, "a reference: env:NAME or file:PATH, never the secret itself")
		}
	}
	if tr == "winrm" && v(fKey) != "" {
		bad(fKey, "WinRM logs in with a password, not a key")
	}
	addrs, isRange, err := face.ExpandRange(v(fAddress))
	if err != nil {
		bad(fAddress, "%v", err)
	}
	if !ok {
		return nil, false
	}
	base := face.HostSpec{Name: v(fName), Address: v(fAddress), Transport: tr, User: v(fUser), Port: port,
		Password: v(fPassword), Key: v(fKey)}
	if !isRange {
		return []face.HostSpec{base}, true
	}
	out := make([]face.HostSpec, len(addrs))
	for i, a := range addrs {
		s := base
		s.Name, s.Address = face.RangeName(base.Name, a), a.String()
		out[i] = s
	}
	return out, true
}

func (f *hostForm) view(m *model, width int) string {
	w := dialogWidth(width)
	lines := []string{m.st.Title.Render("Add a server or an address range"), ""}
	for i, fl := range f.fields {
		label := m.st.Label
		if i == f.focus {
			label = m.st.LabelActive
		}
		line := label.Render(fmt.Sprintf("%-10s", fl.label)) + " " + fl.input.View()
		lines = append(lines, line)
		indent := lipgloss.NewStyle().Width(w - 11).MarginLeft(11)
		switch {
		case fl.err != "":
			lines = append(lines, indent.Render(m.st.Error.Render(fl.err)))
		case i == f.focus:
			lines = append(lines, indent.Render(m.st.Muted.Render(fl.help)))
		}
	}
	if f.err != "" {
		lines = append(lines, "", lipgloss.NewStyle().Width(w).Render(m.st.Error.Render(f.err)))
	}
	if f.busy {
		lines = append(lines, "", m.st.Muted.Render("checking…"))
	}
	return m.st.Dialog.Width(w + 4).Render(strings.Join(lines, "\n"))
}

func (f *hostForm) keys(k keyMap) []key.Binding {
	return []key.Binding{k.NextField, k.PrevField, k.Submit, k.Cancel}
}

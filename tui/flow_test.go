package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
)

// TestAddHostFlow adds a host and a range through the form, with the inline
// errors a user meets on the way, then saves the hosts file.
func TestAddHostFlow(t *testing.T) {
	m := newTestModel(t, 80, 24, false)
	press(m, "a")
	f, ok := m.dialog.(*hostForm)
	if !ok {
		t.Fatalf("a opened %T, want the host form", m.dialog)
	}
	// Empty: every required field says so, nothing is added.
	exec(m, press(m, "enter"))
	if f.fields[fName].err == "" || f.fields[fAddress].err == "" || f.fields[fUser].err == "" || len(m.src.added) != 0 {
		t.Fatalf("an empty form was not refused field by field: %+v", f.fields)
	}
	typeText(m, "web")
	press(m, "tab")
	typeText(m, "10.0.0.5-7")
	press(m, "tab", "tab")
	typeText(m, "shift")
	// No credential: the engine refuses it and says what to set.
	exec(m, press(m, "enter"))
	if !strings.Contains(f.err, "no SSH credential") || len(m.src.added) != 0 {
		t.Fatalf("form error %q, added %d", f.err, len(m.src.added))
	}
	if !strings.Contains(plainText(m), "no SSH credential") {
		t.Errorf("the engine's error is not shown in the form:\n%s", plainText(m))
	}
	press(m, "tab", "tab") // Port, Password
	typeText(m, "hunter2")
	exec(m, press(m, "enter"))
	if !strings.Contains(f.fields[fPassword].err, "never the secret itself") {
		t.Fatalf("a literal password was not refused: %q", f.fields[fPassword].err)
	}
	for range len("hunter2") {
		m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	press(m, "tab")
	typeText(m, "file:~/.ssh/id_ed25519")
	exec(m, press(m, "enter"))
	if m.dialog != nil {
		t.Fatalf("the form stayed open: %q %+v", f.err, f.fields)
	}
	if len(m.src.added) != 3 || m.src.added[0].Name != "web-10-0-0-5" || m.src.added[2].Address != "10.0.0.7" {
		t.Fatalf("added %+v", m.src.added)
	}
	if s := plainText(m); !strings.Contains(s, "web-10-0-0-6") || !strings.Contains(s, "3 not saved") {
		t.Errorf("the Sources table does not show the new hosts:\n%s", s)
	}

	// x removes an added host.
	press(m, "x")
	if len(m.src.added) != 2 {
		t.Fatalf("x left %d hosts", len(m.src.added))
	}

	// Quitting with unsaved hosts asks first.
	press(m, "q")
	if _, ok := m.dialog.(*confirm); !ok {
		t.Fatalf("q with unsaved hosts did not ask: %T", m.dialog)
	}
	press(m, "n")

	// s saves where the prompt says; the file is one discovery reads.
	path := filepath.Join(t.TempDir(), "hosts.yaml")
	press(m, "s")
	m.dialog.(*prompt).input.SetValue(path)
	exec(m, press(m, "enter"))
	if m.dialog != nil || len(m.src.added) != 0 || m.src.base != path {
		t.Fatalf("after save: dialog %T, added %d, base %q", m.dialog, len(m.src.added), m.src.base)
	}
	specs, err := m.eng.LoadHosts(path)
	if err != nil || len(specs) != 2 {
		t.Fatalf("saved file: %v, %+v", err, specs)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "hunter2") {
		t.Errorf("the hosts file holds the typed secret:\n%s", b)
	}
	if len(m.disc.rows) != 2 {
		t.Errorf("discovery lists %d hosts, want 2", len(m.disc.rows))
	}
}

// TestImportErrorStaysInPrompt imports a file that does not parse: the error
// names the file and line, and the prompt stays open.
func TestImportErrorStaysInPrompt(t *testing.T) {
	m := newTestModel(t, 120, 40, false)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("hosts:\n  - name: db01\n    transport: winrm\n"), 0o600)
	press(m, "i")
	m.dialog.(*prompt).input.SetValue(bad)
	exec(m, press(m, "enter"))
	p, ok := m.dialog.(*prompt)
	if !ok || !strings.Contains(p.err, "bad.yaml") || !strings.Contains(p.err, "no address") {
		t.Fatalf("dialog %T, error %q", m.dialog, p.err)
	}
	press(m, "esc")
	if m.dialog != nil {
		t.Fatal("esc did not close the prompt")
	}
}

// TestDiscoveryFlow starts discovery, ignores a stale run's events, re-runs
// the failed host and merges its result.
func TestDiscoveryFlow(t *testing.T) {
	m := labModel(t, 120, 40)
	discovered(t, m)
	if m.disc.running || m.disc.inv == nil || m.disc.failed() != 1 {
		t.Fatalf("after the run: running %v, failed %d", m.disc.running, m.disc.failed())
	}
	first := m.disc.tag
	if s := plainText(m); !strings.Contains(s, "4 of 4 done") || !strings.Contains(s, "press a to assess") {
		t.Errorf("the done view lacks the summary or the next step:\n%s", s)
	}

	// r re-runs only the failed host.
	press(m, "r")
	if !m.disc.running || m.disc.tag == first || m.disc.row("ws2016-badpass").state != rowPending || m.disc.row("local").state != rowOK {
		t.Fatalf("r: running %v, rows %+v", m.disc.running, m.disc.rows)
	}
	// An event of the old run changes nothing.
	m.Update(eventMsg{first, face.HostDone{ID: 1, Host: badpass()}})
	if m.disc.row("ws2016-badpass").state != rowPending {
		t.Fatal("a stale run's event was applied")
	}
	fixed := winHost("ws2016-badpass", "Microsoft Windows Server 2016 Standard", 4, 8)
	inv := inventory.New("t", clock)
	inv.Hosts = []inventory.Host{fixed}
	m.Update(eventMsg{m.disc.tag, face.DiscoveryDone{ID: 3, Inventory: inv, Took: time.Second}})
	if m.disc.failed() != 0 || len(m.disc.inv.Hosts) != 4 || m.disc.inv.Host("ws2016-badpass").OS.Name == "" {
		t.Fatalf("merge: failed %d, hosts %d", m.disc.failed(), len(m.disc.inv.Hosts))
	}

	// The engine cannot start: the error is shown, nothing runs.
	press(m, "enter")
	m.Update(eventMsg{m.disc.tag, face.DiscoveryDone{ID: 4, Err: os.ErrNotExist}})
	if m.disc.running || !m.statusBad || !strings.Contains(m.status, "did not start") {
		t.Errorf("start error: running %v, status %q", m.disc.running, m.status)
	}
}

// TestQuitWhileRunning asks, cancels the run and quits when its Done event
// arrives.
func TestQuitWhileRunning(t *testing.T) {
	m := labModel(t, 80, 24)
	press(m, "d")
	press(m, "q")
	if _, ok := m.dialog.(*confirm); !ok {
		t.Fatalf("q while discovering did not ask: %T", m.dialog)
	}
	cmd := press(m, "y")
	if !m.quitting || cmd == nil {
		t.Fatal("y did not start quitting")
	}
	_, cmd = m.Update(eventMsg{m.disc.tag, face.DiscoveryDone{ID: 1, Inventory: inventory.New("t", clock), Canceled: true}})
	if cmd == nil {
		t.Fatal("no command after the run ended")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("the wizard did not quit once the run ended")
	}
}

// TestAssessmentFlow filters and selects servers.
func TestAssessmentFlow(t *testing.T) {
	m := labModel(t, 120, 40)
	discovered(t, m)
	assessed(t, m)
	if n := len(m.asm.visible()); n != 4 {
		t.Fatalf("%d servers shown, want 4", n)
	}
	press(m, "f")
	if v := m.asm.visible(); len(v) != 1 || v[0].Host != "ws2019-sql2019-sp2019" {
		t.Fatalf("ready filter: %+v", v)
	}
	press(m, "f", "f")
	if v := m.asm.visible(); len(v) != 2 {
		t.Fatalf("not-ready filter shows %d", len(v))
	}
	if s := plainText(m); !strings.Contains(s, "fix: upgrade in place") {
		t.Errorf("the detail pane lacks the fix:\n%s", s)
	}
	// Going back and forth does not assess again while the inventory is the same.
	press(m, "shift+tab", "tab")
	if m.asm.running {
		t.Error("an unchanged inventory was assessed again")
	}
	// Export without an assessor (the plain engine): the error stays in the prompt.
	press(m, "e")
	exec(m, press(m, "enter"))
	if p, ok := m.dialog.(*prompt); !ok || !strings.Contains(p.err, "not available") {
		t.Fatalf("export error not shown: %T", m.dialog)
	}
}

// TestTinyTerminal asks for more room instead of drawing a broken layout.
func TestTinyTerminal(t *testing.T) {
	m := newTestModel(t, 50, 10, false)
	if s := plainText(m); !strings.Contains(s, "at least 60×16") {
		t.Errorf("tiny terminal:\n%s", s)
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if s := plainText(m); !strings.Contains(s, "1 Sources") {
		t.Errorf("after resize:\n%s", s)
	}
}

// TestPlainProfile checks that a terminal without colour gets the same text
// without escape sequences.
func TestPlainProfile(t *testing.T) {
	m := labModel(t, 80, 24)
	discovered(t, m)
	out := screenWith(m, colorprofile.NoTTY)
	if strings.Contains(out, "\x1b[") {
		t.Error("escape sequences on a terminal without colour")
	}
	if out != plainText(m) {
		t.Error("the plain view's text differs from the coloured one's")
	}
}

func TestFitMore(t *testing.T) {
	if got := fitMore("a\nb\nc", 10, 2, "more"); got != "a\nmore" {
		t.Errorf("cut: %q", got)
	}
	if got := fitMore("a\nb", 10, 3, "more"); got != "a\nb\n" {
		t.Errorf("fits: %q", got)
	}
}

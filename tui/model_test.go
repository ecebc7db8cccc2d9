package tui

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// clock is the fixed time of every test: views show elapsed times.
var clock = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// newTestModel returns a wizard over the real engine (its file methods need
// nothing else), sized w×h, with a fixed clock.
func newTestModel(t *testing.T, w, h int, lab bool) *model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The ledger, where the wizard asks how a plan's servers stand, lives
	// in the test's own state directory.
	eng := &migrate.Engine{Migration: migrate.MigrationSetup{StateDir: t.TempDir()}}
	opts := Options{Engine: eng, OutDir: "out", Lab: lab, Now: func() time.Time { return clock }}
	if lab {
		opts.Target = "local cloud (QEMU)"
	}
	m := newModel(ctx, opts, newBridge())
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func press(m *model, keys ...string) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// typeText types s into the focused input.
func typeText(m *model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// exec runs cmd and feeds its messages back into the model, like the
// program would, except spinner ticks and run starts (the bridge is not
// running in unit tests: events are fed directly).
func exec(m *model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			exec(m, c)
		}
	default:
		_, next := m.Update(msg)
		exec(m, next)
	}
}

// screenText is the view at the ANSI profile (the golden files' profile).
func screenText(m *model) string {
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.ANSI}
	w.WriteString(m.View().Content)
	return buf.String()
}

// plainText is the view without any styling.
func plainText(m *model) string { return ansi.Strip(m.View().Content) }

func golden(t *testing.T, name string, m *model) {
	t.Helper()
	got := screenText(m)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; plain view:\n%s\n(go test -run %s -update rewrites it)", name, plainText(m), t.Name())
	}
	w, h := m.width, m.height
	lines := strings.Split(plainText(m), "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Errorf("%s: line %d is %d cells wide, more than %d: %q", name, i+1, ansi.StringWidth(l), w, l)
		}
	}
}

var labSpecs = []face.HostSpec{
	{Name: "ws2012r2-sql2014", Address: "127.0.0.1", Port: 40001, Transport: "winrm", User: "shift", Password: "file:/lab/ws2012r2-sql2014.password", Group: "lab-windows", Origin: "hosts.yaml:12"},
	{Name: "ws2016-badpass", Address: "127.0.0.1", Port: 40002, Transport: "winrm", User: "shift", Password: "file:/lab/ws2016-badpass.password", Group: "lab-windows", Origin: "hosts.yaml:21"},
	{Name: "ws2019-sql2019-sp2019", Address: "127.0.0.1", Port: 40003, Transport: "winrm", User: "shift", Password: "file:/lab/ws2019.password", Group: "lab-windows", Origin: "hosts.yaml:30"},
	{Name: "local", Address: "127.0.0.1", Port: 40004, Transport: "ssh", User: "root", Key: "file:/lab/sshd/client_key", Origin: "hosts.yaml:48"},
}

func labModel(t *testing.T, w, h int) *model {
	m := newTestModel(t, w, h, true)
	m.Update(hostsLoadedMsg{path: "/lab/hosts.yaml", specs: labSpecs})
	return m
}

func winHost(name, os string, cpus int, mem uint64) inventory.Host {
	return inventory.Host{Name: name, Address: "127.0.0.1", Transport: "winrm", ProbeSeconds: 0.4,
		OS: inventory.OS{Family: "windows", Name: os}, CPU: inventory.CPU{Logical: cpus},
		Memory: inventory.Memory{TotalBytes: mem << 30}, Disks: []inventory.Disk{{Name: "Disk 0", SizeBytes: 127 << 30}}}
}

func badpass() inventory.Host {
	return inventory.Host{Name: "ws2016-badpass", Address: "127.0.0.1", Transport: "winrm", ProbeSeconds: 0.1,
		Errors: []inventory.Error{{Step: "winrm auth", Kind: inventory.ErrAuth,
			Message: "host ws2016-badpass: winrm auth: the server refused the credentials (HTTP 401)",
			Hint:    "check user and password: reference of ws2016-badpass; for a domain account use DOMAIN\\user"}}}
}

// discovered runs the discovery flow with events fed straight into Update.
func discovered(t *testing.T, m *model) {
	t.Helper()
	press(m, "d")
	if !m.disc.running || m.screen != discoveryScreen {
		t.Fatalf("d did not start discovery: running=%v screen=%v", m.disc.running, m.screen)
	}
	tag := m.disc.tag
	hosts := []inventory.Host{
		winHost("ws2012r2-sql2014", "Microsoft Windows Server 2012 R2 Standard", 16, 64),
		badpass(),
		winHost("ws2019-sql2019-sp2019", "Microsoft Windows Server 2019 Datacenter", 8, 32),
		{Name: "local", Address: "127.0.0.1", Transport: "ssh", ProbeSeconds: 0.8,
			OS: inventory.OS{Family: "linux", Name: "Debian GNU/Linux 12 (bookworm)"}, CPU: inventory.CPU{Logical: 2},
			Memory: inventory.Memory{TotalBytes: 8 << 30},
			Errors: []inventory.Error{{Step: "services", Kind: inventory.ErrUnsupported, Message: "systemd is not running"}}},
	}
	for i, h := range hosts {
		m.Update(eventMsg{tag, face.HostStarted{ID: 1, Host: h.Name, At: clock}})
		m.Update(eventMsg{tag, face.HostDone{ID: 1, Host: h, Done: i + 1, Total: len(hosts)}})
	}
	inv := inventory.New("shift test", clock)
	inv.Hosts = hosts
	inv.Sort()
	m.Update(eventMsg{tag, face.DiscoveryDone{ID: 1, Inventory: inv, Took: 1200 * time.Millisecond}})
}

var testAssessment = &face.Assessment{Currency: "USD", MonthlyTotal: 1618.4, Servers: []face.Verdict{
	{Host: "local", OS: "Debian GNU/Linux 12 (bookworm)", Readiness: face.Conditions, Size: "Standard_D2s_v5", MonthlyCost: 83.22,
		Findings: []face.Finding{{Rule: "linux.hyperv-drivers", Severity: face.Condition, Message: "the initramfs lacks hv_storvsc and hv_netvsc",
			Fix: "echo -e 'hv_vmbus\\nhv_storvsc\\nhv_netvsc' >> /etc/initramfs-tools/modules && update-initramfs -u"}}},
	{Host: "ws2012r2-sql2014", OS: "Microsoft Windows Server 2012 R2 Standard", Readiness: face.NotReady, Size: "Standard_E16s_v5", MonthlyCost: 1124.2,
		Findings: []face.Finding{{Rule: "windows.end-of-support", Severity: face.Blocker, Message: "Windows Server 2012 R2 left Extended Support on 2023-10-10",
			Fix: "upgrade in place before moving, or buy Extended Security Updates"}}},
	{Host: "ws2016-badpass", Readiness: face.Unknown, Findings: []face.Finding{{Rule: "discovery", Severity: face.Blocker, Message: "discovery could not log in (auth)", Fix: "fix the credentials and re-run discovery"}}},
	{Host: "ws2019-sql2019-sp2019", OS: "Microsoft Windows Server 2019 Datacenter", Readiness: face.Ready, Size: "Standard_D8s_v5", MonthlyCost: 410.98},
}}

func assessed(t *testing.T, m *model) {
	t.Helper()
	press(m, "a")
	if m.screen != assessmentScreen || !m.asm.running {
		t.Fatalf("a did not start the assessment: screen=%v running=%v", m.screen, m.asm.running)
	}
	m.Update(eventMsg{m.asm.tag, face.AssessmentDone{ID: 2, Assessment: testAssessment}})
}

// TestGoldenViews renders every screen at 80×24 and 120×40 with the ANSI
// (16-colour) profile.
func TestGoldenViews(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		sz := func(name string) string { return name + "-" + itoa(size.w) + "x" + itoa(size.h) }
		t.Run(sz("sources"), func(t *testing.T) {
			golden(t, sz("sources-empty"), newTestModel(t, size.w, size.h, false))
			m := labModel(t, size.w, size.h)
			golden(t, sz("sources-lab"), m)
			press(m, "a")
			typeText(m, "web")
			press(m, "tab")
			typeText(m, "10.0.0.5-300")
			press(m, "enter")
			golden(t, sz("sources-form-error"), m)
		})
		t.Run(sz("discovery"), func(t *testing.T) {
			m := labModel(t, size.w, size.h)
			press(m, "d")
			m.Update(eventMsg{m.disc.tag, face.HostStarted{ID: 1, Host: "ws2012r2-sql2014", At: clock.Add(-3 * time.Second)}})
			m.Update(eventMsg{m.disc.tag, face.HostDone{ID: 1, Host: badpass(), Done: 1, Total: 4}})
			golden(t, sz("discovery-running"), m)
			press(m, "q")
			golden(t, sz("quit-confirm"), m)
			press(m, "n")

			m = labModel(t, size.w, size.h)
			discovered(t, m)
			press(m, "down")
			golden(t, sz("discovery-done"), m)
		})
		t.Run(sz("assessment"), func(t *testing.T) {
			m := labModel(t, size.w, size.h)
			discovered(t, m)
			assessed(t, m)
			press(m, "down")
			golden(t, sz("assessment"), m)
			press(m, "f", "f", "f")
			golden(t, sz("assessment-not-ready"), m)
			press(m, "e")
			golden(t, sz("assessment-export"), m)
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// screenWith is the view downsampled to profile p (0 is NoTTY: no styling).
func screenWith(m *model, p colorprofile.Profile) string {
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: p}
	w.WriteString(m.View().Content)
	return buf.String()
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a detached tmux session of a fixed size.
type tmuxSession struct {
	t    *testing.T
	sock string
	name string
}

// needTmux returns the tmux binary; without it the test skips, or fails
// when CI=true.
func needTmux(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tmux is not installed (CI=true): the wizard test needs it; add tmux to make deps")
		}
		t.Skip("tmux is not installed")
	}
	return p
}

func startTmux(t *testing.T, w, h int, command string) *tmuxSession {
	t.Helper()
	needTmux(t)
	s := &tmuxSession{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), name: "shift"}
	s.tmux("new-session", "-d", "-s", s.name, "-x", itoa(w), "-y", itoa(h), command)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

func (s *tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// waitFor polls the screen until every want is on it.
func (s *tmuxSession) waitFor(timeout time.Duration, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		scr = s.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(scr, w)
		}
		if ok {
			return scr
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("after %s the screen lacks %q:\n%s", timeout, want, scr)
	return ""
}

// row returns the table row of host: the line whose second field is its name.
func row(screen, host string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == host {
			return l
		}
	}
	return ""
}

// detailHead returns the first line under the dashed rule that separates a
// table from the selected row's detail pane.
func detailHead(screen string) string {
	_, after, ok := strings.Cut(screen, "╌\n")
	if !ok {
		return ""
	}
	head, _, _ := strings.Cut(after, "\n")
	return strings.TrimSpace(head)
}

// TestWizardOnLab drives the real binary through sources, discovery and
// assessment on the built-in lab, as a user would in a 120×40 terminal.
func TestWizardOnLab(t *testing.T) {
	needTmux(t)
	if testing.Short() {
		t.Skip("builds the binary and runs the lab")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "shift")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "rc")
	stderr := filepath.Join(dir, "stderr")
	s := startTmux(t, 120, 40, bin+" --lab 2>"+stderr+"; echo $? >"+rc+"; sleep 60")

	// Sources: the lab's hosts and the next step.
	scr := s.waitFor(30*time.Second, "1 Sources", "ws2016-badpass", "local", "Next: press d to discover the 5 lab servers")
	if !strings.Contains(scr, "target: local cloud") {
		t.Errorf("the header does not name the target:\n%s", scr)
	}

	// Discovery: every host done, the bad password an auth error.
	s.keys("d")
	scr = s.waitFor(60*time.Second, "5 of 5 done", "discovered 5 servers")
	for _, h := range []string{"ws2012r2-sql2014", "ws2019-sql2019-sp2019", "ws2022-bitlocker", "local"} {
		if l := row(scr, h); !strings.Contains(l, "✓") || !strings.Contains(l, "ok") {
			t.Errorf("host %s is not done ok: %q\n%s", h, l, scr)
		}
	}
	if l := row(scr, "ws2016-badpass"); !strings.Contains(l, "✗") || !strings.Contains(l, "auth") {
		t.Errorf("ws2016-badpass does not show its auth error: %q\n%s", l, scr)
	}
	if !strings.Contains(scr, "Next: press a to assess") {
		t.Errorf("no hint for the next step:\n%s", scr)
	}
	// The detail pane shows the failure's hint.
	s.keys("Down")
	s.waitFor(5*time.Second, "✗ winrm", "hint:")

	// Assessment: a verdict per server, blockers and fixes, cost totals.
	s.keys("a")
	scr = s.waitFor(30*time.Second, "READINESS", "5 servers:", "ws2022-bitlocker", "/month")
	// Walk the table one key at a time, waiting for each move to render,
	// so the check never races the redraw.
	details := map[string]string{}
	for range 5 {
		scr := s.screen()
		head := detailHead(scr)
		host, _, _ := strings.Cut(head, " ")
		details[host] = scr
		s.keys("Down")
		if host == "ws2022-bitlocker" { // the last row
			break
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && detailHead(s.screen()) == head {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if d := details["ws2022-bitlocker"]; !strings.Contains(d, "BitLocker") || !strings.Contains(d, "Secure Boot") || strings.Count(d, "fix:") < 2 {
		t.Errorf("ws2022-bitlocker's detail lacks its BitLocker and Secure Boot blockers with fixes:\n%s", d)
	}
	if d := details["ws2016-badpass"]; !strings.Contains(d, "not ready") && !strings.Contains(d, "unknown") || !strings.Contains(d, "discovery/") || strings.Contains(d, "every rule passed") {
		t.Errorf("ws2016-badpass's detail does not say discovery failed:\n%s", d)
	}
	s.keys("f")
	s.waitFor(5*time.Second, "filter:")

	// Export the report through the prompt.
	report := filepath.Join(dir, "report.md")
	s.keys("e")
	s.waitFor(5*time.Second, "Export the assessment report")
	s.keys("C-u", report, "Enter")
	s.waitFor(10*time.Second, "report written to "+report)
	if st, err := os.Stat(report); err != nil || st.Size() == 0 {
		t.Errorf("the report was not written: %v", err)
	}

	// Quit: nothing runs, so at once; the lab stops with the wizard.
	s.keys("q")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(rc); err == nil {
			if got := strings.TrimSpace(string(b)); got != "0" {
				e, _ := os.ReadFile(stderr)
				t.Fatalf("shift --lab exited %s; stderr:\n%s", got, e)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("shift did not exit after q:\n%s", s.screen())
}

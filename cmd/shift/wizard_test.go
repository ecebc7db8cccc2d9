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

// lineOf returns the first line whose first field is host.
func lineOf(screen, host string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == host {
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

// buildShift builds the binary under test.
func buildShift(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shift")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// labRun is one start of 'shift --lab' in tmux.
type labRun struct {
	*tmuxSession
	rc, stderr string
}

// startLab starts 'shift --lab' in a w×h terminal with tmp as its
// temporary directory, where the lab keeps its state between starts.
func startLab(t *testing.T, bin, tmp string, w, h int) *labRun {
	t.Helper()
	dir := t.TempDir()
	r := &labRun{rc: filepath.Join(dir, "rc"), stderr: filepath.Join(dir, "stderr")}
	r.tmuxSession = startTmux(t, w, h, "TMPDIR="+tmp+" "+bin+" --lab 2>"+r.stderr+"; echo $? >"+r.rc+"; sleep 60")
	return r
}

// exited waits for the program to end and checks it exited 0.
func (r *labRun) exited(timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(r.rc); err == nil {
			if got := strings.TrimSpace(string(b)); got != "0" {
				e, _ := os.ReadFile(r.stderr)
				r.t.Fatalf("shift --lab exited %s; stderr:\n%s", got, e)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("shift did not exit:\n%s", r.screen())
}

// waitProgress waits for a disk's progress line with a rate and an ETA,
// and returns it.
func (r *labRun) waitProgress(timeout time.Duration) string {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		scr = r.screen()
		for _, l := range strings.Split(scr, "\n") {
			if strings.Contains(l, "local-disk.img") && strings.Contains(l, "MiB/s") && strings.Contains(l, "ETA") && strings.Contains(l, "%") {
				return l
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("no progress line with a rate and an ETA after %s:\n%s", timeout, scr)
	return ""
}

// TestWizardOnLab drives the real binary through sources, discovery,
// assessment, plan and replication on the built-in lab, as a user would in
// a 120×40 terminal: the lab's Linux host is copied into the local cloud
// until it is in sync.
func TestWizardOnLab(t *testing.T) {
	needTmux(t)
	if testing.Short() {
		t.Skip("builds the binary and runs the lab")
	}
	bin := buildShift(t)
	tmp := t.TempDir()
	s := startLab(t, bin, tmp, 120, 40)

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
	scr = s.waitFor(30*time.Second, "READINESS", "5 servers:", "ws2022-bitlocker", "/month", "Next: press p to plan")
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
	report := filepath.Join(t.TempDir(), "report.md")
	s.keys("e")
	s.waitFor(5*time.Second, "Export the assessment report")
	s.keys("C-u", report, "Enter")
	s.waitFor(10*time.Second, "report written to "+report)
	if st, err := os.Stat(report); err != nil || st.Size() == 0 {
		t.Errorf("the report was not written: %v", err)
	}

	// Plan: drafted from the assessment into the lab's directory; local
	// moves, copying the lab's disk image; the simulated hosts are held.
	s.keys("p")
	scr = s.waitFor(30*time.Second, "Plan", "waves.yaml", "1 to move, 4 held", "plan drafted to")
	if l := row(scr, "local"); !strings.Contains(l, "✓ yes") || !strings.Contains(l, "local-disk.img") {
		t.Errorf("local does not move with the lab's disk image: %q\n%s", l, scr)
	}
	if l := row(scr, "ws2019-sql2019-sp2019"); !strings.Contains(l, "held") {
		t.Errorf("a simulated Windows host moves: %q\n%s", l, scr)
	}
	plans, _ := filepath.Glob(filepath.Join(tmp, "shift-lab-*", "waves.yaml"))
	if len(plans) != 1 {
		t.Fatalf("no plan file in the lab's directory under %s: %v", tmp, plans)
	}
	if b, err := os.ReadFile(plans[0]); err != nil || !strings.Contains(string(b), "local-disk.img") {
		t.Errorf("the plan file does not name the disk image: %v\n%s", err, b)
	}

	// Replication: progress with a rate and an ETA, then in sync.
	s.keys("r")
	line := s.waitProgress(60 * time.Second)
	t.Logf("progress: %s", strings.TrimSpace(line))
	scr = s.waitFor(90*time.Second, "✓ in-sync", "1 server in sync after", "✓ full copy", "Next: tab to Cutover")
	if l := lineOf(scr, "local"); !strings.Contains(l, "✓ in-sync") {
		t.Errorf("local's line does not say in-sync: %q\n%s", l, scr)
	}
	disks, _ := filepath.Glob(filepath.Join(tmp, "shift-lab-*", "state", "disks", "*"))
	if len(disks) == 0 {
		t.Errorf("no target disk in the lab's local cloud under %s", tmp)
	}

	// Cutover: the screen names the ready server; nothing runs without
	// confirmation.
	s.keys("Tab")
	s.waitFor(5*time.Second, "Cutover", "ready: enter cuts over", "press enter to cut over 1 server")
	s.keys("Enter")
	s.waitFor(5*time.Second, "Cut over 1 server?", "final copy pass", "rolls back")
	s.keys("n")

	// Quit: nothing runs, so at once; the lab stops with the wizard.
	s.keys("q")
	s.exited(30 * time.Second)
}

// TestWizardResumeOnLab quits the real binary in the middle of a
// replication at 80×24 and checks that the next start offers to resume it,
// and that resuming finishes the copy without copying again what was done.
func TestWizardResumeOnLab(t *testing.T) {
	needTmux(t)
	if testing.Short() {
		t.Skip("builds the binary and runs the lab")
	}
	bin := buildShift(t)
	tmp := t.TempDir()
	s := startLab(t, bin, tmp, 80, 24)
	s.waitFor(30*time.Second, "Next: press d to discover")
	s.keys("d")
	s.waitFor(60*time.Second, "5 of 5 done")
	s.keys("a")
	s.waitFor(30*time.Second, "/month")
	s.keys("p")
	s.waitFor(30*time.Second, "plan drafted to", "local-disk.img")
	s.keys("r")
	s.waitProgress(60 * time.Second)
	s.keys("q")
	s.waitFor(5*time.Second, "Quit shift?", "Replication is running", "The next start offers to resume")
	s.keys("y")
	s.exited(90 * time.Second)
	if e, _ := os.ReadFile(s.stderr); !strings.Contains(string(e), "stay in") {
		t.Errorf("on exit, shift does not say where the lab's state stays:\n%s", e)
	}

	// The next start offers to resume, and resuming reaches in-sync.
	s = startLab(t, bin, tmp, 80, 24)
	scr := s.waitFor(30*time.Second, "Resume the migration of 1 server", "local", "stopped mid-way")
	if strings.Contains(scr, "in-sync: copy ready") {
		t.Fatalf("local was in sync before the quit, so nothing was stopped mid-way:\n%s", scr)
	}
	s.keys("y")
	scr = s.waitFor(90*time.Second, "✓ in-sync", "1 server in sync after")
	if !strings.Contains(scr, "resumed:") {
		t.Errorf("the copy did not resume where it stopped:\n%s", scr)
	}
	s.keys("q")
	s.exited(30 * time.Second)
}

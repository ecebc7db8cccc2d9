package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/sourcevm"
	"github.com/shift-migrate/shift/remote"
)

// event is one NDJSON line of shift migrate --json.
type event struct {
	Type    string `json:"type"`
	Host    string `json:"host"`
	From    string `json:"from"`
	To      string `json:"to"`
	Phase   string `json:"phase"`
	Step    string `json:"step"`
	Detail  string `json:"detail"`
	Error   string `json:"error"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Servers []struct {
		Host    string
		Phase   string
		Err     string
		Waiting string
		Passes  int
		Bytes   int64
	} `json:"servers"`
	Severity string `json:"severity"`
	Object   string `json:"object"`
	Message  string `json:"message"`
}

type run struct {
	code   int
	events []event
	stderr string
	raw    string
}

// String shows what a run did, without its progress lines.
func (r run) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit %d; stderr:\n%s\nevents:\n", r.code, r.stderr)
	for _, l := range strings.Split(r.raw, "\n") {
		if !strings.Contains(l, `"type":"progress"`) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func (r run) phases(host string) []string {
	var out []string
	for _, e := range r.events {
		if e.Type == "phase" && e.Host == host {
			out = append(out, e.To)
		}
	}
	return out
}

func (r run) summary(t *testing.T) event {
	t.Helper()
	for _, e := range r.events {
		if e.Type == "summary" {
			return e
		}
	}
	t.Fatalf("no summary event; stderr:\n%s", r.stderr)
	return event{}
}

func (r run) steps(host string) []event {
	var out []event
	for _, e := range r.events {
		if e.Type == "step" && e.Host == host {
			out = append(out, e)
		}
	}
	return out
}

// lab is one source VM, its hosts file and plan, and a shift binary.
type lab struct {
	t     *testing.T
	bin   string
	dir   string
	state string
	plan  string
	vm    *sourcevm.VM
}

func (l *lab) migrate(ctx context.Context, args ...string) run {
	l.t.Helper()
	cmd := exec.CommandContext(ctx, l.bin, append([]string{"migrate", "--plan", l.plan, "--json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stderr: stderr.String(), raw: stdout.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("shift migrate: %v", err)
	}
	r.events = parseEvents(l.t, stdout.Bytes())
	return r
}

func parseEvents(t *testing.T, b []byte) []event {
	t.Helper()
	var out []event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func buildShift(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shift")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/shift")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

const host = "shop01"

func newLab(t *testing.T) *lab {
	if testing.Short() {
		t.Skip("boots two VMs")
	}
	l := &lab{t: t, dir: t.TempDir()}
	l.state = filepath.Join(l.dir, "state")
	// The target VMs run daemonized: they go when the test ends.
	t.Cleanup(func() {
		tg, err := local.New(local.Options{Dir: l.state})
		if err != nil {
			t.Errorf("delete the target VMs: %v", err)
			return
		}
		vms, _ := tg.ListVMs(context.Background())
		for _, vm := range vms {
			if err := tg.DeleteVM(context.Background(), vm.Spec.Name); err != nil {
				t.Errorf("delete VM %s: %v", vm.Spec.Name, err)
			}
		}
	})
	l.bin = buildShift(t)
	l.vm = sourcevm.StartT(t, sourcevm.Options{})
	// The hosts file names a copy of the key: the image cache may be
	// pruned by another build while the test runs.
	key, err := os.ReadFile(l.vm.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(l.dir, "id_ed25519")
	write(t, keyPath, string(key))
	hosts := fmt.Sprintf(`version: 1
hosts:
  - name: %s
    address: 127.0.0.1
    port: %d
    transport: ssh
    user: root
    key: file:%s
    ssh:
      knownHosts: %s
`, host, l.vm.Port, keyPath, l.vm.KnownHostsFile)
	write(t, filepath.Join(l.dir, "hosts.yaml"), hosts)
	l.plan = filepath.Join(l.dir, "waves.yaml")
	write(t, l.plan, fmt.Sprintf(`version: 1
name: e2e
hosts: hosts.yaml
target:
  kind: local
  stateDir: %s
defaults:
  approval: manual
  # One pass is in sync: the final pass of the cutover carries what
  # changed after it (and keeps the test inside CI's time).
  delta: {syncBelow: 1G}
waves:
  - name: shop
    hosts:
      - name: %s
        size: {cpus: 1, memory: 1G}
        cutover:
          stopServices: [nginx, postgresql]
        checks:
          linux:
            databases:
              - engine: postgresql
                databases: [%s]
          http:
            - name: shop front page
              url: http://localhost/
              status: 200
              contains: "nginx on shop01"
`, l.state, host, sourcevm.Database))
	return l
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateDebianSource moves a running Debian server with PostgreSQL and
// nginx into the local cloud, as an operator would over a night: copy while
// it serves (killed once and resumed), rows written between passes, cutover
// with a final pass, boot, validation, and a rerun that finds nothing to do.
func TestMigrateDebianSource(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()

	// First run: killed -9 in the middle of the full copy.
	killed := l.killDuringCopy(ctx)
	t.Logf("killed the first run after %s of the copy", killed)

	// Second run: resumes the copy and stops in sync (approval is manual).
	r := l.migrate(ctx, "--until", "in-sync")
	if r.code != 0 {
		t.Fatalf("migrate --until in-sync: %s", r)
	}
	resumed := false
	for _, s := range r.steps(host) {
		resumed = resumed || strings.Contains(s.Detail, "resumed:")
	}
	if !resumed {
		t.Errorf("the second run did not resume the killed copy: steps %+v", r.steps(host))
	}
	if s := r.summary(t); len(s.Servers) != 1 || s.Servers[0].Phase != "in-sync" {
		t.Fatalf("after --until in-sync: %+v\n%s", s.Servers, r.stderr)
	}

	// The source keeps serving: orders arrive between passes.
	if _, err := l.vm.PSQL(ctx, sourcevm.Database, "INSERT INTO orders (customer, amount_cents) SELECT 'late-'||g, g FROM generate_series(1, 777) g"); err != nil {
		t.Fatal(err)
	}
	want := sourcevm.SeedRows + 777

	// Without approval the cutover waits, and the exit code says so.
	r = l.migrate(ctx)
	if r.code != 4 {
		t.Errorf("migrate without --yes: want exit 4 (waiting): %s", r)
	}
	if s := r.summary(t); len(s.Servers) != 1 || !strings.Contains(s.Servers[0].Waiting, "approval") {
		t.Errorf("without --yes the server does not wait for approval: %+v", s.Servers)
	}

	// A test migration while the source serves: killed while its copy
	// boots, then run again, which deletes that copy and tests anew.
	l.testMigration(ctx)

	// Cutover, killed in each of its steps: after the source's
	// fingerprint, after its services stopped, in the middle of the final
	// pass (services stopped, filesystems frozen), and while the booted
	// target is validated. Each run resumes after the last finished step.
	step := func(name string) func(event) bool {
		return func(e event) bool { return e.Type == "step" && e.Phase == "cutting-over" && e.Step == name }
	}
	l.killWhen(ctx, step("fingerprint source"), "--yes")
	l.killWhen(ctx, step("stop services"), "--yes")
	// The server is cutting over since the first kill: the first progress
	// is the final pass's.
	l.killWhen(ctx, func(e event) bool { return e.Type == "progress" }, "--yes")
	l.killWhen(ctx, step("boot"), "--yes")
	r = l.migrate(ctx, "--yes")
	if r.code != 0 {
		t.Fatalf("migrate --yes after a kill during the cutover: %s", r)
	}
	// The killed runs entered cutting-over; this one resumes it, with the
	// VM already booted: no step is done twice.
	got := strings.Join(r.phases(host), " ")
	if got != "validated done" {
		t.Errorf("phases of the resumed cutover run: %q, want \"validated done\"", got)
	}
	for _, s := range r.steps(host) {
		if s.Step == "fingerprint source" || s.Step == "stop services" || s.Step == "boot" {
			t.Errorf("the resumed cutover did step %q again: %s", s.Step, s.Detail)
		}
	}
	for _, e := range r.events {
		if e.Type == "finding" && e.Severity == "blocking" {
			t.Errorf("blocking finding: %+v", e)
		}
	}

	// The target holds every row and serves the page.
	tc := l.targetSSH(ctx)
	defer tc.Close()
	if n := psqlCount(ctx, t, tc); n != want {
		t.Errorf("the target holds %d orders, want %d", n, want)
	}
	page := runOn(ctx, t, tc, "curl -fsS http://localhost/")
	if !strings.Contains(page, "nginx on shop01") {
		t.Errorf("the target's nginx answers %q", page)
	}
	// The source's services stay stopped after the cutover.
	if out, _ := l.vm.Run(ctx, "systemctl is-active nginx postgresql || true"); strings.Contains(out, "active\n") && !strings.Contains(out, "inactive") {
		t.Errorf("the source's services still run after the cutover: %q", out)
	}

	// A rerun on the same state directory finds everything done.
	r = l.migrate(ctx, "--yes")
	if r.code != 0 {
		t.Fatalf("rerun: %s", r)
	}
	s := r.summary(t)
	if len(s.Servers) != 1 || s.Servers[0].Phase != "done" || s.Servers[0].Passes != 0 {
		t.Errorf("rerun: %+v, want done with no pass", s.Servers)
	}
}

// testMigration runs shift migrate --test --until test-migrated, killed
// once while the test copy boots, then to the end: the copy boots on an
// isolated network, validates with the source's rows differing (a note,
// not a blocker) and is deleted, leaving the replica and the source as
// they were.
func (l *lab) testMigration(ctx context.Context) {
	t := l.t
	l.killWhen(ctx, func(e event) bool { return e.Type == "step" && e.Step == "boot test copy" }, "--test", "--until", "test-migrated")
	if _, err := os.Stat(filepath.Join(l.state, "vms", host+"-test")); err != nil {
		t.Errorf("the killed test left no test VM behind to clean up: %v", err)
	}
	r := l.migrate(ctx, "--test", "--until", "test-migrated")
	if r.code != 0 {
		t.Fatalf("migrate --test --until test-migrated: %s", r)
	}
	if got := strings.Join(r.phases(host), " "); got != "test-migrated" {
		t.Errorf("phases of the test run: %q, want \"test-migrated\"", got)
	}
	validated := false
	for _, s := range r.steps(host) {
		validated = validated || (s.Step == "validate test copy" && strings.Contains(s.Detail, "0 blocking"))
	}
	if !validated {
		t.Errorf("the test copy was not validated: steps %+v", r.steps(host))
	}
	rowsNoted := false
	for _, e := range r.events {
		if e.Type == "finding" && e.Severity == "blocking" {
			t.Errorf("blocking finding on the test copy: %+v", e)
		}
		rowsNoted = rowsNoted || (e.Type == "finding" && strings.Contains(e.Object, "orders") && strings.Contains(e.Message, "point-in-time"))
	}
	if !rowsNoted {
		t.Errorf("the test copy holds the last pass's rows, the source 777 more: no note says so")
	}
	ents, _ := os.ReadDir(filepath.Join(l.state, "disks"))
	for _, e := range ents {
		if strings.Contains(e.Name(), "-test") {
			t.Errorf("the test copy's disk %s was not deleted", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(l.state, "vms", host+"-test")); !os.IsNotExist(err) {
		t.Errorf("the test VM was not deleted: %v", err)
	}
	if out, err := l.vm.Run(ctx, "systemctl is-active nginx postgresql"); err != nil || strings.Count(out, "active") != 2 {
		t.Errorf("the source's services after the test migration: %q, %v", out, err)
	}
}

// start runs shift migrate --json with args and returns it with a scanner
// of its events and its stderr.
func (l *lab) start(ctx context.Context, args ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t := l.t
	cmd := exec.CommandContext(ctx, l.bin, append([]string{"migrate", "--plan", l.plan, "--json"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return cmd, sc, &stderr
}

// killWhen runs shift migrate with args and kills it with SIGKILL at the
// first event for which kill is true.
func (l *lab) killWhen(ctx context.Context, kill func(event) bool, args ...string) {
	t := l.t
	cmd, sc, stderr := l.start(ctx, args...)
	var seen []string
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil && kill(e) {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			return
		}
		if e.Type != "progress" {
			seen = append(seen, sc.Text())
		}
	}
	cmd.Wait()
	t.Fatalf("shift migrate %v ended before it could be killed: %v\n%s\n%s", args, sc.Err(), strings.Join(seen, "\n"), stderr.String())
}

// killDuringCopy starts a migration, kills it with SIGKILL once the full
// copy is a fifth done, and checks meanwhile that a second process on the
// same state directory is refused.
func (l *lab) killDuringCopy(ctx context.Context) string {
	t := l.t
	cmd, sc, stderr := l.start(ctx, "--until", "in-sync")
	checked := false
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Type != "progress" || e.Total == 0 {
			continue
		}
		if !checked {
			checked = true
			r := l.migrate(ctx, "--until", "in-sync")
			if r.code != 1 || !strings.Contains(r.stderr, "in use by shift (pid "+strconv.Itoa(cmd.Process.Pid)) {
				t.Errorf("a second shift on the same state: exit %d, stderr %q; want 1 naming pid %d", r.code, r.stderr, cmd.Process.Pid)
			}
		}
		if e.Done*5 >= e.Total {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			return fmt.Sprintf("%d of %d bytes", e.Done, e.Total)
		}
	}
	cmd.Wait()
	t.Fatalf("the first run ended before a fifth of the copy: %v\n%s", sc.Err(), stderr.String())
	return ""
}

// targetSSH connects to the migrated VM, which must present the source's
// host key.
func (l *lab) targetSSH(ctx context.Context) *remote.SSHClient {
	t := l.t
	tg, err := local.New(local.Options{Dir: l.state})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := tg.VMStatus(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != cloud.Running {
		t.Fatalf("target VM is %s", vm.State)
	}
	a, ok := vm.Address("ssh")
	if !ok {
		t.Fatalf("target VM has no SSH address: %+v", vm)
	}
	key, err := os.ReadFile(filepath.Join(l.dir, "id_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.DialSSH(ctx, remote.SSHConfig{Host: host + " (target)", Address: a.Host, Port: a.Port, User: "root",
		PrivateKey: remote.NewSecret(string(key)), KnownHosts: l.vm.KnownHostsFile,
		HostKeyAlias: net.JoinHostPort("127.0.0.1", strconv.Itoa(l.vm.Port))})
	if err != nil {
		t.Fatalf("ssh to the target: %v", err)
	}
	return c
}

func runOn(ctx context.Context, t *testing.T, c *remote.SSHClient, cmd string) string {
	t.Helper()
	res, err := c.Run(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(cmd); err != nil {
		t.Fatal(err)
	}
	return string(res.Stdout)
}

func psqlCount(ctx context.Context, t *testing.T, c *remote.SSHClient) int {
	t.Helper()
	out := runOn(ctx, t, c, "runuser -u postgres -- psql -XAt -d "+sourcevm.Database+" -c 'SELECT count(*) FROM orders'")
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("count: %q", out)
	}
	return n
}

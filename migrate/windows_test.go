package migrate_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winguest"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// TestRunnerWindowsLabHost moves the lab's Windows Server 2019 host (SQL
// Server and SharePoint) through the fixture path end to end: discovery,
// assessment, the Windows agent pushed over real WinRM reading a VSS
// snapshot and connecting back over TLS, the copy to in-sync, a test
// migration (a copy of the replica boots in QEMU on an isolated network,
// answers WinRM, validates, and is deleted), then the cutover: fingerprint
// of SQL Server and SharePoint, final pass, boot, validation, done.
//
// The disk is Windows-shaped (ESP, MSR, NTFS C:, recovery) and really
// boots: its ESP holds a boot chain whose guest plays the preset from the
// VM's own disk (fixtures/winguest), since no Windows image can be had
// here. Everything shift does to it is what it does to a Windows server.
func TestRunnerWindowsLabHost(t *testing.T) {
	if testing.Short() {
		t.Skip("boots two VMs")
	}
	img, vol := winguest.Disk(t, "ws2019-sql2019-sp2019")
	h, err := windows.Load("ws2019-sql2019-sp2019")
	if err != nil {
		t.Fatal(err)
	}
	h.AttachDisk(img, vol)
	srv, err := winrmserver.Listen("127.0.0.1:0", h, winrmserver.Options{ComputerName: h.Hostname(), Auth: winrmserver.AuthBasic})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	write(t, pw, h.LabPassword())
	write(t, filepath.Join(dir, "hosts.yaml"), fmt.Sprintf(`version: 1
hosts:
  - name: sql01
    address: 127.0.0.1
    port: %d
    transport: winrm
    user: %s
    password: file:%s
    winrm: {auth: basic, https: false}
`, srv.Port(), h.LabUser(), pw))
	state := filepath.Join(dir, "state")
	write(t, filepath.Join(dir, "waves.yaml"), fmt.Sprintf(`version: 1
hosts: hosts.yaml
target: {kind: local, stateDir: %s}
waves:
  - name: sql
    hosts:
      - name: sql01
        size: {cpus: 1, memory: 512M}
        checks: {sqlServer: {}, sharePoint: {}}
`, state))
	p, err := plan.Load(filepath.Join(dir, "waves.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hf, err := remote.LoadHosts(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := local.New(local.Options{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	deleteVMsAtEnd(t, tg)
	l, err := ledger.Open(t.Context(), filepath.Join(state, "ledger"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	exe := append([]byte("MZ"), bytes.Repeat([]byte("agent"), 1000)...)
	var events []face.Event
	run := func(until face.Phase, approve, test bool) face.ServerResult {
		b, err := migrate.FromPlan(p, hf, migrate.PlanOptions{Approve: approve, Test: test})
		if err != nil {
			t.Fatal(err)
		}
		store, err := migrate.NewStore(t.Context(), l, p)
		if err != nil {
			t.Fatal(err)
		}
		b.Runner = &migrate.Runner{Hosts: hf, Target: tg, Ledger: store, Until: until, BootTimeout: 5 * time.Minute, StopGrace: -1,
			WindowsAgent: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(exe)), nil },
			Emit:         func(ev face.Event) { events = append(events, ev) }}
		return b.Run(t.Context()).Servers[0]
	}

	if r := run(face.InSync, false, false); r.Phase != face.InSync || r.Err != "" {
		t.Fatalf("to in-sync: %+v", r)
	}
	target := filepath.Join(state, "disks", "sql01-physicaldrive0.raw")
	if _, err := os.Stat(target); err != nil {
		ents, _ := os.ReadDir(filepath.Join(state, "disks"))
		t.Fatalf("target disk: %v (disks: %v)", err, ents)
	}
	if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "raw", img, target).CombinedOutput(); err != nil {
		t.Errorf("the target disk differs from the source: %v: %s", err, out)
	}

	// The test migration: a copy boots on an isolated network and is
	// validated, then deleted; the replica is left as it was.
	if r := run(face.TestMigrated, false, true); r.Phase != face.TestMigrated || r.Err != "" {
		t.Fatalf("test migration: %+v\n%s", r, steps(events, face.TestMigrated))
	}
	if vms, err := tg.ListVMs(t.Context()); err != nil || len(vms) != 0 {
		t.Errorf("VMs after the test migration: %+v, %v; want none", vms, err)
	}
	if _, err := os.Stat(filepath.Join(state, "disks", "sql01-physicaldrive0-test.raw")); !os.IsNotExist(err) {
		t.Errorf("the test copy's disk after the test migration: %v", err)
	}
	if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "raw", img, target).CombinedOutput(); err != nil {
		t.Errorf("the replica after the test migration differs from the source: %v: %s", err, out)
	}

	r := run("", true, false)
	if r.Phase != face.Done || r.Err != "" {
		t.Fatalf("cutover: %+v\n%s\n%s", r, steps(events, face.CuttingOver), blocking(events))
	}
	if b := blocking(events); b != "" {
		t.Errorf("blocking findings: %s", b)
	}
	vm, err := tg.VMStatus(t.Context(), "sql01")
	if err != nil || vm.State != cloud.Running {
		t.Errorf("the migrated VM: %+v, %v; want it running", vm, err)
	}
	got := steps(events, face.CuttingOver)
	for _, want := range []string{"fingerprint source: sql server, sharepoint", "boot: VM sql01 started", "validate: VM sql01 validated: 0 blocking"} {
		if !strings.Contains(got, want) {
			t.Errorf("cutover steps lack %q:\n%s", want, got)
		}
	}
	if st := h.SimStats(); st.ShadowsCreated < 3 || st.ShadowsCreated != st.ShadowsDeleted {
		t.Errorf("VSS snapshots: %+v; want one per pass, every one deleted", st)
	}
}

// steps lists the steps of phase ph among events.
func steps(events []face.Event, ph face.Phase) string {
	var out []string
	for _, ev := range events {
		if s, ok := ev.(face.StepDone); ok && s.Phase == ph {
			out = append(out, s.Step+": "+s.Detail)
		}
	}
	return strings.Join(out, "\n")
}

// blocking lists the blocking findings among events.
func blocking(events []face.Event) string {
	var out []string
	for _, ev := range events {
		if f, ok := ev.(face.ValidationFinding); ok && f.Severity == "blocking" {
			out = append(out, fmt.Sprintf("%s %s: %s", f.Check, f.Object, f.Message))
		}
	}
	return strings.Join(out, "\n")
}

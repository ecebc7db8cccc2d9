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

	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/diskimg"
	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// TestRunnerWindowsLabHost moves the lab's Windows Server 2019 host (SQL
// Server and SharePoint) through the fixture path: discovery, assessment,
// the Windows agent pushed over real WinRM reading a VSS snapshot and
// connecting back over TLS, the copy to in-sync, and a cutover whose final
// pass, fingerprint of SQL Server and SharePoint and boot all run. The
// fixture's disk holds no bootable Windows, so the target never answers
// WinRM: the cutover rolls back, and says so.
func TestRunnerWindowsLabHost(t *testing.T) {
	diskimg.Need(t, "sfdisk", "mkntfs", "mkfs.vfat")
	img := diskimg.WindowsGPT(t)
	layout, err := diskimg.Layout(diskimg.WindowsGPTSpec())
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.Load("ws2019-sql2019-sp2019")
	if err != nil {
		t.Fatal(err)
	}
	h.AttachDisk(img, windows.Volume{Offset: layout[2].Offset, Length: layout[2].Length})
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
	l, err := ledger.Open(t.Context(), filepath.Join(state, "ledger"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	exe := append([]byte("MZ"), bytes.Repeat([]byte("agent"), 1000)...)
	var events []face.Event
	run := func(until face.Phase, approve bool) face.ServerResult {
		b, err := migrate.FromPlan(p, hf, migrate.PlanOptions{Approve: approve})
		if err != nil {
			t.Fatal(err)
		}
		store, err := migrate.NewStore(t.Context(), l, p)
		if err != nil {
			t.Fatal(err)
		}
		b.Runner = &migrate.Runner{Hosts: hf, Target: tg, Ledger: store, Until: until, BootTimeout: 15 * time.Second, StopGrace: -1,
			WindowsAgent: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(exe)), nil },
			Emit:         func(ev face.Event) { events = append(events, ev) }}
		return b.Run(t.Context()).Servers[0]
	}

	if r := run(face.InSync, false); r.Phase != face.InSync || r.Err != "" {
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

	r := run("", true)
	if r.Phase != face.RolledBack || !strings.Contains(r.Err, "did not answer") || !strings.Contains(r.Err, "rolled back") {
		t.Fatalf("cutover of a disk that boots no Windows: %+v", r)
	}
	var steps []string
	for _, ev := range events {
		if s, ok := ev.(face.StepDone); ok && s.Phase == face.CuttingOver {
			steps = append(steps, s.Step+": "+s.Detail)
		}
	}
	got := strings.Join(steps, "\n")
	for _, want := range []string{"fingerprint source: sql server, sharepoint", "boot: VM sql01 started"} {
		if !strings.Contains(got, want) {
			t.Errorf("cutover steps lack %q:\n%s", want, got)
		}
	}
	if st := h.SimStats(); st.ShadowsCreated < 3 || st.ShadowsCreated != st.ShadowsDeleted {
		t.Errorf("VSS snapshots: %+v; want one per pass, every one deleted", st)
	}
}

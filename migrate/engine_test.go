package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
)

func TestCheckHosts(t *testing.T) {
	e := &Engine{}
	for _, c := range []struct {
		name  string
		hosts []face.HostSpec
		want  string
	}{
		{"none", nil, "no hosts"},
		{"no credential", []face.HostSpec{{Name: "web01", Address: "10.0.0.6", Transport: "ssh", User: "shift"}}, "host web01: no SSH credential"},
		{"winrm without password", []face.HostSpec{{Name: "db01", Address: "10.0.0.5", Transport: "winrm", User: "admin"}}, "WinRM needs password"},
		{"literal secret", []face.HostSpec{{Name: "db01", Address: "10.0.0.5", Transport: "winrm", User: "admin", Password: "hunter2"}}, "must be a reference"},
		{"twice", []face.HostSpec{
			{Name: "web01", Address: "10.0.0.6", Transport: "ssh", User: "shift", Key: "file:id"},
			{Name: "web01", Address: "10.0.0.7", Transport: "ssh", User: "shift", Key: "file:id"}}, "web01 is listed twice"},
		{"ok", []face.HostSpec{{Name: "web01", Address: "10.0.0.6", Transport: "ssh", User: "shift", Key: "file:~/.ssh/id_ed25519"}}, ""},
	} {
		err := e.CheckHosts("", c.hosts)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: the error quotes the secret: %v", c.name, err)
		}
	}
}

// TestSaveHostsKeepsBase saves a hosts file with groups plus added hosts, and
// reads it back.
func TestSaveHostsKeepsBase(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "hosts.yaml")
	os.WriteFile(base, []byte(`version: 1
groups:
  windows:
    transport: winrm
    user: Administrator
    password: env:WIN_PASSWORD
    winrm: {https: true, auth: ntlm, caCert: ca.pem}
hosts:
  - name: db01
    address: 10.0.0.5
    group: windows
`), 0o600)
	e := &Engine{}
	added := []face.HostSpec{{Name: "web-10-0-0-6", Address: "10.0.0.6", Transport: "ssh", User: "shift", Port: 2222, Key: "file:~/.ssh/id_ed25519"}}
	out := filepath.Join(dir, "saved.yaml")
	if err := e.SaveHosts(out, base, added); err != nil {
		t.Fatal(err)
	}
	specs, err := e.LoadHosts(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("read back %d hosts, want 2: %+v", len(specs), specs)
	}
	db := specs[0]
	if db.Name != "db01" || db.Group != "windows" || db.Transport != "winrm" || db.User != "Administrator" || !strings.HasPrefix(db.Origin, "saved.yaml:") {
		t.Errorf("db01 read back as %+v", db)
	}
	web := specs[1]
	web.Origin = ""
	if web != added[0] {
		t.Errorf("web read back as %+v, want %+v", web, added[0])
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "caCert: ca.pem") {
		t.Errorf("the group's WinRM settings were lost:\n%s", b)
	}
	if err := e.SaveHosts(filepath.Join(dir, "missing", "x.yaml"), base, added); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("saving into a missing directory: %v", err)
	}
	if err := e.SaveHosts(out, filepath.Join(dir, "nope.yaml"), added); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("a missing base: %v", err)
	}
}

// collect reads a run to its end, failing after a minute.
func collect(t *testing.T, ch <-chan face.Event) []face.Event {
	t.Helper()
	var out []face.Event
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatalf("the run did not end within a minute; events so far: %d", len(out))
		}
	}
}

// TestDiscoverLab discovers the lab's Windows hosts over real WinRM.
func TestDiscoverLab(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lab, err := fixtures.StartLab(ctx, fixtures.LabOptions{Dir: dir, NoSSH: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	hosts := filepath.Join(dir, "hosts.yaml")
	if err := lab.WriteHosts(hosts); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Generator: "shift test"}
	evs := collect(t, e.Discover(ctx, hosts, nil))
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	id := evs[0].Run()
	done := 0
	for _, ev := range evs[:len(evs)-1] {
		if ev.Run() != id || id == 0 {
			t.Errorf("event %T of run %d in run %d", ev, ev.Run(), id)
		}
		switch ev := ev.(type) {
		case face.HostDone:
			done++
			if ev.Done != done || ev.Total != len(lab.Hosts) {
				t.Errorf("HostDone %s: %d/%d, want %d/%d", ev.Host.Name, ev.Done, ev.Total, done, len(lab.Hosts))
			}
		case face.HostStarted:
		default:
			t.Errorf("unexpected %T before the end", ev)
		}
	}
	if done != len(lab.Hosts) {
		t.Errorf("%d HostDone events, want %d", done, len(lab.Hosts))
	}
	last, ok := evs[len(evs)-1].(face.DiscoveryDone)
	if !ok {
		t.Fatalf("last event is %T, want DiscoveryDone", evs[len(evs)-1])
	}
	if last.Err != nil || last.Canceled || last.Inventory == nil || len(last.Inventory.Hosts) != len(lab.Hosts) {
		t.Fatalf("DiscoveryDone: %+v", last)
	}
	bad := last.Inventory.Host("ws2016-badpass")
	if bad == nil || bad.Reachable() || bad.Errors[0].Kind != inventory.ErrAuth {
		t.Errorf("ws2016-badpass: %+v", bad)
	}
	if h := last.Inventory.Host("ws2019-sql2019-sp2019"); h == nil || !h.OK() || len(h.SQLServer) == 0 {
		t.Errorf("ws2019-sql2019-sp2019: %+v", h)
	}
	if last.Inventory.Generator != "shift test" {
		t.Errorf("generator %q", last.Inventory.Generator)
	}

	// A second run has its own id; re-running one host.
	evs = collect(t, e.Discover(ctx, hosts, []string{"ws2016-badpass"}))
	last = evs[len(evs)-1].(face.DiscoveryDone)
	if last.ID == id || len(last.Inventory.Hosts) != 1 {
		t.Errorf("re-run: id %d (first %d), %d hosts", last.ID, id, len(last.Inventory.Hosts))
	}

	// SaveInventory writes what inventory.ReadFile reads.
	p := filepath.Join(dir, "inventory.json")
	if err := e.SaveInventory(p, last.Inventory); err != nil {
		t.Fatal(err)
	}
	if inv, err := inventory.ReadFile(p); err != nil || len(inv.Hosts) != 1 {
		t.Errorf("read back: %v, %v", inv, err)
	}
}

func TestDiscoverCanceledAndBadInput(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts.yaml")
	os.WriteFile(hosts, []byte("hosts:\n  - {name: web01, address: 127.0.0.1, port: 1, transport: ssh, user: u, key: file:k}\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := &Engine{}
	evs := collect(t, e.Discover(ctx, hosts, nil))
	last := evs[len(evs)-1].(face.DiscoveryDone)
	if !last.Canceled || last.Inventory == nil || last.Inventory.Hosts[0].Errors[0].Kind != inventory.ErrCanceled {
		t.Errorf("canceled run: %+v", last)
	}

	evs = collect(t, e.Discover(context.Background(), filepath.Join(dir, "nope.yaml"), nil))
	if len(evs) != 1 {
		t.Fatalf("%d events for a missing hosts file", len(evs))
	}
	if d := evs[0].(face.DiscoveryDone); d.Err == nil || !strings.Contains(d.Err.Error(), "nope.yaml") {
		t.Errorf("missing hosts file: %v", d.Err)
	}
	evs = collect(t, e.Discover(context.Background(), hosts, []string{"db99"}))
	if d := evs[0].(face.DiscoveryDone); d.Err == nil || !strings.Contains(d.Err.Error(), "db99") {
		t.Errorf("unknown host: %v", d.Err)
	}
}

func TestAssessWithoutAssessor(t *testing.T) {
	e := &Engine{}
	evs := collect(t, e.Assess(context.Background(), inventory.New("t", time.Now())))
	if d, ok := evs[0].(face.AssessmentDone); !ok || !errors.Is(d.Err, ErrNoAssessor) {
		t.Errorf("Assess without an assessor: %+v", evs)
	}
	if err := e.ExportReport(filepath.Join(t.TempDir(), "r.html"), &face.Assessment{}); !errors.Is(err, ErrNoAssessor) {
		t.Errorf("ExportReport: %v", err)
	}
}

package discover_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/discover/ssh/sshtest"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// sshEntry is a hosts-file entry that logs in to s with its client key.
func sshEntry(name string, s *sshd.Server, knownHosts string) remote.HostEntry {
	host, port, _ := net.SplitHostPort(s.Addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return remote.HostEntry{Name: name, Address: host, Settings: remote.Settings{
		Transport: "ssh", Port: p, User: s.User,
		Key: remote.SecretRef("file:" + s.ClientKeyFile),
		SSH: &remote.SSHSettings{KnownHosts: knownHosts},
	}}
}

func load(t testing.TB, entries ...remote.HostEntry) *remote.HostsFile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := remote.WriteHosts(p, remote.Settings{}, nil, entries); err != nil {
		t.Fatal(err)
	}
	hf, err := remote.LoadHosts(p)
	if err != nil {
		t.Fatal(err)
	}
	return hf
}

// TestLocalMachineOverSSH discovers the machine the test runs on through a
// real sshd and compares the inventory with what the test reads locally.
func TestLocalMachineOverSSH(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	hf := load(t, sshEntry("local", s, s.KnownHostsFile))
	inv, err := discover.Run(context.Background(), hf, nil, discover.Options{Generator: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 1 {
		t.Fatalf("hosts = %d", len(inv.Hosts))
	}
	h := &inv.Hosts[0]
	if h.Name != "local" || h.Transport != "ssh" || h.DiscoveredAt.IsZero() || h.ProbeSeconds <= 0 {
		t.Fatalf("host header = %+v", h)
	}
	for _, e := range h.Errors {
		// On a minimal machine some facts cannot be read (no SMBIOS, no
		// systemd); those are recorded as unsupported or permission notes.
		// Nothing else may fail.
		if e.Kind != inventory.ErrUnsupported && e.Kind != inventory.ErrPermission {
			t.Errorf("unexpected discovery error: %+v", e)
		}
	}
	sshtest.CheckAgainstLocal(t, h)
}

// TestOneFailingHostNeverStopsTheOthers runs one good host next to hosts that
// each fail differently, and checks every failure is recorded on its own host
// with its kind and a hint.
func TestOneFailingHostNeverStopsTheOthers(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().(*net.TCPAddr)
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and say nothing, as a hung host does
		}
	}()
	emptyKnownHosts := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(emptyKnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	good := sshEntry("good", s, s.KnownHostsFile)
	unknownKey := sshEntry("unknown-key", s, emptyKnownHosts)
	refused := sshEntry("refused", s, s.KnownHostsFile)
	refused.Port = closedAddr.Port
	hung := sshEntry("hung", s, s.KnownHostsFile)
	hung.Port = silent.Addr().(*net.TCPAddr).Port
	hung.Timeout = "1s"
	noSecret := sshEntry("no-secret", s, s.KnownHostsFile)
	noSecret.Key = "env:SHIFT_TEST_UNSET_KEY"
	wrongUser := sshEntry("wrong-user", s, s.KnownHostsFile)
	wrongUser.User = "shift-no-such-user"

	hf := load(t, good, unknownKey, refused, hung, noSecret, wrongUser)
	start := time.Now()
	inv, err := discover.Run(context.Background(), hf, nil, discover.Options{Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("run took %s: a failing host held up the others", took)
	}
	want := map[string]struct{ kind, msg string }{
		"unknown-key": {inventory.ErrHostKey, s.HostKeyFingerprint},
		"refused":     {inventory.ErrUnreachable, "refused"},
		"hung":        {inventory.ErrTimeout, ""},
		"no-secret":   {inventory.ErrConfig, "SHIFT_TEST_UNSET_KEY is not set"},
		"wrong-user":  {inventory.ErrAuth, ""},
	}
	for _, h := range inv.Hosts {
		if h.Name == "good" {
			if !h.Reachable() || h.OS.Family != "linux" {
				t.Errorf("good host: %+v", h.Errors)
			}
			continue
		}
		w := want[h.Name]
		if len(h.Errors) == 0 {
			t.Errorf("%s: no error recorded", h.Name)
			continue
		}
		e := h.Errors[0]
		if e.Kind != w.kind || !strings.Contains(e.Message, w.msg) {
			t.Errorf("%s: error %+v, want kind %s containing %q", h.Name, e, w.kind, w.msg)
		}
		if e.Hint == "" {
			t.Errorf("%s: error without a hint: %+v", h.Name, e)
		}
		if h.Reachable() {
			t.Errorf("%s: counted as reachable", h.Name)
		}
	}
}

type countingReporter struct{ started, done int }

func (r *countingReporter) HostStarted(string)         { r.started++ }
func (r *countingReporter) HostDone(h *inventory.Host) { r.done++ }

// TestCanceledRunMarksUnfinishedHosts interrupts a run and checks the hosts
// that did not finish say so instead of looking empty but fine.
func TestCanceledRunMarksUnfinishedHosts(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := silent.Addr().(*net.TCPAddr).Port
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var entries []remote.HostEntry
	for _, n := range []string{"a", "b", "c"} {
		entries = append(entries, remote.HostEntry{Name: n, Address: "127.0.0.1", Settings: remote.Settings{
			Transport: "ssh", Port: port, User: "u", Password: remote.SecretRef("file:" + pw),
		}})
	}
	hf := load(t, entries...)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	rep := &countingReporter{}
	inv, err := discover.Run(ctx, hf, nil, discover.Options{Concurrency: 1, Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 3 {
		t.Fatalf("hosts = %d", len(inv.Hosts))
	}
	for _, h := range inv.Hosts {
		if h.OK() || h.Errors[len(h.Errors)-1].Kind != inventory.ErrCanceled {
			t.Errorf("%s: errors %+v, want the last one to say the run was interrupted", h.Name, h.Errors)
		}
	}
	if rep.started != rep.done {
		t.Errorf("reporter: %d started, %d done", rep.started, rep.done)
	}
}

// TestSudoAskingForPassword logs in as a user whose sudo wants a password: the
// probe reads what needs no root, and says once, naming the host, that sudo
// asked for a password and how to fix it.
func TestSudoAskingForPassword(t *testing.T) {
	user := sshd.RequireUser(t, "shift-nopw")
	s := sshd.StartT(t, sshd.Options{User: user})
	hf := load(t, sshEntry("nopw", s, s.KnownHostsFile))
	inv, err := discover.Run(context.Background(), hf, nil, discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Hosts[0]
	if h.OS.Family != "linux" || h.Memory.TotalBytes == 0 {
		t.Fatalf("unprivileged facts missing: os=%+v mem=%+v errors=%+v", h.OS, h.Memory, h.Errors)
	}
	var perm []inventory.Error
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrPermission {
			perm = append(perm, e)
		}
	}
	if len(perm) == 0 {
		t.Fatalf("no permission error recorded: %+v", h.Errors)
	}
	e := perm[0]
	if !strings.Contains(e.Message, "sudo") || !strings.Contains(e.Message, "password") || !strings.Contains(e.Hint, "NOPASSWD") {
		t.Errorf("sudo error does not say what happened and how to fix it: %+v", e)
	}
}

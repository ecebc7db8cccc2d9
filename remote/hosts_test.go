package remote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodHosts = `version: 1
defaults:
  timeout: 90s
  ssh:
    knownHosts: known_hosts
groups:
  windows:
    transport: winrm
    user: Administrator
    password: env:SHIFT_TEST_WINPW
    winrm: {https: true, caCert: ca.pem}
  linux:
    transport: ssh
    user: shift
    key: file:id_test
hosts:
  - name: db01
    address: 10.0.0.5
    group: windows
  - name: legacy
    address: 10.0.0.9
    group: windows
    port: 5985
    winrm: {https: false, auth: basic}
  - name: bastion
    address: 192.0.2.1
    group: linux
  - name: web01
    address: 10.0.0.6
    group: linux
    port: 2222
    ssh: {jump: bastion, sudo: never}
`

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostsResolve(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "hosts.yaml", goodHosts)
	writeFile(t, dir, "ca.pem", "CA PEM")
	writeFile(t, dir, "id_test", "PRIVATE KEY MATERIAL\n")
	t.Setenv("SHIFT_TEST_WINPW", "s3cret-Pa55")

	hf, err := LoadHosts(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(hf.Names(), ","); got != "db01,legacy,bastion,web01" {
		t.Fatalf("names = %s", got)
	}
	if hf.Hosts[3].Line != 28 {
		t.Errorf("web01 line = %d, want 28", hf.Hosts[3].Line)
	}

	db, err := hf.Resolve("db01", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if db.WinRM == nil || !db.WinRM.HTTPS || db.WinRM.User != "Administrator" || string(db.WinRM.CACert) != "CA PEM" {
		t.Fatalf("db01 winrm = %+v", db.WinRM)
	}
	if db.WinRM.Password.Reveal() != "s3cret-Pa55" || db.Port() != 5986 || db.Timeout.Seconds() != 90 {
		t.Fatalf("db01: password resolved=%v port=%d timeout=%v", db.WinRM.Password.Reveal() == "s3cret-Pa55", db.Port(), db.Timeout)
	}
	legacy, err := hf.Resolve("legacy", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if legacy.WinRM.HTTPS || legacy.WinRM.Auth != "basic" || legacy.Port() != 5985 {
		t.Fatalf("legacy override lost: %+v", legacy.WinRM)
	}

	web, err := hf.Resolve("web01", Overrides{TrustOnFirstUse: true})
	if err != nil {
		t.Fatal(err)
	}
	s := web.SSH
	if s.Port != 2222 || s.Sudo != "never" || s.PrivateKey.Reveal() != "PRIVATE KEY MATERIAL" || !s.TrustOnFirstUse {
		t.Fatalf("web01 ssh = %+v", s)
	}
	if s.KnownHosts != filepath.Join(dir, "known_hosts") {
		t.Errorf("known hosts = %s", s.KnownHosts)
	}
	if s.Jump == nil || s.Jump.Address != "192.0.2.1" || s.Jump.User != "shift" {
		t.Fatalf("jump = %+v", s.Jump)
	}

	// No formatting path shows a secret.
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", db, *db.WinRM, *web.SSH, web.SSH.PrivateKey)} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, "PRIVATE KEY") {
			t.Fatalf("secret leaked in %q", out)
		}
	}
}

func TestHostsResolveMissingSecret(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "hosts.yaml", goodHosts)
	writeFile(t, dir, "id_test", "k")
	hf, err := LoadHosts(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hf.Resolve("db01", Overrides{})
	var re *Error
	if !errors.As(err, &re) || re.Kind != "config" || re.Host != "db01" {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"SHIFT_TEST_WINPW is not set", "db01", "hosts.yaml:17"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The other hosts still resolve.
	if _, err := hf.Resolve("web01", Overrides{}); err != nil {
		t.Fatalf("web01: %v", err)
	}
}

func TestHostsMalformed(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "the file is empty"},
		{"not yaml", "hosts: [\n", "hosts.yaml:1: did not find expected node content"},
		{"typo field", "hosts:\n  - name: a\n    adress: x\n", "hosts.yaml:3: field adress not found"},
		{"no hosts", "version: 1\n", "no hosts"},
		{"no address", "hosts:\n  - name: a\n    transport: ssh\n", "hosts.yaml:2: host a has no address"},
		{"no transport", "hosts:\n  - name: a\n    address: h\n    user: u\n", "no transport"},
		{"bad transport", "hosts:\n  - {name: a, address: h, user: u, transport: telnet}\n", "transport \"telnet\""},
		{"duplicate", "defaults: {transport: ssh, user: u, key: 'file:k'}\nhosts:\n  - {name: a, address: h}\n  - {name: a, address: i}\n", "hosts.yaml:4: host a is listed twice (first on line 3)"},
		{"literal password", "hosts:\n  - {name: a, address: h, user: u, transport: winrm, password: hunter2}\n", "a literal secret is not accepted"},
		{"unknown group", "hosts:\n  - {name: a, address: h, group: dbs}\n", "group \"dbs\""},
		{"no credential", "hosts:\n  - {name: a, address: h, user: u, transport: ssh}\n", "no SSH credential"},
		{"bad jump", "defaults: {transport: ssh, user: u, key: 'file:k'}\nhosts:\n  - {name: a, address: h, ssh: {jump: b}}\n", "jump host \"b\""},
		{"bad timeout", "defaults: {transport: ssh, user: u, key: 'file:k'}\nhosts:\n  - {name: a, address: h, timeout: soon}\n", "timeout \"soon\""},
		{"bad name", "defaults: {transport: ssh, user: u, key: 'file:k'}\nhosts:\n  - {name: 'a b', address: h}\n", "host name \"a b\""},
		{"newer version", "version: 9\nhosts:\n  - {name: a, address: h}\n", "version 9 is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHosts("hosts.yaml", []byte(tc.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the literal secret: %q", err)
			}
		})
	}
}

func TestWriteHostsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "h.yaml")
	yes := true
	err := WriteHosts(p, Settings{Timeout: "1m"}, map[string]Settings{
		"win": {Transport: "winrm", User: "Administrator", Password: "file:pw", WinRM: &WinRMSettings{HTTPS: &yes}},
	}, []HostEntry{{Name: "w1", Address: "127.0.0.1", Group: "win", Settings: Settings{Port: 15986}}})
	if err != nil {
		t.Fatal(err)
	}
	hf, err := LoadHosts(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "pw", "pw\n")
	tg, err := hf.Resolve("w1", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Endpoint() != "127.0.0.1:15986" || !tg.WinRM.HTTPS || tg.WinRM.Password.Reveal() != "pw" {
		t.Fatalf("round trip: %+v %+v", tg, tg.WinRM)
	}
}

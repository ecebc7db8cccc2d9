package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/postgres"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/remote"
)

const (
	pgPassword = "pg-Secret-7f3a91"
	httpToken  = "tok-Secret-c0ffee42"
)

// linuxHost is a Linux test host: a real sshd, a real PostgreSQL holding
// two tables, and an HTTP endpoint that wants a token.
type linuxHost struct {
	ssh  *sshd.Server
	pg   *postgres.Server
	c    *remote.SSHClient
	opts Options
}

func startLinuxHost(t *testing.T) *linuxHost {
	t.Helper()
	pg := postgres.StartT(t, postgres.Options{Password: pgPassword})
	s := sshd.StartT(t, sshd.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pg.Exec(ctx, "postgres", "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Exec(ctx, "app", `
		CREATE TABLE customers (id int PRIMARY KEY, name text, since date);
		INSERT INTO customers SELECT g, 'customer ' || g, date '2020-01-01' + g FROM generate_series(1, 2000) g;
		CREATE SCHEMA sales;
		CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), note text);
		INSERT INTO sales.orders SELECT g, 1 + g % 2000, g * 1.25, CASE WHEN g % 7 = 0 THEN NULL ELSE 'order ' || g END FROM generate_series(1, 5000) g;`); err != nil {
		t.Fatal(err)
	}
	c, err := remote.DialSSH(ctx, remote.SSHConfig{Host: "pg01", Address: "127.0.0.1", Port: s.Port, User: s.User,
		PrivateKey: remote.NewSecret(string(s.ClientKey)), KnownHosts: s.KnownHostsFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { c.Close() })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != httpToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "shop is open")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	return &linuxHost{ssh: s, pg: pg, c: c, opts: Options{
		Budget: time.Minute,
		Databases: []DatabaseCheck{{Engine: "postgresql", User: pg.OSUser, Host: "127.0.0.1", Port: pg.Port,
			Login: pg.User, Password: remote.NewSecret(pgPassword), Databases: []string{"app"}}},
		HTTP:     []HTTPCheck{{Name: "shop", URL: "http://" + l.Addr().String() + "/health?token=" + httpToken, Contains: "open"}},
		Commands: []CommandCheck{{Name: "motd", Command: "echo hello", Compare: true}},
	}}
}

func (h *linuxHost) probe(t *testing.T) *Fingerprint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fp, err := ProbeSSH(ctx, h.c, "pg01", h.opts)
	if err != nil {
		t.Fatalf("ProbeSSH: %v", err)
	}
	return fp
}

func blockingOf(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Blocking {
			out = append(out, f)
		}
	}
	return out
}

// TestLinuxProbeDeletedRow is the acceptance case: real PostgreSQL over real
// SSH; healthy twice has no blocking finding; one deleted row is exactly one
// blocking finding naming its table.
func TestLinuxProbeDeletedRow(t *testing.T) {
	h := startLinuxHost(t)
	before := h.probe(t)

	if !before.Generic.Reachable || before.Generic.Hostname == "" || before.Generic.BootTime.IsZero() {
		t.Errorf("generic section incomplete: %+v", before.Generic)
	}
	if len(before.Generic.Volumes) == 0 {
		t.Errorf("no volumes recorded")
	}
	if before.Generic.ClockSkew.Abs() > 5*time.Second {
		t.Errorf("clock skew %s against the same machine's clock", before.Generic.ClockSkew)
	}
	if !hasPort(before.Linux.Ports, h.ssh.Port) || !hasPort(before.Linux.Ports, h.pg.Port) {
		t.Errorf("ports %v lack sshd's %d or postgres's %d", before.Linux.Ports, h.ssh.Port, h.pg.Port)
	}
	tables := map[string]Table{}
	for _, d := range before.Linux.Databases {
		for _, tb := range d.Tables {
			tables[tableLabel(d, tb)] = tb
		}
	}
	server := fmt.Sprintf("127.0.0.1:%d", h.pg.Port)
	orders, customers := tables["app.sales.orders on "+server], tables["app.public.customers on "+server]
	if orders.Rows != 5000 || customers.Rows != 2000 || orders.Mode != TableFull || orders.Checksum == "" {
		t.Fatalf("tables = %+v, want sales.orders 5000 rows and public.customers 2000, checksummed in full; errors: %+v", tables, before.Errors)
	}
	if len(before.HTTP) != 1 || before.HTTP[0].Status != 200 || before.HTTP[0].Contains == nil || !*before.HTTP[0].Contains {
		t.Errorf("HTTP = %+v, want 200 with the text", before.HTTP)
	}
	if len(before.Commands) != 1 || before.Commands[0].ExitCode != 0 {
		t.Errorf("commands = %+v", before.Commands)
	}
	if len(before.Errors) > 0 {
		t.Errorf("probe errors on a healthy host: %+v", before.Errors)
	}

	healthy := h.probe(t)
	if b := blockingOf(Compare(before, healthy)); len(b) > 0 {
		t.Errorf("healthy before and after: blocking findings %+v", b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.pg.Exec(ctx, "app", "DELETE FROM sales.orders WHERE id = 4242"); err != nil {
		t.Fatal(err)
	}
	after := h.probe(t)
	all := Compare(before, after)
	var report strings.Builder
	if err := WriteReport(&report, before, after, all); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", report.String())
	if !strings.Contains(report.String(), "FAIL: 1 blocking") || !strings.Contains(report.String(), "app.sales.orders") {
		t.Errorf("report does not fail on the deleted row:\n%s", report.String())
	}
	b := blockingOf(all)
	if len(b) != 1 {
		t.Fatalf("after deleting one row: blocking findings %+v, want exactly one", b)
	}
	f := b[0]
	if f.Object != "table app.sales.orders on "+server || !strings.HasPrefix(f.Expected, "5000 rows") || !strings.HasPrefix(f.Actual, "4999 rows") {
		t.Errorf("finding = %+v, want table app.sales.orders, 5000 → 4999 rows", f)
	}

	// The same rows with other content: a checksum finding.
	if err := h.pg.Exec(ctx, "app", "INSERT INTO sales.orders VALUES (4242, 1, 1.00, 'forged')"); err != nil {
		t.Fatal(err)
	}
	b = blockingOf(Compare(before, h.probe(t)))
	if len(b) != 1 || b[0].Check != "linux/table-checksum" || !strings.Contains(b[0].Object, "sales.orders") {
		t.Errorf("after changing one row: blocking findings %+v, want one checksum finding on sales.orders", b)
	}
}

// TestLinuxProbeSecretsNeverRecorded: the database password and the HTTP
// token reach the host (the checks pass) but appear in no fingerprint,
// report or error text, even when the checks fail.
func TestLinuxProbeSecretsNeverRecorded(t *testing.T) {
	h := startLinuxHost(t)
	before := h.probe(t)
	if before.HTTP[0].Status != 200 || len(before.Linux.Databases) == 0 {
		t.Fatalf("checks with secrets did not pass: HTTP %+v, errors %+v", before.HTTP, before.Errors)
	}
	// A wrong password and a dead URL with a token: errors that must not
	// echo the secrets.
	bad := h.opts
	bad.Databases = []DatabaseCheck{h.opts.Databases[0]}
	bad.Databases[0].Password = remote.NewSecret("wrong-" + pgPassword)
	bad.HTTP = []HTTPCheck{{Name: "dead", URL: "http://127.0.0.1:1/x?token=" + httpToken}}
	h.opts = bad
	after := h.probe(t)
	if len(after.Errors) == 0 || after.HTTP[0].Error == "" {
		t.Fatalf("failing checks recorded no errors: %+v %+v", after.Errors, after.HTTP)
	}
	findings := Compare(before, after)
	var text strings.Builder
	for _, fp := range []*Fingerprint{before, after} {
		js, err := json.Marshal(fp)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(js)
	}
	js, _ := json.Marshal(findings)
	text.Write(js)
	WriteReport(&text, before, after, findings)
	for _, secret := range []string{pgPassword, httpToken} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("secret %q appears in the fingerprint, findings or report:\n%s", secret, text.String())
		}
	}
	if !strings.Contains(text.String(), "token=redacted") {
		t.Errorf("the redacted URL is missing from the output")
	}
}

func hasPort(ps []Port, port int) bool {
	for _, p := range ps {
		if p.Port == port && p.Proto == "tcp" {
			return true
		}
	}
	return false
}

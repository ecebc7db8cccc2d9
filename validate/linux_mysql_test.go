package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"os/user"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/mariadb"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/remote"
)

const myPassword = "my-Secret-'9b2e\\x"

// mysqlHost is a Linux test host: a real sshd and a real MariaDB holding a
// shop database, read by a SELECT-only account over TCP.
type mysqlHost struct {
	ssh *sshd.Server
	db  *mariadb.Server
	c   *remote.SSHClient
	// check reads shop over TCP as shift_ro with myPassword.
	check DatabaseCheck
}

func startMySQLHost(t *testing.T) *mysqlHost {
	t.Helper()
	db := mariadb.StartT(t, mariadb.Options{})
	s := sshd.StartT(t, sshd.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// InnoDB and MyISAM tables, NULLs, a name that needs quoting, and a
	// table of another database the check does not name.
	if err := db.Exec(ctx, "", "CREATE DATABASE shop; CREATE DATABASE other"); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "shop", `
		CREATE TABLE shop.customers (id int PRIMARY KEY, name varchar(40), since date) ENGINE=InnoDB;
		INSERT INTO shop.customers SELECT seq, CONCAT('customer ', seq), DATE '2020-01-01' + INTERVAL seq DAY FROM seq_1_to_2000;
		CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer int, total decimal(10,2), note varchar(40)) ENGINE=InnoDB;
		INSERT INTO shop.orders SELECT seq, 1 + seq % 2000, seq * 1.25, IF(seq % 7 = 0, NULL, CONCAT('order ', seq)) FROM seq_1_to_5000;
		CREATE TABLE shop.`+"`audit log`"+` (at datetime, what text) ENGINE=MyISAM;
		INSERT INTO shop.`+"`audit log`"+` VALUES ('2024-01-02 03:04:05', 'opened'), ('2024-01-03 00:00:00', NULL);
		CREATE TABLE other.t (x int);
		CREATE USER 'shift_ro'@'127.0.0.1' IDENTIFIED BY `+mariadb.Quote(myPassword)+`;
		GRANT SELECT ON shop.* TO 'shift_ro'@'127.0.0.1';`); err != nil {
		t.Fatal(err)
	}
	c, err := remote.DialSSH(ctx, remote.SSHConfig{Host: "db01", Address: "127.0.0.1", Port: s.Port, User: s.User,
		PrivateKey: remote.NewSecret(string(s.ClientKey)), KnownHosts: s.KnownHostsFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &mysqlHost{ssh: s, db: db, c: c, check: DatabaseCheck{Engine: "mariadb", User: currentUser(t),
		Host: "127.0.0.1", Port: db.Port, Login: "shift_ro", Password: remote.NewSecret(myPassword), Databases: []string{"shop"}}}
}

func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func (h *mysqlHost) probe(t *testing.T, checks ...DatabaseCheck) *Fingerprint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fp, err := ProbeSSH(ctx, h.c, "db01", Options{Budget: time.Minute, Databases: checks})
	if err != nil {
		t.Fatalf("ProbeSSH: %v", err)
	}
	return fp
}

func mysqlTables(fp *Fingerprint) map[string]Table {
	tables := map[string]Table{}
	for _, d := range fp.Linux.Databases {
		if d.Engine == "mysql" {
			for _, tb := range d.Tables {
				tables[tableLabel(d, tb)] = tb
			}
		}
	}
	return tables
}

// TestLinuxProbeMySQLDeletedRow is the MySQL acceptance case: a real
// MariaDB over real SSH, read with a password over TCP; healthy twice has
// no blocking finding; one deleted row is exactly one blocking finding
// naming db.table, one changed row a checksum finding.
func TestLinuxProbeMySQLDeletedRow(t *testing.T) {
	h := startMySQLHost(t)
	before := h.probe(t, h.check)
	if len(before.Errors) > 0 {
		t.Fatalf("probe errors on a healthy host: %+v", before.Errors)
	}
	server := fmt.Sprintf("127.0.0.1:%d", h.db.Port)
	tables := mysqlTables(before)
	orders, customers, audit := tables["shop.orders on "+server], tables["shop.customers on "+server], tables["shop.audit log on "+server]
	if len(tables) != 3 || orders.Rows != 5000 || customers.Rows != 2000 || audit.Rows != 2 ||
		orders.Mode != TableFull || audit.Mode != TableFull || orders.Checksum == "" || audit.Checksum == "" || orders.SizeBytes == 0 {
		t.Fatalf("tables = %+v, want shop's orders 5000 rows, customers 2000 and audit log 2, checksummed in full", tables)
	}
	if d := before.Linux.Databases[0]; d.Version != h.db.Version || d.Server != server {
		t.Errorf("database %s: version %q server %q, want %q on %s", d.Name, d.Version, d.Server, h.db.Version, server)
	}
	if !hasPort(before.Linux.Ports, h.db.Port) {
		t.Errorf("ports %v lack mariadb's %d", before.Linux.Ports, h.db.Port)
	}

	healthy := h.probe(t, h.check)
	if b := blockingOf(Compare(before, healthy)); len(b) > 0 {
		t.Errorf("healthy before and after: blocking findings %s", findingsText(b))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.db.Exec(ctx, "shop", "DELETE FROM orders WHERE id = 4242"); err != nil {
		t.Fatal(err)
	}
	after := h.probe(t, h.check)
	all := Compare(before, after)
	var report strings.Builder
	if err := WriteReport(&report, before, after, all); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", report.String())
	if !strings.Contains(report.String(), "FAIL: 1 blocking") || !strings.Contains(report.String(), "table shop.orders on "+server) {
		t.Errorf("report does not fail on the deleted row:\n%s", report.String())
	}
	b := blockingOf(all)
	if len(b) != 1 {
		t.Fatalf("after deleting one row: blocking findings %s, want exactly one", findingsText(b))
	}
	if f := b[0]; f.Check != "linux/table-rows" || f.Object != "table shop.orders on "+server ||
		!strings.HasPrefix(f.Expected, "5000 rows") || !strings.HasPrefix(f.Actual, "4999 rows") {
		t.Errorf("finding %s, want table shop.orders, 5000 → 4999 rows", findingsText(b))
	}

	// The same rows with other content: a checksum finding.
	if err := h.db.Exec(ctx, "shop", "INSERT INTO orders VALUES (4242, 1, 1.00, 'forged')"); err != nil {
		t.Fatal(err)
	}
	after = h.probe(t, h.check)
	if b := blockingOf(Compare(before, after)); len(b) != 1 || b[0].Check != "linux/table-checksum" || b[0].Object != "table shop.orders on "+server {
		t.Errorf("after changing one row: blocking findings %s, want one checksum finding on shop.orders", findingsText(b))
	}

	// Nothing of the password in the fingerprints, findings or report.
	js, _ := json.Marshal([]any{before, after, all})
	if text := string(js) + report.String(); strings.Contains(text, myPassword) || strings.Contains(text, "9b2e") {
		t.Errorf("the password appears in the output")
	}
}

// TestLinuxProbeMySQLSocketAndErrors: a check can name the server's Unix
// socket; a wrong password and a table that cannot be read are reported
// with the account or table, never the password.
func TestLinuxProbeMySQLSocketAndErrors(t *testing.T) {
	h := startMySQLHost(t)
	sock := DatabaseCheck{Engine: "mysql", User: h.check.User, Host: h.db.Socket, Login: "root", Databases: []string{"shop", "other"}}
	fp := h.probe(t, sock)
	if len(fp.Errors) > 0 {
		t.Fatalf("probe errors: %+v", fp.Errors)
	}
	tables := mysqlTables(fp)
	if tb := tables["shop.orders on "+h.db.Socket]; tb.Rows != 5000 || tb.Mode != TableFull || len(tables) != 4 {
		t.Errorf("through the socket: tables %+v", tables)
	}

	bad := h.check
	bad.Password = remote.NewSecret("wrong-" + myPassword)
	fp = h.probe(t, bad)
	if len(fp.Errors) != 1 || !strings.Contains(fp.Errors[0].Message, "Access denied for user 'shift_ro'") ||
		!strings.HasPrefix(fp.Errors[0].Section, "mysql/127.0.0.1:") || fp.Errors[0].Hint == "" {
		t.Errorf("wrong password: errors %+v", fp.Errors)
	}
	if js, _ := json.Marshal(fp); strings.Contains(string(js), "9b2e") {
		t.Errorf("the password appears in the fingerprint: %s", js)
	}

	// A table whose data file is gone (as after a copy that missed it): an
	// error on that table, the others read.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.db.Exec(ctx, "shop", `CREATE TABLE damaged (x int) ENGINE=InnoDB; INSERT INTO damaged VALUES (1);
		ALTER TABLE damaged DISCARD TABLESPACE;`); err != nil {
		t.Fatal(err)
	}
	fp = h.probe(t, h.check)
	tables = mysqlTables(fp)
	server := fmt.Sprintf("127.0.0.1:%d", h.db.Port)
	if tb := tables["shop.orders on "+server]; tb.Mode != TableFull || tb.Rows != 5000 {
		t.Errorf("readable table: %+v", tb)
	}
	if tb := tables["shop.damaged on "+server]; tb.Mode != TableError || !strings.Contains(tb.Error, "damaged") {
		t.Errorf("unreadable table: %+v (all %+v, errors %+v)", tb, tables, fp.Errors)
	}
	if len(tables) != 4 || len(fp.Errors) != 0 {
		t.Errorf("tables %+v, errors %+v: want the 3 others read", tables, fp.Errors)
	}
}

// TestLinuxProbeMySQLAbsent: without a check, the probe looks for the
// default servers on its own. A mariadbd that does not answer on the
// default socket (the fixture's) is not the host's server: MySQL is
// recorded absent with the reason, and so is PostgreSQL. Databases of the
// default server read before and absent after are one blocking finding.
func TestLinuxProbeMySQLAbsent(t *testing.T) {
	h := startMySQLHost(t)
	after := h.probe(t)
	if exec.Command("sh", "-c", "mariadb-admin ping || mysqladmin ping").Run() == nil {
		// This machine runs a MySQL/MariaDB server of its own (the Debian
		// package's service): that one is found (read, or an error if root
		// may not log in), not absent.
		if why, ok := after.AbsentReason(WorkloadMySQL); ok {
			t.Errorf("a server answers on the default socket, yet mysql is absent: %s", why)
		}
		return
	}
	why, ok := after.AbsentReason(WorkloadMySQL)
	if !ok || !strings.Contains(why, "no server answers on the default socket") || !strings.Contains(why, "ERROR 2002") {
		t.Fatalf("absent %q, errors %+v: want mysql absent, no server on the default socket", after.Absent, after.Errors)
	}
	if len(after.Errors) != 0 {
		t.Errorf("errors %+v: an absent server is not an error", after.Errors)
	}
	if exec.Command("sh", "-c", "pg_isready -q").Run() != nil {
		if _, ok := after.AbsentReason(WorkloadPostgreSQL); !ok {
			t.Errorf("absent %q: PostgreSQL not recorded", after.Absent)
		}
	}
	var report strings.Builder
	if err := WriteReport(&report, nil, after, nil); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`not found +mysql: no server answers on the default socket`).MatchString(report.String()) {
		t.Errorf("report:\n%s", report.String())
	}

	// The fixture's databases, read through its socket, stand for the
	// default server's: after, that server is gone.
	before := h.probe(t, DatabaseCheck{Engine: "mysql", User: h.check.User, Host: h.db.Socket, Login: "root", Databases: []string{"shop", "other"}})
	for i := range before.Linux.Databases {
		before.Linux.Databases[i].Server = ""
	}
	if len(before.Linux.Databases) != 2 {
		t.Fatalf("before: databases %+v, errors %+v", before.Linux.Databases, before.Errors)
	}
	var db []Finding
	for _, f := range Compare(before, after) {
		if strings.HasPrefix(f.Check, "linux/database") || strings.HasPrefix(f.Check, "linux/table") {
			db = append(db, f)
		}
	}
	if len(db) != 1 || db[0].Severity != Blocking || db[0].Check != "linux/database-server" || db[0].Object != "mysql server" ||
		db[0].Expected != "running with 2 database(s)" || !strings.Contains(db[0].Message, "no server answers on the default socket") {
		t.Errorf("want one blocking finding for the server: %s", findingsText(db))
	}
}

// TestLinuxProbeMySQLBudget: a table the budget does not reach (it is
// locked by another session, so reading it waits) is recorded as skipped,
// the tables before it are read in full, and a comparison says what it did
// not compare without blocking.
func TestLinuxProbeMySQLBudget(t *testing.T) {
	h := startMySQLHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The largest table, read last (MyISAM: its size is exact at once).
	if err := h.db.Exec(ctx, "shop", "CREATE TABLE big (b longblob) ENGINE=MyISAM; INSERT INTO big VALUES (REPEAT('x', 1000000)), (REPEAT('y', 1000000))"); err != nil {
		t.Fatal(err)
	}
	before := h.probe(t, h.check)
	if len(before.Errors) > 0 {
		t.Fatalf("probe errors: %+v", before.Errors)
	}

	// Hold a write lock on it from another session.
	lock := exec.Command("sh", "-c", `mariadb --no-defaults -S "$1" -u root -e 'LOCK TABLES shop.big WRITE; SELECT SLEEP(60)'`, "lock", h.db.Socket)
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Process.Kill(); lock.Wait() })
	for {
		out, err := h.db.Query(ctx, "", "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP%'")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) == "1" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	start := time.Now()
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	after, err := ProbeSSH(ctx2, h.c, "db01", Options{Budget: 2 * time.Second, Databases: []DatabaseCheck{h.check}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the probe took %s with a 2 s budget", d)
	}
	server := fmt.Sprintf("127.0.0.1:%d", h.db.Port)
	tables := mysqlTables(after)
	if b, o, c := tables["shop.big on "+server], tables["shop.orders on "+server], tables["shop.customers on "+server]; b.Mode != TableSkipped ||
		o.Mode != TableFull || o.Rows != 5000 || c.Mode != TableFull || c.Rows != 2000 {
		t.Fatalf("big %+v, orders %+v, customers %+v: want big skipped by the budget, the others read; errors %+v", b, o, c, after.Errors)
	}
	fs := Compare(before, after)
	if b := blockingOf(fs); len(b) > 0 {
		t.Errorf("blocking: %s", findingsText(b))
	}
	var skipped []Finding
	for _, f := range fs {
		if f.Check == "linux/table" && f.Object == "table shop.big on "+server {
			skipped = append(skipped, f)
		}
	}
	if len(skipped) != 1 || skipped[0].Severity != Info || !strings.Contains(skipped[0].Message, "budget") {
		t.Errorf("want one info finding saying shop.big was not compared: %s", findingsText(fs))
	}
}

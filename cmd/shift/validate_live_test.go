package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/shift-migrate/shift/fixtures/mariadb"
	"github.com/shift-migrate/shift/fixtures/postgres"
	"github.com/shift-migrate/shift/fixtures/sshd"
)

// TestValidateLive runs the scripts in testdata/validate: the shift binary
// fingerprints a live host, a real sshd with a real database server behind
// it, before and after a change. Each script gets its own servers and a
// hosts file h.yaml naming the host db01. Scripts named validate_postgres*
// get PostgreSQL, with a database app, these variables and a command:
//
//	PGPORT, PGUSER, PGOSUSER  the PostgreSQL server's port, superuser, OS user
//	PGPW                      the superuser's password (for --sql-password env:PGPW)
//	pgexec DB SQL             runs SQL in database DB
//
// Scripts named validate_mysql* get MariaDB, with a database shop:
//
//	MYSOCK                    the server's Unix socket (root logs in through it)
//	myexec DB SQL             runs SQL in database DB
func TestValidateLive(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/validate",
		Setup: startValidateHost,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
			"pgexec": cmdPGExec,
			"myexec": cmdMyExec,
		},
	})
}

// pgKey holds a script's PostgreSQL server in its Env.Values.
type pgKey struct{}

const livePGPassword = "pg-Live-Secret-41d7"

// startValidateHost starts the servers of one script; they stop when the
// script ends.
func startValidateHost(env *testscript.Env) error {
	t, ok := env.T().(testing.TB)
	if !ok {
		return errors.New("the live validate scripts need go test")
	}
	ssh := sshd.StartT(t, sshd.Options{})
	hosts := fmt.Sprintf(`hosts:
  - name: db01
    address: 127.0.0.1
    port: %d
    transport: ssh
    user: %s
    key: file:%s
    ssh:
      knownHosts: %s
`, ssh.Port, ssh.User, ssh.ClientKeyFile, ssh.KnownHostsFile)
	if err := os.WriteFile(filepath.Join(env.WorkDir, "h.yaml"), []byte(hosts), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := path.Base(t.Name())
	switch {
	case strings.HasPrefix(script, "validate_postgres"):
		return startLivePostgres(ctx, t, env)
	case strings.HasPrefix(script, "validate_mysql"):
		return startLiveMariaDB(ctx, t, env)
	}
	return fmt.Errorf("script %s: name it validate_postgres* or validate_mysql* to get a database server", script)
}

func startLivePostgres(ctx context.Context, t testing.TB, env *testscript.Env) error {
	pg := postgres.StartT(t, postgres.Options{Password: livePGPassword})
	if err := pg.Exec(ctx, "postgres", "CREATE DATABASE app"); err != nil {
		return err
	}
	if err := pg.Exec(ctx, "app", `
		CREATE TABLE customers (id int PRIMARY KEY, name text);
		INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
		CREATE SCHEMA sales;
		CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2));
		INSERT INTO sales.orders SELECT g, 1 + g % 500, g * 1.25 FROM generate_series(1, 3000) g;`); err != nil {
		return err
	}
	env.Setenv("PGPORT", strconv.Itoa(pg.Port))
	env.Setenv("PGUSER", pg.User)
	env.Setenv("PGOSUSER", pg.OSUser)
	env.Setenv("PGPW", livePGPassword)
	env.Values[pgKey{}] = pg
	return nil
}

func startLiveMariaDB(ctx context.Context, t testing.TB, env *testscript.Env) error {
	db := mariadb.StartT(t, mariadb.Options{})
	if err := db.Exec(ctx, "", "CREATE DATABASE shop"); err != nil {
		return err
	}
	if err := db.Exec(ctx, "shop", `
		CREATE TABLE items (id int PRIMARY KEY, name varchar(40), price decimal(8,2));
		INSERT INTO items SELECT seq, CONCAT('item ', seq), seq / 4 FROM seq_1_to_1500;`); err != nil {
		return err
	}
	env.Setenv("MYSOCK", db.Socket)
	env.Values[myKey{}] = db
	return nil
}

// myKey holds a script's MariaDB server in its Env.Values.
type myKey struct{}

// cmdMyExec runs SQL in a database of the script's MariaDB server:
//
//	myexec shop 'DELETE FROM items WHERE id = 1'
func cmdMyExec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: myexec DB SQL")
	}
	db, _ := ts.Value(myKey{}).(*mariadb.Server)
	if db == nil {
		ts.Fatalf("myexec: no MariaDB server for this script")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Exec(ctx, args[0], args[1]); err != nil {
		ts.Fatalf("myexec: %v", err)
	}
}

// cmdPGExec runs SQL in a database of the script's PostgreSQL server:
//
//	pgexec app 'DELETE FROM t WHERE id = 1'
func cmdPGExec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: pgexec DB SQL")
	}
	pg, _ := ts.Value(pgKey{}).(*postgres.Server)
	if pg == nil {
		ts.Fatalf("pgexec: no PostgreSQL server for this script")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pg.Exec(ctx, args[0], args[1]); err != nil {
		ts.Fatalf("pgexec: %v", err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/shift-migrate/shift/fixtures/postgres"
	"github.com/shift-migrate/shift/fixtures/sshd"
)

// TestValidateLive runs the scripts in testdata/validate: the shift binary
// fingerprints a live host, a real sshd with a real PostgreSQL behind it,
// before and after a change. Each script gets its own servers and a hosts
// file h.yaml naming the host pg01, and these variables:
//
//	PGPORT, PGUSER, PGOSUSER  the PostgreSQL server's port, superuser, OS user
//	PGPW                      the superuser's password (for --sql-password env:PGPW)
//
// and the command "pgexec DB SQL", which runs SQL in database DB.
func TestValidateLive(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/validate",
		Setup: startValidateHost,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
			"pgexec": cmdPGExec,
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
	pg := postgres.StartT(t, postgres.Options{Password: livePGPassword})
	ssh := sshd.StartT(t, sshd.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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
	hosts := fmt.Sprintf(`hosts:
  - name: pg01
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
	env.Setenv("PGPORT", strconv.Itoa(pg.Port))
	env.Setenv("PGUSER", pg.User)
	env.Setenv("PGOSUSER", pg.OSUser)
	env.Setenv("PGPW", livePGPassword)
	env.Values[pgKey{}] = pg
	return nil
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

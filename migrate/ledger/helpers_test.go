package ledger

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/postgres"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

// store is a place a ledger lives: a state directory or a PostgreSQL
// database. open opens a ledger on it as appliance.
type store struct {
	name string
	open func(t testing.TB, appliance string, opts Options) *Ledger
	// shared says several ledgers may be open on the store at once.
	shared bool
}

// sqliteStore is a fresh state directory.
func sqliteStore(t testing.TB) store {
	dir := t.TempDir()
	return store{name: "sqlite", open: func(t testing.TB, appliance string, opts Options) *Ledger {
		t.Helper()
		opts.Appliance = appliance
		l, err := Open(context.Background(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}}
}

// pgServer is a PostgreSQL server started for one top-level test, in which
// each subtest gets a database of its own.
type pgServer struct {
	srv *postgres.Server
	n   atomic.Int64
}

func startPostgres(t testing.TB) *pgServer {
	t.Helper()
	return &pgServer{srv: postgres.StartT(t, postgres.Options{})}
}

// store creates a fresh database.
func (p *pgServer) store(t testing.TB) store {
	t.Helper()
	db := fmt.Sprintf("ledger%d", p.n.Add(1))
	if err := p.srv.Exec(context.Background(), "postgres", "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	dsn := p.srv.DSN(db)
	return store{name: "postgres", shared: true, open: func(t testing.TB, appliance string, opts Options) *Ledger {
		t.Helper()
		l, err := OpenPostgres(context.Background(), dsn, appliance, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}}
}

// crash simulates a kill: the database and the lock are dropped without
// syncing the open journals.
func crash(l *Ledger) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.db.Close()
	l.lock.release()
}

// clock is a settable clock shared by the appliances of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 14, 10, 2, 11, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every reading is later than the last
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// addServers records plan p with servers named prefix0..prefixN-1.
func addServers(t testing.TB, l *Ledger, plan, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	must(t, l.EnsurePlan(ctx, plan, "digest-1"))
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s%02d", prefix, i)
		must(t, l.AddServer(ctx, plan, name, fmt.Sprintf("wave%d", i%3)))
		names = append(names, name)
	}
	return names
}

package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/transfer"
)

// A second ledger on a state directory in use is refused, naming the
// holder; once the first closes, the directory opens again.
func TestLocked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, dir, Options{})
	must(t, err)
	_, err = Open(ctx, dir, Options{})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("second open: %v", err)
	}
	host, _ := os.Hostname()
	if le.PID != os.Getpid() || le.Host != host || time.Since(le.Since) > time.Minute {
		t.Fatalf("holder: %+v", le)
	}
	abs, _ := filepath.Abs(dir)
	want := regexp.MustCompile(`^state directory ` + regexp.QuoteMeta(abs) + ` is in use by shift \(pid ` +
		fmt.Sprint(os.Getpid()) + ` on host ` + regexp.QuoteMeta(host) + `, since \d\d:\d\d:\d\d\); wait for it to finish or stop it$`)
	if !want.MatchString(err.Error()) {
		t.Fatalf("message: %s", err)
	}
	must(t, l.Close())
	must(t, l.Close()) // idempotent
	l, err = Open(ctx, dir, Options{})
	must(t, err)
	must(t, l.Close())
}

// A lock file left by a process that died (its flock went with it) does not
// block: only a held lock does.
func TestStaleLock(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(holder{PID: 999999, Host: "gone", Since: time.Now().Add(-time.Hour)})
	must(t, os.WriteFile(filepath.Join(dir, lockFile), b, 0o600))
	l, err := Open(context.Background(), dir, Options{})
	must(t, err)
	defer l.Close()
	var h holder
	b, _ = os.ReadFile(filepath.Join(dir, lockFile))
	if err := json.Unmarshal(b, &h); err != nil || h.PID != os.Getpid() {
		t.Fatalf("lock file after takeover: %s %v", b, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "", Options{}); err == nil || !strings.Contains(err.Error(), "no state directory") {
		t.Fatalf("empty dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, 0o600))
	if _, err := Open(ctx, file, Options{}); err == nil || !strings.Contains(err.Error(), "create state directory") {
		t.Fatalf("state dir is a file: %v", err)
	}
	// Not a SQLite file: named, and the directory is not left locked.
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, sqliteFile), []byte(strings.Repeat("not a database ", 100)), 0o600))
	_, err := Open(ctx, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, sqliteFile)) || !strings.Contains(err.Error(), "not a shift ledger or is damaged") {
		t.Fatalf("garbage ledger: %v", err)
	}
	if _, err := Open(ctx, dir, Options{}); errors.Is(err, ErrLocked) {
		t.Fatalf("failed open left the directory locked: %v", err)
	}
}

// The file is in WAL mode with full sync, and a ledger from a newer shift
// is refused rather than misread.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, dir, Options{})
	must(t, err)
	var mode string
	var syncLevel, fk int
	must(t, l.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	must(t, l.db.QueryRow(`PRAGMA synchronous`).Scan(&syncLevel))
	must(t, l.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
	if mode != "wal" || syncLevel != 2 || fk != 1 {
		t.Fatalf("journal_mode %s, synchronous %d, foreign_keys %d", mode, syncLevel, fk)
	}
	var v int
	must(t, l.db.QueryRow(`SELECT version FROM schema_version`).Scan(&v))
	if v != SchemaVersion || len(migrations) != SchemaVersion {
		t.Fatalf("schema version %d, package %d, migrations %d", v, SchemaVersion, len(migrations))
	}
	_, err = l.db.Exec(`UPDATE schema_version SET version = 7`)
	must(t, err)
	must(t, l.Close())
	_, err = Open(ctx, dir, Options{})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 7, this shift knows up to 1") ||
		!strings.Contains(err.Error(), filepath.Join(dir, sqliteFile)) {
		t.Fatalf("newer schema: %v", err)
	}
}

// Reopening an existing ledger keeps its schema and data (no migration
// reruns).
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, dir, Options{Appliance: "a1"})
	must(t, err)
	addServers(t, l, "p", "db", 2)
	must(t, l.Transition(ctx, "db01", "", "discovered", ""))
	must(t, l.Close())
	l, err = Open(ctx, dir, Options{})
	must(t, err)
	defer l.Close()
	host, _ := os.Hostname()
	if l.Appliance() != host {
		t.Errorf("default appliance %q, want the host name %q", l.Appliance(), host)
	}
	ss, err := l.Servers(ctx, "p")
	must(t, err)
	if len(ss) != 2 || ss[1].Phase != "discovered" {
		t.Fatalf("after reopen: %+v", ss)
	}
}

// BenchmarkJournalSync measures one Sync of 10,000 recorded chunks (40 GiB
// of disk at 4 MiB a chunk) into SQLite, each a fresh row the first time
// and an update of an existing row after.
func BenchmarkJournalSync(b *testing.B) {
	ctx := context.Background()
	l, err := Open(ctx, b.TempDir(), Options{})
	must(b, err)
	defer l.Close()
	benchJournalSync(b, l)
}

func benchJournalSync(b *testing.B, l *Ledger) {
	ctx := context.Background()
	addServers(b, l, "p", "db", 1)
	const n = 10_000
	j, err := l.Journal(ctx, "db00", "disk0", n*transfer.ChunkSize)
	must(b, err)
	must(b, j.BeginPass(1))
	b.ReportAllocs()
	for b.Loop() {
		for i := range int64(n) {
			if err := j.Record(i, transfer.Hash{byte(i), byte(i >> 8), byte(b.N)}); err != nil {
				b.Fatal(err)
			}
		}
		if err := j.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "chunks/s")
}

// A closed ledger refuses writes with ErrClosed, and Close synced the open
// journals first.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, dir, Options{})
	must(t, err)
	addServers(t, l, "p", "db", 1)
	j, err := l.Journal(ctx, "db00", "d", transfer.ChunkSize)
	must(t, err)
	must(t, j.BeginPass(1))
	must(t, j.Record(0, transfer.Hash{1}))
	must(t, l.Close()) // syncs the journal
	if err := l.Transition(ctx, "db00", "", "x", ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("transition after close: %v", err)
	}
	if _, err := l.Journal(ctx, "db00", "d", transfer.ChunkSize); !errors.Is(err, ErrClosed) {
		t.Fatalf("journal after close: %v", err)
	}
	if _, err := l.Server(ctx, "db00"); err == nil || errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("read after close: %v", err)
	}
	l, err = Open(ctx, dir, Options{})
	must(t, err)
	defer l.Close()
	j, err = l.Journal(ctx, "db00", "d", transfer.ChunkSize)
	must(t, err)
	if c := j.State().Chunks[0]; c.Hash != (transfer.Hash{1}) {
		t.Fatalf("Close did not sync the journal: %+v", c)
	}
}

package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrLocked: the state directory is in use by another shift process.
	// The error is a *LockedError naming the holder.
	ErrLocked = errors.New("state directory in use")
	// ErrConflict: a transition expected a phase the server is no longer in
	// (another process or goroutine moved it first).
	ErrConflict = errors.New("phase changed meanwhile")
	// ErrNotOwner: another appliance holds the server's claim.
	ErrNotOwner = errors.New("server claimed by another appliance")
	// ErrUnknownServer: the server is not in the ledger.
	ErrUnknownServer = errors.New("server not in the ledger")
	// ErrPlanChanged: a plan is already recorded with another digest.
	ErrPlanChanged = errors.New("plan changed since it was recorded")
	// ErrSchemaTooNew: the ledger was written by a newer shift.
	ErrSchemaTooNew = errors.New("ledger written by a newer shift")
	// ErrClosed: the ledger was closed.
	ErrClosed = errors.New("ledger closed")
)

// Options tunes a ledger. The zero value is usable.
type Options struct {
	// Appliance names this process in history, steps, events and claims; ""
	// means the host name. OpenPostgres takes it as an argument instead.
	Appliance string
	// Now returns the current time; nil means time.Now. Leases compare
	// times from this clock, so appliances sharing a PostgreSQL ledger need
	// clocks in step (NTP) to well within a lease.
	Now func() time.Time
}

// Ledger is an open ledger. Its methods are safe for concurrent use.
type Ledger struct {
	db        *sql.DB
	d         dialect
	where     string // names the ledger in errors: a path or host/database
	appliance string
	now       func() time.Time
	lock      *dirLock // nil for PostgreSQL

	mu       sync.Mutex
	journals map[journalKey]*DiskJournal
	closed   bool
}

// sqliteFile is the ledger's file name inside the state directory.
const sqliteFile = "ledger.db"

// Open opens (creating when missing) the SQLite ledger of stateDir and locks
// the directory for this process until Close. A directory locked by a live
// shift process gives a *LockedError (ErrLocked); a lock left by a killed
// process is taken over.
func Open(ctx context.Context, stateDir string, opts Options) (*Ledger, error) {
	if stateDir == "" {
		return nil, errors.New("ledger: no state directory given")
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, fmt.Errorf("ledger: state directory %s: %w", stateDir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: create state directory: %w", err)
	}
	lk, err := lockDir(abs, time.Now())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(abs, sqliteFile)
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		lk.release()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	// One connection: only this process writes (the directory lock says so)
	// and SQLite has one writer anyway; the pool queues writers in Go
	// instead of SQLite answering "database is locked".
	db.SetMaxOpenConns(1)
	l, err := newLedger(ctx, db, sqliteDialect, path, opts)
	if err != nil {
		if se := (*sqlite.Error)(nil); errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_NOTADB || se.Code() == sqlite3.SQLITE_CORRUPT) {
			err = fmt.Errorf("%w: the file is not a shift ledger or is damaged; restore it from a backup, or move it away to start a new ledger (the migration then starts over)", err)
		}
		db.Close()
		lk.release()
		return nil, err
	}
	l.lock = lk
	return l, nil
}

// sqliteDSN asks for WAL with synchronous=FULL, so that every commit is on
// disk when it returns (NORMAL would keep a process crash harmless but could
// lose the last commits to a power cut), foreign keys, a busy timeout and
// write transactions that take the write lock when they begin.
func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// OpenPostgres opens the ledger kept in the PostgreSQL database dsn names
// (a URL or key=value string, as libpq takes), creating its tables when
// missing. Several appliances may share it; appliance must name this one
// uniquely, it is how claims tell them apart.
func OpenPostgres(ctx context.Context, dsn, appliance string, opts Options) (*Ledger, error) {
	if appliance == "" {
		return nil, errors.New("ledger: postgres: no appliance name given (each appliance sharing a ledger needs its own)")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("ledger: postgres: the connection string does not parse (expected postgres://user@host:port/db or host=... dbname=...)")
	}
	where := fmt.Sprintf("postgres %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: connect: %w", where, err)
	}
	opts.Appliance = appliance
	l, err := newLedger(ctx, db, postgresDialect, where, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

func newLedger(ctx context.Context, db *sql.DB, d dialect, where string, opts Options) (*Ledger, error) {
	l := &Ledger{db: db, d: d, where: where, appliance: opts.Appliance, now: opts.Now,
		journals: map[journalKey]*DiskJournal{}}
	if l.appliance == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		l.appliance = h
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.migrate(ctx); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", where, err)
	}
	return l, nil
}

// Appliance returns the name this ledger records and claims under.
func (l *Ledger) Appliance() string { return l.appliance }

// String names the ledger: its file or its PostgreSQL database.
func (l *Ledger) String() string { return l.where }

// Close syncs the open journals, closes the database and releases the state
// directory. Later calls do nothing.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	js := make([]*DiskJournal, 0, len(l.journals))
	for _, j := range l.journals {
		js = append(js, j)
	}
	l.mu.Unlock()
	var errs []error
	for _, j := range js {
		errs = append(errs, j.Close())
	}
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if err := l.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("ledger %s: close: %w", l.where, err))
	}
	if l.lock != nil {
		errs = append(errs, l.lock.release())
	}
	return errors.Join(errs...)
}

func (l *Ledger) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// nanos is the stored form of a time.
func nanos(t time.Time) int64 { return t.UnixNano() }

// timeOf reads a stored time; 0 is the zero time.
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// tx runs f in a transaction and commits it.
func (l *Ledger) tx(ctx context.Context, f func(*sql.Tx) error) error {
	if l.isClosed() {
		return ErrClosed
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// q rewrites a query written with ? placeholders for the dialect.
func (l *Ledger) q(query string) string { return l.d.rebind(query) }

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name      string
	dollar    bool   // placeholders are $1, $2, ...
	serial    string // an auto-numbered primary key column
	blob      string // a byte-string column type
	noRowID   string // table option for tables keyed by their primary key
	forUpdate string // row lock clause for SELECT in a transaction
}

var (
	sqliteDialect = dialect{name: "sqlite", serial: "INTEGER PRIMARY KEY AUTOINCREMENT", blob: "BLOB",
		noRowID: "WITHOUT ROWID"}
	postgresDialect = dialect{name: "postgres", dollar: true, serial: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
		blob: "BYTEA", forUpdate: " FOR UPDATE"}
)

// rebind turns ? placeholders into $n where the dialect wants them. The
// queries of this package have no ? inside string literals.
func (d dialect) rebind(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkName refuses empty names and control characters, which would make
// reports and error messages unreadable.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("no %s name given", what)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%s name %q has a control character", what, name)
		}
	}
	return nil
}

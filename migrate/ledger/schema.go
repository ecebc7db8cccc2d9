package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migrations[i] brings the schema from version i to i+1. Never edit one that
// has shipped: append another. Each is written once for both dialects, with
// {serial}, {blob} and {norowid} standing for what differs.
//
// Times are Unix nanoseconds; 0 means none.
var migrations = [][]string{
	{ // 1: plans, servers, history, steps, events, facts, chunk journals
		`CREATE TABLE plans (
			id TEXT PRIMARY KEY,
			digest TEXT NOT NULL,
			created BIGINT NOT NULL,
			updated BIGINT NOT NULL)`,
		`CREATE TABLE servers (
			id {serial},
			name TEXT NOT NULL UNIQUE,
			plan TEXT NOT NULL REFERENCES plans(id),
			wave TEXT NOT NULL,
			phase TEXT NOT NULL DEFAULT '',
			step TEXT NOT NULL DEFAULT '',
			owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			updated BIGINT NOT NULL)`,
		`CREATE INDEX servers_plan ON servers(plan, id)`,
		`CREATE TABLE history (
			id {serial},
			server TEXT NOT NULL REFERENCES servers(name),
			from_phase TEXT NOT NULL,
			to_phase TEXT NOT NULL,
			detail TEXT NOT NULL,
			failed INTEGER NOT NULL,
			appliance TEXT NOT NULL,
			at BIGINT NOT NULL)`,
		`CREATE INDEX history_server ON history(server, id)`,
		`CREATE TABLE steps (
			id {serial},
			server TEXT NOT NULL REFERENCES servers(name),
			step TEXT NOT NULL,
			undo TEXT NOT NULL,
			appliance TEXT NOT NULL,
			done_at BIGINT NOT NULL,
			undone_at BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX steps_server ON steps(server, id)`,
		`CREATE TABLE events (
			id {serial},
			server TEXT NOT NULL,
			kind TEXT NOT NULL,
			message TEXT NOT NULL,
			appliance TEXT NOT NULL,
			at BIGINT NOT NULL)`,
		`CREATE INDEX events_server ON events(server, id)`,
		`CREATE TABLE disks (
			id {serial},
			server TEXT NOT NULL REFERENCES servers(name),
			disk TEXT NOT NULL,
			size BIGINT NOT NULL,
			chunk_size BIGINT NOT NULL,
			last_pass INTEGER NOT NULL DEFAULT 0,
			last_digest {blob},
			open_pass INTEGER NOT NULL DEFAULT 0,
			updated BIGINT NOT NULL,
			UNIQUE (server, disk))`,
		`CREATE TABLE facts (
			server TEXT NOT NULL REFERENCES servers(name),
			key TEXT NOT NULL,
			value {blob} NOT NULL,
			appliance TEXT NOT NULL,
			updated BIGINT NOT NULL,
			PRIMARY KEY (server, key))`,
		// One row per chunk written or invalidated: hash NULL and dirty 1
		// for an invalidated chunk.
		`CREATE TABLE chunks (
			disk_id BIGINT NOT NULL REFERENCES disks(id),
			idx BIGINT NOT NULL,
			hash {blob},
			pass INTEGER NOT NULL,
			dirty INTEGER NOT NULL,
			PRIMARY KEY (disk_id, idx)) {norowid}`,
	},
}

// SchemaVersion is the schema version this package writes.
const SchemaVersion = 1

// postgresMigrationLock is the advisory lock key that serialises appliances
// creating or upgrading a shared schema ("shiftldg").
const postgresMigrationLock = 0x73686966746c6467

// migrate creates or upgrades the schema, refusing one newer than this
// package knows.
func (l *Ledger) migrate(ctx context.Context) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		if l.d.dollar {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(postgresMigrationLock)); err != nil {
				return fmt.Errorf("lock schema: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		v, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("%w: schema version %d, this shift knows up to %d; run a newer shift on it", ErrSchemaTooNew, v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			for _, stmt := range migrations[i] {
				if _, err := tx.ExecContext(ctx, l.d.ddl(stmt)); err != nil {
					return fmt.Errorf("schema: upgrade to version %d: %w", i+1, err)
				}
			}
		}
		if v == len(migrations) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx, l.q(`INSERT INTO schema_version (version) VALUES (?)`), len(migrations)); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		return nil
	})
}

func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v int
	err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

func (d dialect) ddl(stmt string) string {
	return strings.NewReplacer("{serial}", d.serial, "{blob}", d.blob, "{norowid}", d.noRowID).Replace(stmt)
}

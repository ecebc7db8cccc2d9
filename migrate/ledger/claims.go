package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Claim makes this appliance the owner of server for lease, unless another
// appliance holds a lease that has not expired: then it returns false. A
// server whose owner stopped renewing (a crashed appliance) is taken over,
// and the takeover is logged as an event. Claiming a server this appliance
// holds renews it.
//
// While an appliance holds a server, no other one can change it
// (Transition, steps, journal), so it is migrated by exactly one.
func (l *Ledger) Claim(ctx context.Context, server string, lease time.Duration) (bool, error) {
	if lease <= 0 {
		return false, l.errf(server, "claim", fmt.Errorf("lease %v is not positive", lease))
	}
	won := false
	err := l.tx(ctx, func(tx *sql.Tx) error {
		now := l.now()
		// The condition is checked again by the update, which PostgreSQL
		// re-evaluates on the latest row version: of appliances racing, one
		// updates the row and the others find it taken.
		s, err := scanServer(tx.QueryRowContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE name = ?`), server))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w (AddServer first)", ErrUnknownServer)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, l.q(`UPDATE servers SET owner = ?, lease_until = ?
			WHERE name = ? AND (owner = '' OR owner = ? OR lease_until < ?)`),
			l.appliance, nanos(now.Add(lease)), server, l.appliance, nanos(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		won = true
		if s.Owner == "" || s.Owner == l.appliance {
			return nil
		}
		_, err = tx.ExecContext(ctx, l.q(`INSERT INTO events (server, kind, message, appliance, at) VALUES (?, ?, ?, ?, ?)`),
			server, "takeover", fmt.Sprintf("appliance %s took over from %s, whose lease expired at %s",
				l.appliance, s.Owner, s.LeaseUntil.UTC().Format(time.RFC3339)), l.appliance, nanos(now))
		return err
	})
	if err != nil {
		return false, l.errf(server, "claim", err)
	}
	return won, nil
}

// Renew extends this appliance's claim on server to lease from now. It
// fails with ErrNotOwner when the claim was lost (taken over after it
// expired, or released).
func (l *Ledger) Renew(ctx context.Context, server string, lease time.Duration) error {
	if lease <= 0 {
		return l.errf(server, "renew claim", fmt.Errorf("lease %v is not positive", lease))
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, l.q(`UPDATE servers SET lease_until = ? WHERE name = ? AND owner = ?`),
			nanos(l.now().Add(lease)), server, l.appliance)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return l.lostClaim(ctx, tx, server)
	})
	if err != nil {
		return l.errf(server, "renew claim", err)
	}
	return nil
}

// Release gives up this appliance's claim on server, so that another may
// claim it at once. Releasing a server not held by this appliance fails with
// ErrNotOwner.
func (l *Ledger) Release(ctx context.Context, server string) error {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, l.q(`UPDATE servers SET owner = '', lease_until = 0 WHERE name = ? AND owner = ?`),
			server, l.appliance)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return l.lostClaim(ctx, tx, server)
	})
	if err != nil {
		return l.errf(server, "release claim", err)
	}
	return nil
}

func (l *Ledger) lostClaim(ctx context.Context, tx *sql.Tx, server string) error {
	s, err := scanServer(tx.QueryRowContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE name = ?`), server))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w (AddServer first)", ErrUnknownServer)
	case err != nil:
		return err
	case s.Owner == "":
		return fmt.Errorf("%w: no appliance holds it (claim it first)", ErrNotOwner)
	}
	return l.notOwner(s)
}

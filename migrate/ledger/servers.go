package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Plan is a recorded plan.
type Plan struct {
	// ID names the plan.
	ID string
	// Digest identifies the plan's content (the engine's choice of hash).
	Digest string
	// Created and Updated are when it was first and last recorded.
	Created, Updated time.Time
}

// Server is a server's row in the ledger.
type Server struct {
	// Plan is the plan the server belongs to.
	Plan string
	// Name is the server's name, unique in the ledger.
	Name string
	// Wave is the wave of the plan the server moves in.
	Wave string
	// Phase is the server's current phase; "" until its first transition.
	Phase string
	// Step is the last step done and not undone; "" means none.
	Step string
	// Owner is the appliance holding the server's claim; "" means none.
	Owner string
	// LeaseUntil is when Owner's claim expires unless renewed.
	LeaseUntil time.Time
	// Error is the reason of the last failed transition; "" once a later
	// transition succeeded.
	Error string
	// Updated is when the row last changed.
	Updated time.Time
}

// PhaseChange is one transition in a server's history.
type PhaseChange struct {
	// Server moved from phase From ("" for its first transition) to To.
	Server, From, To string
	// Detail says why (the engine's words); for a failure, the reason.
	Detail string
	// Failed is true for a transition recorded by Fail.
	Failed bool
	// Appliance made the change at At.
	Appliance string
	At        time.Time
}

// Step is a step done for a server, with how to undo it.
type Step struct {
	// Server is the server the step Name was done for.
	Server, Name string
	// Undo is JSON describing how to undo the step; "" means nothing to undo.
	Undo string
	// Appliance did the step at Done.
	Appliance string
	Done      time.Time
	// Undone is when the step was undone; zero while it stands.
	Undone time.Time
}

// Event is an entry of the ledger's log, for the final report.
type Event struct {
	// ID orders events; it grows with every event.
	ID int64
	// Server is the server concerned; "" means the whole migration.
	Server string
	// Kind classifies the event (the engine's words: "info", "warning", ...).
	Kind    string
	Message string
	// Appliance recorded the event at At.
	Appliance string
	At        time.Time
}

// errf wraps err with the ledger, server and operation; nil stays nil.
func (l *Ledger) errf(server, op string, err error) error {
	if err == nil {
		return nil
	}
	if server == "" {
		return fmt.Errorf("ledger %s: %s: %w", l.where, op, err)
	}
	return fmt.Errorf("ledger %s: server %s: %s: %w", l.where, server, op, err)
}

// EnsurePlan records plan id with digest. Recording it again with the same
// digest does nothing; with another digest it fails with ErrPlanChanged
// (ReplacePlan accepts the change).
func (l *Ledger) EnsurePlan(ctx context.Context, id, digest string) error {
	if err := checkName("plan", id); err != nil {
		return l.errf("", "record plan", err)
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, l.q(`SELECT digest FROM plans WHERE id = ?`), id).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			now := nanos(l.now())
			_, err = tx.ExecContext(ctx, l.q(`INSERT INTO plans (id, digest, created, updated) VALUES (?, ?, ?, ?)`), id, digest, now, now)
			return err
		case err != nil:
			return err
		case old != digest:
			return fmt.Errorf("%w: recorded with digest %s, now %s; review the changes, then accept them (replan) or restore the plan file", ErrPlanChanged, old, digest)
		}
		return nil
	})
	if err != nil {
		return l.errf("", "plan "+id, err)
	}
	return nil
}

// ReplacePlan records digest as plan id's, whatever it was.
func (l *Ledger) ReplacePlan(ctx context.Context, id, digest string) error {
	if err := checkName("plan", id); err != nil {
		return l.errf("", "record plan", err)
	}
	now := nanos(l.now())
	err := l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, l.q(`INSERT INTO plans (id, digest, created, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, updated = excluded.updated`), id, digest, now, now)
		return err
	})
	if err != nil {
		return l.errf("", "plan "+id, err)
	}
	return nil
}

// Plan returns plan id; ok is false when it is not recorded.
func (l *Ledger) Plan(ctx context.Context, id string) (p Plan, ok bool, err error) {
	var c, u int64
	err = l.db.QueryRowContext(ctx, l.q(`SELECT id, digest, created, updated FROM plans WHERE id = ?`), id).Scan(&p.ID, &p.Digest, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, false, nil
	}
	if err != nil {
		return Plan{}, false, l.errf("", "plan "+id, err)
	}
	p.Created, p.Updated = timeOf(c), timeOf(u)
	return p, true, nil
}

// AddServer adds server to plan in wave, in phase "". Adding it again to the
// same plan only updates its wave; a server belongs to one plan.
func (l *Ledger) AddServer(ctx context.Context, plan, server, wave string) error {
	if err := errors.Join(checkName("plan", plan), checkName("server", server)); err != nil {
		return l.errf(server, "add", err)
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		var oldPlan, oldWave string
		err := tx.QueryRowContext(ctx, l.q(`SELECT plan, wave FROM servers WHERE name = ?`), server).Scan(&oldPlan, &oldWave)
		now := nanos(l.now())
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var one int
			if err := tx.QueryRowContext(ctx, l.q(`SELECT 1 FROM plans WHERE id = ?`), plan).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("plan %s is not recorded (EnsurePlan first)", plan)
			} else if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, l.q(`INSERT INTO servers (name, plan, wave, updated) VALUES (?, ?, ?, ?)`), server, plan, wave, now)
			return err
		case err != nil:
			return err
		case oldPlan != plan:
			return fmt.Errorf("already in plan %s: a server is migrated by one plan; remove it from one of them", oldPlan)
		case oldWave != wave:
			_, err = tx.ExecContext(ctx, l.q(`UPDATE servers SET wave = ?, updated = ? WHERE name = ?`), wave, now, server)
			return err
		}
		return nil
	})
	if err != nil {
		return l.errf(server, "add to plan "+plan, err)
	}
	return nil
}

const serverCols = `plan, name, wave, phase, step, owner, lease_until, error, updated`

func scanServer(sc interface{ Scan(...any) error }) (Server, error) {
	var s Server
	var lease, upd int64
	err := sc.Scan(&s.Plan, &s.Name, &s.Wave, &s.Phase, &s.Step, &s.Owner, &lease, &s.Error, &upd)
	s.LeaseUntil, s.Updated = timeOf(lease), timeOf(upd)
	return s, err
}

// Server returns server's row; ErrUnknownServer when it is not in the ledger.
func (l *Ledger) Server(ctx context.Context, server string) (Server, error) {
	s, err := scanServer(l.db.QueryRowContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE name = ?`), server))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrUnknownServer
	}
	if err != nil {
		return Server{}, l.errf(server, "read", err)
	}
	return s, nil
}

// Servers returns the servers of plan in the order they were added.
func (l *Ledger) Servers(ctx context.Context, plan string) ([]Server, error) {
	rows, err := l.db.QueryContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE plan = ? ORDER BY id`), plan)
	if err != nil {
		return nil, l.errf("", "servers of plan "+plan, err)
	}
	defer rows.Close()
	var out []Server
	for rows.Next() {
		s, err := scanServer(rows)
		if err != nil {
			return nil, l.errf("", "servers of plan "+plan, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, l.errf("", "servers of plan "+plan, err)
	}
	return out, nil
}

// Transition moves server from phase from to phase to, if it is in from and
// not claimed by another appliance, and appends the change to its history.
// It fails with ErrConflict when the server is in another phase (someone
// moved it first), with ErrNotOwner when another appliance holds it. It
// clears the server's error.
func (l *Ledger) Transition(ctx context.Context, server, from, to, detail string) error {
	return l.transition(ctx, server, from, to, detail, false)
}

// Fail is Transition for a failure: it also records reason as the server's
// error.
func (l *Ledger) Fail(ctx context.Context, server, from, to, reason string) error {
	return l.transition(ctx, server, from, to, reason, true)
}

func (l *Ledger) transition(ctx context.Context, server, from, to, detail string, failed bool) error {
	op := fmt.Sprintf("transition %q → %q", from, to)
	if err := checkName("phase", to); err != nil {
		return l.errf(server, op, err)
	}
	errText := ""
	if failed {
		errText = detail
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		now := nanos(l.now())
		res, err := tx.ExecContext(ctx, l.q(`UPDATE servers SET phase = ?, error = ?, updated = ?
			WHERE name = ? AND phase = ? AND (owner = '' OR owner = ?)`), to, errText, now, server, from, l.appliance)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return l.whyNot(ctx, tx, server, from)
		}
		_, err = tx.ExecContext(ctx, l.q(`INSERT INTO history (server, from_phase, to_phase, detail, failed, appliance, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), server, from, to, detail, boolInt(failed), l.appliance, now)
		return err
	})
	if err != nil {
		return l.errf(server, op, err)
	}
	return nil
}

// whyNot explains why a conditional update of server changed nothing.
func (l *Ledger) whyNot(ctx context.Context, tx *sql.Tx, server, from string) error {
	s, err := scanServer(tx.QueryRowContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE name = ?`), server))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w (AddServer first)", ErrUnknownServer)
	case err != nil:
		return err
	case s.Owner != "" && s.Owner != l.appliance:
		return l.notOwner(s)
	case s.Phase != from:
		return fmt.Errorf("%w: the server is in phase %q", ErrConflict, s.Phase)
	}
	return fmt.Errorf("%w: the server changed meanwhile", ErrConflict)
}

func (l *Ledger) notOwner(s Server) error {
	return fmt.Errorf("%w: appliance %s holds it (lease until %s); this appliance is %s",
		ErrNotOwner, s.Owner, s.LeaseUntil.Local().Format(time.DateTime), l.appliance)
}

// writable locks server's row for the transaction and checks that this
// appliance may change it.
func (l *Ledger) writable(ctx context.Context, tx *sql.Tx, server string) (Server, error) {
	s, err := scanServer(tx.QueryRowContext(ctx, l.q(`SELECT `+serverCols+` FROM servers WHERE name = ?`+l.d.forUpdate), server))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, fmt.Errorf("%w (AddServer first)", ErrUnknownServer)
	case err != nil:
		return s, err
	case s.Owner != "" && s.Owner != l.appliance:
		return s, l.notOwner(s)
	}
	return s, nil
}

// Phase returns server's phase; "" until its first transition.
func (l *Ledger) Phase(ctx context.Context, server string) (string, error) {
	var ph string
	err := l.db.QueryRowContext(ctx, l.q(`SELECT phase FROM servers WHERE name = ?`), server).Scan(&ph)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrUnknownServer
	}
	if err != nil {
		return "", l.errf(server, "phase", err)
	}
	return ph, nil
}

// Put stores value under key for server (the facts a later step needs: its
// inventory, a fingerprint); a nil value deletes the key.
func (l *Ledger) Put(ctx context.Context, server, key string, value []byte) error {
	if err := checkName("key", key); err != nil {
		return l.errf(server, "put", err)
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, server); err != nil {
			return err
		}
		if value == nil {
			_, err := tx.ExecContext(ctx, l.q(`DELETE FROM facts WHERE server = ? AND key = ?`), server, key)
			return err
		}
		_, err := tx.ExecContext(ctx, l.q(`INSERT INTO facts (server, key, value, appliance, updated) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (server, key) DO UPDATE SET value = excluded.value, appliance = excluded.appliance, updated = excluded.updated`),
			server, key, append([]byte{}, value...), l.appliance, nanos(l.now()))
		return err
	})
	if err != nil {
		return l.errf(server, "put "+key, err)
	}
	return nil
}

// Get returns the value stored under key for server; nil when there is
// none.
func (l *Ledger) Get(ctx context.Context, server, key string) ([]byte, error) {
	var v []byte
	err := l.db.QueryRowContext(ctx, l.q(`SELECT value FROM facts WHERE server = ? AND key = ?`), server, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, l.errf(server, "get "+key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// History returns server's transitions, oldest first.
func (l *Ledger) History(ctx context.Context, server string) ([]PhaseChange, error) {
	rows, err := l.db.QueryContext(ctx, l.q(`SELECT server, from_phase, to_phase, detail, failed, appliance, at
		FROM history WHERE server = ? ORDER BY id`), server)
	if err != nil {
		return nil, l.errf(server, "history", err)
	}
	defer rows.Close()
	var out []PhaseChange
	for rows.Next() {
		var c PhaseChange
		var failed int
		var at int64
		if err := rows.Scan(&c.Server, &c.From, &c.To, &c.Detail, &failed, &c.Appliance, &at); err != nil {
			return nil, l.errf(server, "history", err)
		}
		c.Failed, c.At = failed != 0, timeOf(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, l.errf(server, "history", err)
	}
	return out, nil
}

// StepDone records that step was done for server and how to undo it (JSON;
// "" for nothing to undo). Recording a step that stands again (a step redone
// after a crash) replaces its undo data and keeps its place.
func (l *Ledger) StepDone(ctx context.Context, server, step, undo string) error {
	op := "step " + step + " done"
	if err := checkName("step", step); err != nil {
		return l.errf(server, op, err)
	}
	if undo != "" && !json.Valid([]byte(undo)) {
		return l.errf(server, op, errors.New("undo data is not valid JSON"))
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, server); err != nil {
			return err
		}
		now := nanos(l.now())
		id, err := l.standingStep(ctx, tx, server, step)
		if err != nil {
			return err
		}
		if id != 0 {
			_, err = tx.ExecContext(ctx, l.q(`UPDATE steps SET undo = ?, appliance = ?, done_at = ? WHERE id = ?`), undo, l.appliance, now, id)
		} else {
			_, err = tx.ExecContext(ctx, l.q(`INSERT INTO steps (server, step, undo, appliance, done_at) VALUES (?, ?, ?, ?, ?)`),
				server, step, undo, l.appliance, now)
		}
		if err != nil {
			return err
		}
		return l.setStep(ctx, tx, server, now)
	})
	if err != nil {
		return l.errf(server, op, err)
	}
	return nil
}

// StepUndone records that step, standing for server, was undone.
func (l *Ledger) StepUndone(ctx context.Context, server, step string) error {
	op := "step " + step + " undone"
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, server); err != nil {
			return err
		}
		id, err := l.standingStep(ctx, tx, server, step)
		if err != nil {
			return err
		}
		if id == 0 {
			return fmt.Errorf("no step %q stands for the server", step)
		}
		now := nanos(l.now())
		if _, err := tx.ExecContext(ctx, l.q(`UPDATE steps SET undone_at = ? WHERE id = ?`), now, id); err != nil {
			return err
		}
		return l.setStep(ctx, tx, server, now)
	})
	if err != nil {
		return l.errf(server, op, err)
	}
	return nil
}

// standingStep returns the id of step's row that is done and not undone; 0
// means none.
func (l *Ledger) standingStep(ctx context.Context, tx *sql.Tx, server, step string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, l.q(`SELECT id FROM steps WHERE server = ? AND step = ? AND undone_at = 0 ORDER BY id DESC LIMIT 1`),
		server, step).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// setStep sets the server's Step to its last standing step.
func (l *Ledger) setStep(ctx context.Context, tx *sql.Tx, server string, now int64) error {
	var step string
	err := tx.QueryRowContext(ctx, l.q(`SELECT step FROM steps WHERE server = ? AND undone_at = 0 ORDER BY id DESC LIMIT 1`), server).Scan(&step)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, l.q(`UPDATE servers SET step = ?, updated = ? WHERE name = ?`), step, now, server)
	return err
}

// Steps returns server's standing steps (done and not undone) in the order
// they were done. After a crash the engine undoes them in reverse order.
func (l *Ledger) Steps(ctx context.Context, server string) ([]Step, error) {
	return l.steps(ctx, server, `SELECT server, step, undo, appliance, done_at, undone_at
		FROM steps WHERE server = ? AND undone_at = 0 ORDER BY id`)
}

// StepLog returns every step done for server in the order they were done,
// undone ones included (with Undone set), for reports.
func (l *Ledger) StepLog(ctx context.Context, server string) ([]Step, error) {
	return l.steps(ctx, server, `SELECT server, step, undo, appliance, done_at, undone_at
		FROM steps WHERE server = ? ORDER BY id`)
}

func (l *Ledger) steps(ctx context.Context, server, query string) ([]Step, error) {
	rows, err := l.db.QueryContext(ctx, l.q(query), server)
	if err != nil {
		return nil, l.errf(server, "steps", err)
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var s Step
		var done, undone int64
		if err := rows.Scan(&s.Server, &s.Name, &s.Undo, &s.Appliance, &done, &undone); err != nil {
			return nil, l.errf(server, "steps", err)
		}
		s.Done, s.Undone = timeOf(done), timeOf(undone)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, l.errf(server, "steps", err)
	}
	return out, nil
}

// Event appends an event to the log; server "" is the whole migration.
func (l *Ledger) Event(ctx context.Context, server, kind, message string) error {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, l.q(`INSERT INTO events (server, kind, message, appliance, at) VALUES (?, ?, ?, ?, ?)`),
			server, kind, message, l.appliance, nanos(l.now()))
		return err
	})
	if err != nil {
		return l.errf(server, "event", err)
	}
	return nil
}

// Events returns server's events, oldest first; server "" returns every
// event.
func (l *Ledger) Events(ctx context.Context, server string) ([]Event, error) {
	query, args := `SELECT id, server, kind, message, appliance, at FROM events ORDER BY id`, []any(nil)
	if server != "" {
		query, args = `SELECT id, server, kind, message, appliance, at FROM events WHERE server = ? ORDER BY id`, []any{server}
	}
	rows, err := l.db.QueryContext(ctx, l.q(query), args...)
	if err != nil {
		return nil, l.errf(server, "events", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &e.Server, &e.Kind, &e.Message, &e.Appliance, &at); err != nil {
			return nil, l.errf(server, "events", err)
		}
		e.At = timeOf(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, l.errf(server, "events", err)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

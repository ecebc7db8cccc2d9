package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/transfer"
)

// Store is the engine's Ledger over a migrate/ledger: the plan recorded, its
// servers added, phases as the engine names them.
type Store struct {
	l    *ledger.Ledger
	plan string
}

var (
	_ Ledger  = (*Store)(nil)
	_ Claimer = (*Store)(nil)
)

// NewStore records p and its servers in l (again, when they are there) and
// returns the engine's view of it. A plan whose meaning changed since the
// last run is taken as the new one: servers keep their phases.
func NewStore(ctx context.Context, l *ledger.Ledger, p *plan.Plan) (*Store, error) {
	id := p.Label()
	if err := l.EnsurePlan(ctx, id, p.Digest()); errors.Is(err, ledger.ErrPlanChanged) {
		err = l.ReplacePlan(ctx, id, p.Digest())
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	for _, w := range p.Waves {
		for _, h := range w.Hosts {
			if err := l.AddServer(ctx, id, h.Name, w.Name); err != nil {
				return nil, fmt.Errorf("plan %s: %w", id, err)
			}
		}
	}
	return &Store{l: l, plan: id}, nil
}

func (s *Store) Phase(ctx context.Context, server string) (face.Phase, error) {
	ph, err := s.l.Phase(ctx, server)
	if ph == "" {
		return face.Pending, err
	}
	return face.Phase(ph), err
}

func (s *Store) Transition(ctx context.Context, server string, from, to face.Phase, detail string) error {
	f := string(from)
	if from == face.Pending {
		// A server that never moved has no phase in the ledger yet.
		if ph, err := s.l.Phase(ctx, server); err == nil && ph == "" {
			f = ""
		}
	}
	if to == face.Failed {
		return s.l.Fail(ctx, server, f, string(to), detail)
	}
	return s.l.Transition(ctx, server, f, string(to), detail)
}

func (s *Store) StepDone(ctx context.Context, server, step, undo string) error {
	u := ""
	if undo != "" {
		u = fmt.Sprintf("%q", undo)
	}
	return s.l.StepDone(ctx, server, step, u)
}

func (s *Store) Steps(ctx context.Context, server string) ([]Step, error) {
	steps, err := s.l.Steps(ctx, server)
	if err != nil {
		return nil, err
	}
	out := make([]Step, len(steps))
	for i, st := range steps {
		undo := st.Undo
		if len(undo) >= 2 && undo[0] == '"' {
			undo = undo[1 : len(undo)-1]
		}
		out[i] = Step{Name: st.Name, Undo: undo}
	}
	return out, nil
}

func (s *Store) StepUndone(ctx context.Context, server, step string) error {
	return s.l.StepUndone(ctx, server, step)
}

func (s *Store) Journal(ctx context.Context, server, disk string, size int64) (transfer.Journal, error) {
	return s.l.Journal(ctx, server, disk, size)
}

func (s *Store) Put(ctx context.Context, server, key string, value []byte) error {
	return s.l.Put(ctx, server, key, value)
}

func (s *Store) Get(ctx context.Context, server, key string) ([]byte, error) {
	return s.l.Get(ctx, server, key)
}

func (s *Store) Claim(ctx context.Context, server string, lease time.Duration) (bool, error) {
	return s.l.Claim(ctx, server, lease)
}

func (s *Store) Renew(ctx context.Context, server string, lease time.Duration) error {
	return s.l.Renew(ctx, server, lease)
}

func (s *Store) Release(ctx context.Context, server string) error {
	return s.l.Release(ctx, server)
}

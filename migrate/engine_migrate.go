package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// MigrationSetup is what the engine needs to move servers, beyond what
// discovery needs. cmd/shift fills it.
type MigrationSetup struct {
	// StateDir holds the ledger and the local cloud; "" means the plan's
	// target.stateDir, else local.DefaultDir.
	StateDir string
	// AgentBinary returns the linux shift binary for a source architecture.
	AgentBinary func(goarch string) (string, error)
	// WindowsAgent opens the windows/amd64 shift binary.
	WindowsAgent func() (io.ReadCloser, error)
	// BootTimeout bounds the wait for a booted target to answer; 0 means
	// 10 minutes.
	BootTimeout time.Duration
}

// Migrate runs the plan at planPath and returns the run's events:
// face.PhaseChanged, face.StepDone, face.DiskProgress and
// face.ValidationFinding as servers move, then one face.MigrationDone, after
// which the channel closes. A run that cannot start (a bad plan, a state
// directory in use) ends at once with MigrationDone.Err; errors in the
// input wrap face.ErrUsage. Canceling ctx stops every server where it
// stands; the next run resumes there. The caller must read the channel
// until it closes.
func (e *Engine) Migrate(ctx context.Context, planPath string, o face.MigrateOptions) <-chan face.Event {
	em := e.newRun()
	go func() {
		defer em.close()
		start := e.now()
		done := e.migrate(ctx, em, planPath, o)
		done.ID, done.Took, done.Canceled = em.id, e.now().Sub(start), ctx.Err() != nil
		em.emit(done)
	}()
	return em.ch
}

// inputError marks an error in a run's input; its text is the error's own.
type inputError struct{ error }

func (e inputError) Is(target error) bool { return target == face.ErrUsage }
func (e inputError) Unwrap() error        { return e.error }

func usage(err error) error { return inputError{err} }

func (e *Engine) migrate(ctx context.Context, em *emitter, planPath string, o face.MigrateOptions) face.MigrationDone {
	fail := func(err error) face.MigrationDone { return face.MigrationDone{Err: err} }
	p, err := plan.Load(planPath)
	if err != nil {
		return fail(usage(err))
	}
	hf, err := remote.LoadHosts(p.HostsPath())
	if err != nil {
		return fail(usage(err))
	}
	b, err := FromPlan(p, hf, PlanOptions{Approve: o.Approve, Test: o.Test, Only: o.Only})
	if err != nil {
		return fail(usage(err))
	}
	state, err := e.stateDir(p, o)
	if err != nil {
		return fail(err)
	}
	lg, err := e.openLedger(ctx, state, o)
	if err != nil {
		return fail(err)
	}
	defer lg.Close()
	store, err := NewStore(ctx, lg, p)
	if err != nil {
		return fail(err)
	}
	tg, err := OpenTarget(p, state)
	if err != nil {
		return fail(err)
	}
	b.Runner = &Runner{
		Hosts: hf, Overrides: remote.Overrides{TrustOnFirstUse: e.TrustOnFirstUse, KnownHosts: e.KnownHosts},
		Target: tg, Ledger: store, AgentBinary: e.Migration.AgentBinary, WindowsAgent: e.Migration.WindowsAgent,
		Until: o.Until, BootTimeout: e.Migration.BootTimeout, Emit: em.emit, ID: em.id, Logger: e.Logger, Now: e.Now,
	}
	return b.Run(ctx)
}

// stateDir picks the state directory: the plan's, the run's, the engine's,
// else the local cloud's default.
func (e *Engine) stateDir(p *plan.Plan, o face.MigrateOptions) (string, error) {
	dir := p.Target.StateDir
	for _, d := range []string{o.StateDir, e.Migration.StateDir} {
		if dir == "" {
			dir = d
		}
	}
	if dir == "" {
		d, err := local.DefaultDir()
		if err != nil {
			return "", usage(err)
		}
		dir = d
	}
	if !filepath.IsAbs(dir) && p.Target.StateDir != "" {
		dir = filepath.Join(p.Dir(), dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("state directory %s: %w", dir, err)
	}
	return dir, nil
}

// openLedger opens the shared PostgreSQL ledger when the run names one,
// else SQLite under the state directory (in its own directory: the local
// cloud locks the state directory's lock file around its changes).
func (e *Engine) openLedger(ctx context.Context, state string, o face.MigrateOptions) (*ledger.Ledger, error) {
	if o.LedgerURL != "" {
		app := o.Appliance
		if app == "" {
			app, _ = os.Hostname()
		}
		return ledger.OpenPostgres(ctx, o.LedgerURL, app, ledger.Options{Appliance: app, Now: e.Now})
	}
	return ledger.Open(ctx, filepath.Join(state, "ledger"), ledger.Options{Now: e.Now})
}

// DraftPlan drafts a plan for inv from its assessment a (nil: nothing sized
// or held), naming hostsFile, and writes it to path; it refuses to replace
// an existing file unless overwrite.
func (e *Engine) DraftPlan(path, hostsFile string, inv *inventory.Inventory, a *face.Assessment, overwrite bool) (face.PlanSummary, error) {
	var res *assess.Result
	if a != nil {
		res, _ = a.Report.(*assess.Result)
	}
	hosts := hostsFile
	if rel, err := filepath.Rel(filepath.Dir(path), hostsFile); err == nil && hostsFile != "" {
		hosts = rel
	}
	p := plan.Draft(inv, res, plan.DraftOptions{Hosts: hosts, Generator: e.Generator})
	if err := p.WriteFile(path, overwrite); err != nil {
		return face.PlanSummary{}, err
	}
	return e.LoadPlan(path)
}

// LoadPlan reads and checks a plan file and describes it.
func (e *Engine) LoadPlan(path string) (face.PlanSummary, error) {
	p, err := plan.Load(path)
	if err != nil {
		return face.PlanSummary{}, usage(err)
	}
	s := face.PlanSummary{Path: path, Name: p.Label(), Target: p.Target.Kind}
	if s.Target == "" {
		s.Target = plan.KindLocal
	}
	for _, w := range p.Waves {
		pw := face.PlanWave{Name: w.Name, Held: w.Hold}
		for _, h := range w.Hosts {
			ef, _ := p.Effective(h.Name)
			ph := face.PlanHost{Name: h.Name, Held: ef.Hold, Approval: string(ef.Approval), Comment: h.Comment}
			switch z := ef.Size; {
			case z.VMSize != "":
				ph.Size = z.VMSize
			case z.CPUs > 0:
				ph.Size = fmt.Sprintf("%d CPU%s, %s", z.CPUs, map[bool]string{true: "s"}[z.CPUs > 1], z.Memory)
			}
			c := ef.Checks
			if c.Linux != nil {
				ph.Checks = append(ph.Checks, "linux")
			}
			if c.SQLServer != nil {
				ph.Checks = append(ph.Checks, "sqlServer")
			}
			if c.SharePoint != nil {
				ph.Checks = append(ph.Checks, "sharePoint")
			}
			if n := len(c.HTTP); n > 0 {
				ph.Checks = append(ph.Checks, fmt.Sprintf("%d http", n))
			}
			if n := len(c.Commands); n > 0 {
				ph.Checks = append(ph.Checks, fmt.Sprintf("%d commands", n))
			}
			pw.Hosts = append(pw.Hosts, ph)
		}
		s.Waves = append(s.Waves, pw)
	}
	return s, nil
}

// MigrationStatus reports where every server of the plan stands in the
// ledger, for a face to offer resuming an interrupted migration. A plan
// never run reports every server pending. It fails with ledger.ErrLocked
// while another process runs the plan.
func (e *Engine) MigrationStatus(ctx context.Context, planPath string, o face.MigrateOptions) ([]face.ServerResult, error) {
	p, err := plan.Load(planPath)
	if err != nil {
		return nil, usage(err)
	}
	state, err := e.stateDir(p, o)
	if err != nil {
		return nil, err
	}
	lg, err := e.openLedger(ctx, state, o)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	var out []face.ServerResult
	for _, w := range p.Waves {
		for _, h := range w.Hosts {
			r := face.ServerResult{Host: h.Name, Wave: w.Name, Phase: face.Pending}
			s, err := lg.Server(ctx, h.Name)
			switch {
			case errors.Is(err, ledger.ErrUnknownServer):
			case err != nil:
				return nil, err
			default:
				if s.Phase != "" {
					r.Phase = face.Phase(s.Phase)
				}
				r.Err = s.Error
			}
			out = append(out, r)
		}
	}
	return out, nil
}

package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/transfer"
	"github.com/shift-migrate/shift/validate"
)

// Ledger is the durable record of a migration: where every server stands,
// which steps it has done (and how to undo them), what its disks hold, and
// the facts a later step needs (its inventory, its fingerprint before the
// cutover). Package migrate/ledger keeps it in SQLite or PostgreSQL; every
// method is safe for concurrent use and durable when it returns.
type Ledger interface {
	// Phase returns the server's phase; face.Pending when it has none yet.
	Phase(ctx context.Context, server string) (face.Phase, error)
	// Transition moves the server from one phase to another, failing when
	// it is not in from: two runs never advance one server at once.
	Transition(ctx context.Context, server string, from, to face.Phase, detail string) error
	// StepDone records a finished step with what undoing it takes.
	StepDone(ctx context.Context, server, step, undo string) error
	// Steps lists the server's done and not undone steps, oldest first.
	Steps(ctx context.Context, server string) ([]Step, error)
	// StepUndone records that a step was undone.
	StepUndone(ctx context.Context, server, step string) error
	// Journal is the chunk journal of one disk of the server.
	Journal(ctx context.Context, server, disk string, size int64) (transfer.Journal, error)
	// Put stores a value under the server; Get returns nil when there is none.
	Put(ctx context.Context, server, key string, value []byte) error
	Get(ctx context.Context, server, key string) ([]byte, error)
}

// Step is a finished step of a server and how to undo it.
type Step struct {
	Name string
	Undo string
}

// Server is one server of a plan, with everything the runner needs to move
// it. The plan file's settings arrive here merged (host over wave over
// defaults).
type Server struct {
	// Name is the host's name in the hosts file.
	Name string
	Wave string
	// Hold keeps the server where it stands: the plan holds it.
	Hold bool
	// CPUs, MemoryMiB and Size shape the target VM; 0 and "" mean the
	// source's.
	CPUs, MemoryMiB int
	Size            string
	// Disks are the source devices to move; nil means the disk holding the
	// root filesystem (Linux) or C: (Windows).
	Disks []string
	// StopServices are stopped on the source at cutover, in order, before
	// the final pass, and started again by a rollback. They must be
	// active on the target after the cutover.
	StopServices []string
	// Checks are the validation checks beyond what the probes find.
	Checks validate.Options
	// ApproveCutover lets the runner cut over without asking; otherwise the
	// server waits in sync until a run approves it.
	ApproveCutover bool
	// CutoverWindow says whether a cutover may start at a time, and if not,
	// why ("the wave's window opens sat 22:00"); nil means at any time.
	CutoverWindow func(time.Time) (bool, string)
	// TestMigration boots a copy of the replica on an isolated network
	// once the server is in sync, validates it and deletes it, before the
	// cutover may start.
	TestMigration bool
	// TestSubnet is the isolated network of test copies on targets that
	// need one named (Azure: a subnet ID); "" means the target's own.
	TestSubnet string
	// DependsOn names servers whose cutover must be done before this
	// server's starts. While one of them moves in the same run, the
	// server waits for it; otherwise it waits for a later run.
	DependsOn []string
	// moving reports whether a server moves in this run; set by Batch.
	moving func(string) bool
	// Bandwidth caps the copy, bytes per second; 0 means no cap.
	Bandwidth int64
	// MaxPasses bounds the copy passes before cutover; 0 means 5.
	MaxPasses int
	// InSyncBytes is the data a pass may still move for the server to count
	// as in sync; 0 means 256 MiB.
	InSyncBytes int64
}

func (s Server) maxPasses() int {
	if s.MaxPasses > 0 {
		return s.MaxPasses
	}
	return 5
}

func (s Server) inSyncBytes() int64 {
	if s.InSyncBytes > 0 {
		return s.InSyncBytes
	}
	return 256 << 20
}

// Runner moves servers through their phases. A Runner is safe for use by
// several goroutines, one per server.
type Runner struct {
	// Hosts says how to reach every server.
	Hosts *remote.HostsFile
	// Overrides are command-line settings that win over the hosts file.
	Overrides remote.Overrides
	// Target is where the servers move.
	Target cloud.Target
	// Ledger records everything; it is required.
	Ledger Ledger
	// AgentBinary returns the linux shift binary for a source architecture.
	AgentBinary func(goarch string) (string, error)
	// WindowsAgent opens the windows/amd64 shift binary.
	WindowsAgent func() (io.ReadCloser, error)
	// Until stops each server once it reaches this phase; "" means Done.
	Until face.Phase
	// BootTimeout bounds the wait for a booted target to answer; 0 means
	// 10 minutes.
	BootTimeout time.Duration
	// StopGrace is how long a rollback waits for the target VM to shut down
	// before forcing it off; 0 means a minute, negative forces it at once.
	StopGrace time.Duration
	// Emit receives events; nil discards them. It must not block for long.
	Emit func(face.Event)
	// ID tags the events.
	ID face.RunID
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) emit(ev face.Event) {
	if r.Emit != nil {
		r.Emit(ev)
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ErrWaiting ends a server's run on purpose: it waits for an approval or a
// window, and a later run continues it.
var ErrWaiting = errors.New("waiting")

// waitError says what a server waits for.
type waitError struct{ what string }

func (e *waitError) Error() string        { return "waiting for " + e.what }
func (e *waitError) Is(target error) bool { return target == ErrWaiting }

// StepError is a failed step of a server: it names the server, the phase
// and the step, and says what to do.
type StepError struct {
	Host  string
	Phase face.Phase
	Step  string
	Err   error
	// Hint says what the user can do.
	Hint string
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("%s: %s: %s: %v", e.Host, e.Phase, e.Step, e.Err)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

func (e *StepError) Unwrap() error { return e.Err }

// serverRun is one server's progress through one run.
type serverRun struct {
	*Runner
	s      Server
	start  time.Time
	passes int
	bytes  int64
}

// Run moves s as far as it can go in this run: to Until, to Done, or to the
// first step that fails or waits. It resumes wherever the ledger says the
// server stands.
func (r *Runner) Run(ctx context.Context, s Server) face.ServerResult {
	sr := &serverRun{Runner: r, s: s, start: r.now()}
	var err error
	if s.Hold {
		err = &waitError{what: "the plan to release it (hold: true)"}
	} else {
		err = sr.run(ctx)
	}
	res := face.ServerResult{Host: s.Name, Wave: s.Wave, Passes: sr.passes, Bytes: sr.bytes, Took: r.now().Sub(sr.start)}
	res.Phase, _ = r.Ledger.Phase(context.WithoutCancel(ctx), s.Name)
	var we *waitError
	switch {
	case errors.As(err, &we):
		res.Waiting = we.what
	case err != nil:
		res.Err = assess.RedactString(err.Error())
	}
	return res
}

func (sr *serverRun) run(ctx context.Context) error {
	until := sr.Until
	if until == "" {
		until = face.Done
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ph, err := sr.Ledger.Phase(ctx, sr.s.Name)
		if err != nil {
			return err
		}
		if ph == until || ph == face.Done {
			return nil
		}
		next, detail, err := sr.step(ctx, ph)
		if err != nil {
			var rb *rolledBack
			if errors.As(err, &rb) {
				return rb.error
			}
			if errors.Is(err, ErrWaiting) || ctx.Err() != nil {
				return err
			}
			return sr.fail(ctx, ph, err)
		}
		if err := sr.move(ctx, ph, next, detail); err != nil {
			return err
		}
	}
}

// step runs the work of phase ph and returns the phase it leads to.
func (sr *serverRun) step(ctx context.Context, ph face.Phase) (face.Phase, string, error) {
	switch ph {
	case face.Pending:
		return sr.discover(ctx)
	case face.Discovered:
		return sr.assess(ctx)
	case face.Assessed:
		return sr.prepare(ctx)
	case face.Prepared:
		return face.Replicating, "copy starts", nil
	case face.Replicating:
		return sr.replicate(ctx)
	case face.InSync, face.TestMigrated:
		if ph == face.InSync && sr.s.TestMigration {
			return sr.testMigrate(ctx)
		}
		// A test that was stopped midway left its copy: it goes now, so
		// that neither waiting nor a cutover leaves it running.
		if err := sr.cleanTest(ctx); err != nil {
			return "", "", sr.stepErr(ph, "delete the copy of an interrupted test migration", err,
				"delete the VM and disks named *-test by hand, then run again")
		}
		if !sr.s.ApproveCutover {
			return "", "", &waitError{what: "cutover approval (run again with --yes, or set approval: automatic)"}
		}
		if sr.s.CutoverWindow != nil {
			if ok, why := sr.s.CutoverWindow(sr.now()); !ok {
				return "", "", &waitError{what: why}
			}
		}
		if err := sr.awaitDependencies(ctx); err != nil {
			return "", "", err
		}
		return face.CuttingOver, "cutover approved", nil
	case face.CuttingOver:
		return sr.cutover(ctx)
	case face.Validated:
		return face.Done, "the target runs the workload; the source's services stay stopped", nil
	case face.Failed:
		return sr.retry(ctx)
	case face.RolledBack:
		// The source serves again: copy what changed since, then cut over
		// anew. The stopped VM kept for inspection goes (its disks stay and
		// are copied into again), and so does the old fingerprint.
		if err := sr.Target.DeleteVM(ctx, vmName(sr.s.Name)); err != nil {
			return "", "", sr.stepErr(face.RolledBack, "delete the rolled-back VM", err, "")
		}
		if err := sr.Ledger.Put(ctx, sr.s.Name, keyBefore, nil); err != nil {
			return "", "", err
		}
		return face.Replicating, "after a rollback: the old target VM is deleted; copy the changes, then cut over anew", nil
	}
	return "", "", fmt.Errorf("unknown phase %q in the ledger", ph)
}

const (
	keyInventory = "inventory"
	keyDisks     = "disks"
	keyBefore    = "fingerprint-before"
	keyAfter     = "fingerprint-after"
	keyFailedAt  = "failed-at"
)

func (sr *serverRun) move(ctx context.Context, from, to face.Phase, detail string) error {
	if err := sr.Ledger.Transition(ctx, sr.s.Name, from, to, detail); err != nil {
		return fmt.Errorf("%s: record %s → %s: %w", sr.s.Name, from, to, err)
	}
	sr.emit(face.PhaseChanged{ID: sr.ID, Host: sr.s.Name, From: from, To: to, Detail: detail, At: sr.now()})
	sr.log().Info("phase", "host", sr.s.Name, "from", from, "to", to, "detail", detail)
	return nil
}

// fail records err and moves the server to Failed, remembering where it
// failed so that the next run retries from there.
func (sr *serverRun) fail(ctx context.Context, ph face.Phase, err error) error {
	var se *StepError
	if !errors.As(err, &se) {
		err = &StepError{Host: sr.s.Name, Phase: ph, Step: string(ph), Err: err}
	}
	ctx = context.WithoutCancel(ctx)
	if ph == face.Failed {
		return err
	}
	if perr := sr.Ledger.Put(ctx, sr.s.Name, keyFailedAt, []byte(ph)); perr != nil {
		return errors.Join(err, perr)
	}
	if merr := sr.move(ctx, ph, face.Failed, assess.RedactString(err.Error())); merr != nil {
		return errors.Join(err, merr)
	}
	return err
}

// retry takes a failed server back to the phase it failed in.
func (sr *serverRun) retry(ctx context.Context) (face.Phase, string, error) {
	b, err := sr.Ledger.Get(ctx, sr.s.Name, keyFailedAt)
	if err != nil {
		return "", "", err
	}
	at := face.Phase(b)
	if at == "" || at == face.Failed {
		at = face.Pending
	}
	return at, "retry after the failure", nil
}

func (sr *serverRun) stepErr(ph face.Phase, step string, err error, hint string) error {
	var re *remote.Error
	if hint == "" && errors.As(err, &re) && !strings.Contains(err.Error(), re.Hint) {
		hint = re.Hint
	}
	return &StepError{Host: sr.s.Name, Phase: ph, Step: step, Err: err, Hint: hint}
}

func (sr *serverRun) stepDone(ph face.Phase, step, detail string) {
	sr.emit(face.StepDone{ID: sr.ID, Host: sr.s.Name, Phase: ph, Step: step, Detail: detail, At: sr.now()})
	sr.log().Info("step", "host", sr.s.Name, "phase", ph, "step", step, "detail", detail)
}

func (sr *serverRun) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sr.Ledger.Put(ctx, sr.s.Name, key, b)
}

// getJSON reads key into v and reports whether it was there.
func (sr *serverRun) getJSON(ctx context.Context, key string, v any) (bool, error) {
	b, err := sr.Ledger.Get(ctx, sr.s.Name, key)
	if err != nil || len(b) == 0 {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: ledger value %s: %w", sr.s.Name, key, err)
	}
	return true, nil
}

// target resolves the server's connection settings.
func (sr *serverRun) target() (remote.Target, error) {
	return sr.Hosts.Resolve(sr.s.Name, sr.Overrides)
}

// awaitDependencies returns once every server this one depends on is done.
// A dependency that moves in this run is waited for; one that does not
// makes the server wait for a later run.
func (sr *serverRun) awaitDependencies(ctx context.Context) error {
	for _, d := range sr.s.DependsOn {
		for {
			ph, err := sr.Ledger.Phase(ctx, d)
			if err != nil {
				return err
			}
			if ph == face.Done {
				break
			}
			if sr.s.moving == nil || !sr.s.moving(d) {
				return &waitError{what: fmt.Sprintf("%s's cutover first (dependsOn; %s is %s)", d, d, ph)}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(dependencyPoll):
			}
		}
	}
	return nil
}

// dependencyPoll is how often a server looks at a dependency that moves.
var dependencyPoll = 2 * time.Second

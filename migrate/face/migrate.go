package face

import (
	"errors"
	"time"
)

// Phase is where one server stands in its migration. The phases a server
// passes through, in order, are in Phases; Failed and RolledBack end a
// server's run early and are left by running the migration again.
type Phase string

// Phases of a server's migration.
const (
	Pending      Phase = "pending"       // in the plan, nothing done yet
	Discovered   Phase = "discovered"    // its inventory is taken
	Assessed     Phase = "assessed"      // nothing blocks the move
	Prepared     Phase = "prepared"      // target disks exist
	Replicating  Phase = "replicating"   // copy passes run
	InSync       Phase = "in-sync"       // the last pass changed little: ready for cutover
	TestMigrated Phase = "test-migrated" // a copy booted in isolation and validated
	CuttingOver  Phase = "cutting-over"  // source stopped, final pass, target booting
	Validated    Phase = "validated"     // the target's workloads match the source's
	Done         Phase = "done"          // migrated
	Failed       Phase = "failed"        // stopped on an error; rerun to retry
	RolledBack   Phase = "rolled-back"   // cutover undone: the source serves again
)

// Phases lists the phases of a successful migration in order.
var Phases = []Phase{Pending, Discovered, Assessed, Prepared, Replicating, InSync, TestMigrated, CuttingOver, Validated, Done}

// PhaseChanged says a server moved from one phase to another.
type PhaseChanged struct {
	ID   RunID
	Host string
	From Phase
	To   Phase
	// Detail says why ("3 delta passes, 12 MiB changed in the last").
	Detail string
	At     time.Time
}

// StepDone says one step of a phase finished ("stop services", "final
// pass"); Err is set when it failed.
type StepDone struct {
	ID    RunID
	Host  string
	Phase Phase
	Step  string
	// Detail is a one-line result.
	Detail string
	Err    error
	At     time.Time
}

// DiskProgress reports a copy pass of one disk. It is droppable.
type DiskProgress struct {
	ID   RunID
	Host string
	Disk string
	Pass int
	// Done and Total are bytes of the disk's chunks in use (what the pass
	// reads on the source), finished and in all; DiskSize is the disk's
	// size. Free space is in neither (see transfer.Progress).
	Done, Total, DiskSize int64
	// Wire is the bytes this pass has read from the source.
	Wire int64
	// Rate is bytes per second; ETA the time left; both 0 until known.
	Rate  float64
	ETA   time.Duration
	Final bool
}

// ValidationFinding is one finding of a validation, before or after a
// cutover.
type ValidationFinding struct {
	ID       RunID
	Host     string
	Severity string // "blocking", "warning", "info"
	Check    string
	Object   string
	Expected string
	Actual   string
	Message  string
}

// ServerResult is where one server ended a run.
type ServerResult struct {
	Host  string
	Wave  string
	Phase Phase
	// Err says why the server failed or was rolled back, with its fix.
	Err string `json:",omitempty"`
	// Waiting says what the server waits for when it stopped on purpose
	// ("cutover approval", "window opens 22:00").
	Waiting string `json:",omitempty"`
	// Passes counts copy passes; Bytes the data moved over all of them.
	Passes int
	Bytes  int64
	Took   time.Duration
}

// MigrationDone ends a migration run.
type MigrationDone struct {
	ID      RunID
	Servers []ServerResult
	// Err is set when the run could not start or stopped as a whole.
	Err      error
	Canceled bool
	Took     time.Duration
}

func (e PhaseChanged) Run() RunID      { return e.ID }
func (e StepDone) Run() RunID          { return e.ID }
func (e DiskProgress) Run() RunID      { return e.ID }
func (e ValidationFinding) Run() RunID { return e.ID }
func (e MigrationDone) Run() RunID     { return e.ID }

func (DiskProgress) droppable() {}

var (
	_ Event     = PhaseChanged{}
	_ Event     = StepDone{}
	_ Droppable = DiskProgress{}
	_ Event     = ValidationFinding{}
	_ Event     = MigrationDone{}
)

// MigrateOptions adjust one run of a plan.
type MigrateOptions struct {
	// Approve approves every cutover, whatever the plan's approval says.
	Approve bool
	// Test test-migrates every server before its cutover, whatever the
	// plan's testMigration says.
	Test bool
	// Until stops each server once it reaches this phase; "" means Done.
	Until Phase
	// Only limits the run to these hosts of the plan; nil means all.
	Only []string
	// StateDir overrides the engine's state directory when the plan names
	// none; "" means the engine's.
	StateDir string
	// LedgerURL is a PostgreSQL URL of a ledger shared by several
	// appliances; "" means SQLite in the state directory.
	LedgerURL string
	// Appliance names this appliance in a shared ledger; "" means the host
	// name.
	Appliance string
}

// PlanSummary describes a plan file: its waves and their hosts.
type PlanSummary struct {
	Path   string
	Name   string
	Target string
	Waves  []PlanWave
}

// PlanWave is one wave of a plan.
type PlanWave struct {
	Name  string
	Hosts []PlanHost
	// Held is true when the plan holds the whole wave.
	Held bool
}

// PlanHost is one host of a wave with its merged settings.
type PlanHost struct {
	Name string
	Held bool
	// Size is "2 CPUs, 4 GiB" or a VM size name; "" means the source's.
	Size string
	// Approval is "manual" or "automatic".
	Approval string
	// Checks names the validation sections ("linux", "sqlServer", "2 http").
	Checks []string
	// Comment is the plan's comment above the host (blockers of a held host).
	Comment string
}

// ErrUsage marks errors in a run's input (the plan file, the hosts file,
// options): fixing the input fixes them.
var ErrUsage = errors.New("bad input")

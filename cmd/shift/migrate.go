package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
)

func init() { commands = append(commands, newMigrateCmd) }

type migrateFlags struct {
	plan       string
	yes        bool
	json       bool
	until      string
	test       bool
	state      string
	only       []string
	tofu       bool
	knownHosts string
	ledgerDSN  string
	appliance  string
}

func newMigrateCmd() *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate --plan waves.yaml [--yes] [--json]",
		Short: "Run a migration plan unattended: copy, cut over and validate every server, resuming where the last run stopped",
		Long: `Migrate moves the servers of a plan file (see 'shift plan') into the
plan's target, wave after wave, each wave's servers in parallel. Each server
goes through these phases, recorded in a ledger in the state directory:

  pending → discovered → assessed → prepared → replicating → in-sync
          [→ test-migrated] → cutting-over → validated → done
                                               (failed, rolled-back)

While the source keeps running, shift copies its disks block by block
(repeated delta passes until a pass moves little). The cutover stops the
services the plan names on the source, runs a final pass with the source's
filesystems frozen (Linux; Windows reads a VSS snapshot), boots the target
and validates it against a fingerprint of the source taken just before.
A blocking finding (a table with rows missing, a service not running) rolls
the cutover back: the target VM stops, the source's services start again,
and the server ends rolled-back; the next run copies what changed and cuts
over anew.

A test migration (the plan's testMigration, or --test) runs once a server is
in sync: a copy of its replica boots on an isolated network (it cannot reach
the source's clients or databases), is validated against the source as it
is then (table data may differ; structure may not), and is deleted. The
source is only read. --until test-migrated stops there.

Every run resumes where the last one stopped, after a crash or kill -9 too:
finished chunks are not copied again, finished steps not done again. A
second shift on the same state directory is refused.

Cutovers wait for approval unless the plan says approval: automatic or
--yes is given; servers then stop in-sync, and the exit code is 4.

With --json, stdout is NDJSON, one event per line: {"type": "phase" | "step"
| "progress" | "finding" | "summary", "time", "host", ...}; the last line is
the summary, with every server's phase. A "progress" event has "disk",
"pass", "done" and "total" (bytes of the disk's space in use, which is what a
pass reads: free space is in neither), "diskSize", "bytesPerSecond" and
"etaSeconds". Without --json, progress goes to stderr and a summary table to
stdout.

The state directory is the plan's target.stateDir, else --state, else
$SHIFT_STATE, else $XDG_STATE_HOME/shift or ~/.local/state/shift; the local
cloud's disks and VMs live there too ('shift vm list').

Exit codes: 0 every server reached its goal (done, or --until); 1 the run
could not start (plan, hosts file, state directory in use); 2 usage; 3 some
server failed or was rolled back; 4 none failed, but some wait (approval,
window, blackout); 130 interrupted (run again to resume).`,
		Example: `  shift plan --from inventory.json -o waves.yaml     # draft, then edit
  shift migrate --plan waves.yaml --until in-sync    # copy now, cut over later
  shift migrate --plan waves.yaml --test --until test-migrated   # rehearse
  shift migrate --plan waves.yaml --yes --json > events.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMigrate(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "plan file (YAML; see 'shift plan') (required)")
	fl.BoolVar(&f.yes, "yes", false, "approve every cutover (else the plan's approval setting decides)")
	fl.BoolVar(&f.json, "json", false, "print events as NDJSON on stdout")
	fl.BoolVar(&f.test, "test", false, "test-migrate every server before its cutover: boot a copy on an isolated network, validate it, delete it")
	fl.StringVar(&f.until, "until", "", "stop each server once it reaches this phase (e.g. in-sync)")
	fl.StringVar(&f.state, "state", "", "state directory (default: the plan's target.stateDir, else $SHIFT_STATE, else ~/.local/state/shift)")
	fl.StringSliceVar(&f.only, "host", nil, "move only these hosts of the plan (repeatable)")
	fl.BoolVar(&f.tofu, "trust-on-first-use", false, "record unknown SSH host keys in known_hosts instead of failing")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for every SSH host (default: the hosts file's)")
	fl.StringVar(&f.ledgerDSN, "ledger", "", "PostgreSQL URL of a ledger shared by several appliances (default: SQLite in the state directory)")
	fl.StringVar(&f.appliance, "appliance", "", "this appliance's name in a shared ledger (default: the host name)")
	return cmd
}

func runMigrate(cmd *cobra.Command, f migrateFlags) error {
	ctx := cmd.Context()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.plan == "" {
		return usageError(errors.New("migrate needs --plan FILE"), "draft one with 'shift plan --from inventory.json -o waves.yaml'")
	}
	until := face.Phase(f.until)
	if until != "" && !slices.Contains(face.Phases, until) {
		return usageError(fmt.Errorf("--until %q is not a phase", f.until), "phases: "+phaseList())
	}
	eng := &migrate.Engine{Generator: "shift " + version, TrustOnFirstUse: f.tofu, KnownHosts: f.knownHosts,
		Migration: migrate.MigrationSetup{AgentBinary: agentBinary, WindowsAgent: windowsAgentBinary}}
	ew := newEventWriter(stdout, stderr, f.json)
	var done face.MigrationDone
	for ev := range eng.Migrate(ctx, f.plan, face.MigrateOptions{Approve: f.yes, Test: f.test, Until: until, Only: f.only,
		StateDir: f.state, LedgerURL: f.ledgerDSN, Appliance: f.appliance}) {
		if d, ok := ev.(face.MigrationDone); ok {
			done = d
			continue
		}
		ew.event(ev)
	}
	switch {
	case errors.Is(done.Err, face.ErrUsage):
		return usageError(done.Err, "fix the plan or hosts file; 'shift plan --help' shows the format")
	case done.Err != nil:
		return &exitError{code: exitFailure, err: done.Err, hint: ledgerHint(done.Err)}
	}
	ew.summary(stdout, done)
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted, err: ctx.Err(), hint: "run the same command again to resume"}
	}
	c := outcomes(done)
	switch {
	case c.failed+c.rolledBack > 0:
		return &exitError{code: exitPartial, silent: true}
	case c.waiting > 0:
		return &exitError{code: exitWaiting, silent: true}
	}
	return nil
}

func phaseList() string {
	s := make([]string, len(face.Phases))
	for i, p := range face.Phases {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func ledgerHint(err error) string {
	if errors.Is(err, ledger.ErrLocked) {
		return "wait for the other shift to finish, or stop it; a killed shift leaves no lock behind"
	}
	return ""
}

package tui

import (
	"context"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
)

// Engine is what the wizard needs from the migration engine; migrate.Engine
// implements it (cmd/shift asserts so at compile time). Long steps return a
// run's events at once and do their work elsewhere; the others do a little
// file I/O and are only ever called from a tea.Cmd.
type Engine interface {
	// LoadHosts reads a hosts file.
	LoadHosts(path string) ([]face.HostSpec, error)
	// CheckHosts checks that base (a hosts file, "" for none) plus added make
	// a valid hosts file; the error says what to fix.
	CheckHosts(base string, added []face.HostSpec) error
	// SaveHosts writes base plus added to path.
	SaveHosts(path, base string, added []face.HostSpec) error
	// Discover starts discovering the named hosts of hostsFile (all when names
	// is empty). The channel closes after a face.DiscoveryDone.
	Discover(ctx context.Context, hostsFile string, names []string) <-chan face.Event
	// Assess starts assessing inv. The channel closes after a
	// face.AssessmentDone.
	Assess(ctx context.Context, inv *inventory.Inventory) <-chan face.Event
	// SaveInventory writes inv to path as JSON.
	SaveInventory(path string, inv *inventory.Inventory) error
	// ExportReport writes the report of a to path; the extension picks the
	// format.
	ExportReport(path string, a *face.Assessment) error

	// DraftPlan drafts a plan for inv from its assessment a, naming
	// hostsFile, and writes it to path; it refuses to replace a file unless
	// overwrite.
	DraftPlan(path, hostsFile string, inv *inventory.Inventory, a *face.Assessment, overwrite bool) (face.PlanSummary, error)
	// LoadPlan reads and checks a plan file and describes it.
	LoadPlan(path string) (face.PlanSummary, error)
	// PlanSettings returns the disks, services and bandwidth of every host
	// of a plan file, keyed by host.
	PlanSettings(path string) (map[string]face.PlanHostSettings, error)
	// EditPlan changes hosts of a plan file and writes it back; an edit
	// that would make the plan invalid changes nothing.
	EditPlan(path string, edits ...face.PlanEdit) error
	// Migrate runs a plan. The channel carries face.PhaseChanged,
	// face.StepDone, face.DiskProgress and face.ValidationFinding, and
	// closes after a face.MigrationDone. Canceling ctx stops every server
	// where it stands; the next run resumes there.
	Migrate(ctx context.Context, planPath string, o face.MigrateOptions) <-chan face.Event
	// MigrationStatus reports where every server of a plan stands in the
	// ledger; it fails while another process runs the plan.
	MigrationStatus(ctx context.Context, planPath string, o face.MigrateOptions) ([]face.ServerResult, error)
}

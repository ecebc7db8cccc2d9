package face

import (
	"time"

	"github.com/shift-migrate/shift/inventory"
)

// Event is one fact about a run of the engine. A run's events arrive on the
// channel its method returned, in order; the channel is closed after the
// run's last event, which is always a *Done event.
type Event interface {
	// Run names the run the event belongs to.
	Run() RunID
}

// RunID identifies one run of the engine (a discovery, an assessment) among
// the runs of a process. It is never zero.
type RunID uint64

// Droppable is implemented by progress events that a slow consumer may miss:
// a later event or the run's Done event carries the same facts. Every other
// event is always delivered.
type Droppable interface {
	Event
	droppable()
}

// HostStarted says that discovery of a host began. It is droppable.
type HostStarted struct {
	ID   RunID
	Host string
	At   time.Time
}

// HostDone carries one discovered host, errors included.
type HostDone struct {
	ID RunID
	// Host is the finished host; Errors say what went wrong, if anything.
	Host inventory.Host
	// Done and Total count finished hosts and all hosts of the run.
	Done, Total int
}

// DiscoveryDone ends a discovery run.
type DiscoveryDone struct {
	ID RunID
	// Inventory holds every host of the run, including those that failed or
	// were canceled; nil only when Err is set.
	Inventory *inventory.Inventory
	// Err is set when the run could not start (a name not in the hosts file,
	// a hosts file that cannot be read). Host failures are in the inventory.
	Err error
	// Canceled is true when the run was stopped before every host finished.
	Canceled bool
	Took     time.Duration
}

// AssessmentDone ends an assessment run.
type AssessmentDone struct {
	ID RunID
	// Assessment is the result; nil when Err is set.
	Assessment *Assessment
	Err        error
}

func (e HostStarted) Run() RunID    { return e.ID }
func (e HostDone) Run() RunID       { return e.ID }
func (e DiscoveryDone) Run() RunID  { return e.ID }
func (e AssessmentDone) Run() RunID { return e.ID }

func (HostStarted) droppable() {}

var (
	_ Droppable = HostStarted{}
	_ Event     = HostDone{}
	_ Event     = DiscoveryDone{}
	_ Event     = AssessmentDone{}
)

package migrate

import (
	"sync"
	"time"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
)

// runBuffer is how many events a run holds for a slow consumer before it
// starts dropping progress.
const runBuffer = 64

// emitter sends one run's events. Progress (face.Droppable) is dropped when
// the consumer is behind; every other event waits for room, so completion and
// errors are always delivered. The consumer must read until the channel
// closes.
type emitter struct {
	id face.RunID
	ch chan face.Event
}

func newEmitter(id face.RunID) *emitter {
	return &emitter{id: id, ch: make(chan face.Event, runBuffer)}
}

func (e *emitter) emit(ev face.Event) {
	if _, ok := ev.(face.Droppable); ok {
		select {
		case e.ch <- ev:
		default:
		}
		return
	}
	e.ch <- ev
}

// close ends the run; call it once, after the run's Done event.
func (e *emitter) close() { close(e.ch) }

// discoverReporter turns discover's progress into events.
type discoverReporter struct {
	em    *emitter
	now   func() time.Time
	total int
	mu    sync.Mutex
	done  int
}

var _ discover.Reporter = (*discoverReporter)(nil)

func (r *discoverReporter) HostStarted(name string) {
	r.em.emit(face.HostStarted{ID: r.em.id, Host: name, At: r.now()})
}

func (r *discoverReporter) HostDone(h *inventory.Host) {
	r.mu.Lock()
	r.done++
	done := r.done
	r.mu.Unlock()
	r.em.emit(face.HostDone{ID: r.em.id, Host: *h, Done: done, Total: r.total})
}

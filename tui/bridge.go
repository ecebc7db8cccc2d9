package tui

import (
	"reflect"

	tea "charm.land/bubbletea/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// eventMsg is an engine event delivered to the model. tag is the model's own
// number for the run, given when the run started, so that the model can tell
// a current run's events from those of a run it already left behind.
type eventMsg struct {
	tag uint64
	ev  face.Event
}

// bridge is the one goroutine that carries engine events into the program.
// Runs are attached to it as they start; it forwards every event of every
// attached run in the run's order, and when a run's channel closes, it forgets
// it. Dropping progress is the engine's business (it drops face.Droppable
// events when the channel is full, which happens while the bridge waits on a
// busy program); the bridge itself never drops, so completion and errors are
// always delivered.
type bridge struct {
	attach chan attachment
	done   chan struct{}
	exited chan struct{}
}

type attachment struct {
	tag uint64
	ch  <-chan face.Event
}

func newBridge() *bridge {
	return &bridge{attach: make(chan attachment), done: make(chan struct{}), exited: make(chan struct{})}
}

// Attach hands a run's events to the bridge. Call it from a tea.Cmd, never
// from Update: it waits until the bridge takes the run. After stop, it drains
// the run itself so that the engine never blocks on it.
func (b *bridge) Attach(tag uint64, ch <-chan face.Event) {
	select {
	case b.attach <- attachment{tag, ch}:
	case <-b.done:
		for range ch {
		}
	}
}

// run forwards events with send until stop is called, then drains the runs
// still attached (their contexts are canceled by then) and returns.
func (b *bridge) run(send func(tea.Msg)) {
	defer close(b.exited)
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.done)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.attach)},
	}
	var tags []uint64 // tags[i] belongs to cases[i+2]
	stopping := false
	for !stopping || len(tags) > 0 {
		i, v, ok := reflect.Select(cases)
		switch {
		case i == 0:
			stopping = true
			cases[0].Chan = reflect.Value{} // a zero Chan is never ready
			cases[1].Chan = reflect.Value{}
		case i == 1:
			a := v.Interface().(attachment)
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(a.ch)})
			tags = append(tags, a.tag)
		case !ok:
			cases = append(cases[:i], cases[i+1:]...)
			tags = append(tags[:i-2], tags[i-1:]...)
		case !stopping:
			send(eventMsg{tag: tags[i-2], ev: v.Interface().(face.Event)})
		}
	}
}

// stop ends the bridge and waits until every attached run has closed.
func (b *bridge) stop() {
	close(b.done)
	<-b.exited
}

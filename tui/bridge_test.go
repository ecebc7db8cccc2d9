package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// TestBridge forwards two interleaved runs in their own order under their
// tags, then stops only after the runs still attached have closed.
func TestBridge(t *testing.T) {
	b := newBridge()
	got := make(chan eventMsg, 100)
	go b.run(func(m tea.Msg) { got <- m.(eventMsg) })

	a, c := make(chan face.Event), make(chan face.Event)
	b.Attach(1, a)
	b.Attach(2, c)
	go func() {
		for i := range 5 {
			a <- face.HostDone{ID: 10, Done: i}
		}
		close(a)
	}()
	go func() {
		for i := range 5 {
			c <- face.HostDone{ID: 20, Done: i}
		}
	}()
	next := map[uint64]int{}
	for range 10 {
		select {
		case m := <-got:
			ev := m.ev.(face.HostDone)
			if want := map[uint64]face.RunID{1: 10, 2: 20}[m.tag]; ev.ID != want {
				t.Fatalf("tag %d carries run %d", m.tag, ev.ID)
			}
			if ev.Done != next[m.tag] {
				t.Fatalf("tag %d: event %d out of order (want %d)", m.tag, ev.Done, next[m.tag])
			}
			next[m.tag]++
		case <-time.After(5 * time.Second):
			t.Fatalf("events missing: %v", next)
		}
	}

	// stop waits for run c, which is still open.
	stopped := make(chan struct{})
	go func() { b.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a run was still attached")
	case <-time.After(50 * time.Millisecond):
	}
	c <- face.AssessmentDone{ID: 20} // drained, not forwarded
	close(c)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return after the last run closed")
	}
	if len(got) != 0 {
		t.Errorf("%d events forwarded after stop", len(got))
	}

	// A run attached after stop is drained by Attach itself.
	late := make(chan face.Event, 1)
	late <- face.DiscoveryDone{ID: 30}
	close(late)
	done := make(chan struct{})
	go func() { b.Attach(3, late); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Attach after stop blocked")
	}
}

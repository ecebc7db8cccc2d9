package migrate

import (
	"testing"
	"time"

	"github.com/shift-migrate/shift/migrate/face"
)

// TestEmitterDropsOnlyProgress fills a run's buffer: progress is dropped
// without blocking, completion waits for the reader and arrives.
func TestEmitterDropsOnlyProgress(t *testing.T) {
	em := newEmitter(7)
	for range runBuffer + 10 { // must not block
		em.emit(face.HostStarted{ID: 7, Host: "h"})
	}
	sent := make(chan struct{})
	go func() {
		em.emit(face.DiscoveryDone{ID: 7})
		em.close()
		close(sent)
	}()
	select {
	case <-sent:
		t.Fatal("a Done event was sent into a full buffer: it must wait, not be dropped")
	case <-time.After(50 * time.Millisecond):
	}
	n, done := 0, false
	for ev := range em.ch {
		switch ev.(type) {
		case face.HostStarted:
			n++
		case face.DiscoveryDone:
			done = true
		}
	}
	<-sent
	if n != runBuffer || !done {
		t.Errorf("read %d progress events (want %d, the rest dropped) and done=%v", n, runBuffer, done)
	}
}

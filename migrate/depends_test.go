package migrate

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
)

// TestDependencyOrder: a server's dependencies start before it; the plan's
// order holds otherwise.
func TestDependencyOrder(t *testing.T) {
	servers := []Server{{Name: "web01", DependsOn: []string{"app01"}}, {Name: "mail"}, {Name: "app01", DependsOn: []string{"db01"}}, {Name: "db01"}}
	var got []string
	for _, i := range dependencyOrder(servers) {
		got = append(got, servers[i].Name)
	}
	if want := "db01 app01 web01 mail"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

// TestAwaitDependencies runs on a real SQLite ledger: a dependency that is
// not done and does not move makes the server wait for a later run, naming
// it and its phase; one that moves is waited for until it is done, or
// until its run ends short of done.
func TestAwaitDependencies(t *testing.T) {
	defer func(d time.Duration) { dependencyPoll = d }(dependencyPoll)
	dependencyPoll = 20 * time.Millisecond
	ctx := t.Context()
	l, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "ledger"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := &plan.Plan{Version: 1, Name: "deps", Hosts: "hosts.yaml", Waves: []plan.Wave{{Name: "w", Hosts: []plan.Host{{Name: "db01"}, {Name: "web01", DependsOn: []string{"db01"}}}}}}
	store, err := NewStore(ctx, l, p)
	if err != nil {
		t.Fatal(err)
	}
	var moving atomic.Bool
	sr := &serverRun{Runner: &Runner{Ledger: store}, s: Server{Name: "web01", DependsOn: []string{"db01"}, moving: func(s string) bool { return s == "db01" && moving.Load() }}}
	move := func(from, to face.Phase) {
		t.Helper()
		if err := store.Transition(ctx, "db01", from, to, "test"); err != nil {
			t.Fatal(err)
		}
	}

	move(face.Pending, face.InSync)
	err = sr.awaitDependencies(ctx)
	if !errors.Is(err, ErrWaiting) || !strings.Contains(err.Error(), "db01's cutover first") || !strings.Contains(err.Error(), "in-sync") {
		t.Errorf("a dependency in sync that does not move: %v", err)
	}

	// It moves, and ends rolled back: the wait ends, waiting.
	moving.Store(true)
	go func() {
		time.Sleep(100 * time.Millisecond)
		move(face.InSync, face.CuttingOver)
		move(face.CuttingOver, face.RolledBack)
		moving.Store(false)
	}()
	err = sr.awaitDependencies(ctx)
	if !errors.Is(err, ErrWaiting) || !strings.Contains(err.Error(), "rolled-back") {
		t.Errorf("a dependency whose run ended rolled back: %v", err)
	}

	// It moves again and is done: the server goes on.
	moving.Store(true)
	go func() {
		time.Sleep(100 * time.Millisecond)
		move(face.RolledBack, face.CuttingOver)
		move(face.CuttingOver, face.Validated)
		move(face.Validated, face.Done)
	}()
	if err := sr.awaitDependencies(ctx); err != nil {
		t.Errorf("a dependency that reached done: %v", err)
	}

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	sr.s.DependsOn = []string{"web01"} // pending, and "moving" for ever
	sr.s.moving = func(string) bool { return true }
	if err := sr.awaitDependencies(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("canceled while waiting: %v", err)
	}
}

package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/migrate/face"
)

// Wave is a group of servers that move together.
type Wave struct {
	Name string
	// Concurrency is how many of its servers move at once; 0 means 4.
	Concurrency int
	// DependsOn names waves whose servers must all be done before this
	// wave's servers cut over.
	DependsOn []string
	Servers   []Server
}

// Claimer is a ledger shared by several appliances: a server is moved by the
// one appliance that holds its claim. A claim lapses when its lease is not
// renewed, so that another appliance takes over a crashed one's servers.
type Claimer interface {
	Claim(ctx context.Context, server string, lease time.Duration) (bool, error)
	Renew(ctx context.Context, server string, lease time.Duration) error
	Release(ctx context.Context, server string) error
}

// ClaimLease is how long a claim lasts without renewal.
const ClaimLease = 2 * time.Minute

// Batch runs the waves of a plan, in order.
type Batch struct {
	Runner *Runner
	Waves  []Wave
	// Blackout says whether nothing may run at a time, and why; nil means
	// never.
	Blackout func(time.Time) (bool, string)

	mu     sync.Mutex
	moving map[string]bool // servers whose Run has not returned
}

func (b *Batch) isMoving(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.moving[s]
}

func (b *Batch) setMoving(s string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.moving[s] = on
}

// Run moves every server as far as this run can take it and reports where
// each ended. Servers of a wave move concurrently; waves run one after the
// other. A server that fails does not stop the others.
func (b *Batch) Run(ctx context.Context) face.MigrationDone {
	start := b.Runner.now()
	b.moving = map[string]bool{}
	out := face.MigrationDone{ID: b.Runner.ID}
	doneWaves := map[string]bool{}
	for _, w := range b.Waves {
		res := b.wave(ctx, w, doneWaves)
		allDone := true
		for _, r := range res {
			allDone = allDone && r.Phase == face.Done
		}
		doneWaves[w.Name] = allDone
		out.Servers = append(out.Servers, res...)
	}
	out.Canceled = ctx.Err() != nil
	out.Took = b.Runner.now().Sub(start)
	return out
}

func (b *Batch) wave(ctx context.Context, w Wave, doneWaves map[string]bool) []face.ServerResult {
	n := w.Concurrency
	if n <= 0 {
		n = 4
	}
	var waitingOn []string
	for _, d := range w.DependsOn {
		if !doneWaves[d] {
			waitingOn = append(waitingOn, d)
		}
	}
	// Every server of the wave counts as moving from the start: one that
	// waits for a free slot still comes.
	for _, s := range w.Servers {
		b.setMoving(s.Name, true)
	}
	res := make([]face.ServerResult, len(w.Servers))
	var g errgroup.Group
	g.SetLimit(n)
	for _, i := range dependencyOrder(w.Servers) {
		s := w.Servers[i]
		s.moving = b.isMoving
		if len(waitingOn) > 0 {
			// Copy ahead, but do not cut over before the waves it needs.
			s.CutoverWindow = func(time.Time) (bool, string) {
				return false, fmt.Sprintf("wave %v to finish first", waitingOn)
			}
		}
		g.Go(func() error {
			res[i] = b.server(ctx, s)
			b.setMoving(s.Name, false)
			return nil
		})
	}
	g.Wait()
	return res
}

func (b *Batch) server(ctx context.Context, s Server) face.ServerResult {
	r := b.Runner
	if b.Blackout != nil {
		if in, why := b.Blackout(r.now()); in {
			ph, _ := r.Ledger.Phase(ctx, s.Name)
			return face.ServerResult{Host: s.Name, Wave: s.Wave, Phase: ph, Waiting: "blackout: " + why}
		}
	}
	c, ok := r.Ledger.(Claimer)
	if !ok {
		return r.Run(ctx, s)
	}
	got, err := c.Claim(ctx, s.Name, ClaimLease)
	if err != nil || !got {
		ph, _ := r.Ledger.Phase(ctx, s.Name)
		res := face.ServerResult{Host: s.Name, Wave: s.Wave, Phase: ph, Waiting: "another appliance moves it"}
		if err != nil {
			res.Waiting, res.Err = "", fmt.Sprintf("%s: claim: %v", s.Name, err)
		}
		return res
	}
	// Renew the claim while the server moves; a run that stops renewing
	// (killed) lets another appliance take over after the lease.
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ClaimLease / 4)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := c.Renew(rctx, s.Name, ClaimLease); err != nil && !errors.Is(err, context.Canceled) {
					r.log().Warn("renew claim", "host", s.Name, "err", err)
				}
			}
		}
	}()
	res := r.Run(ctx, s)
	cancel()
	wg.Wait()
	if err := c.Release(context.WithoutCancel(ctx), s.Name); err != nil {
		r.log().Warn("release claim", "host", s.Name, "err", err)
	}
	return res
}

// dependencyOrder returns the indexes of servers with the servers a server
// depends on before it, keeping the order otherwise, so that with few
// slots a dependency starts first. The plan has no cycles (plan.Check
// refuses them).
func dependencyOrder(servers []Server) []int {
	idx := map[string]int{}
	for i, s := range servers {
		idx[s.Name] = i
	}
	seen := make([]bool, len(servers))
	out := make([]int, 0, len(servers))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, d := range servers[i].DependsOn {
			if j, ok := idx[d]; ok {
				visit(j)
			}
		}
		out = append(out, i)
	}
	for i := range servers {
		visit(i)
	}
	return out
}

package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shift-migrate/shift/transfer"
)

// TestPostgres runs the behaviours of every backend against a real
// PostgreSQL, then what only a shared ledger does: several appliances.
func TestPostgres(t *testing.T) {
	pg := startPostgres(t)
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) { c.run(t, pg.store(t)) })
	}
	t.Run("ClaimRace", func(t *testing.T) { testClaimRace(t, pg.store(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, pg.store(t)) })
	t.Run("Schema", func(t *testing.T) { testPostgresSchema(t, pg) })
}

// Four appliances, each with its own connection pool, race to claim twenty
// servers: each server is claimed by exactly one. When one appliance stops
// renewing (crashed), the others take its servers over once the lease
// expires, and the crashed one can no longer change them.
func testClaimRace(t *testing.T, s store) {
	ctx := context.Background()
	clk := newClock()
	const lease = time.Minute
	var apps []*Ledger
	for i := range 4 {
		apps = append(apps, s.open(t, fmt.Sprintf("app%d", i), Options{Now: clk.now}))
	}
	names := addServers(t, apps[0], "p", "srv", 20)

	owned := claimAll(t, apps, names, lease)
	count := map[string]int{}
	for a, servers := range owned {
		for _, name := range servers {
			count[name]++
			sv, err := apps[0].Server(ctx, name)
			must(t, err)
			if sv.Owner != apps[a].Appliance() {
				t.Errorf("%s: ledger says owner %s, %s won the claim", name, sv.Owner, apps[a].Appliance())
			}
		}
	}
	for _, name := range names {
		if count[name] != 1 {
			t.Errorf("%s claimed %d times", name, count[name])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// The first appliance holding something "crashes"; the others work on.
	crashed := 0
	for len(owned[crashed]) == 0 {
		crashed++
	}
	victim := owned[crashed][0]
	j, err := apps[crashed].Journal(ctx, victim, "disk0", 4*transfer.ChunkSize)
	must(t, err)
	must(t, j.BeginPass(1))
	must(t, j.Record(0, hash(victim, 1, 0)))
	must(t, j.Sync())
	must(t, apps[crashed].Transition(ctx, victim, "", "replicating", ""))
	must(t, j.Record(1, hash(victim, 1, 1))) // never synced by the crashed appliance

	// Another appliance cannot touch a held server, nor take it early.
	other := apps[(crashed+1)%4]
	if err := other.Transition(ctx, victim, "replicating", "in-sync", ""); !errors.Is(err, ErrNotOwner) ||
		!strings.Contains(err.Error(), "appliance "+apps[crashed].Appliance()+" holds it") {
		t.Fatalf("transition of a held server: %v", err)
	}
	if err := other.StepDone(ctx, victim, "boot", ""); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("step on a held server: %v", err)
	}
	if _, err := other.Journal(ctx, victim, "disk0", 4*transfer.ChunkSize); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("journal of a held server: %v", err)
	}
	if got, err := other.Claim(ctx, victim, lease); got || err != nil {
		t.Fatalf("claim of a held server: %v %v", got, err)
	}

	// Time passes; everyone renews but the crashed appliance.
	clk.advance(lease / 2)
	for a, servers := range owned {
		for _, name := range servers {
			if a != crashed {
				must(t, apps[a].Renew(ctx, name, lease))
			}
		}
	}
	clk.advance(lease/2 + time.Second)
	var live []*Ledger
	var before [][]string // what each live appliance held
	for a, l := range apps {
		if a != crashed {
			live, before = append(live, l), append(before, owned[a])
		}
	}
	// Claiming a server it holds renews it; what is new was taken over.
	taken := claimAll(t, live, names, lease)
	var takenNames []string
	for a, servers := range taken {
		for _, name := range servers {
			if !slices.Contains(before[a], name) {
				takenNames = append(takenNames, name)
			}
		}
	}
	if strings.Join(sorted(takenNames), " ") != strings.Join(sorted(owned[crashed]), " ") {
		t.Fatalf("taken over %v, the crashed appliance held %v", takenNames, owned[crashed])
	}
	// The crashed appliance wakes up: fenced off.
	if err := apps[crashed].Renew(ctx, victim, lease); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("renew after takeover: %v", err)
	}
	if err := apps[crashed].Transition(ctx, victim, "replicating", "in-sync", ""); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("transition after takeover: %v", err)
	}
	if err := j.Sync(); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("journal sync after takeover: %v", err)
	}
	// The new owner resumes from what the crashed one synced.
	var heir *Ledger
	for a, servers := range taken {
		for _, name := range servers {
			if name == victim {
				heir = live[a]
			}
		}
	}
	hj, err := heir.Journal(ctx, victim, "disk0", 4*transfer.ChunkSize)
	must(t, err)
	st := hj.State()
	if st.Open != 1 || st.Chunks[0].Hash != hash(victim, 1, 0) || st.Chunks[1].Known {
		t.Fatalf("heir's journal: open %d chunk0 %+v chunk1 %+v", st.Open, st.Chunks[0], st.Chunks[1])
	}
	must(t, heir.Transition(ctx, victim, "replicating", "in-sync", "resumed"))
	h, err := heir.History(ctx, victim)
	must(t, err)
	if len(h) != 2 || h[0].Appliance != apps[crashed].Appliance() || h[1].Appliance != heir.Appliance() {
		t.Fatalf("history across the takeover: %+v", h)
	}
	ev, err := heir.Events(ctx, victim)
	must(t, err)
	if len(ev) != 1 || ev[0].Kind != "takeover" || !strings.Contains(ev[0].Message, "took over from "+apps[crashed].Appliance()) {
		t.Fatalf("takeover events: %+v", ev)
	}
	// Released servers are free at once.
	must(t, heir.Release(ctx, victim))
	if got, err := apps[crashed].Claim(ctx, victim, lease); !got || err != nil {
		t.Fatalf("claim after release: %v %v", got, err)
	}
}

// claimAll has every appliance try every server, all in the same order
// from the same moment so that they collide on each, and returns what each
// won.
func claimAll(t *testing.T, apps []*Ledger, names []string, lease time.Duration) [][]string {
	ctx := context.Background()
	owned := make([][]string, len(apps))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for a, l := range apps {
		wg.Go(func() {
			<-start
			for _, name := range names {
				got, err := l.Claim(ctx, name, lease)
				if err != nil {
					t.Error(err)
					return
				}
				if got {
					owned[a] = append(owned[a], name)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return owned
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Appliances starting together on an empty database create the schema
// once between them.
func testConcurrentCreate(t *testing.T, s store) {
	var wg sync.WaitGroup
	ledgers := make([]*Ledger, 4)
	for i := range ledgers {
		wg.Go(func() { ledgers[i] = s.open(t, fmt.Sprintf("app%d", i), Options{}) })
	}
	wg.Wait()
	addServers(t, ledgers[0], "p", "db", 1)
	for _, l := range ledgers {
		if ss, err := l.Servers(context.Background(), "p"); err != nil || len(ss) != 1 {
			t.Fatalf("%s: %v %v", l.Appliance(), ss, err)
		}
	}
}

func testPostgresSchema(t *testing.T, pg *pgServer) {
	ctx := context.Background()
	s := pg.store(t)
	l := s.open(t, "a1", Options{})
	if !strings.HasPrefix(l.String(), "postgres ") || strings.Contains(l.String(), "password") {
		t.Fatalf("ledger name %q", l.String())
	}
	_, err := l.db.Exec(`UPDATE schema_version SET version = 9`)
	must(t, err)
	must(t, l.Close())
	db := fmt.Sprintf("ledger%d", pg.n.Load())
	_, err = OpenPostgres(ctx, pg.srv.DSN(db), "a1", Options{})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 9") || !strings.Contains(err.Error(), "/"+db) {
		t.Fatalf("newer schema: %v", err)
	}
	if _, err := OpenPostgres(ctx, pg.srv.DSN(db), "", Options{}); err == nil || !strings.Contains(err.Error(), "no appliance name") {
		t.Fatalf("no appliance: %v", err)
	}
	_, err = OpenPostgres(ctx, "postgres://u:s3cret@127.0.0.1:notaport/db", "a1", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "does not parse") {
		t.Fatalf("bad DSN: %v", err)
	}
	_, err = OpenPostgres(ctx, pg.srv.DSN("missing"), "a1", Options{})
	if err == nil || !strings.Contains(err.Error(), "/missing: connect") {
		t.Fatalf("missing database: %v", err)
	}
}

// BenchmarkJournalSyncPostgres is BenchmarkJournalSync against PostgreSQL
// on loopback.
func BenchmarkJournalSyncPostgres(b *testing.B) {
	pg := startPostgres(b)
	l := pg.store(b).open(b, "a1", Options{})
	benchJournalSync(b, l)
}

package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shift-migrate/shift/transfer"
)

// The behaviours every backend has; TestSQLite and TestPostgres run them.
var suite = []struct {
	name string
	run  func(t *testing.T, s store)
}{
	{"Plans", testPlans},
	{"Servers", testServers},
	{"Transitions", testTransitions},
	{"TransitionRace", testTransitionRace},
	{"Steps", testSteps},
	{"EventsAndFacts", testEventsAndFacts},
	{"Journal", testJournal},
	{"JournalCrash", testJournalCrash},
	{"JournalSize", testJournalSize},
	{"ClaimOne", testClaimOne},
	{"Concurrent", testConcurrent},
}

func TestSQLite(t *testing.T) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) { c.run(t, sqliteStore(t)) })
	}
}

func testPlans(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	must(t, l.EnsurePlan(ctx, "waves.yaml", "d1"))
	must(t, l.EnsurePlan(ctx, "waves.yaml", "d1")) // idempotent
	err := l.EnsurePlan(ctx, "waves.yaml", "d2")
	if !errors.Is(err, ErrPlanChanged) || !strings.Contains(err.Error(), "d1") || !strings.Contains(err.Error(), "d2") {
		t.Fatalf("changed plan: %v", err)
	}
	must(t, l.ReplacePlan(ctx, "waves.yaml", "d2"))
	p, ok, err := l.Plan(ctx, "waves.yaml")
	if err != nil || !ok || p.Digest != "d2" || p.Created.IsZero() || p.Updated.Before(p.Created) {
		t.Fatalf("plan: %+v %v %v", p, ok, err)
	}
	if _, ok, err := l.Plan(ctx, "other"); ok || err != nil {
		t.Fatalf("unknown plan: %v %v", ok, err)
	}
	if err := l.EnsurePlan(ctx, "", "d"); err == nil || !strings.Contains(err.Error(), "no plan name") {
		t.Fatalf("empty plan name: %v", err)
	}
}

func testServers(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	if err := l.AddServer(ctx, "p", "db01", "w1"); err == nil || !strings.Contains(err.Error(), "EnsurePlan first") {
		t.Fatalf("server of an unrecorded plan: %v", err)
	}
	names := addServers(t, l, "p", "srv", 5)
	must(t, l.AddServer(ctx, "p", names[0], "wave0")) // idempotent
	must(t, l.AddServer(ctx, "p", names[1], "late"))  // moves wave
	must(t, l.EnsurePlan(ctx, "q", "x"))
	err := l.AddServer(ctx, "q", names[2], "w")
	if err == nil || !strings.Contains(err.Error(), "server srv02") || !strings.Contains(err.Error(), "already in plan p") {
		t.Fatalf("server in two plans: %v", err)
	}
	if err := l.AddServer(ctx, "p", "bad\nname", "w"); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Fatalf("bad name: %v", err)
	}
	got, err := l.Servers(ctx, "p")
	must(t, err)
	if len(got) != 5 {
		t.Fatalf("%d servers", len(got))
	}
	for i, sv := range got {
		if sv.Name != names[i] || sv.Plan != "p" || sv.Phase != "" || sv.Updated.IsZero() {
			t.Errorf("server %d: %+v", i, sv)
		}
	}
	if got[1].Wave != "late" || got[0].Wave != "wave0" {
		t.Errorf("waves: %q %q", got[0].Wave, got[1].Wave)
	}
	if _, err := l.Server(ctx, "nope"); !errors.Is(err, ErrUnknownServer) || !strings.Contains(err.Error(), "server nope") {
		t.Fatalf("unknown server: %v", err)
	}
	if qs, err := l.Servers(ctx, "q"); err != nil || len(qs) != 0 {
		t.Fatalf("plan q: %v %v", qs, err)
	}
}

func testTransitions(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 1)
	must(t, l.Transition(ctx, "db00", "", "discovered", "inventory taken"))
	must(t, l.Transition(ctx, "db00", "discovered", "assessed", ""))
	err := l.Transition(ctx, "db00", "discovered", "assessed", "")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `phase "assessed"`) || !strings.Contains(err.Error(), "server db00") {
		t.Fatalf("stale from: %v", err)
	}
	must(t, l.Fail(ctx, "db00", "assessed", "failed", "winrm: auth: 401"))
	sv, err := l.Server(ctx, "db00")
	must(t, err)
	if sv.Phase != "failed" || sv.Error != "winrm: auth: 401" {
		t.Fatalf("after Fail: %+v", sv)
	}
	must(t, l.Transition(ctx, "db00", "failed", "assessed", "retry"))
	if sv, _ := l.Server(ctx, "db00"); sv.Error != "" {
		t.Fatalf("error kept after a successful transition: %+v", sv)
	}
	if ph, err := l.Phase(ctx, "db00"); ph != "assessed" || err != nil {
		t.Fatalf("phase %q %v", ph, err)
	}
	h, err := l.History(ctx, "db00")
	must(t, err)
	want := []string{" → discovered", "discovered → assessed", "assessed → failed", "failed → assessed"}
	if len(h) != len(want) {
		t.Fatalf("history: %+v", h)
	}
	for i, c := range h {
		if c.From+" → "+c.To != want[i] || c.Appliance != "a1" || c.At.IsZero() || c.Server != "db00" {
			t.Errorf("history %d: %+v", i, c)
		}
	}
	if h[0].Detail != "inventory taken" || !h[2].Failed || h[2].Detail != "winrm: auth: 401" || h[3].Failed {
		t.Errorf("details: %+v", h)
	}
	if err := l.Transition(ctx, "ghost", "", "x", ""); !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("unknown server: %v", err)
	}
	if err := l.Transition(ctx, "db00", "assessed", "", ""); err == nil {
		t.Fatal("transition to the empty phase accepted")
	}
}

// Of goroutines racing to advance a server from the same phase, exactly one
// wins; the others get ErrConflict.
func testTransitionRace(t *testing.T, s store) {
	ctx := context.Background()
	ledgers := []*Ledger{s.open(t, "a1", Options{})}
	if s.shared {
		ledgers = append(ledgers, s.open(t, "a2", Options{}), s.open(t, "a3", Options{}))
	}
	addServers(t, ledgers[0], "p", "db", 1)
	for round := range 5 {
		from, to := fmt.Sprint(round), fmt.Sprint(round+1)
		if round == 0 {
			from = ""
		}
		var wins, conflicts int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				err := ledgers[g%len(ledgers)].Transition(ctx, "db00", from, to, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, ErrConflict):
					conflicts++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != 7 {
			t.Fatalf("round %d: %d wins, %d conflicts", round, wins, conflicts)
		}
	}
	if h, _ := ledgers[0].History(ctx, "db00"); len(h) != 5 {
		t.Fatalf("history has %d transitions, want 5", len(h))
	}
}

func testSteps(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 1)
	must(t, l.StepDone(ctx, "db00", "stop-services", `{"start":["mssql"]}`))
	must(t, l.StepDone(ctx, "db00", "final-pass", ""))
	must(t, l.StepDone(ctx, "db00", "boot", `{"stop-vm":"db00"}`))
	must(t, l.StepDone(ctx, "db00", "stop-services", `{"start":["mssql","sqlagent"]}`)) // redone after a crash
	steps, err := l.Steps(ctx, "db00")
	must(t, err)
	if names := stepNames(steps); names != "stop-services final-pass boot" {
		t.Fatalf("steps: %s", names)
	}
	if steps[0].Undo != `{"start":["mssql","sqlagent"]}` || steps[0].Appliance != "a1" || steps[0].Done.IsZero() {
		t.Errorf("redone step: %+v", steps[0])
	}
	if sv, _ := l.Server(ctx, "db00"); sv.Step != "boot" {
		t.Errorf("server step %q", sv.Step)
	}
	// Undo in reverse order.
	for i := len(steps) - 1; i >= 1; i-- {
		must(t, l.StepUndone(ctx, "db00", steps[i].Name))
	}
	steps, _ = l.Steps(ctx, "db00")
	if names := stepNames(steps); names != "stop-services" {
		t.Fatalf("standing after undo: %s", names)
	}
	if sv, _ := l.Server(ctx, "db00"); sv.Step != "stop-services" {
		t.Errorf("server step %q", sv.Step)
	}
	// Done again after an undo: a new entry at the end.
	must(t, l.StepDone(ctx, "db00", "final-pass", ""))
	all, err := l.StepLog(ctx, "db00")
	must(t, err)
	if names := stepNames(all); names != "stop-services final-pass boot final-pass" {
		t.Fatalf("step log: %s", names)
	}
	if all[1].Undone.IsZero() || all[2].Undone.IsZero() || !all[3].Undone.IsZero() || !all[0].Undone.IsZero() {
		t.Errorf("undone marks: %+v", all)
	}
	if err := l.StepUndone(ctx, "db00", "boot"); err == nil || !strings.Contains(err.Error(), `no step "boot" stands`) {
		t.Fatalf("undo of an undone step: %v", err)
	}
	if err := l.StepDone(ctx, "db00", "x", "{not json"); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad undo: %v", err)
	}
	if err := l.StepDone(ctx, "ghost", "x", ""); !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("unknown server: %v", err)
	}
}

func stepNames(steps []Step) string {
	var n []string
	for _, s := range steps {
		n = append(n, s.Name)
	}
	return strings.Join(n, " ")
}

func testEventsAndFacts(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 2)
	must(t, l.Event(ctx, "", "info", "migration started"))
	must(t, l.Event(ctx, "db00", "warning", "pass 3 moved 2 GiB"))
	must(t, l.Event(ctx, "db01", "info", "in sync"))
	all, err := l.Events(ctx, "")
	must(t, err)
	if len(all) != 3 || all[0].Message != "migration started" || all[2].Server != "db01" || all[1].Kind != "warning" ||
		all[0].ID >= all[1].ID || all[1].Appliance != "a1" || all[1].At.IsZero() {
		t.Fatalf("events: %+v", all)
	}
	one, err := l.Events(ctx, "db00")
	must(t, err)
	if len(one) != 1 || one[0].Message != "pass 3 moved 2 GiB" {
		t.Fatalf("events of db00: %+v", one)
	}

	if v, err := l.Get(ctx, "db00", "inventory"); v != nil || err != nil {
		t.Fatalf("missing fact: %q %v", v, err)
	}
	must(t, l.Put(ctx, "db00", "inventory", []byte(`{"os":"linux"}`)))
	must(t, l.Put(ctx, "db00", "inventory", []byte(`{"os":"windows"}`)))
	must(t, l.Put(ctx, "db00", "empty", []byte{}))
	if v, err := l.Get(ctx, "db00", "inventory"); string(v) != `{"os":"windows"}` || err != nil {
		t.Fatalf("fact: %q %v", v, err)
	}
	if v, err := l.Get(ctx, "db00", "empty"); v == nil || len(v) != 0 || err != nil {
		t.Fatalf("empty fact: %q %v", v, err)
	}
	must(t, l.Put(ctx, "db00", "inventory", nil))
	if v, _ := l.Get(ctx, "db00", "inventory"); v != nil {
		t.Fatalf("deleted fact: %q", v)
	}
	if v, _ := l.Get(ctx, "db01", "empty"); v != nil {
		t.Fatalf("fact of another server: %q", v)
	}
	if err := l.Put(ctx, "ghost", "k", []byte("v")); !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("unknown server: %v", err)
	}
}

func hash(server string, pass int, idx int64) transfer.Hash {
	var h transfer.Hash
	copy(h[:], fmt.Sprintf("%s/%d/%d", server, pass, idx))
	return h
}

// The journal keeps passes and chunks across a reopen, like the file
// journal: the same sequence as transfer's TestFileJournal.
func testJournal(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 1)
	size := int64(10*transfer.ChunkSize + 1)
	j, err := l.Journal(ctx, "db00", "disk0", size)
	must(t, err)
	if j2, err := l.Journal(ctx, "db00", "disk0", size); j2 != j || err != nil {
		t.Fatalf("second Journal: %p %p %v", j, j2, err)
	}
	st := j.State()
	if st.Size != size || len(st.Chunks) != 11 || st.LastPass != 0 || st.Open != 0 {
		t.Fatalf("new journal: %+v", st)
	}
	if err := j.Record(0, hash("db00", 1, 0)); err == nil || !strings.Contains(err.Error(), "no pass is open") {
		t.Fatalf("record outside a pass: %v", err)
	}
	if err := j.BeginPass(2); err == nil || !strings.Contains(err.Error(), "after pass 0") {
		t.Fatalf("begin pass 2 first: %v", err)
	}
	must(t, j.BeginPass(1))
	for i := range int64(11) {
		must(t, j.Record(i, hash("db00", 1, i)))
	}
	if err := j.Record(11, transfer.Hash{}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("chunk 11: %v", err)
	}
	if err := j.EndPass(2, transfer.Hash{}); err == nil {
		t.Fatal("ended a pass not open")
	}
	must(t, j.EndPass(1, transfer.Hash{99}))
	must(t, j.BeginPass(2))
	must(t, j.Record(3, hash("db00", 2, 3)))
	must(t, j.Invalidate(4))
	must(t, j.Sync())
	must(t, l.Close())

	l = s.open(t, "a1", Options{})
	j, err = l.Journal(ctx, "db00", "disk0", size)
	must(t, err)
	st = j.State()
	if st.LastPass != 1 || st.LastDigest != (transfer.Hash{99}) || st.Open != 2 {
		t.Fatalf("reopened: last %d open %d", st.LastPass, st.Open)
	}
	if c := st.Chunks[3]; !c.Known || c.Hash != hash("db00", 2, 3) || c.Pass != 2 || c.Dirty {
		t.Errorf("chunk 3: %+v", c)
	}
	if c := st.Chunks[4]; c.Known || !c.Dirty || c.Pass != 0 {
		t.Errorf("chunk 4: %+v", c)
	}
	if c := st.Chunks[10]; c.Hash != hash("db00", 1, 10) || c.Pass != 1 {
		t.Errorf("chunk 10: %+v", c)
	}
	// A chunk invalidated and recorded again before a sync.
	must(t, j.Invalidate(5))
	must(t, j.Record(5, hash("db00", 2, 5)))
	must(t, j.Record(4, hash("db00", 2, 4)))
	must(t, j.EndPass(2, transfer.Hash{98})) // writes the unsynced records too
	must(t, j.Close())
	if err := j.Record(1, transfer.Hash{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("record after close: %v", err)
	}
	j, err = l.Journal(ctx, "db00", "disk0", size)
	must(t, err)
	st = j.State()
	if st.LastPass != 2 || st.Open != 0 || st.LastDigest != (transfer.Hash{98}) || st.Chunks[5].Hash != hash("db00", 2, 5) ||
		!st.Chunks[4].Known || st.Chunks[0].Pass != 1 {
		t.Fatalf("after pass 2: last %d open %d chunk4 %+v chunk5 %+v", st.LastPass, st.Open, st.Chunks[4], st.Chunks[5])
	}
	// Journals of two disks do not mix.
	j2, err := l.Journal(ctx, "db00", "disk1", transfer.ChunkSize)
	must(t, err)
	if st := j2.State(); len(st.Chunks) != 1 || st.LastPass != 0 || st.Chunks[0].Known {
		t.Fatalf("second disk: %+v", st)
	}
	if _, err := l.Journal(ctx, "ghost", "disk0", size); !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("journal of an unknown server: %v", err)
	}
}

// A crash between Record and Sync loses only what was not synced.
func testJournalCrash(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 1)
	size := int64(8 * transfer.ChunkSize)
	j, err := l.Journal(ctx, "db00", "disk0", size)
	must(t, err)
	must(t, j.BeginPass(1))
	for i := range int64(4) {
		must(t, j.Record(i, hash("db00", 1, i)))
	}
	must(t, j.Sync())
	must(t, j.Record(4, hash("db00", 1, 4))) // not synced
	must(t, j.Invalidate(0))                 // not synced
	crash(l)

	l = s.open(t, "a1", Options{})
	j, err = l.Journal(ctx, "db00", "disk0", size)
	must(t, err)
	st := j.State()
	if st.Open != 1 || st.LastPass != 0 {
		t.Fatalf("after crash: open %d last %d", st.Open, st.LastPass)
	}
	for i := range int64(4) {
		if c := st.Chunks[i]; !c.Known || c.Hash != hash("db00", 1, i) || c.Pass != 1 {
			t.Errorf("synced chunk %d lost: %+v", i, c)
		}
	}
	if c := st.Chunks[4]; c.Known || c.Dirty {
		t.Errorf("unsynced chunk 4 survived: %+v", c)
	}
}

func testJournalSize(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	addServers(t, l, "p", "db", 1)
	j, err := l.Journal(ctx, "db00", "disk0", 4*transfer.ChunkSize)
	must(t, err)
	if _, err := l.Journal(ctx, "db00", "disk0", 5*transfer.ChunkSize); err == nil || !strings.Contains(err.Error(), "open for a disk of") {
		t.Fatalf("open journal, other size: %v", err)
	}
	must(t, j.BeginPass(1))
	must(t, j.Record(2, hash("db00", 1, 2)))
	if err := l.ResetJournal(ctx, "db00", "disk0"); err == nil || !strings.Contains(err.Error(), "close it first") {
		t.Fatalf("reset of an open journal: %v", err)
	}
	must(t, j.Close())
	_, err = l.Journal(ctx, "db00", "disk0", 5*transfer.ChunkSize)
	if err == nil || !strings.Contains(err.Error(), "the disk changed size") || !strings.Contains(err.Error(), "server db00") ||
		!strings.Contains(err.Error(), "disk0") {
		t.Fatalf("size changed: %v", err)
	}
	must(t, l.ResetJournal(ctx, "db00", "disk0"))
	j, err = l.Journal(ctx, "db00", "disk0", 5*transfer.ChunkSize)
	must(t, err)
	if st := j.State(); st.Open != 0 || st.Chunks[2].Known || len(st.Chunks) != 5 {
		t.Fatalf("after reset: %+v", st)
	}
	if _, err := l.Journal(ctx, "db00", "disk1", 0); err == nil {
		t.Fatal("journal of an empty disk")
	}
}

func testClaimOne(t *testing.T, s store) {
	ctx := context.Background()
	clk := newClock()
	l := s.open(t, "a1", Options{Now: clk.now})
	addServers(t, l, "p", "db", 1)
	if err := l.Renew(ctx, "db00", time.Minute); !errors.Is(err, ErrNotOwner) || !strings.Contains(err.Error(), "claim it first") {
		t.Fatalf("renew unclaimed: %v", err)
	}
	got, err := l.Claim(ctx, "db00", time.Minute)
	if !got || err != nil {
		t.Fatalf("claim: %v %v", got, err)
	}
	sv, _ := l.Server(ctx, "db00")
	if sv.Owner != "a1" || sv.LeaseUntil.Sub(clk.now()) < 59*time.Second {
		t.Fatalf("claimed: %+v", sv)
	}
	got, err = l.Claim(ctx, "db00", time.Minute) // claiming again renews
	if !got || err != nil {
		t.Fatalf("claim again: %v %v", got, err)
	}
	clk.advance(50 * time.Second)
	must(t, l.Renew(ctx, "db00", time.Minute))
	must(t, l.Transition(ctx, "db00", "", "discovered", ""))
	must(t, l.Release(ctx, "db00"))
	if sv, _ := l.Server(ctx, "db00"); sv.Owner != "" {
		t.Fatalf("released: %+v", sv)
	}
	if err := l.Release(ctx, "db00"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("release twice: %v", err)
	}
	if _, err := l.Claim(ctx, "db00", 0); err == nil {
		t.Fatal("zero lease accepted")
	}
	if _, err := l.Claim(ctx, "ghost", time.Minute); !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("claim unknown: %v", err)
	}
}

// Many goroutines, one server each, as the engine runs a wave: every write
// lands, none mixes with another server's.
func testConcurrent(t *testing.T, s store) {
	ctx := context.Background()
	l := s.open(t, "a1", Options{})
	names := addServers(t, l, "p", "srv", 12)
	const chunks = 40
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			j, err := l.Journal(ctx, name, "disk0", chunks*transfer.ChunkSize)
			if err != nil {
				t.Error(err)
				return
			}
			prev := ""
			for i := range 6 {
				ph := fmt.Sprintf("phase%d", i)
				if err := l.Transition(ctx, name, prev, ph, ""); err != nil {
					t.Error(err)
					return
				}
				prev = ph
				if err := errors.Join(l.StepDone(ctx, name, ph, `{}`), l.Event(ctx, name, "info", ph)); err != nil {
					t.Error(err)
					return
				}
			}
			if err := j.BeginPass(1); err != nil {
				t.Error(err)
				return
			}
			for i := range int64(chunks) {
				if err := j.Record(i, hash(name, 1, i)); err != nil {
					t.Error(err)
				}
				if i%7 == 6 {
					if err := j.Sync(); err != nil {
						t.Error(err)
					}
				}
			}
			if err := j.EndPass(1, hash(name, 1, -1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	must(t, l.Close())
	l = s.open(t, "a1", Options{})
	for _, name := range names {
		sv, err := l.Server(ctx, name)
		must(t, err)
		steps, _ := l.Steps(ctx, name)
		ev, _ := l.Events(ctx, name)
		if sv.Phase != "phase5" || len(steps) != 6 || len(ev) != 6 {
			t.Errorf("%s: phase %q, %d steps, %d events", name, sv.Phase, len(steps), len(ev))
		}
		j, err := l.Journal(ctx, name, "disk0", chunks*transfer.ChunkSize)
		must(t, err)
		st := j.State()
		if st.LastPass != 1 || st.LastDigest != hash(name, 1, -1) {
			t.Errorf("%s: last pass %d", name, st.LastPass)
		}
		for i, c := range st.Chunks {
			if c.Hash != hash(name, 1, int64(i)) {
				t.Errorf("%s: chunk %d: %+v", name, i, c)
				break
			}
		}
	}
}

package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/transfer"
)

// crashChildEnv, when set to a state directory, makes the test binary run
// crashChild instead of the tests (see TestMain).
const crashChildEnv = "SHIFT_LEDGER_CRASH_CHILD"

const (
	crashServers = 4
	crashChunks  = 48 // chunks per disk; 8 recorded per sync
)

// crashChild moves crashServers servers through phases p1, p2, ... and
// replicates their disk pass after pass, forever, printing on stdout each
// write the ledger acknowledged:
//
//	ready <pid>
//	T <server> <phase number>          transition done
//	S <server> <step>                  step done
//	C <server> <pass> <idx>,<idx>,...  chunks synced
//	E <server> <pass>                  pass ended
//
// It resumes from whatever the ledger holds, so each run continues the last.
func crashChild(dir string) int {
	ctx := context.Background()
	out := &acks{}
	l, err := Open(ctx, dir, Options{Appliance: "child"})
	if err != nil {
		out.say("ERR %v", err)
		return 1
	}
	if err := l.EnsurePlan(ctx, "p", "d"); err != nil {
		out.say("ERR %v", err)
		return 1
	}
	for i := range crashServers {
		if err := l.AddServer(ctx, "p", fmt.Sprintf("s%d", i), "w"); err != nil {
			out.say("ERR %v", err)
			return 1
		}
	}
	out.say("ready %d", os.Getpid())
	errs := make(chan error)
	for i := range crashServers {
		go func() { errs <- crashWork(ctx, l, fmt.Sprintf("s%d", i), out) }()
	}
	out.say("ERR %v", <-errs) // only an error ends a worker
	return 1
}

type acks struct{ mu sync.Mutex }

// say writes one line in one write, so a kill never leaves half a line.
func (a *acks) say(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
}

func crashWork(ctx context.Context, l *Ledger, server string, out *acks) error {
	j, err := l.Journal(ctx, server, "disk0", crashChunks*transfer.ChunkSize)
	if err != nil {
		return err
	}
	for {
		ph, err := l.Phase(ctx, server)
		if err != nil {
			return err
		}
		n := phaseNumber(ph)
		if err := l.Transition(ctx, server, ph, fmt.Sprintf("p%d", n+1), "crash loop"); err != nil {
			return err
		}
		out.say("T %s %d", server, n+1)
		if err := l.StepDone(ctx, server, fmt.Sprintf("step%d", n+1), fmt.Sprintf(`{"n":%d}`, n+1)); err != nil {
			return err
		}
		out.say("S %s step%d", server, n+1)
		if err := crashChunkBatch(j, server, out); err != nil {
			return err
		}
	}
}

func phaseNumber(ph string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(ph, "p"))
	return n
}

// crashChunkBatch records and syncs the next 8 chunks of the open pass (a
// new pass when none is open) and ends the pass when it is complete.
func crashChunkBatch(j *DiskJournal, server string, out *acks) error {
	st := j.State()
	if st.Open == 0 {
		if err := j.BeginPass(st.LastPass + 1); err != nil {
			return err
		}
		st = j.State()
	}
	var batch []string
	for i, c := range st.Chunks {
		if c.Known && c.Pass == st.Open {
			continue
		}
		if len(batch) == 8 {
			break
		}
		if err := j.Record(int64(i), hash(server, st.Open, int64(i))); err != nil {
			return err
		}
		batch = append(batch, strconv.Itoa(i))
	}
	if len(batch) > 0 {
		if err := j.Sync(); err != nil {
			return err
		}
		out.say("C %s %d %s", server, st.Open, strings.Join(batch, ","))
		return nil
	}
	if err := j.EndPass(st.Open, hash(server, st.Open, -1)); err != nil {
		return err
	}
	out.say("E %s %d", server, st.Open)
	return nil
}

// crashAcked is what the children acknowledged, over all rounds.
type crashAcked struct {
	phase  map[string]int             // server → highest phase number
	steps  map[string]map[string]bool // server → steps done
	chunks map[string]map[int64]int   // server → chunk → highest pass
	passes map[string]int             // server → highest ended pass
	lines  int
}

func (a *crashAcked) parse(t *testing.T, line string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	a.lines++
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("child line %q: %v", line, err)
		}
		return n
	}
	switch f[0] {
	case "ERR":
		t.Fatalf("child failed: %s", line)
	case "T":
		a.phase[f[1]] = max(a.phase[f[1]], atoi(f[2]))
	case "S":
		if a.steps[f[1]] == nil {
			a.steps[f[1]] = map[string]bool{}
		}
		a.steps[f[1]][f[2]] = true
	case "E":
		a.passes[f[1]] = max(a.passes[f[1]], atoi(f[2]))
	case "C":
		pass := atoi(f[2])
		if a.chunks[f[1]] == nil {
			a.chunks[f[1]] = map[int64]int{}
		}
		for _, s := range strings.Split(f[3], ",") {
			i := int64(atoi(s))
			a.chunks[f[1]][i] = max(a.chunks[f[1]][i], pass)
		}
	}
}

// A process recording transitions, steps and chunks is killed with SIGKILL
// at random moments, round after round. While it runs, a second process is
// refused the state directory, naming the child's pid. After each kill the
// ledger passes SQLite's integrity check, and nothing the child was told is
// durable has been lost; the next child resumes where the last stopped.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; not in -short")
	}
	dir := t.TempDir()
	acked := &crashAcked{phase: map[string]int{}, steps: map[string]map[string]bool{}, chunks: map[string]map[int64]int{}, passes: map[string]int{}}
	rounds := 8
	for round := range rounds {
		crashRound(t, dir, acked, time.Duration(30+rand.IntN(400))*time.Millisecond)
		checkCrashLedger(t, dir, acked, round)
	}
	if acked.lines < rounds*10 {
		t.Fatalf("children acknowledged only %d writes in %d rounds: too few to prove anything", acked.lines, rounds)
	}
	t.Logf("%d acknowledged writes over %d kills; phases reached %v, passes ended %v", acked.lines, rounds, acked.phase, acked.passes)
}

func crashRound(t *testing.T, dir string, acked *crashAcked, runFor time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	ready := time.After(60 * time.Second)
	for waiting := true; waiting; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("child ended before it was ready")
			}
			acked.parse(t, line)
			waiting = !strings.HasPrefix(line, "ready ")
		case <-ready:
			t.Fatal("child not ready after 60 s")
		}
	}

	// The child holds the directory: another process is refused.
	_, err = Open(context.Background(), dir, Options{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID != cmd.Process.Pid {
		t.Fatalf("open while the child (pid %d) runs: %v", cmd.Process.Pid, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("message does not name the child: %v", err)
	}

	deadline := time.After(runFor)
	for running := true; running; {
		select {
		case line := <-lines:
			acked.parse(t, line)
		case <-deadline:
			running = false
		}
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	killed = true
	for line := range lines {
		acked.parse(t, line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
}

func checkCrashLedger(t *testing.T, dir string, acked *crashAcked, round int) {
	ctx := context.Background()
	l, err := Open(ctx, dir, Options{}) // the child's lock went with it
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer l.Close()
	var ic string
	must(t, l.db.QueryRow(`PRAGMA integrity_check`).Scan(&ic))
	if ic != "ok" {
		t.Fatalf("round %d: integrity check: %s", round, ic)
	}
	for s := range crashServers {
		server := fmt.Sprintf("s%d", s)
		ph, err := l.Phase(ctx, server)
		must(t, err)
		n := phaseNumber(ph)
		if n < acked.phase[server] {
			t.Errorf("round %d: %s in phase %d, the child was told %d", round, server, n, acked.phase[server])
		}
		h, err := l.History(ctx, server)
		must(t, err)
		if len(h) != n {
			t.Errorf("round %d: %s in phase %d with %d transitions in its history", round, server, n, len(h))
		}
		steps, err := l.Steps(ctx, server)
		must(t, err)
		have := map[string]bool{}
		for _, st := range steps {
			have[st.Name] = true
		}
		for name := range acked.steps[server] {
			if !have[name] {
				t.Errorf("round %d: %s lost step %s", round, server, name)
			}
		}
		if len(steps) > n {
			t.Errorf("round %d: %s has %d steps in phase %d", round, server, len(steps), n)
		}
		j, err := l.Journal(ctx, server, "disk0", crashChunks*transfer.ChunkSize)
		must(t, err)
		st := j.State()
		if st.LastPass < acked.passes[server] {
			t.Errorf("round %d: %s last pass %d, the child ended %d", round, server, st.LastPass, acked.passes[server])
		}
		if st.LastPass > 0 && st.LastDigest != hash(server, st.LastPass, -1) {
			t.Errorf("round %d: %s digest of pass %d wrong", round, server, st.LastPass)
		}
		for i, pass := range acked.chunks[server] {
			c := st.Chunks[i]
			if !c.Known || c.Pass < pass || (c.Pass == pass && c.Hash != hash(server, pass, i)) {
				t.Errorf("round %d: %s chunk %d acknowledged in pass %d, ledger has %+v", round, server, i, pass, c)
			}
		}
	}
}

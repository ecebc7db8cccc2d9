package migrate_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shift-migrate/shift/migrate/face"
)

// TestKillInEachPhaseResumes runs the real shift migrate and kills it with
// SIGKILL in each phase on the way to in-sync, then once more in the middle
// of the copy; every rerun continues from the ledger, and the last one ends
// in sync with a target disk equal to the source.
func TestKillInEachPhaseResumes(t *testing.T) {
	r := newRig(t)
	r.ledger.Close() // the runs below are other processes
	bin := shiftBinary(t)
	planPath := filepath.Join(r.dir, "waves.yaml")
	// A slow copy, so that a kill always lands before the copy is done.
	b, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	write(t, planPath, strings.Replace(string(b), "disks: {include:", "bandwidth: 256K\n        disks: {include:", 1))
	order := map[string]int{}
	for i, p := range face.Phases {
		order[string(p)] = i
	}
	// kill after the event that says the server entered each phase; the
	// last kill comes with the copy's first progress report.
	for _, at := range []string{"discovered", "assessed", "prepared", "replicating", "progress"} {
		cmd := exec.Command(bin, "migrate", "--plan", planPath, "--json", "--until", "in-sync")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		var seen []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			seen = append(seen, sc.Text())
			var e struct{ Type, To string }
			json.Unmarshal(sc.Bytes(), &e)
			// The event of the phase, or of a later one: the previous kill
			// may have landed a step after the event it answered.
			// A progress report means the copy is under way: late enough
			// for "replicating" too.
			copying := e.Type == "progress" && (at == "progress" || at == "replicating")
			if (e.Type == "phase" && at != "progress" && order[e.To] >= order[at]) || copying {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("the run ended before %s:\n%s", at, strings.Join(seen, "\n"))
		}
	}
	res, err := exec.Command(bin, "migrate", "--plan", planPath, "--until", "in-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("the last run: %v\n%s", err, res)
	}
	r.open()
	if ph := r.phase(); ph != face.InSync {
		t.Fatalf("after the kills and a last run: %s\n%s", ph, res)
	}
	if err := r.sameDisk(diskName(t, r)); err != nil {
		t.Error(err)
	}
}

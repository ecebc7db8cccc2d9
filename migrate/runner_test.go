package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/diskimg"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// shiftBinary builds the shift binary the runner deploys as its agent.
func shiftBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("SHIFT_TEST_AGENT"); p != "" {
			// A prebuilt shift, for a tree whose cmd/shift does not build.
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "shift-migrate-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "shift")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/shift-migrate/shift/cmd/shift").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// rig is one Linux source (this machine over a real sshd, its "disk" a
// real partitioned image), a local cloud and a ledger in a temp dir.
type rig struct {
	t      *testing.T
	dir    string
	image  string
	hosts  *remote.HostsFile
	plan   *plan.Plan
	target *local.Target
	ledger *ledger.Ledger
	events []face.Event
	mu     sync.Mutex
	// test test-migrates the server before its cutover.
	test bool
}

func newRig(t *testing.T) *rig {
	diskimg.Need(t, "sfdisk", "mkfs.ext4", "qemu-img")
	r := &rig{t: t, dir: t.TempDir()}
	s := sshd.StartT(t, sshd.Options{})
	r.image = diskimg.LinuxMBR(t)
	key := filepath.Join(r.dir, "id")
	if err := os.WriteFile(key, s.ClientKey, 0o600); err != nil {
		t.Fatal(err)
	}
	hostsPath := filepath.Join(r.dir, "hosts.yaml")
	write(t, hostsPath, fmt.Sprintf(`version: 1
hosts:
  - name: web01
    address: 127.0.0.1
    port: %d
    transport: ssh
    user: %s
    key: file:%s
    ssh: {knownHosts: %s}
`, s.Port, s.User, key, s.KnownHostsFile))
	planPath := filepath.Join(r.dir, "waves.yaml")
	write(t, planPath, fmt.Sprintf(`version: 1
hosts: hosts.yaml
target: {kind: local, stateDir: %s}
waves:
  - name: web
    hosts:
      - name: web01
        size: {cpus: 1, memory: 256M}
        disks: {include: [%s]}
`, filepath.Join(r.dir, "state"), r.image))
	var err error
	if r.hosts, err = remote.LoadHosts(hostsPath); err != nil {
		t.Fatal(err)
	}
	if r.plan, err = plan.Load(planPath); err != nil {
		t.Fatal(err)
	}
	if r.target, err = local.New(local.Options{Dir: filepath.Join(r.dir, "state")}); err != nil {
		t.Fatal(err)
	}
	deleteVMsAtEnd(t, r.target)
	r.open()
	return r
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) open() {
	l, err := ledger.Open(r.t.Context(), filepath.Join(r.dir, "state", "ledger"), ledger.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.ledger = l
	r.t.Cleanup(func() { l.Close() })
}

func (r *rig) run(ctx context.Context, until face.Phase, approve bool) []face.ServerResult {
	r.t.Helper()
	b, err := migrate.FromPlan(r.plan, r.hosts, migrate.PlanOptions{Approve: approve, Test: r.test})
	if err != nil {
		r.t.Fatal(err)
	}
	store, err := migrate.NewStore(ctx, r.ledger, r.plan)
	if err != nil {
		r.t.Fatal(err)
	}
	bin := shiftBinary(r.t)
	b.Runner = &migrate.Runner{Hosts: r.hosts, Target: r.target, Ledger: store, Until: until,
		AgentBinary: func(string) (string, error) { return bin, nil },
		BootTimeout: 10 * time.Second, StopGrace: -1,
		Emit: func(ev face.Event) { r.mu.Lock(); r.events = append(r.events, ev); r.mu.Unlock() }}
	return b.Run(ctx).Servers
}

func (r *rig) phase() face.Phase {
	ph, err := r.ledger.Phase(r.t.Context(), "web01")
	if err != nil {
		r.t.Fatal(err)
	}
	return face.Phase(ph)
}

// sameDisk compares the source image with the target disk's file.
func (r *rig) sameDisk(disk string) error {
	out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "raw", r.image,
		filepath.Join(r.dir, "state", "disks", disk+".raw")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img compare: %v: %s", err, out)
	}
	return nil
}

// TestRunnerCopiesToSyncAndRollsBack moves a Linux source to in-sync over
// real SSH into the local cloud, then cuts over onto a disk that does not
// boot: validation fails, the cutover is rolled back, and the next run
// copies the changes and reaches in-sync again.
func TestRunnerCopiesToSyncAndRollsBack(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()

	res := r.run(ctx, face.InSync, false)
	if len(res) != 1 || res[0].Phase != face.InSync || res[0].Err != "" {
		t.Fatalf("first run: %+v", res)
	}
	hist, err := r.ledger.History(ctx, "web01")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, h.To)
	}
	if want := "discovered assessed prepared replicating in-sync"; strings.Join(got, " ") != want {
		t.Errorf("history %v, want %s", got, want)
	}
	if info, err := r.target.DiskInfo(ctx, diskName(t, r)); err != nil {
		t.Fatalf("target disk: %v", err)
	} else if info.SizeBytes < 1<<20 {
		t.Errorf("target disk info %+v", info)
	}
	if err := r.sameDisk(diskName(t, r)); err != nil {
		t.Error(err)
	}

	// Without approval the cutover waits.
	res = r.run(ctx, "", false)
	if res[0].Phase != face.InSync || !strings.Contains(res[0].Waiting, "approval") {
		t.Errorf("unapproved run: %+v", res[0])
	}

	// The source changes; the cutover's final pass carries it, then the
	// target does not boot (the image has no boot loader) and is rolled back.
	f, err := os.OpenFile(r.image, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte("changed!"), 512), 2<<20)
	f.Close()
	res = r.run(ctx, "", true)
	if res[0].Phase != face.RolledBack || !strings.Contains(res[0].Err, "rolled back") {
		t.Fatalf("cutover onto a disk that does not boot: %+v", res[0])
	}
	if err := r.sameDisk(diskName(t, r)); err != nil {
		t.Errorf("the final pass did not carry the change: %v", err)
	}
	vm, err := r.target.VMStatus(ctx, "web01")
	if err != nil || vm.State != cloud.Stopped {
		t.Errorf("after the rollback the target VM is %+v, %v; want stopped and kept", vm.State, err)
	}

	// The next run copies what changed since and stops in sync again.
	res = r.run(ctx, face.InSync, false)
	if res[0].Phase != face.InSync || res[0].Err != "" || res[0].Passes == 0 {
		t.Errorf("run after the rollback: %+v", res[0])
	}
}

// diskName finds the single target disk of web01.
func diskName(t *testing.T, r *rig) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(r.dir, "state", "disks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".raw"); ok && strings.HasPrefix(n, "web01-") {
			return n
		}
	}
	t.Fatalf("no target disk of web01 in %v", ents)
	return ""
}

// deleteVMsAtEnd deletes every VM of tg when the test ends: QEMU runs
// daemonized and outlives the test's temporary directory.
func deleteVMsAtEnd(t *testing.T, tg cloud.Target) {
	t.Cleanup(func() {
		ctx := context.Background()
		vms, err := tg.ListVMs(ctx)
		if err != nil {
			t.Errorf("list VMs to delete: %v", err)
		}
		for _, vm := range vms {
			if err := tg.DeleteVM(ctx, vm.Spec.Name); err != nil {
				t.Errorf("delete VM %s: %v", vm.Spec.Name, err)
			}
		}
	})
}

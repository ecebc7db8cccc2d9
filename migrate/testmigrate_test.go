package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/migrate/face"
)

// TestRunnerTestMigrationCleansUp test-migrates a Linux source whose disk
// boots nothing, over real SSH into the local cloud: the test copy boots
// on an isolated network and never answers, so the test fails, names the
// step and says that the copy is gone and the source untouched. A run
// canceled while its copy boots leaves the copy to the next run, which
// deletes it before it tests again. The replica stays equal to the source
// and takes further passes.
func TestRunnerTestMigrationCleansUp(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if res := r.run(ctx, face.InSync, false); res[0].Phase != face.InSync || res[0].Err != "" {
		t.Fatalf("to in-sync: %+v", res[0])
	}
	disk := diskName(t, r)
	r.test = true

	// Canceled while the test copy boots.
	cancelTestAtBoot(t, r, disk)

	// The next run deletes that copy, tests anew, and fails cleanly.
	res := r.run(ctx, face.TestMigrated, false)
	if res[0].Phase != face.Failed {
		t.Fatalf("a test copy that does not boot: %+v", res[0])
	}
	for _, want := range []string{"web01", "test migration: validate the test copy", "did not answer", "the test copy is deleted and the source was not touched"} {
		if !strings.Contains(res[0].Err, want) {
			t.Errorf("the failed test's error lacks %q: %s", want, res[0].Err)
		}
	}
	testCopyGone(t, r, disk, "after the failed test")
	if vms, _ := r.target.ListVMs(ctx); len(vms) != 0 {
		t.Errorf("VMs left after the test: %+v", vms)
	}

	// The replica still takes passes: without the test, an approved
	// cutover's final pass carries the source's change (then the target
	// does not boot either, and is rolled back).
	f, err := os.OpenFile(r.image, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(strings.Repeat("after the test ", 64)), 3<<20)
	f.Close()
	r.test = false
	res = r.run(ctx, "", true)
	if res[0].Phase != face.RolledBack {
		t.Errorf("cutover after the failed test: %+v", res[0])
	}
	if err := r.sameDisk(disk); err != nil {
		t.Errorf("the final pass after the test did not carry the change: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "state", "vms", "web01-test")); !os.IsNotExist(err) {
		t.Errorf("test VM directory: %v", err)
	}
}

// cancelTestAtBoot runs a test migration of the rig's in-sync server and
// cancels it once the test copy has booted, which leaves the copy behind.
func cancelTestAtBoot(t *testing.T, r *rig, disk string) {
	t.Helper()
	ctx := t.Context()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	go func() {
		for cctx.Err() == nil {
			r.mu.Lock()
			for _, ev := range r.events {
				if s, ok := ev.(face.StepDone); ok && s.Step == "boot test copy" {
					cancel()
				}
			}
			r.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	test := r.test
	r.test = true
	res := r.run(cctx, face.TestMigrated, false)
	r.test = test
	cancel()
	if res[0].Phase != face.InSync || !strings.Contains(res[0].Err, "canceled") {
		t.Fatalf("a run canceled during the test: %+v", res[0])
	}
	vm, err := r.target.VMStatus(ctx, "web01-test")
	if err != nil || vm.Spec.OSDisk != disk+"-test" || len(vm.Spec.NICs) != 1 || !vm.Spec.NICs[0].Isolated {
		t.Fatalf("the canceled test's VM: %+v, %v; want it left running on an isolated NIC from disk %s-test", vm.Spec, err, disk)
	}
}

// A test copy that an interrupted test left behind is deleted by the next
// run even when that run does not test: a cutover must not leave a stray
// VM and disks in the cloud.
func TestInterruptedTestCopyDeletedWithoutTest(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if res := r.run(ctx, face.InSync, false); res[0].Phase != face.InSync || res[0].Err != "" {
		t.Fatalf("to in-sync: %+v", res[0])
	}
	disk := diskName(t, r)
	cancelTestAtBoot(t, r, disk)

	// Without the test and without approval: the run stops at in-sync,
	// waiting for the approval, and the copy is gone.
	res := r.run(ctx, "", false)
	if res[0].Phase != face.InSync || res[0].Err != "" || !strings.Contains(res[0].Waiting, "approval") {
		t.Fatalf("the run after the interrupted test: %+v", res[0])
	}
	testCopyGone(t, r, disk, "after the interrupted test")
}

// testCopyGone checks that the test copy of disk (its VM and its disk) is
// gone and that the replica still equals the source.
func testCopyGone(t *testing.T, r *rig, disk, when string) {
	t.Helper()
	ctx := t.Context()
	if _, err := r.target.VMStatus(ctx, "web01-test"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("the test VM %s: %v, want not found", when, err)
	}
	if _, err := r.target.DiskInfo(ctx, disk+"-test"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("the test copy's disk %s: %v, want not found", when, err)
	}
	if err := r.sameDisk(disk); err != nil {
		t.Errorf("the replica %s: %v", when, err)
	}
}

package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/validate"
)

// A test migration is one step in the ledger, recorded before it makes
// anything, with an undo that deletes whatever it made: a run killed in the
// middle of a test leaves a copy that the next run deletes before it tests
// again.
const (
	stepTestCopy       = "test-copy"
	undoDeleteTestCopy = "delete-test-copy"
)

// testName names the test copy of a disk or VM.
func testName(name string) string {
	if len(name) > cloud.MaxNameLen-len("-test") {
		name = strings.TrimRight(name[:cloud.MaxNameLen-len("-test")], "-")
	}
	return name + "-test"
}

// testMigrate boots a copy of the replica on an isolated network, validates
// it against the source as it is now, and deletes it. The source is only
// read: it keeps serving throughout, and a failed test leaves it as it was.
// Differences in table data are notes, not blockers: the copy holds the
// last pass and the source kept taking writes.
func (sr *serverRun) testMigrate(ctx context.Context) (face.Phase, string, error) {
	const ph = face.InSync
	cloner, ok := sr.Target.(cloud.DiskCloner)
	if !ok {
		return "", "", sr.stepErr(ph, "test migration", fmt.Errorf("the %s target cannot copy disks", sr.Target.Kind()),
			"set testMigration: false for this host, or test after the cutover")
	}
	if err := sr.cleanTest(ctx); err != nil {
		return "", "", sr.stepErr(ph, "test migration: delete the copy of an earlier test", err, "delete the VM and disks named *-test by hand, then run again")
	}
	disks, err := sr.disks(ctx)
	if err != nil {
		return "", "", err
	}
	t, err := sr.target()
	if err != nil {
		return "", "", err
	}
	opts := sr.checks()
	before, err := sr.probe(ctx, t, opts)
	if err != nil {
		return "", "", sr.stepErr(ph, "test migration: fingerprint the source", err, "")
	}
	sr.stepDone(face.TestMigrated, "fingerprint source", fingerprintSummary(before))

	if err := sr.Ledger.StepDone(ctx, sr.s.Name, stepTestCopy, undoDeleteTestCopy); err != nil {
		return "", "", err
	}
	vm := testName(vmName(sr.s.Name))
	// fail deletes the copy, then reports err; a canceled run leaves the
	// copy to the next run, which deletes it first.
	fail := func(step string, err error) (face.Phase, string, error) {
		if ctx.Err() != nil {
			return "", "", err
		}
		serr := sr.stepErr(ph, "test migration: "+step, err, "").(*StepError)
		if serr.Hint != "" {
			serr.Hint += "; "
		}
		if cerr := sr.cleanTest(ctx); cerr != nil {
			serr.Hint += fmt.Sprintf("deleting the test copy failed too (%v): delete VM %s and its disks *-test by hand; the source was not touched", cerr, vm)
			return "", "", serr
		}
		serr.Hint += "the test copy is deleted and the source was not touched; fix the cause and run again to test anew"
		return "", "", serr
	}
	clones := make([]string, len(disks))
	for i, d := range disks {
		// The replica is made durable and usable first: the copy is of
		// what the last pass wrote. The next pass opens it again.
		h, err := sr.Target.OpenDisk(ctx, d.Target)
		if err != nil {
			return fail("copy disk "+d.Target, err)
		}
		if err := h.Finalize(ctx); err != nil {
			return fail("copy disk "+d.Target, err)
		}
		clones[i] = testName(d.Target)
		if err := cloner.CloneDisk(ctx, d.Target, cloud.DiskSpec{Name: clones[i],
			Tags: map[string]string{"shift-host": sr.s.Name, "shift-test": "true"}}); err != nil {
			return fail("copy disk "+d.Target, err)
		}
	}
	spec, err := sr.vmSpec(ctx, vm)
	if err != nil {
		return fail("define the test VM", err)
	}
	spec.OSDisk, spec.DataDisks = clones[0], clones[1:]
	spec.NICs = []cloud.NICSpec{{Isolated: true, Subnet: sr.s.TestSubnet}}
	spec.Tags["shift-test"] = "true"
	if _, err := sr.Target.CreateVM(ctx, spec); err != nil {
		return fail("create VM "+vm, err)
	}
	if err := sr.Target.StartVM(ctx, vm); err != nil {
		return fail("start VM "+vm, err)
	}
	sr.stepDone(face.TestMigrated, "boot test copy", fmt.Sprintf("VM %s started on %s, on an isolated network", vm, sr.Target.Kind()))

	after, err := sr.probeTarget(ctx, face.TestMigrated, t, vm, opts)
	if err != nil {
		return fail("validate the test copy", err)
	}
	fs := validate.PointInTime(validate.Compare(before, after))
	sr.findings(fs)
	if validate.Blocks(fs) {
		return fail("validate the test copy", errors.New(summary(fs)))
	}
	if err := sr.cleanTest(ctx); err != nil {
		return "", "", sr.stepErr(ph, "test migration: delete the test copy", err, fmt.Sprintf("delete VM %s and its disks *-test by hand, then run again", vm))
	}
	detail := fmt.Sprintf("test copy %s booted in isolation and validated (%s), then deleted", vm, countFindings(fs))
	sr.stepDone(face.TestMigrated, "validate test copy", detail)
	return face.TestMigrated, detail, nil
}

// cleanTest deletes the test copy that the ledger says exists, VM first,
// and records it gone.
func (sr *serverRun) cleanTest(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	steps, err := sr.Ledger.Steps(ctx, sr.s.Name)
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st.Undo != undoDeleteTestCopy {
			continue
		}
		vm := testName(vmName(sr.s.Name))
		if err := sr.Target.DeleteVM(ctx, vm); err != nil {
			return fmt.Errorf("delete VM %s: %w", vm, err)
		}
		disks, err := sr.disks(ctx)
		if err != nil {
			return err
		}
		for _, d := range disks {
			if err := sr.Target.DeleteDisk(ctx, testName(d.Target)); err != nil {
				return fmt.Errorf("delete disk %s: %w", testName(d.Target), err)
			}
		}
		if err := sr.Ledger.StepUndone(ctx, sr.s.Name, st.Name); err != nil {
			return err
		}
	}
	return nil
}

// Package targettest is the conformance suite every cloud.Target passes,
// after restic's backend test suite and rclone's fstests: a target's own
// test calls Run with a constructor, and the suite checks the contract of
// cloud.Target method by method — idempotent creates, ranges written at
// offsets, explicit zero writes, finalize, reopen for a delta pass, the VM
// life cycle, the sentinel errors and context cancellation.
//
// Optional capabilities are declared by the target, not guessed by the
// suite: a target that implements cloud.DiskReader has every write read
// back and compared; one that does not has its contents checks skipped
// with a message naming the missing capability (and so does
// cloud.Consoler). A target that implements cloud.DiskCloner has its
// clones checked: equal to the source, point-in-time, redone, grown, and
// every sentinel error; one that does not has those tests skipped.
// RunOptions gives the suite what a target needs beyond the contract (the
// subnet of an isolated NIC).
//
// Only tests import it.
package targettest

// Package assess turns an inventory into readiness verdicts, blockers with
// their fixes, right-sizing and cost, and renders reports.
//
// assess never imports tui or transfer.
package assess

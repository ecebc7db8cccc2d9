// Package plan reads, checks, drafts and writes migration plan files: the
// YAML documents (waves.yaml) that say which servers move in which wave, into
// what size of VM, when they may cut over, how fast they may copy and how
// they are validated afterwards. SCHEMA.md documents every field.
//
// Load and Parse check a plan completely and report every problem with its
// file:line:col, the field it concerns and the fix. Effective merges the
// settings of one host (host over wave over defaults). NextWindow and
// InBlackout answer when a wave may run; they are pure functions of the plan
// and the time given. Draft proposes a plan from an inventory and its
// assessment; Marshal writes a plan back as commented YAML that Load reads
// unchanged.
//
// plan imports inventory, assess, remote (secret references) and validate
// (check types). It never imports tui, cloud SDKs or fixtures; migrate and
// cmd/shift import it.
package plan

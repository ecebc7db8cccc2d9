// Package face holds the plain values that the migration engine (package
// migrate) and its faces — the wizard in tui and the commands in cmd/shift —
// exchange: the events of a run, the host specs a user enters, and the
// verdicts of an assessment.
//
// It exists so that a face can speak to the engine without depending on what
// the engine depends on: tui may not import remote, discover, transfer or
// cloud, and migrate imports all of them. face imports only inventory.
package face

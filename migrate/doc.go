// Package migrate owns the lifecycle of a migration: phases, waves, plan
// files, the ledger, resume and events. The CLI and the wizard are two faces
// of it.
//
// migrate never imports tui.
package migrate

// Package ledger is the migration engine's durable memory: plans, the servers
// they move, every phase transition, the steps done (with how to undo them),
// claims on servers, events for the final report, and the chunk journal of
// every disk being replicated.
//
// One appliance keeps the ledger in SQLite inside its state directory ([Open]),
// which it locks so that a second shift process on the same directory is
// refused. Several appliances sharing one plan keep the same schema in
// PostgreSQL ([OpenPostgres]) and split the servers between them with claims:
// a server is changed only by the appliance that holds it.
//
// Everything written is durable when the call returns (the chunk journal:
// when Sync, BeginPass or EndPass returns), so a process killed at any moment
// resumes from what the ledger holds. A Ledger is safe for concurrent use.
//
// Phases are strings the engine defines; the ledger only checks that a
// transition starts from the phase the server is in. The empty phase is the
// phase of a server just added.
//
// Only package migrate and its tests import ledger.
package ledger

// Package inventory is shift's data model of a discovered host: identity, operating
// system, hardware, disks and volumes, network, software, services, and the
// workloads shift proves after a move (SQL Server, SharePoint).
//
// The model is serialised as versioned JSON (see [SchemaVersion]). Readers accept
// every version up to the current one and refuse newer ones with a clear error.
//
// inventory imports nothing else from this repository; every other package may
// import it.
package inventory

// Package transfer moves disk blocks from a source to a target: chunking,
// zero-skip, hashing, compression, delta passes and resume, and the wire
// protocol of the agent that reads a disk on the source.
//
// The source side is ServeAgent ("shift agent" runs it over SSH stdio); the
// appliance side is a Session (Open) whose Pass copies the disk into a Sink,
// recording finished chunks in a Journal. DeployAgent uploads and starts the
// agent on a Linux host through remote.SSHClient. A disk moves in 4 MiB
// chunks: zero chunks are flagged, not sent; unchanged chunks (same blake3
// as the journal holds) cost a request and a reply; changed chunks travel
// compressed (S2 on fast links, zstd on slow ones: see Codec) with their
// blake3, are checked on arrival and re-requested when damaged. Every pass
// ends with a whole-disk digest (see Digest) of what the target holds
// compared with the source's.
//
// transfer imports disk and remote; it never imports tui, cmd, fixtures,
// discover, convert or validate: it meets them in migrate.
package transfer

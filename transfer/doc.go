// Package transfer moves disk blocks from a source to a target: chunking,
// zero-skip, hashing, compression, delta passes and resume, and the wire
// protocol of the agent that reads a disk on the source.
//
// transfer never imports tui or discover.
package transfer

package validate

// Generic is what every host has: it booted, answers its transport, keeps
// time, and has room on its filesystems.
// (Owned by the Linux probe's author, who also fills it for Windows hosts
// with the Windows probes' author.)
type Generic struct{}

// HTTPResult is the answer to one HTTPCheck.
type HTTPResult struct{}

// CommandResult is the result of one CommandCheck.
type CommandResult struct{}

func compareGeneric(before, after *Fingerprint) []Finding { return nil }

func compareChecks(before, after *Fingerprint) []Finding { return nil }

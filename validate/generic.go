package validate

import "time"

// Generic is what every host has: it booted, answers its transport, keeps
// time, and has room on its filesystems.
type Generic struct {
	// Transport is how the probe reached the host: "ssh" or "winrm".
	Transport string `json:"transport"`
	// Hostname is the name the host gives itself.
	Hostname string `json:"hostname"`
	// BootTime is when the host last booted, by its own clock.
	BootTime time.Time `json:"bootTime"`
	// ClockSkew is the host's clock minus the appliance's, measured around
	// one round trip.
	ClockSkew time.Duration `json:"clockSkew"`
	// Volumes are the mounted filesystems (Linux) or drive letters (Windows)
	// with their free space.
	Volumes []VolumeSpace `json:"volumes,omitempty"`
}

// VolumeSpace is one filesystem's size and free space.
type VolumeSpace struct {
	// Mount is the mount point or drive letter ("/", "C:").
	Mount     string `json:"mount"`
	SizeBytes uint64 `json:"sizeBytes"`
	FreeBytes uint64 `json:"freeBytes"`
}

// HTTPResult is the answer to one HTTPCheck.
type HTTPResult struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	// Contains reports whether the check's Contains text was in the body;
	// nil when the check named none.
	Contains *bool `json:"contains,omitempty"`
	// Error says why there was no answer (refused, timeout, TLS).
	Error string `json:"error,omitempty"`
}

// CommandResult is the result of one CommandCheck.
type CommandResult struct {
	Name     string `json:"name"`
	ExitCode int    `json:"exitCode"`
	// OutputSHA256 identifies the command's standard output, so that a
	// change is seen without storing output that may hold secrets.
	OutputSHA256 string `json:"outputSha256"`
	// Error says why the command could not run.
	Error string `json:"error,omitempty"`
}

func compareGeneric(before, after *Fingerprint) []Finding { return nil }

func compareChecks(before, after *Fingerprint) []Finding { return nil }

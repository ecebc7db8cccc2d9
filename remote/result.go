package remote

import (
	"bytes"
	"fmt"
)

// Result is the outcome of a command that ran on a host. A command that ran
// and exited non-zero is a Result with that ExitCode, not an error: errors are
// for failures to run it at all.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Err returns nil when the command exited 0, and otherwise an error that names
// the command and quotes the first line of its stderr.
func (r *Result) Err(command string) error {
	if r.ExitCode == 0 {
		return nil
	}
	line := bytes.TrimSpace(r.Stderr)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = bytes.TrimSpace(line[:i])
	}
	if len(line) > 300 {
		line = append(line[:300:300], "…"...)
	}
	if len(line) == 0 {
		return fmt.Errorf("%s: exit status %d", command, r.ExitCode)
	}
	return fmt.Errorf("%s: exit status %d: %s", command, r.ExitCode, line)
}

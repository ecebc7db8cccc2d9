package validate

import (
	"context"
	"errors"

	"github.com/shift-migrate/shift/remote"
)

// Linux is the fingerprint of a Linux host's services and data.
type Linux struct{}

// ProbeSSH takes the fingerprint of a Linux host through c: generic facts,
// systemd units, listening ports, mounts, filesystems, databases and opts'
// checks.
func ProbeSSH(ctx context.Context, c *remote.SSHClient, host string, opts Options) (*Fingerprint, error) {
	return nil, errors.New("validate: the Linux probe is not built yet")
}

func compareLinux(before, after *Linux) []Finding { return nil }

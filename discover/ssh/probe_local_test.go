package ssh

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/shift-migrate/shift/discover/ssh/sshtest"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// localRunner runs commands on this machine with sh -c: a real command
// runner, the same commands a remote probe sends, without the SSH transport.
// RunPrivileged runs as the test's own user (root on the build machine).
type localRunner struct{}

func (localRunner) Run(ctx context.Context, cmd string) (*remote.Result, error) {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return &remote.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: exit.ExitCode()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &remote.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}

func (r localRunner) RunPrivileged(ctx context.Context, cmd string) (*remote.Result, error) {
	return r.Run(ctx, cmd)
}

func TestProbeLocal(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("not a Linux machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := &inventory.Host{Name: "local", Address: "localhost", Transport: "ssh"}
	Probe(ctx, localRunner{}, h)
	sshtest.CheckAgainstLocal(t, h)
	if h.DiscoveredAt.IsZero() || h.ProbeSeconds <= 0 {
		t.Errorf("probe time not recorded: %v %v", h.DiscoveredAt, h.ProbeSeconds)
	}
	if h.ProbeSeconds > 5 {
		t.Errorf("probe took %.2fs: too many round trips or a slow command", h.ProbeSeconds)
	}
	for _, e := range h.Errors {
		t.Logf("host error: %+v", e)
	}
	if testing.Verbose() {
		var buf bytes.Buffer
		inv := inventory.New("test", time.Now())
		inv.Hosts = append(inv.Hosts, *h)
		_ = inv.Write(&buf)
		t.Logf("%s", buf.String())
	}
}

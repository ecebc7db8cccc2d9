package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/transfer"
)

// winrmReplication says how one Windows host is replicated.
type winrmReplication struct {
	// Disk is the disk the agent reads; "" means the one holding C:, read
	// with C: from a VSS shadow copy.
	Disk string
	// Dir is the local directory for the image and its journal.
	Dir string
	// Listen is the appliance address the agent dials back to; "" means
	// the local address of the route to the host.
	Listen string
	// Binary opens the windows/amd64 shift binary; nil means
	// windowsAgentBinary.
	Binary func() (io.ReadCloser, error)
}

// replicateWinRM runs one pass of a Windows host's disk into
// DIR/<host>-<disk>.raw: it pushes the agent over WinRM, snapshots C: with
// VSS, lets the agent connect back over TLS, runs the pass, and cleans up on
// the host. The image's journal makes a later run a delta pass.
func replicateWinRM(ctx context.Context, stderr io.Writer, t remote.Target, r winrmReplication, opts transfer.Options) (*transfer.Result, string, error) {
	if t.WinRM == nil {
		return nil, "", fmt.Errorf("host %s: not a WinRM host", t.Name)
	}
	c, err := remote.DialWinRM(ctx, *t.WinRM)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	bin := r.Binary
	if bin == nil {
		bin = windowsAgentBinary
	}
	agent, err := transfer.DeployWinRMAgent(ctx, c, transfer.WinRMDeployOptions{Binary: bin, Disk: r.Disk, NoSnapshot: false, Listen: r.Listen})
	if err != nil {
		return nil, "", fmt.Errorf("host %s: %w", t.Name, err)
	}
	defer agent.Close(ctx)
	d := agent.Disk()

	base := filepath.Join(r.Dir, t.Name+"-"+diskLabel(d.Name))
	img, jpath := base+".raw", base+".journal"
	fresh := false
	if _, err := os.Stat(jpath); errors.Is(err, os.ErrNotExist) {
		fresh = true
	} else if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "%s: %s is missing: starting over with a full copy\n", t.Name, img)
		if err := os.Remove(jpath); err != nil {
			return nil, img, err
		}
		fresh = true
	}
	j, err := transfer.OpenJournal(jpath, d.Size)
	if err != nil {
		return nil, img, err
	}
	defer j.Close()
	sink, err := transfer.OpenFileSink(img, d.Size, fresh)
	if err != nil {
		return nil, img, err
	}
	defer sink.Close()
	res, err := agent.Pass(ctx, sink, j, opts)
	if err != nil {
		return nil, img, err
	}
	if err := agent.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", t.Name, err)
	}
	return res, img, nil
}

// windowsAgentBinary opens bin/shift-windows-amd64.exe next to this binary
// (make build produces it).
func windowsAgentBinary() (io.ReadCloser, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := filepath.Join(filepath.Dir(self), "shift-windows-amd64.exe")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("no Windows agent binary at %s: build it with GOOS=windows GOARCH=amd64 go build -o %s ./cmd/shift", p, p)
	}
	return f, nil
}

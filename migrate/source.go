package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/transfer"
)

// progressEvery is how often a pass reports progress.
const progressEvery = time.Second

// source is an agent reading one disk of a server: over SSH stdio on Linux,
// connected back over TLS on Windows.
type source interface {
	Disk() transfer.Hello
	Pass(ctx context.Context, sink transfer.Sink, j transfer.Journal, opts transfer.Options) (*transfer.Result, error)
	Close(ctx context.Context) error
}

// openSource deploys an agent on device ("" for the default disk). freeze
// has a Linux agent freeze the filesystems on the disk while it runs;
// Windows agents always read a VSS snapshot.
func (sr *serverRun) openSource(ctx context.Context, device string, freeze bool) (source, error) {
	t, err := sr.target()
	if err != nil {
		return nil, err
	}
	switch {
	case t.SSH != nil:
		if sr.AgentBinary == nil {
			return nil, errors.New("no agent binary for Linux sources")
		}
		c, err := remote.DialSSH(ctx, *t.SSH)
		if err != nil {
			return nil, err
		}
		a, err := transfer.DeployAgent(ctx, c, transfer.DeployOptions{Binary: sr.AgentBinary, Disk: device, Freeze: freeze})
		if err != nil {
			c.Close()
			return nil, err
		}
		return sshSource{a, c}, nil
	case t.WinRM != nil:
		if sr.WindowsAgent == nil {
			return nil, errors.New("no agent binary for Windows sources")
		}
		c, err := remote.DialWinRM(ctx, *t.WinRM)
		if err != nil {
			return nil, err
		}
		a, err := transfer.DeployWinRMAgent(ctx, c, transfer.WinRMDeployOptions{Binary: sr.WindowsAgent, Disk: device})
		if err != nil {
			c.Close()
			return nil, err
		}
		return winrmSource{a, c}, nil
	}
	return nil, fmt.Errorf("host %s has no transport", sr.s.Name)
}

type sshSource struct {
	*transfer.RemoteAgent
	c *remote.SSHClient
}

func (s sshSource) Close(ctx context.Context) error {
	return errors.Join(s.RemoteAgent.Close(ctx), s.c.Close())
}

type winrmSource struct {
	*transfer.WinRMAgent
	c *remote.WinRMClient
}

func (s winrmSource) Close(ctx context.Context) error {
	return errors.Join(s.WinRMAgent.Close(ctx), s.c.Close())
}

// progressEvents turns a pass's progress into events.
type progressEvents struct{ sr *serverRun }

func (p progressEvents) Progress(pr transfer.Progress) {
	p.sr.emit(face.DiskProgress{ID: p.sr.ID, Host: p.sr.s.Name, Disk: pr.Disk, Pass: pr.Pass, Done: pr.Done, Total: pr.Total, DiskSize: pr.DiskSize,
		Wire: pr.Wire, Rate: pr.Rate, ETA: pr.ETA, Final: pr.Final})
}

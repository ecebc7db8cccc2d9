package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/discover/ssh"
	"github.com/shift-migrate/shift/discover/winrm"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// DefaultConcurrency is how many hosts are probed at once unless told otherwise.
const DefaultConcurrency = 32

// DefaultTimeout bounds the discovery of one host unless the hosts file or the
// caller says otherwise.
const DefaultTimeout = 5 * time.Minute

// Reporter receives progress facts. A nil Reporter is valid and does nothing;
// methods may be called from several goroutines at once.
type Reporter interface {
	// HostStarted is called when shift begins to probe a host.
	HostStarted(name string)
	// HostDone is called with the finished host, errors included.
	HostDone(h *inventory.Host)
}

// Options tune a discovery run. The zero value is usable.
type Options struct {
	// Concurrency is how many hosts are probed at once; 0 means DefaultConcurrency.
	Concurrency int
	// Timeout bounds each host; 0 means the hosts file's timeout, else DefaultTimeout.
	// When both are set, the hosts file's per-host timeout wins.
	Timeout time.Duration
	// Overrides are command-line settings that win over the hosts file.
	Overrides remote.Overrides
	// Reporter receives progress; nil means none.
	Reporter Reporter
	// Logger receives diagnostics; nil means discard.
	Logger *slog.Logger
	// Generator is recorded in the inventory ("shift 0.1.0").
	Generator string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Run discovers the named hosts of hf (all of them when names is empty). One
// failing host never stops the others: its errors are in its inventory entry.
// Run returns an error only when a name is not in the hosts file; when ctx
// ends, the hosts not yet finished carry a "canceled" error.
func Run(ctx context.Context, hf *remote.HostsFile, names []string, opts Options) (*inventory.Inventory, error) {
	if len(names) == 0 {
		names = hf.Names()
	}
	for _, n := range names {
		if hf.Entry(n) == nil {
			return nil, fmt.Errorf("host %s is not in %s", n, hf.Path)
		}
	}
	limit := opts.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	hosts := make([]inventory.Host, len(names))
	var g errgroup.Group
	g.SetLimit(limit)
	var mu sync.Mutex
	report := func(f func(Reporter)) {
		if opts.Reporter != nil {
			mu.Lock()
			defer mu.Unlock()
			f(opts.Reporter)
		}
	}
	for i, name := range names {
		if ctx.Err() != nil {
			hosts[i] = skipped(hf, name, ctx.Err())
			continue
		}
		g.Go(func() error {
			report(func(r Reporter) { r.HostStarted(name) })
			hosts[i] = Host(ctx, hf, name, opts)
			report(func(r Reporter) { r.HostDone(&hosts[i]) })
			return nil
		})
	}
	_ = g.Wait()
	inv := inventory.New(opts.Generator, opts.now())
	inv.Hosts = hosts
	inv.Sort()
	return inv, nil
}

func skipped(hf *remote.HostsFile, name string, err error) inventory.Host {
	e := hf.Entry(name)
	h := inventory.Host{Name: name, Address: e.Address}
	h.AddError(inventory.Error{Step: "start", Kind: inventory.ErrCanceled, Message: "discovery was interrupted before this host started: " + err.Error()})
	return h
}

// Host discovers one host of hf.
func Host(ctx context.Context, hf *remote.HostsFile, name string, opts Options) inventory.Host {
	start := opts.now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := hf.Entry(name)
	h := inventory.Host{Name: name}
	if e == nil {
		h.AddError(inventory.Error{Step: "hosts file", Kind: inventory.ErrConfig, Message: fmt.Sprintf("host %s is not in %s", name, hf.Path)})
		return h
	}
	h.Address = e.Address
	t, err := hf.Resolve(name, opts.Overrides)
	if err != nil {
		h.AddError(remote.AsInventoryError("credentials", err))
		return h
	}
	h.Transport = t.Transport
	timeout := t.Timeout
	if timeout == 0 {
		timeout = opts.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	log.Debug("discover host", "host", name, "transport", t.Transport, "endpoint", t.Endpoint())

	switch t.Transport {
	case "ssh":
		probeSSH(hctx, t, &h)
	case "winrm":
		probeWinRM(hctx, t, &h)
	}
	// A probe that ran out of time says so once, with the limit that stopped it.
	if errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil && !hasKind(&h, inventory.ErrTimeout) {
		h.AddError(inventory.Error{Step: "discover", Kind: inventory.ErrTimeout,
			Message: fmt.Sprintf("discovery did not finish within %s", timeout),
			Hint:    "raise the host's timeout: in the hosts file or with --timeout"})
	}
	if ctx.Err() != nil && !hasKind(&h, inventory.ErrCanceled) {
		h.AddError(inventory.Error{Step: "discover", Kind: inventory.ErrCanceled, Message: "discovery was interrupted: the inventory of this host is incomplete"})
	}
	end := opts.now()
	h.DiscoveredAt = end.UTC()
	h.ProbeSeconds = end.Sub(start).Seconds()
	for _, err := range h.Errors {
		log.Info("discovery error", "host", name, "step", err.Step, "kind", err.Kind, "error", err.Message)
	}
	return h
}

func hasKind(h *inventory.Host, kind string) bool {
	for _, e := range h.Errors {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func probeSSH(ctx context.Context, t remote.Target, h *inventory.Host) {
	c, err := remote.DialSSH(ctx, *t.SSH)
	if err != nil {
		h.AddError(remote.AsInventoryError("connect", err))
		return
	}
	defer c.Close()
	ssh.Probe(ctx, c, h)
}

func probeWinRM(ctx context.Context, t remote.Target, h *inventory.Host) {
	c, err := remote.DialWinRM(ctx, *t.WinRM)
	if err != nil {
		h.AddError(remote.AsInventoryError("connect", err))
		return
	}
	defer c.Close()
	winrm.Probe(ctx, c, h)
}

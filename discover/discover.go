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
	// Sample, when positive, collects performance samples from every host
	// for this long after its probe, into Host.Samples (shift discover
	// --sample). Sampling is outside Concurrency and Timeout: a host frees
	// its probe slot when sampling starts, so all hosts are sampled at about
	// the same time, and a host's timeout bounds its probe, not its samples.
	// When ctx ends, sampling stops and the points collected so far are kept.
	Sample time.Duration
	// SampleInterval is the time between two samples, in whole seconds;
	// 0 means DefaultSampleInterval(Sample).
	SampleInterval time.Duration
}

// SampleReporter is an optional interface of a Reporter that is told when a
// host's probe is done and its sampling starts.
type SampleReporter interface {
	// HostSampling is called when name starts sampling; until is when its
	// series should be complete.
	HostSampling(name string, until time.Time)
}

// DefaultSampleInterval is the interval used for a sampling window d when
// none is given: a sixtieth of the window, at least 5 s, in whole seconds.
func DefaultSampleInterval(d time.Duration) time.Duration {
	return max(5*time.Second, (d / 60).Round(time.Second))
}

// SamplePlan returns how many points a window d at interval makes (one at
// each end), and the interval actually used (whole seconds, at least 1 s,
// DefaultSampleInterval when interval is 0).
func SamplePlan(d, interval time.Duration) (count int, used time.Duration) {
	if interval <= 0 {
		interval = DefaultSampleInterval(d)
	}
	used = max(time.Second, interval.Round(time.Second))
	return int(d/used) + 1, used
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
	var samplers sync.WaitGroup
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
			h, smp := probeHost(ctx, hf, name, opts)
			hosts[i] = h
			if smp == nil {
				report(func(r Reporter) { r.HostDone(&hosts[i]) })
				return nil
			}
			// Sampling frees the probe slot: it waits, it does not work.
			samplers.Go(func() {
				report(func(r Reporter) {
					if sr, ok := r.(SampleReporter); ok {
						sr.HostSampling(name, smp.until(opts))
					}
				})
				smp.run(ctx, &hosts[i], opts)
				report(func(r Reporter) { r.HostDone(&hosts[i]) })
			})
			return nil
		})
	}
	_ = g.Wait()
	samplers.Wait()
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

// Host discovers one host of hf, and samples it when opts.Sample is set.
func Host(ctx context.Context, hf *remote.HostsFile, name string, opts Options) inventory.Host {
	h, smp := probeHost(ctx, hf, name, opts)
	if smp != nil {
		smp.run(ctx, &h, opts)
	}
	return h
}

// probeHost discovers one host. When opts.Sample is set and the probe
// reached the host, it returns a sampler holding the open connection; the
// caller must run it (which closes the connection).
func probeHost(ctx context.Context, hf *remote.HostsFile, name string, opts Options) (inventory.Host, *sampler) {
	start := opts.now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := hf.Entry(name)
	h := inventory.Host{Name: name}
	if e == nil {
		h.AddError(inventory.Error{Step: "hosts file", Kind: inventory.ErrConfig, Message: fmt.Sprintf("host %s is not in %s", name, hf.Path)})
		return h, nil
	}
	h.Address = e.Address
	t, err := hf.Resolve(name, opts.Overrides)
	if err != nil {
		h.AddError(remote.AsInventoryError("credentials", err))
		return h, nil
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

	var smp *sampler
	switch t.Transport {
	case "ssh":
		smp = probeSSH(hctx, t, &h, opts.Sample > 0)
	case "winrm":
		smp = probeWinRM(hctx, t, &h, opts.Sample > 0)
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
	if smp != nil && (ctx.Err() != nil || !h.Reachable() || hasKind(&h, inventory.ErrCanceled)) {
		smp.close()
		smp = nil
	}
	return h, smp
}

func hasKind(h *inventory.Host, kind string) bool {
	for _, e := range h.Errors {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// probeSSH probes over SSH. With keep, it returns a sampler that owns the
// connection; otherwise it closes it.
func probeSSH(ctx context.Context, t remote.Target, h *inventory.Host, keep bool) *sampler {
	c, err := remote.DialSSH(ctx, *t.SSH)
	if err != nil {
		h.AddError(remote.AsInventoryError("connect", err))
		return nil
	}
	ssh.Probe(ctx, c, h)
	if !keep {
		c.Close()
		return nil
	}
	return &sampler{close: func() { c.Close() }, sample: func(ctx context.Context, n int, every time.Duration, onPoint func(inventory.Sample)) (*inventory.Samples, error) {
		return ssh.Sample(ctx, c, n, every, onPoint)
	}}
}

// probeWinRM probes over WinRM; keep is as for probeSSH.
func probeWinRM(ctx context.Context, t remote.Target, h *inventory.Host, keep bool) *sampler {
	c, err := remote.DialWinRM(ctx, *t.WinRM)
	if err != nil {
		h.AddError(remote.AsInventoryError("connect", err))
		return nil
	}
	winrm.Probe(ctx, c, h)
	if !keep {
		c.Close()
		return nil
	}
	return &sampler{close: func() { c.Close() }, sample: func(ctx context.Context, n int, every time.Duration, onPoint func(inventory.Sample)) (*inventory.Samples, error) {
		return winrm.Sample(ctx, c, n, every, onPoint)
	}}
}

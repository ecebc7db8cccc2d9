package discover_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// sampleReporter records the sampling facts a run reports.
type sampleReporter struct {
	mu       sync.Mutex
	sampling map[string]time.Time
	done     map[string]int // points at HostDone
}

func (r *sampleReporter) HostStarted(string) {}
func (r *sampleReporter) HostDone(h *inventory.Host) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.Samples != nil {
		r.done[h.Name] = len(h.Samples.Points)
	} else {
		r.done[h.Name] = 0
	}
}
func (r *sampleReporter) HostSampling(name string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sampling[name] = until
}

var _ discover.SampleReporter = (*sampleReporter)(nil)

// lab serves this machine over sshd and two Windows presets, one of which
// refuses the lab's password.
func lab(t *testing.T) *remote.HostsFile {
	t.Helper()
	l, err := fixtures.StartLab(t.Context(), fixtures.LabOptions{Dir: t.TempDir(), Presets: []string{"ws2022-bitlocker", "ws2016-badpass"}})
	if errors.Is(err, sshd.ErrNoSSHD) {
		sshd.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := l.WriteHosts(p); err != nil {
		t.Fatal(err)
	}
	hf, err := remote.LoadHosts(p)
	if err != nil {
		t.Fatal(err)
	}
	return hf
}

// TestRunSamples samples every reachable host of a run, one probe at a
// time: sampling runs outside the probe limit, so the hosts are sampled
// together and the run takes one window, not three.
func TestRunSamples(t *testing.T) {
	hf := lab(t)
	rep := &sampleReporter{sampling: map[string]time.Time{}, done: map[string]int{}}
	start := time.Now()
	inv, err := discover.Run(t.Context(), hf, nil, discover.Options{Concurrency: 1, Reporter: rep,
		Sample: 2 * time.Second, SampleInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 12*time.Second {
		t.Errorf("the run took %s: hosts were sampled one after the other", took)
	}
	for _, h := range inv.Hosts {
		if h.Name == "ws2016-badpass" {
			if h.Samples != nil || rep.sampling[h.Name] != (time.Time{}) {
				t.Errorf("%s: the host refused the login, yet it was sampled: %+v", h.Name, h.Samples)
			}
			continue
		}
		for _, e := range h.Errors {
			if e.Step == "samples" {
				t.Errorf("%s: %+v", h.Name, e)
			}
		}
		s := h.Samples
		if s == nil || len(s.Points) != 3 || s.Expected() != 3 || s.Coverage() != 1 || s.IntervalSeconds != 1 {
			t.Errorf("%s: samples %+v, want 3 points a second apart", h.Name, s)
			continue
		}
		for _, p := range s.Points {
			if p.CPUPercent < 0 || p.CPUPercent > 100 || p.MemoryUsedBytes <= 0 || p.MemoryUsedBytes >= float64(h.Memory.TotalBytes) {
				t.Errorf("%s: implausible point %+v (memory total %d)", h.Name, p, h.Memory.TotalBytes)
			}
		}
		until := rep.sampling[h.Name]
		if until.Before(start.Add(2*time.Second)) || until.After(time.Now().Add(time.Second)) || rep.done[h.Name] != 3 {
			t.Errorf("%s: reported sampling until %v (run started %v), done with %d points", h.Name, until, start, rep.done[h.Name])
		}
	}
}

// TestRunSamplesInterrupted ends a long sampling window early: the points
// so far are kept, and the hosts carry no error (their inventory is whole).
func TestRunSamplesInterrupted(t *testing.T) {
	hf := lab(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rep := &sampleReporter{sampling: map[string]time.Time{}, done: map[string]int{}}
	go func() {
		// Interrupt once both reachable hosts have sampled for a while.
		for {
			rep.mu.Lock()
			n := len(rep.sampling)
			rep.mu.Unlock()
			if n == 2 {
				time.Sleep(3500 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	inv, err := discover.Run(ctx, hf, []string{"local", "ws2022-bitlocker"}, discover.Options{Reporter: rep,
		Sample: 10 * time.Minute, SampleInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("interrupting a 10-minute window took %s", took)
	}
	for _, h := range inv.Hosts {
		if !h.OK() && h.Failed() {
			t.Errorf("%s: errors %+v, want none: only the sampling was cut short", h.Name, h.Errors)
		}
		if h.Name == "local" && (h.Samples == nil || len(h.Samples.Points) < 2) {
			t.Errorf("%s: kept %+v, want the points before the interrupt", h.Name, h.Samples)
		}
		// WinRM samples arrive per run of Get-Counter: an interrupted run
		// loses its points, and the first run is not over after 3.5 s.
		if h.Samples != nil && !h.Samples.End.Equal(h.Samples.Points[len(h.Samples.Points)-1].At) {
			t.Errorf("%s: window ends %v, want at the last point", h.Name, h.Samples.End)
		}
	}
}

func TestSamplePlan(t *testing.T) {
	for _, tc := range []struct {
		d, interval, want time.Duration
		count             int
	}{
		{10 * time.Minute, 0, 10 * time.Second, 61},
		{time.Minute, 0, 5 * time.Second, 13},
		{3 * time.Second, time.Second, time.Second, 4},
		{24 * time.Hour, 0, 24 * time.Minute, 61},
		{10 * time.Second, 300 * time.Millisecond, time.Second, 11},
	} {
		count, used := discover.SamplePlan(tc.d, tc.interval)
		if count != tc.count || used != tc.want {
			t.Errorf("SamplePlan(%s, %s) = %d, %s; want %d, %s", tc.d, tc.interval, count, used, tc.count, tc.want)
		}
	}
}

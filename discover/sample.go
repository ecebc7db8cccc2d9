package discover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// sampler collects a host's samples over the connection its probe opened.
type sampler struct {
	sample func(ctx context.Context, count int, interval time.Duration, onPoint func(inventory.Sample)) (*inventory.Samples, error)
	close  func()
	start  time.Time
}

// until is when the series should be complete: one baseline reading, then
// one point per interval.
func (s *sampler) until(opts Options) time.Time {
	count, interval := SamplePlan(opts.Sample, opts.SampleInterval)
	if s.start.IsZero() {
		s.start = opts.now()
	}
	return s.start.Add(time.Duration(count) * interval)
}

// sampleGrace is how much longer than planned a series may take before the
// host is given up: the sampling command's start and a slow host.
func sampleGrace(interval time.Duration) time.Duration { return max(30*time.Second, 2*interval) }

// run collects the samples into h.Samples and closes the connection. When
// ctx ends, the points so far are kept and no error is recorded (the caller
// says that sampling was cut short); any other failure keeps the points and
// records an error of step "samples".
func (s *sampler) run(ctx context.Context, h *inventory.Host, opts Options) {
	defer s.close()
	count, interval := SamplePlan(opts.Sample, opts.SampleInterval)
	deadline := s.until(opts).Add(sampleGrace(interval))
	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	got, err := s.sample(sctx, count, interval, nil)
	h.Samples = got
	if err == nil || ctx.Err() != nil {
		return
	}
	e := remote.AsInventoryError("samples", err)
	kept := "no samples were kept"
	if got != nil {
		kept = fmt.Sprintf("%d of %d samples were kept", len(got.Points), count)
	}
	if errors.Is(sctx.Err(), context.DeadlineExceeded) {
		e.Message = fmt.Sprintf("sampling did not finish by %s (the window plus %s): %s", deadline.Format(time.TimeOnly), sampleGrace(interval), kept)
		e.Hint = "the host answered too slowly; sample again, or with a longer --sample-interval"
	} else {
		e.Message = fmt.Sprintf("sampling failed: %s; %s", e.Message, kept)
		if e.Hint == "" {
			e.Hint = "the inventory is complete; only performance-based sizing is affected. Sample again with 'shift discover --sample'"
		}
	}
	// The probe reached the host: a failed series leaves the inventory
	// complete, so it is never a reason to call the host unreachable.
	e.Kind = inventory.ErrProbe
	h.AddError(e)
}

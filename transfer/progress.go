package transfer

import (
	"sync"
	"time"
)

// Progress is a fact about one disk's pass, sent to a Reporter.
type Progress struct {
	// Disk names the disk (the agent's name for it).
	Disk string
	// Pass is the pass number, 1 for the first full copy.
	Pass int
	// Done is how many bytes of the disk this pass has covered (sent,
	// unchanged, zero or already finished before a resume); Total is the
	// disk's size.
	Done, Total int64
	// Wire is how many bytes this pass has read from the agent stream.
	Wire int64
	// Rate is how fast, in bytes per second since the pass began, the pass
	// covers the chunks it asks the agent for (those it sends and those
	// the agent finds unchanged); 0 until known. Space that the allocation
	// maps mark free and chunks finished before a resume cost no time and
	// are not counted: a disk that is three quarters empty would otherwise
	// report three quarters done, at gigabytes per second, within a second.
	Rate float64
	// ETA is the estimated time left: the bytes still to ask the agent for,
	// at Rate; 0 until known.
	ETA time.Duration
	// Final is set on the last report of a pass.
	Final bool
}

// Reporter receives progress. Calls come from several goroutines, but never
// at once. A nil Reporter is valid and discards everything.
type Reporter interface {
	Progress(p Progress)
}

func report(r Reporter, p Progress) {
	if r != nil {
		r.Progress(p)
	}
}

// Throttle returns a Reporter that passes at most one report per interval
// to r (the final report of a pass always passes). It suits presenters that
// redraw: at 100 ms, at most 10 Hz.
func Throttle(r Reporter, interval time.Duration) Reporter {
	if r == nil {
		return nil
	}
	return &throttle{r: r, every: interval}
}

type throttle struct {
	mu    sync.Mutex
	r     Reporter
	every time.Duration
	last  time.Time
}

func (t *throttle) Progress(p Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if !p.Final && !t.last.IsZero() && now.Sub(t.last) < t.every {
		return
	}
	t.last = now
	t.r.Progress(p)
}

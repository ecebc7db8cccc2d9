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
	// Done and Total count the bytes of the chunks in use: those this pass
	// reads on the source (to send them, or to find them unchanged), and
	// those a resumed pass finished before it stopped. Space that the
	// allocation maps mark free is not counted: it costs no time, and a disk
	// three quarters empty would otherwise show three quarters done within
	// a second. Done equals Total at the end of a pass.
	Done, Total int64
	// DiskSize is the disk's size.
	DiskSize int64
	// Wire is how many bytes this pass has read from the agent stream.
	Wire int64
	// Rate is how fast, in bytes per second, this run of the pass gets
	// through the chunks it reads on the source, timed from the first one
	// finished (the time the pipeline takes to fill, a login's worth, is
	// not part of a steady rate); 0 until known. Chunks finished before a
	// resume are not part of it.
	Rate float64
	// ETA is the estimated time left: Total - Done at Rate; 0 until known.
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

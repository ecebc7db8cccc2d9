package transfer

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type countReporter struct{ got []Progress }

func (c *countReporter) Progress(p Progress) { c.got = append(c.got, p) }

// Throttle passes at most one report per interval, and always the final one.
func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c countReporter
		r := Throttle(&c, 100*time.Millisecond)
		for i := range 100 {
			r.Progress(Progress{Done: int64(i)})
			time.Sleep(10 * time.Millisecond)
		}
		r.Progress(Progress{Done: 100, Final: true})
		// One second of reports every 10 ms at 10 Hz: 10, plus the final.
		if len(c.got) != 11 || !c.got[len(c.got)-1].Final || c.got[0].Done != 0 {
			t.Fatalf("%d reports passed: %+v", len(c.got), c.got)
		}
	})
	if Throttle(nil, time.Second) != nil {
		t.Fatal("Throttle(nil) must stay nil")
	}
	report(nil, Progress{}) // a nil reporter is valid
}

// timedReporter keeps every report with the moment it came.
type timedReporter struct {
	mu  sync.Mutex
	got []timedProgress
}

type timedProgress struct {
	at time.Time
	Progress
}

func (r *timedReporter) Progress(p Progress) {
	r.mu.Lock()
	r.got = append(r.got, timedProgress{time.Now(), p})
	r.mu.Unlock()
}

// The progress of a pass over a mostly empty disk follows the space in use,
// not the disk's bytes: the free three quarters take no time, and counting
// them would show 75% done in the first instant and an ETA within a
// fraction of a second while most of the copy is still to come.
func TestProgressFollowsSpaceInUse(t *testing.T) {
	dir := t.TempDir()
	const n = 32
	size := int64(n * ChunkSize)
	data := []int64{24, 25, 26, 27, 28, 29, 30, 31} // the last quarter
	img := makeImage(t, dir, size, data)
	s := localAgent(t, img, nil)
	sink := openSink(t, dir, size)
	var rep timedReporter
	// About 2 MiB of payload per chunk at 8 MiB/s: some two seconds.
	r, err := s.Pass(context.Background(), sink, NewMemJournal(size), Options{Reporter: &rep, BandwidthLimit: 8 << 20, Wire: CodecS2})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	if r.Sent != int64(len(data)) {
		t.Fatalf("pass: %+v", r)
	}
	took := r.Elapsed
	inUse := int64(len(data)) * ChunkSize
	if last := rep.got[len(rep.got)-1]; !last.Final || last.Done != inUse {
		t.Errorf("last report: %+v, want final with %d bytes done", last.Progress, inUse)
	}
	checked := 0
	for _, g := range rep.got {
		if g.Total != inUse || g.DiskSize != size || g.Done > g.Total {
			t.Errorf("report %+v: want %d bytes in use in all, of a %d-byte disk", g.Progress, inUse, size)
		}
		left := end.Sub(g.at)
		if g.Final || g.Rate == 0 || left < took/4 {
			continue
		}
		checked++
		if g.ETA < left*2/5 || g.ETA > left*5/2 {
			t.Errorf("at %s of %s (%d of %d bytes covered, %.1f MiB/s): ETA %s, but %s were left",
				took-left, took, g.Done, g.Total, g.Rate/(1<<20), g.ETA.Round(time.Millisecond), left.Round(time.Millisecond))
		}
		if g.Rate > 64<<20 {
			t.Errorf("rate %.0f MiB/s through an 8 MiB/s link: it counts the free space", g.Rate/(1<<20))
		}
	}
	if checked < 3 {
		t.Fatalf("only %d reports with an ETA in the first three quarters of a %s pass: %+v", checked, took, rep.got)
	}
}

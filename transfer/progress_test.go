package transfer

import (
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

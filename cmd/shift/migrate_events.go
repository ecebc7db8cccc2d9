package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shift-migrate/shift/migrate/face"
)

// eventWriter presents a migration's events: NDJSON on stdout with --json,
// else readable lines on stderr. It is safe for concurrent use: servers move
// in parallel.
type eventWriter struct {
	mu   sync.Mutex
	json *json.Encoder // nil for text
	text io.Writer
	// lastProgress throttles text progress per disk.
	lastProgress map[string]time.Time
}

func newEventWriter(stdout, stderr io.Writer, asJSON bool) *eventWriter {
	w := &eventWriter{text: stderr, lastProgress: map[string]time.Time{}}
	if asJSON {
		w.json = json.NewEncoder(stdout)
	}
	return w
}

// jsonEvent is one NDJSON line. Type says which fields are set; the schema
// is in 'shift migrate --help'.
type jsonEvent struct {
	Type     string     `json:"type"`
	Time     time.Time  `json:"time"`
	Host     string     `json:"host,omitempty"`
	From     face.Phase `json:"from,omitempty"`
	To       face.Phase `json:"to,omitempty"`
	Phase    face.Phase `json:"phase,omitempty"`
	Step     string     `json:"step,omitempty"`
	Detail   string     `json:"detail,omitempty"`
	Error    string     `json:"error,omitempty"`
	Disk     string     `json:"disk,omitempty"`
	Pass     int        `json:"pass,omitempty"`
	Done     int64      `json:"done,omitempty"`
	Total    int64      `json:"total,omitempty"`
	DiskSize int64      `json:"diskSize,omitempty"`
	Rate     float64    `json:"bytesPerSecond,omitempty"`
	ETA      float64    `json:"etaSeconds,omitempty"`
	Severity string     `json:"severity,omitempty"`
	Check    string     `json:"check,omitempty"`
	Object   string     `json:"object,omitempty"`
	Expected string     `json:"expected,omitempty"`
	Actual   string     `json:"actual,omitempty"`
	Message  string     `json:"message,omitempty"`
	// Servers is set on the final "summary" event.
	Servers []face.ServerResult `json:"servers,omitempty"`
	Seconds float64             `json:"seconds,omitempty"`
}

func (w *eventWriter) event(ev face.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now().UTC()
	var je jsonEvent
	var line string
	switch e := ev.(type) {
	case face.PhaseChanged:
		je = jsonEvent{Type: "phase", Time: e.At.UTC(), Host: e.Host, From: e.From, To: e.To, Detail: e.Detail}
		line = fmt.Sprintf("%s  %s → %s", e.Host, e.From, e.To)
		if e.Detail != "" {
			line += ": " + e.Detail
		}
	case face.StepDone:
		je = jsonEvent{Type: "step", Time: e.At.UTC(), Host: e.Host, Phase: e.Phase, Step: e.Step, Detail: e.Detail}
		line = fmt.Sprintf("%s  %s: %s", e.Host, e.Step, e.Detail)
		if e.Err != nil {
			je.Error = e.Err.Error()
			line += ": " + e.Err.Error()
		}
	case face.DiskProgress:
		je = jsonEvent{Type: "progress", Time: now, Host: e.Host, Disk: e.Disk, Pass: e.Pass, Done: e.Done, Total: e.Total,
			DiskSize: e.DiskSize, Rate: e.Rate, ETA: e.ETA.Seconds()}
		key := e.Host + " " + e.Disk
		if w.json == nil && !e.Final && now.Sub(w.lastProgress[key]) < 5*time.Second {
			return
		}
		w.lastProgress[key] = now
		line = fmt.Sprintf("%s  %s pass %d: %s%s", e.Host, e.Disk, e.Pass, passShare(e.Done, e.Total, e.DiskSize),
			rateETA(e.Rate, e.ETA, e.Final))
	case face.ValidationFinding:
		je = jsonEvent{Type: "finding", Time: now, Host: e.Host, Severity: e.Severity, Check: e.Check, Object: e.Object,
			Expected: e.Expected, Actual: e.Actual, Message: e.Message}
		line = fmt.Sprintf("%s  %s %s: %s", e.Host, e.Severity, e.Object, e.Message)
		if e.Expected != "" || e.Actual != "" {
			line += fmt.Sprintf(" (expected %s, got %s)", e.Expected, e.Actual)
		}
	default:
		return
	}
	if w.json != nil {
		w.json.Encode(je)
		return
	}
	fmt.Fprintln(w.text, line)
}

// summary ends the run: a "summary" line with --json, else a table.
func (w *eventWriter) summary(out io.Writer, d face.MigrationDone) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.json != nil {
		je := jsonEvent{Type: "summary", Time: time.Now().UTC(), Servers: d.Servers, Seconds: d.Took.Seconds()}
		if d.Err != nil {
			je.Error = d.Err.Error()
		}
		w.json.Encode(je)
		return
	}
	fmt.Fprintf(out, "%-24s %-12s %-14s %6s %10s  %s\n", "SERVER", "WAVE", "PHASE", "PASSES", "COPIED", "NOTE")
	for _, s := range d.Servers {
		note := ""
		switch {
		case s.Err != "":
			note = s.Err
		case s.Waiting != "":
			note = "waiting for " + s.Waiting
		}
		fmt.Fprintf(out, "%-24s %-12s %-14s %6d %10s  %s\n", s.Host, s.Wave, s.Phase, s.Passes, sizeLabel(s.Bytes), note)
	}
	c := outcomes(d)
	fmt.Fprintf(out, "\n%d server(s): %d done, %d waiting, %d failed, %d rolled back; %s\n",
		len(d.Servers), c.done, c.waiting, c.failed, c.rolledBack, d.Took.Round(time.Second))
}

type outcomeCounts struct{ done, waiting, failed, rolledBack, other int }

func outcomes(d face.MigrationDone) outcomeCounts {
	var c outcomeCounts
	for _, s := range d.Servers {
		switch {
		case s.Phase == face.RolledBack:
			c.rolledBack++
		case s.Err != "" || s.Phase == face.Failed:
			c.failed++
		case s.Waiting != "":
			c.waiting++
		case s.Phase == face.Done:
			c.done++
		default:
			c.other++
		}
	}
	return c
}

package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func schedulePlan(t *testing.T, window string, blackouts ...string) *Plan {
	t.Helper()
	y := "version: 1\nhosts: h.yaml\n"
	if len(blackouts) > 0 {
		y += "blackouts:\n"
		for _, b := range blackouts {
			y += "  - " + b + "\n"
		}
	}
	y += "waves:\n  - name: w\n"
	if window != "" {
		y += "    window: " + window + "\n"
	}
	y += "    hosts: [{name: a}]\n"
	p, err := Parse("p.yaml", []byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return p
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNextWindow walks the schedule around midnight, the end of the week
// and the two clock changes of Europe/Berlin in 2025 (30 March 02:00 → 03:00,
// 26 October 03:00 → 02:00).
func TestNextWindow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		window     string
		blackouts  []string
		now        string
		start, end string // RFC 3339; "" end means none; "-" start means not ok
	}{
		{"daily, before", "daily 22:00-05:00 Europe/Berlin", nil, "2025-06-10T12:00:00+02:00", "2025-06-10T22:00:00+02:00", "2025-06-11T05:00:00+02:00"},
		{"daily, inside before midnight", "daily 22:00-05:00 Europe/Berlin", nil, "2025-06-10T23:00:00+02:00", "2025-06-10T23:00:00+02:00", "2025-06-11T05:00:00+02:00"},
		{"daily, inside after midnight", "daily 22:00-05:00 Europe/Berlin", nil, "2025-06-11T04:59:00+02:00", "2025-06-11T04:59:00+02:00", "2025-06-11T05:00:00+02:00"},
		{"daily, at the end", "daily 22:00-05:00 Europe/Berlin", nil, "2025-06-11T05:00:00+02:00", "2025-06-11T22:00:00+02:00", "2025-06-12T05:00:00+02:00"},
		{"daily same day", "daily 01:00-03:00 UTC", nil, "2025-06-11T03:30:00Z", "2025-06-12T01:00:00Z", "2025-06-12T03:00:00Z"},
		{"daily until 24:00", "daily 20:00-24:00 UTC", nil, "2025-06-11T23:59:00Z", "2025-06-11T23:59:00Z", "2025-06-12T00:00:00Z"},
		{"spring forward: start that does not exist falls an hour later", "daily 02:30-04:00 Europe/Berlin", nil, "2025-03-30T00:00:00+01:00", "2025-03-30T03:30:00+02:00", "2025-03-30T04:00:00+02:00"},
		{"spring forward: night an hour shorter", "daily 22:00-06:00 Europe/Berlin", nil, "2025-03-29T21:00:00+01:00", "2025-03-29T22:00:00+01:00", "2025-03-30T06:00:00+02:00"},
		{"fall back: night an hour longer", "daily 22:00-06:00 Europe/Berlin", nil, "2025-10-25T21:00:00+02:00", "2025-10-25T22:00:00+02:00", "2025-10-26T06:00:00+01:00"},
		{"weekly, inside across the week's end", "sat 22:00-mon 02:00 UTC", nil, "2025-06-01T12:00:00Z", "2025-06-01T12:00:00Z", "2025-06-02T02:00:00Z"},
		{"weekly, just after", "sat 22:00-mon 02:00 UTC", nil, "2025-06-02T03:00:00Z", "2025-06-07T22:00:00Z", "2025-06-09T02:00:00Z"},
		{"weekly, sunday to monday midnight", "sun 23:00-mon 01:00 UTC", nil, "2025-06-01T23:30:00Z", "2025-06-01T23:30:00Z", "2025-06-02T01:00:00Z"},
		{"weekly, same day", "wed 09:00-wed 11:00 America/New_York", nil, "2025-06-04T12:00:00-04:00", "2025-06-11T09:00:00-04:00", "2025-06-11T11:00:00-04:00"},
		{"weekly across fall back", "sat 20:00-sun 08:00 Europe/Berlin", nil, "2025-10-24T00:00:00+02:00", "2025-10-25T20:00:00+02:00", "2025-10-26T08:00:00+01:00"},
		{"once, ahead", "{start: 2025-07-05T22:00:00+02:00, end: 2025-07-06T06:00:00+02:00}", nil, "2025-07-01T00:00:00Z", "2025-07-05T22:00:00+02:00", "2025-07-06T06:00:00+02:00"},
		{"once, over", "{start: 2025-07-05T22:00:00+02:00, end: 2025-07-06T06:00:00+02:00}", nil, "2025-07-06T06:00:00+02:00", "-", ""},
		{"no window", "", nil, "2025-07-01T00:00:00Z", "2025-07-01T00:00:00Z", ""},
		{"no window, blackout ahead", "", []string{"{every: fri 18:00-mon 06:00 UTC}"}, "2025-06-04T00:00:00Z", "2025-06-04T00:00:00Z", "2025-06-06T18:00:00Z"},
		{"no window, in blackout", "", []string{"{every: fri 18:00-mon 06:00 UTC}"}, "2025-06-07T00:00:00Z", "2025-06-09T06:00:00Z", "2025-06-13T18:00:00Z"},
		{"blackout cuts the window's end", "daily 22:00-05:00 UTC", []string{"{every: sat 00:00-mon 00:00 UTC}"}, "2025-06-06T21:00:00Z", "2025-06-06T22:00:00Z", "2025-06-07T00:00:00Z"},
		{"blackout skips whole windows", "daily 22:00-05:00 UTC", []string{"{every: sat 00:00-mon 00:00 UTC}"}, "2025-06-07T01:00:00Z", "2025-06-09T00:00:00Z", "2025-06-09T05:00:00Z"},
		{"blackouts back to back", "", []string{"{start: 2025-06-01T10:00:00Z, end: 2025-06-01T12:00:00Z}", "{start: 2025-06-01T12:00:00Z, end: 2025-06-01T14:00:00Z}"}, "2025-06-01T11:00:00Z", "2025-06-01T14:00:00Z", ""},
		{"blackout covers every window", "{start: 2025-07-05T22:00:00Z, end: 2025-07-06T06:00:00Z}", []string{"{start: 2025-07-01T00:00:00Z, end: 2025-07-10T00:00:00Z}"}, "2025-07-01T00:00:00Z", "-", ""},
		{"blackout always", "daily 22:00-05:00 UTC", []string{"{every: sat 06:00-sat 06:00 UTC}"}, "2025-07-01T00:00:00Z", "-", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := schedulePlan(t, tc.window, tc.blackouts...)
			s, e, ok := p.NextWindow("w", at(t, tc.now))
			if tc.start == "-" {
				if ok {
					t.Fatalf("ok with %s–%s, want none", s, e)
				}
				return
			}
			if !ok || !s.Equal(at(t, tc.start)) {
				t.Fatalf("start %s ok=%v, want %s", s, ok, tc.start)
			}
			switch {
			case tc.end == "" && !e.IsZero():
				t.Errorf("end %s, want none", e)
			case tc.end != "" && !e.Equal(at(t, tc.end)):
				t.Errorf("end %s, want %s", e, tc.end)
			}
		})
	}
	if _, _, ok := schedulePlan(t, "").NextWindow("nope", time.Now()); ok {
		t.Error("unknown wave reports ok")
	}
}

func TestInBlackout(t *testing.T) {
	p := schedulePlan(t, "",
		"{every: fri 18:00-mon 06:00 Europe/Berlin, reason: weekend freeze}",
		"{start: 2025-06-09T06:00:00+02:00, end: 2025-06-09T08:00:00+02:00, reason: network work}",
		"{every: daily 23:30-00:30 UTC}")
	for _, tc := range []struct {
		now, until, reason string
	}{
		{"2025-06-04T12:00:00+02:00", "", ""},
		{"2025-06-06T18:00:00+02:00", "2025-06-09T08:00:00+02:00", "weekend freeze; network work"},
		{"2025-06-09T07:00:00+02:00", "2025-06-09T08:00:00+02:00", "network work"},
		{"2025-06-09T08:00:00+02:00", "", ""},
		{"2025-06-10T23:45:00Z", "2025-06-11T00:30:00Z", "blackout 3 (daily 23:30-00:30 UTC)"},
		{"2025-06-11T00:15:00Z", "2025-06-11T00:30:00Z", "blackout 3 (daily 23:30-00:30 UTC)"},
	} {
		in, until, reason := p.InBlackout(at(t, tc.now))
		if tc.until == "" {
			if in {
				t.Errorf("%s: in blackout until %s (%s), want free", tc.now, until, reason)
			}
			continue
		}
		if !in || !until.Equal(at(t, tc.until)) || reason != tc.reason {
			t.Errorf("%s: in=%v until %s reason %q; want until %s reason %q", tc.now, in, until, reason, tc.until, tc.reason)
		}
	}
}

// TestRecurrenceText: day names and zones as operators type them, and the
// canonical form written back.
func TestRecurrenceText(t *testing.T) {
	for in, want := range map[string]string{
		"Sat 22:00-Sun 06:00 Europe/Berlin":  "sat 22:00-sun 06:00 Europe/Berlin",
		"saturday 22:00 - sunday 6:00 utc":   "sat 22:00-sun 06:00 UTC",
		"daily 22:00-05:00 america/new_york": "daily 22:00-05:00 America/New_York",
		"FRI 18:00-MON 06:00 UTC":            "fri 18:00-mon 06:00 UTC",
	} {
		var r Recurrence
		if err := r.parse(in); err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%q → %q, want %q", in, r.String(), want)
		}
	}
	for _, bad := range []string{"daily 10:00-10:00 UTC", "sat 22:00-sun 06:60 UTC", "weekends UTC", ""} {
		var r Recurrence
		if err := r.parse(bad); err == nil {
			t.Errorf("%q accepted as %s", bad, r)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("window %q", bad)) {
			t.Errorf("%q: error does not quote the window: %v", bad, err)
		}
	}
}

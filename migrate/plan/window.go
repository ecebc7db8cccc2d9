package plan

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones resolve on appliances without a zoneinfo database

	"gopkg.in/yaml.v3"
)

// Window is a span of time: either once, from Start to End, or recurring
// (Every). In YAML a recurring window may be written as a plain string:
//
//	window: sat 22:00-sun 06:00 Europe/Berlin
//	window: daily 22:00-05:00 UTC
//	window: {start: 2025-07-05T22:00:00+02:00, end: 2025-07-06T06:00:00+02:00}
type Window struct {
	Start Time        `yaml:"start,omitempty" json:"start,omitzero"`
	End   Time        `yaml:"end,omitempty" json:"end,omitzero"`
	Every *Recurrence `yaml:"every,omitempty" json:"every,omitempty"`
}

type windowFields Window

func (w *Window) parse(s string) error {
	var r Recurrence
	if err := r.parse(s); err != nil {
		return err
	}
	*w = Window{Every: &r}
	return nil
}

// UnmarshalYAML reads a recurrence string or a start/end/every mapping.
func (w *Window) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return w.parse(n.Value)
	}
	var f windowFields
	if err := n.Decode(&f); err != nil {
		return err
	}
	*w = Window(f)
	return nil
}

// MarshalYAML writes a recurring window as its string.
func (w Window) MarshalYAML() (any, error) {
	if w.Every != nil && w.Start.IsZero() && w.End.IsZero() {
		return w.Every.String(), nil
	}
	return windowFields(w), nil
}

// String describes the window for people.
func (w Window) String() string {
	if w.Every != nil {
		return w.Every.String()
	}
	return w.Start.Format(time.RFC3339) + " to " + w.End.Format(time.RFC3339)
}

func (w Window) check() error {
	switch {
	case w.Every != nil && (!w.Start.IsZero() || !w.End.IsZero()):
		return errors.New("give either every: or start: and end:, not both")
	case w.Every != nil:
		return nil
	case w.Start.IsZero() || w.End.IsZero():
		return errors.New("give start: and end: (RFC 3339, e.g. 2025-07-05T22:00:00+02:00) or every: (e.g. sat 22:00-sun 06:00 Europe/Berlin)")
	case !w.End.After(w.Start.Time):
		return fmt.Errorf("end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	return nil
}

// next returns the first occurrence of the window that ends after t; ok is
// false when there is none (a one-off window that is over).
func (w Window) next(t time.Time) (start, end time.Time, ok bool) {
	if w.Every != nil {
		s, e := w.Every.next(t)
		return s, e, true
	}
	if w.End.After(t) {
		return w.Start.Time, w.End.Time, true
	}
	return time.Time{}, time.Time{}, false
}

// Recurrence is a window that repeats every week or every day, in wall-clock
// time of a time zone:
//
//	sat 22:00-sun 06:00 Europe/Berlin   weekly, Saturday 22:00 to Sunday 06:00
//	fri 18:00-mon 07:00 UTC             weekly, over the weekend
//	daily 22:00-05:00 America/New_York  every night; an end at or before the start is the next day
//
// Days are mon tue wed thu fri sat sun (or their full names). The zone is an
// IANA name or UTC and must be given. On the days the clocks change, a
// window is an hour shorter or longer; a start or end that does not exist
// that day (02:30 when the clocks jump from 02:00 to 03:00) falls an hour
// later.
type Recurrence struct {
	// Daily is true for a daily window; otherwise StartDay and EndDay apply.
	Daily    bool
	StartDay time.Weekday
	EndDay   time.Weekday
	// Start and End are minutes after midnight.
	Start, End int
	Loc        *time.Location
}

var (
	weeklyRe = regexp.MustCompile(`^([a-z]+)\s+(\d{1,2}):(\d\d)\s*-\s*([a-z]+)\s+(\d{1,2}):(\d\d)(?:\s+(\S+))?$`)
	dailyRe  = regexp.MustCompile(`^daily\s+(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)(?:\s+(\S+))?$`)
	days     = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

const recurrenceHelp = "write it as DAY HH:MM-DAY HH:MM ZONE (sat 22:00-sun 06:00 Europe/Berlin) or daily HH:MM-HH:MM ZONE (daily 22:00-05:00 UTC)"

func (r *Recurrence) parse(s string) error {
	text := strings.ToLower(strings.Join(strings.Fields(s), " "))
	var zone string
	var out Recurrence
	if m := dailyRe.FindStringSubmatch(text); m != nil {
		out.Daily = true
		var err error
		if out.Start, err = clock(m[1], m[2]); err == nil {
			out.End, err = clock(m[3], m[4])
		}
		if err != nil {
			return fmt.Errorf("window %q: %v", s, err)
		}
		zone = m[5]
	} else if m := weeklyRe.FindStringSubmatch(text); m != nil {
		var ok1, ok2 bool
		out.StartDay, ok1 = weekday(m[1])
		out.EndDay, ok2 = weekday(m[4])
		if !ok1 || !ok2 {
			bad := m[1]
			if ok1 {
				bad = m[4]
			}
			return fmt.Errorf("window %q: %q is not a day: use mon, tue, wed, thu, fri, sat, sun or daily", s, bad)
		}
		var err error
		if out.Start, err = clock(m[2], m[3]); err == nil {
			out.End, err = clock(m[5], m[6])
		}
		if err != nil {
			return fmt.Errorf("window %q: %v", s, err)
		}
		zone = m[7]
	} else {
		return fmt.Errorf("window %q: %s", s, recurrenceHelp)
	}
	if zone == "" {
		return fmt.Errorf("window %q: add a time zone at the end, e.g. %q (an IANA name, or UTC)", s, strings.TrimSpace(s)+" Europe/Berlin")
	}
	loc, err := loadZone(s, zone)
	if err != nil {
		return err
	}
	out.Loc = loc
	if out.Daily && out.Start == out.End {
		return fmt.Errorf("window %q: starts and ends at the same time: leave the window out to allow any time", s)
	}
	*r = out
	return nil
}

// loadZone finds a zone by its IANA name, case-insensitively for the common
// spellings ("utc", "europe/berlin").
func loadZone(s, zone string) (*time.Location, error) {
	if strings.EqualFold(zone, "utc") || strings.EqualFold(zone, "z") {
		return time.UTC, nil
	}
	parts := strings.Split(zone, "/")
	for i, p := range parts {
		parts[i] = titleZonePart(p)
	}
	for _, name := range []string{zone, strings.Join(parts, "/"), strings.ToUpper(zone)} {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("window %q: time zone %q is unknown: use an IANA name such as Europe/Berlin or America/New_York, or UTC", s, zone)
}

// titleZonePart capitalises each word of a zone name part ("new_york" →
// "New_York", "port-au-prince" → "Port-Au-Prince").
func titleZonePart(p string) string {
	b := []byte(p)
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '_' || c == '-'
	}
	return string(b)
}

func clock(h, m string) (int, error) {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%s:%s is not a time of day (00:00 to 24:00)", h, m)
	}
	return hh*60 + mm, nil
}

func weekday(s string) (time.Weekday, bool) {
	for i, d := range days {
		if s == d || s == strings.ToLower(time.Weekday(i).String()) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// String writes the recurrence the way parse reads it.
func (r Recurrence) String() string {
	hm := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	zone := "UTC"
	if r.Loc != nil {
		zone = r.Loc.String()
	}
	if r.Daily {
		return fmt.Sprintf("daily %s-%s %s", hm(r.Start), hm(r.End), zone)
	}
	return fmt.Sprintf("%s %s-%s %s %s", days[r.StartDay], hm(r.Start), days[r.EndDay], hm(r.End), zone)
}

// UnmarshalYAML reads a recurrence.
func (r *Recurrence) UnmarshalYAML(n *yaml.Node) error { return r.parse(n.Value) }

// MarshalYAML writes a recurrence.
func (r Recurrence) MarshalYAML() (any, error) { return r.String(), nil }

// MarshalJSON writes a recurrence as its string.
func (r Recurrence) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", r.String())), nil }

// spanDays is the number of days from an occurrence's start day to its end
// day.
func (r Recurrence) spanDays() int {
	if r.Daily {
		if r.End > r.Start {
			return 0
		}
		return 1
	}
	d := (int(r.EndDay) - int(r.StartDay) + 7) % 7
	if d == 0 && r.End <= r.Start {
		d = 7
	}
	return d
}

// next returns the first occurrence that ends after t. Occurrences are at
// most one period long, so the one that starts in t's period, the one before
// and the one after are the only candidates.
func (r Recurrence) next(t time.Time) (start, end time.Time) {
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	period, back := 1, 0
	if !r.Daily {
		period = 7
		back = (int(lt.Weekday()) - int(r.StartDay) + 7) % 7
	}
	span := r.spanDays()
	for k := -1; ; k++ {
		sd := d - back + k*period
		start = time.Date(y, m, sd, r.Start/60, r.Start%60, 0, 0, loc)
		end = time.Date(y, m, sd+span, r.End/60, r.End%60, 0, 0, loc)
		if end.After(t) && end.After(start) {
			return start, end
		}
	}
}

// NextWindow returns when the cutover of the named wave may run next: start
// is now or later, inside the wave's window and outside every blackout; end
// is when the wave's window closes or the next blackout begins, whichever
// comes first (zero when neither ever does). ok is false for an unknown wave,
// a window that is over, or a window that blackouts cover completely for the
// next thousand occurrences.
func (p *Plan) NextWindow(wave string, now time.Time) (start, end time.Time, ok bool) {
	w := p.Wave(wave)
	if w == nil {
		return time.Time{}, time.Time{}, false
	}
	t := now
	for range 1000 {
		s, e := t, time.Time{}
		if w.Window != nil {
			var open bool
			if s, e, open = w.Window.next(t); !open {
				return time.Time{}, time.Time{}, false
			}
			if s.Before(t) {
				s = t
			}
		}
		if fs, fe, free := p.firstFree(s, e); free {
			return fs, fe, true
		}
		if e.IsZero() {
			return time.Time{}, time.Time{}, false
		}
		t = e
	}
	return time.Time{}, time.Time{}, false
}

// firstFree returns the first span of [s, e) outside every blackout; a zero
// e means no end.
func (p *Plan) firstFree(s, e time.Time) (start, end time.Time, ok bool) {
	x := s
	for moved, n := true, 0; moved && n < 10000 && (e.IsZero() || x.Before(e)); n++ {
		moved = false
		for _, b := range p.Blackouts {
			if bs, be, ok := b.next(x); ok && !bs.After(x) {
				x, moved = be, true
			}
		}
	}
	if !e.IsZero() && !x.Before(e) {
		return time.Time{}, time.Time{}, false
	}
	end = e
	for _, b := range p.Blackouts {
		if bs, _, ok := b.next(x); ok && bs.After(x) && (end.IsZero() || bs.Before(end)) {
			end = bs
		}
	}
	return x, end, true
}

// InBlackout reports whether now falls in a blackout; until is when the
// blackouts covering now (and any that follow without a gap) are over, and
// reason joins their reasons.
func (p *Plan) InBlackout(now time.Time) (in bool, until time.Time, reason string) {
	x := now
	var reasons []string
	for moved, n := true, 0; moved && n < 10000; n++ {
		moved = false
		for i, b := range p.Blackouts {
			if bs, be, ok := b.next(x); ok && !bs.After(x) {
				x, moved = be, true
				r := b.Reason
				if r == "" {
					r = fmt.Sprintf("blackout %d (%s)", i+1, b.Window())
				}
				if !contains(reasons, r) {
					reasons = append(reasons, r)
				}
			}
		}
	}
	if x.Equal(now) {
		return false, time.Time{}, ""
	}
	return true, x, strings.Join(reasons, "; ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

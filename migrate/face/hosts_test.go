package face

import (
	"net/netip"
	"strings"
	"testing"
)

func TestExpandRange(t *testing.T) {
	for _, c := range []struct {
		in          string
		isRange     bool
		first, last string
		n           int
		err         string
	}{
		{in: "db01"},
		{in: "web-01"},
		{in: "10.0.0.5"},
		{in: "10.0.0.5-9", isRange: true, first: "10.0.0.5", last: "10.0.0.9", n: 5},
		{in: "10.0.0.250-10.0.1.2", isRange: true, first: "10.0.0.250", last: "10.0.1.2", n: 9},
		{in: "10.0.0.0/29", isRange: true, first: "10.0.0.1", last: "10.0.0.6", n: 6},
		{in: "10.0.0.7/31", isRange: true, first: "10.0.0.6", last: "10.0.0.7", n: 2},
		{in: "10.0.0.9/32", isRange: true, first: "10.0.0.9", last: "10.0.0.9", n: 1},
		{in: "fd00::/126", isRange: true, first: "fd00::", last: "fd00::3", n: 4},
		{in: "10.0.0.5-300", isRange: true, err: `"300" is neither an address nor a last octet`},
		{in: "10.0.0.9-5", isRange: true, err: "the end comes before the start"},
		{in: "10.0.0.0/8", isRange: true, err: "more than 1024 hosts"},
		{in: "10.0.0.0/33", isRange: true, err: "address range"},
		{in: "10.0.0.1-fd00::1", isRange: true, err: "mixes IPv4 and IPv6"},
		{in: "10.0.0.0-10.0.255.255", isRange: true, err: "more than 1024 hosts"},
	} {
		addrs, isRange, err := ExpandRange(c.in)
		if isRange != c.isRange {
			t.Errorf("%q: range %v, want %v", c.in, isRange, c.isRange)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.in) {
				t.Errorf("%q: error %v, want one naming the range and saying %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(addrs) != c.n {
			t.Errorf("%q: %d addresses, want %d", c.in, len(addrs), c.n)
			continue
		}
		if c.n > 0 && (addrs[0].String() != c.first || addrs[c.n-1].String() != c.last) {
			t.Errorf("%q: %s … %s, want %s … %s", c.in, addrs[0], addrs[c.n-1], c.first, c.last)
		}
	}
}

func TestRangeName(t *testing.T) {
	if got := RangeName("web", netip.MustParseAddr("10.0.0.5")); got != "web-10-0-0-5" {
		t.Errorf("RangeName = %q", got)
	}
	if got := RangeName("db", netip.MustParseAddr("fd00::1")); got != "db-fd00--1" {
		t.Errorf("RangeName = %q", got)
	}
}

// FuzzExpandRange checks that any input gives an error or at most MaxRange
// ordered addresses, and never panics.
func FuzzExpandRange(f *testing.F) {
	for _, s := range []string{"10.0.0.5-9", "10.0.0.0/28", "fd00::/120", "a-b", "1.2.3.4-1.2.3.4", "-", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs, isRange, err := ExpandRange(s)
		if err != nil || !isRange {
			if len(addrs) != 0 {
				t.Fatalf("%q: addresses with an error or no range", s)
			}
			return
		}
		if len(addrs) == 0 || len(addrs) > MaxRange {
			t.Fatalf("%q: %d addresses", s, len(addrs))
		}
		for i := 1; i < len(addrs); i++ {
			if !addrs[i-1].Less(addrs[i]) {
				t.Fatalf("%q: not in order at %d", s, i)
			}
		}
	})
}

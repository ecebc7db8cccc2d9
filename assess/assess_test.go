package assess

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

func TestAssessVerdictsWavesAndCost(t *testing.T) {
	inv := inventory.New("test", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	clean := windowsHost()
	clean.Name = "fin-app01"
	blocked := windowsHost()
	blocked.Name = "fin-db01"
	blocked.Firmware.SecureBoot = inventory.Bool(true)
	lost := inventory.Host{Name: "hr-app01", Errors: []inventory.Error{{Step: "connect", Kind: inventory.ErrUnreachable, Message: "no route"}}}
	lin := linuxHost()
	lin.Name = "hr-web01"
	inv.Hosts = []inventory.Host{*clean, *blocked, lost, *lin}
	res, err := Assess(inv, Options{AsOf: testEnv.AsOf, Waves: ByPrefix})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Verdict{"fin-app01": Conditional, "fin-db01": NotReady, "hr-app01": NotAssessed, "hr-web01": Conditional}
	for name, v := range want {
		h := res.Host(name)
		if h == nil || h.Verdict != v {
			t.Errorf("%s: %+v, want %s", name, h, v)
		}
	}
	// The Windows host is conditional only because of the SAN policy, which no
	// inventory can show: "ready" is never given silently.
	if c := res.Host("fin-app01").Conditions(); len(c) != 1 || c[0].Rule != "windows.san-policy" {
		t.Errorf("clean host conditions: %+v", c)
	}
	if res.Host("fin-db01").Findings[0].Rule != "firmware.secure-boot" {
		t.Errorf("blockers sort first: %+v", res.Host("fin-db01").Findings)
	}
	if len(res.Waves) != 2 || res.Waves[0].Name != "fin" || res.Waves[1].Name != "hr" || len(res.Waves[0].Hosts) != 2 {
		t.Fatalf("waves %+v", res.Waves)
	}
	total := res.Waves[0].MonthlyCost + res.Waves[1].MonthlyCost
	if res.Summary.MonthlyCost <= 0 || round2(total) != res.Summary.MonthlyCost {
		t.Errorf("total %.2f != sum of waves %.2f", res.Summary.MonthlyCost, total)
	}
	if res.Host("hr-app01").MonthlyCost() != 0 {
		t.Error("an unassessed host has a cost")
	}
	if got := res.Failing(NotReady); strings.Join(got, ",") != "fin-db01,hr-app01" {
		t.Errorf("Failing(not-ready) = %v", got)
	}
	if res.Summary.Blockers["firmware.secure-boot"] != 1 || res.Summary.Verdicts[Ready] != 0 {
		t.Errorf("summary %+v", res.Summary)
	}
}

func TestAssessRejectsBadOptions(t *testing.T) {
	inv := inventory.New("t", time.Now())
	for _, so := range []SizingOptions{{Percentile: 101}, {Comfort: 0.5}, {DiskTier: "gold"}} {
		if _, err := Assess(inv, Options{Sizing: so}); err == nil {
			t.Errorf("%+v accepted", so)
		}
	}
	if _, err := Assess(nil, Options{}); err == nil {
		t.Error("nil inventory accepted")
	}
}

func TestWavePatterns(t *testing.T) {
	p, err := ParseWavePattern("sql=*sql*")
	if err != nil {
		t.Fatal(err)
	}
	g := ByPattern([]WavePattern{p})
	if g(&inventory.Host{Name: "fin-sql01"}) != "sql" || g(&inventory.Host{Name: "web"}) != "unassigned" {
		t.Error("pattern grouping")
	}
	for _, bad := range []string{"sql", "=x", "a=[", "a="} {
		if _, err := ParseWavePattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := GroupingByName("os"); err == nil {
		t.Error("unknown grouping accepted")
	}
}

func TestRedact(t *testing.T) {
	in := "key 123456-234567-345678-456789-567890-678901-789012-890123 and 12345-234567 and -----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
	out := RedactString(in)
	if strings.Contains(out, "890123") || strings.Contains(out, "abc") {
		t.Fatalf("not redacted: %s", out)
	}
	if !strings.Contains(out, "12345-234567") {
		t.Fatalf("over-redacted: %s", out)
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	s := &inventory.SampleSet{SchemaVersion: inventory.SamplesSchemaVersion,
		Hosts: map[string]*inventory.Samples{"a": samplesOf(11, 10*time.Minute, 5, 1<<30, 10)}}
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := inventory.ReadSamples(&buf)
	if err != nil || got.Hosts["a"].Expected() != 11 || got.Hosts["a"].Coverage() != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := inventory.ReadSamples(strings.NewReader(`{"hosts":{}}`)); err == nil {
		t.Error("sample file without version accepted")
	}
}

package winrm

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

func TestSamplesScriptLine(t *testing.T) {
	s := SamplesScript(40, 15*time.Second)
	if ProbeName(s) != SamplesProbe {
		t.Errorf("header names %q", ProbeName(s))
	}
	if !strings.Contains(s, "\n$ShiftSamples = 40; $ShiftInterval = 15\n") || strings.Count(s, "$ShiftSamples = ") != 1 {
		t.Errorf("the parameter line is not set once:\n%s", s)
	}
	if !strings.Contains(SamplesScript(1, 1400*time.Millisecond), "$ShiftSamples = 1; $ShiftInterval = 1\n") {
		t.Error("interval not rounded to whole seconds")
	}
	for _, sc := range Scripts() {
		if sc.Name == SamplesProbe {
			t.Error("the samples script is one of the probe scripts: Probe would run it")
		}
	}
}

// A 5.1 answer with the quirks Get-Counter gives: a counter the host lacks
// (null), an overshooting % Processor Time, a sample without a timestamp.
const quirkySamples = "\xef\xbb\xbf{\r\n" + `    "TotalPhysicalMemory":  "8589934592",
    "SampleInterval":  5,
    "Samples":  [
                    {
                        "Timestamp":  "\/Date(1710237630123)\/",
                        "CpuPercent":  100.00000000000003,
                        "AvailableBytes":  4294967296,
                        "DiskReadsPerSec":  12.5,
                        "DiskWritesPerSec":  0,
                        "DiskReadBytesPerSec":  51200,
                        "DiskWriteBytesPerSec":  0,
                        "NetInBytesPerSec":  null,
                        "NetOutBytesPerSec":  null
                    },
                    {
                        "Timestamp":  null,
                        "CpuPercent":  3
                    }
                ],
    "Problems":  {
                     "Step":  "counters",
                     "Message":  "The specified object was not found on the computer."
                 }
}`

func TestParseSamplesQuirks(t *testing.T) {
	pts, problems, err := parseSamples([]byte(quirkySamples))
	if err != nil {
		t.Fatal(err)
	}
	want := inventory.Sample{At: time.UnixMilli(1710237630123).UTC(), CPUPercent: 100, MemoryUsedBytes: 4294967296,
		DiskReadIOPS: 12.5, DiskWriteIOPS: 0, DiskReadBytesPerSec: 51200, DiskWriteBytesPerSec: 0, NetInBytesPerSec: -1, NetOutBytesPerSec: -1}
	if len(pts) != 1 || pts[0] != want {
		t.Errorf("points = %+v\nwant [%+v]", pts, want)
	}
	if len(problems) != 1 || problems[0].Step != "counters" {
		t.Errorf("problems = %+v", problems)
	}
	if _, _, err := parseSamples([]byte(`{"Samples": "System.Object[]"}`)); err == nil || !strings.Contains(err.Error(), "Samples") {
		t.Errorf("a flattened list: err = %v, want one naming Samples", err)
	}
}

func FuzzParseSamples(f *testing.F) {
	f.Add([]byte(quirkySamples))
	f.Add([]byte(`{"Samples": {"Timestamp": "20240101000000.000000+060", "CpuPercent": -5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, _, err := parseSamples(b)
		if err != nil {
			return
		}
		for _, p := range pts {
			if p.At.IsZero() || p.CPUPercent > 100 {
				t.Fatalf("bad point %+v", p)
			}
			for _, v := range []float64{p.CPUPercent, p.MemoryUsedBytes, p.DiskReadIOPS, p.DiskWriteIOPS, p.DiskReadBytesPerSec, p.DiskWriteBytesPerSec, p.NetInBytesPerSec, p.NetOutBytesPerSec} {
				if math.IsNaN(v) || math.IsInf(v, 0) || (v < 0 && v != -1) {
					t.Fatalf("bad value %v in %+v", v, p)
				}
			}
		}
	})
}

// serve starts the preset behind the fixture WinRM server and connects the
// real client with a short timeout: a 1 s OperationTimeout, so that a
// sampling run of a few seconds needs several Receive long polls.
func serve(t *testing.T, preset string) (*winrmserver.Server, *remote.WinRMClient) {
	t.Helper()
	fx, err := windows.Load(preset)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := winrmserver.Listen("127.0.0.1:0", fx, winrmserver.Options{ComputerName: fx.Hostname(), Auth: winrmserver.AuthBasic})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client, err := remote.DialWinRM(t.Context(), remote.WinRMConfig{Host: preset, Address: "127.0.0.1", Port: srv.Port(),
		Auth: "basic", User: fx.LabUser(), Password: remote.NewSecret(fx.LabPassword()), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, client
}

func TestSampleOverWinRM(t *testing.T) {
	srv, client := serve(t, "ws2019-sql2019-sp2019")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	var seen int
	got, err := Sample(ctx, client, 3, time.Second, func(inventory.Sample) { seen++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Points) != 3 || seen != 3 || got.IntervalSeconds != 1 || got.Expected() != 3 || got.Coverage() != 1 {
		t.Fatalf("series %+v (%d reported): want 3 points a second apart, full coverage", got, seen)
	}
	if n := srv.Stats().Faults["w:TimedOut"]; n < 1 {
		t.Errorf("%d Receive timeouts: the 3 s run should outlast the 1 s OperationTimeout, and the client receive again", n)
	}
	const total = 34359267328 // the preset's TotalPhysicalMemory
	for i, p := range got.Points {
		if d := p.At.Sub(start); d < 500*time.Millisecond || d > 10*time.Second {
			t.Errorf("point %d at %v, %s after the start", i, p.At, d)
		}
		if i > 0 && p.At.Sub(got.Points[i-1].At) != time.Second {
			t.Errorf("point %d is %s after the last, want 1s", i, p.At.Sub(got.Points[i-1].At))
		}
		if p.CPUPercent < 20 || p.CPUPercent > 60 || p.MemoryUsedBytes <= 0 || p.MemoryUsedBytes >= total || p.DiskReadIOPS <= 0 || p.NetOutBytesPerSec <= 0 {
			t.Errorf("point %d: %+v: not the preset's steady SQL Server load", i, p)
		}
	}
}

// TestSampleInBatches takes a series in several runs and cancels a later
// one: the earlier runs' points are kept.
func TestSampleInBatches(t *testing.T) {
	defer func(w time.Duration) { batchWindow = w }(batchWindow)
	batchWindow = 2 * time.Second
	srv, client := serve(t, "ws2012r2-sql2014")
	got, err := Sample(t.Context(), client, 4, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Points) != 4 || srv.Stats().Actions["Command"] != 2 {
		t.Errorf("%d points in %d runs, want 4 in 2", len(got.Points), srv.Stats().Actions["Command"])
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got, err = Sample(ctx, client, 600, time.Second, func(inventory.Sample) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if got == nil || len(got.Points) != 2 || !got.End.Equal(got.Points[1].At) {
		t.Errorf("after cancel: %+v, want the first run's 2 points, the window ending at the last", got)
	}
}

func TestSampleFailures(t *testing.T) {
	_, client := serve(t, "ws2016-badpass")
	got, err := Sample(t.Context(), client, 1, time.Second, nil)
	if err == nil || got != nil {
		t.Fatalf("got %+v, %v: want an error", got, err)
	}
	// The preset refuses the lab password: an auth error, classified.
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != inventory.ErrAuth {
		t.Errorf("err = %v (%T), want a remote.Error of kind auth", err, err)
	}

	// With its real password it answers, but has no samples recording: the
	// script fails, and the error says what the host said.
	srv, _ := serve(t, "ws2016-badpass")
	fx, _ := windows.Load("ws2016-badpass")
	pw, _ := fx.Password(fx.LabUser())
	c, err := remote.DialWinRM(t.Context(), remote.WinRMConfig{Host: "badpass", Address: "127.0.0.1", Port: srv.Port(),
		Auth: "basic", User: fx.LabUser(), Password: remote.NewSecret(pw), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err = Sample(t.Context(), c, 1, time.Second, nil)
	if got != nil || err == nil || !strings.Contains(err.Error(), "probe 'samples' is not recorded") {
		t.Errorf("got %+v, %v: want the script's failure", got, err)
	}
}

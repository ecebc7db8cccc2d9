package winrm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/psjson"
)

// SamplesProbe is the name of the samples script. It is not one of
// [Scripts]: [Probe] never runs it; [Sample] does, after the probe.
const SamplesProbe = "samples"

// samplesParams matches the one line of samples.ps1 that changes from run to
// run. Hosts that answer recorded scripts (fixtures) may read it; its format
// is part of shift's interface to them:
//
//	$ShiftSamples = <count>; $ShiftInterval = <seconds>
var samplesParams = regexp.MustCompile(`(?m)^\$ShiftSamples = \d+; \$ShiftInterval = \d+\r?$`)

// SamplesScript returns the samples script set to take count samples,
// interval apart (whole seconds, at least one).
func SamplesScript(count int, interval time.Duration) string {
	b, err := scriptFiles.ReadFile("scripts/" + SamplesProbe + ".ps1")
	if err != nil {
		panic("winrm: embedded samples script missing") // the embed pattern guarantees it
	}
	secs := max(1, int(interval.Round(time.Second)/time.Second))
	line := fmt.Sprintf("$ShiftSamples = %d; $ShiftInterval = %d", max(1, count), secs)
	return samplesParams.ReplaceAllLiteralString(string(b), line)
}

// batchWindow bounds one Get-Counter run. A canceled run loses what it
// collected (its output comes at the end), so a long series goes in several
// runs; each costs one PowerShell start (about a second on a real host).
var batchWindow = 2 * time.Minute

// Sample collects count performance points, interval apart (whole seconds),
// with Get-Counter through r. The series is taken in runs of at most two
// minutes, so that a cancel loses at most the run in flight; each run is one
// script that outlives several WinRM receive timeouts, which the client
// rides out by receiving again.
//
// Each point is passed to onPoint (which may be nil). When ctx ends or a run
// fails, Sample returns the points collected so far with the error. The
// returned Samples is nil only when no point arrived. Start is the first
// point's time (the host's clock); End is the last point's time when the
// series is complete or ctx ended, and the planned end when the host failed,
// so that Coverage shows the loss.
func Sample(ctx context.Context, r Runner, count int, interval time.Duration, onPoint func(inventory.Sample)) (*inventory.Samples, error) {
	if count < 1 || interval < time.Second {
		return nil, fmt.Errorf("samples: %d points every %s: want at least 1 point and an interval of 1s or more", count, interval)
	}
	interval = interval.Round(time.Second)
	batch := max(1, int(batchWindow/interval))
	var out *inventory.Samples
	var err error
	var last time.Time
	for got := 0; got < count && err == nil; {
		n := min(batch, count-got)
		var pts []inventory.Sample
		pts, err = sampleBatch(ctx, r, n, interval)
		for _, p := range pts {
			if !p.At.After(last) {
				continue // a host clock stepped back between runs
			}
			last = p.At
			if out == nil {
				out = &inventory.Samples{Start: p.At, IntervalSeconds: interval.Seconds()}
			}
			out.Points = append(out.Points, p)
			if onPoint != nil {
				onPoint(p)
			}
		}
		got += n
	}
	if err == nil && len(pointsOf(out)) < count {
		err = fmt.Errorf("samples: Get-Counter returned %d of %d samples", len(pointsOf(out)), count)
	}
	if out != nil {
		out.End = last
		if err != nil && ctx.Err() == nil {
			out.End = out.Start.Add(time.Duration(count-1) * interval)
		}
	}
	return out, err
}

func pointsOf(s *inventory.Samples) []inventory.Sample {
	if s == nil {
		return nil
	}
	return s.Points
}

// sampleBatch runs the script once for n samples.
func sampleBatch(ctx context.Context, r Runner, n int, interval time.Duration) ([]inventory.Sample, error) {
	res, err := r.RunPowerShell(ctx, SamplesScript(n, interval))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("samples: %w", err)
	}
	stderr := psjson.DecodeStderr(res.Stderr)
	if res.ExitCode != 0 {
		e := scriptFailure(SamplesProbe, res.ExitCode, stderr)
		return nil, &remote.Error{Step: e.Step, Kind: e.Kind, Err: errors.New(e.Message), Hint: e.Hint}
	}
	pts, problems, err := parseSamples(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("samples: reading Get-Counter's output: %w", err)
	}
	if len(pts) == 0 {
		msg := "Get-Counter returned no sample"
		for _, p := range problems {
			msg += "; " + psjson.FirstLine(string(p.Message), 200)
		}
		return nil, fmt.Errorf("samples: %s (shift reads English counter names: a localized Windows names them differently)", msg)
	}
	return pts, nil
}

// samplesOutput is what samples.ps1 prints.
type samplesOutput struct {
	TotalPhysicalMemory psjson.Uint
	SampleInterval      psjson.Int
	Samples             psjson.List[counterSample]
	Problems            psjson.List[problem]
}

// counterSample is one Get-Counter sample; null is a counter the host lacks.
type counterSample struct {
	Timestamp            psjson.Time
	CpuPercent           psjson.Float
	AvailableBytes       psjson.Float
	DiskReadsPerSec      psjson.Float
	DiskWritesPerSec     psjson.Float
	DiskReadBytesPerSec  psjson.Float
	DiskWriteBytesPerSec psjson.Float
	NetInBytesPerSec     psjson.Float
	NetOutBytesPerSec    psjson.Float
}

// parseSamples reads samples.ps1's output into points. Samples without a
// timestamp are dropped; a counter that is missing or out of range is -1.
func parseSamples(stdout []byte) ([]inventory.Sample, []problem, error) {
	var out samplesOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, nil, err
	}
	var pts []inventory.Sample
	for _, s := range out.Samples {
		if s.Timestamp.IsZero() {
			continue
		}
		p := inventory.Sample{At: s.Timestamp.Time,
			CPUPercent:           rate(s.CpuPercent),
			MemoryUsedBytes:      -1,
			DiskReadIOPS:         rate(s.DiskReadsPerSec),
			DiskWriteIOPS:        rate(s.DiskWritesPerSec),
			DiskReadBytesPerSec:  rate(s.DiskReadBytesPerSec),
			DiskWriteBytesPerSec: rate(s.DiskWriteBytesPerSec),
			NetInBytesPerSec:     rate(s.NetInBytesPerSec),
			NetOutBytesPerSec:    rate(s.NetOutBytesPerSec),
		}
		if p.CPUPercent > 100 {
			// % Processor Time can overshoot a little between two readings.
			p.CPUPercent = 100
		}
		if total := float64(out.TotalPhysicalMemory.Value); out.TotalPhysicalMemory.Valid && total > 0 {
			if avail := rate(s.AvailableBytes); avail >= 0 {
				p.MemoryUsedBytes = max(0, total-avail)
			}
		}
		pts = append(pts, p)
	}
	return pts, out.Problems, nil
}

// rate is a counter's value, -1 when it is missing or not a finite,
// non-negative number.
func rate(f psjson.Float) float64 {
	if !f.Valid || f.Value < 0 || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		return -1
	}
	return f.Value
}

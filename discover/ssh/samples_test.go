package ssh

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// Two readings one second apart of a host with two disks (one a partition
// of the other, one loop device, one dm device) and two NICs.
const twoReadings = `h disks sda nvme0n1
h nics eth0
r 0
u 1000.00 3000.00
c cpu  1000 0 500 8000 100 0 0 0 0 0
m MemTotal: 8000000
m MemFree: 1000000
m MemAvailable: 6000000
d 8 0 sda 100 0 2000 0 50 0 1000 0 0 0 0 0 0 0 0 0 0
d 8 1 sda1 100 0 2000 0 50 0 1000 0 0 0 0 0 0 0 0 0 0
d 259 0 nvme0n1 10 0 80 0 10 0 80 0 0 0 0 0 0 0 0 0 0
d 7 0 loop0 5 0 10 0 5 0 10 0 0 0 0 0 0 0 0 0 0
d 253 0 dm-0 90 0 1800 0 40 0 900 0 0 0 0 0 0 0 0 0 0
n Inter-|   Receive                                                |  Transmit
n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
n lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0
n eth0: 10000 10 0 0 0 0 0 0 20000 20 0 0 0 0 0 0
n docker0: 700 1 0 0 0 0 0 0 700 1 0 0 0 0 0 0
e
r 1
u 1002.00 3003.00
c cpu  1100 0 600 8150 50 0 0 0 0 0
m MemTotal: 8000000
m MemFree: 900000
m MemAvailable: 5000000
d 8 0 sda 300 0 6000 0 150 0 5000 0 0 0 0 0 0 0 0 0 0
d 8 1 sda1 300 0 6000 0 150 0 5000 0 0 0 0 0 0 0 0 0 0
d 259 0 nvme0n1 30 0 80 0 10 0 2080 0 0 0 0 0 0 0 0 0 0
d 7 0 loop0 500 0 1000 0 500 0 1000 0 0 0 0 0 0 0 0 0 0
d 253 0 dm-0 290 0 5800 0 140 0 4900 0 0 0 0 0 0 0 0 0 0
n lo: 9000000 10 0 0 0 0 0 0 9000000 10 0 0 0 0 0 0
n eth0: 30000 30 0 0 0 0 0 0 60000 60 0 0 0 0 0 0
n docker0: 90000 1 0 0 0 0 0 0 90000 1 0 0 0 0 0 0
e
`

func feedAll(t *testing.T, p *sampleParser, text string, at time.Time) []inventory.Sample {
	t.Helper()
	var pts []inventory.Sample
	for _, l := range strings.Split(text, "\n") {
		pt, ok, err := p.feed(l, at)
		if err != nil {
			t.Errorf("feed(%q): %v", l, err)
		}
		if ok {
			pts = append(pts, pt)
		}
	}
	return pts
}

func TestSampleParserRates(t *testing.T) {
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	pts := feedAll(t, newSampleParser(), twoReadings, base)
	if len(pts) != 1 {
		t.Fatalf("got %d points, want 1 from two readings", len(pts))
	}
	p := pts[0]
	// CPU: busy 1000+500 -> 1100+600 (+200), idle 8100 -> 8200 (+100): 200/300.
	want := inventory.Sample{
		At:              base.Add(2 * time.Second), // uptime 1000 -> 1002
		CPUPercent:      200.0 / 300 * 100,
		MemoryUsedBytes: 3000000 * 1024,
		// sda and nvme0n1 only: +200+20 reads, +100+0 writes over 2 s.
		DiskReadIOPS:         110,
		DiskWriteIOPS:        50,
		DiskReadBytesPerSec:  4000 * 512 / 2,
		DiskWriteBytesPerSec: (4000 + 2000) * 512 / 2,
		// eth0 only (the hardware NIC): lo and docker0 do not count.
		NetInBytesPerSec:  10000,
		NetOutBytesPerSec: 20000,
	}
	if math.Abs(p.CPUPercent-want.CPUPercent) > 1e-9 {
		t.Errorf("CPU = %v, want %v", p.CPUPercent, want.CPUPercent)
	}
	p.CPUPercent = want.CPUPercent
	if p != want {
		t.Errorf("point =\n%+v\nwant\n%+v", p, want)
	}
}

func TestSampleParserFallbacks(t *testing.T) {
	// No sysfs lines: disks by name (partitions and virtual devices skipped),
	// NICs all but lo. No MemAvailable: the pre-3.14 estimate.
	text := strings.NewReplacer("h disks sda nvme0n1\n", "", "h nics eth0\n", "", "m MemAvailable: 6000000\n", "", "m MemAvailable: 5000000\n", "").Replace(twoReadings)
	pts := feedAll(t, newSampleParser(), text, time.Now())
	if len(pts) != 1 {
		t.Fatalf("got %d points", len(pts))
	}
	p := pts[0]
	if p.DiskReadIOPS != 110 || p.DiskWriteIOPS != 50 {
		t.Errorf("disk IOPS %v/%v, want 110/50 (sda and nvme0n1 only)", p.DiskReadIOPS, p.DiskWriteIOPS)
	}
	if p.NetInBytesPerSec != (20000+89300)/2 {
		t.Errorf("net in = %v, want eth0+docker0", p.NetInBytesPerSec)
	}
	if p.MemoryUsedBytes != (8000000-900000)*1024 {
		t.Errorf("memory used = %v, want total minus free (no buffers or cache given)", p.MemoryUsedBytes)
	}
}

func TestIsPartitionName(t *testing.T) {
	for name, want := range map[string]bool{"sda": false, "sda1": true, "vdb12": true, "xvda": false, "nvme0n1": false,
		"nvme0n1p1": true, "mmcblk0": false, "mmcblk0p2": true, "nvme10n2p3": true} {
		if got := isPartitionName(name); got != want {
			t.Errorf("isPartitionName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSampleParserBadLines(t *testing.T) {
	p := newSampleParser()
	bad := []string{"u x", "c cpux 1 2", "m MemTotal:", "d 8 0 sda 1 2", "n eth0: 1 2", "z what"}
	feedAll(t, p, "r 0", time.Now())
	for _, l := range bad {
		if _, _, err := p.feed(l, time.Now()); err == nil {
			t.Errorf("feed(%q): no error", l)
		}
	}
	// Counters going backwards (a reset) give no negative rate.
	text := strings.Replace(twoReadings, "d 8 0 sda 300 0 6000 0 150 0 5000", "d 8 0 sda 1 0 1 0 1 0 1", 1)
	pts := feedAll(t, newSampleParser(), text, time.Now())
	if len(pts) != 1 || pts[0].DiskReadIOPS < 0 || pts[0].DiskReadIOPS != 10 {
		t.Errorf("after a counter reset: %+v, want nvme0n1's 10 IOPS only", pts)
	}
}

func FuzzSampleParser(f *testing.F) {
	f.Add(twoReadings)
	f.Add(strings.Repeat("r 0\nu 5 5\nc cpu 1 1 1 1 1\ne\n", 3))
	f.Fuzz(func(t *testing.T, text string) {
		p := newSampleParser()
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var last time.Time
		for _, l := range strings.Split(text, "\n") {
			at = at.Add(time.Second)
			pt, ok, _ := p.feed(l, at)
			if !ok {
				continue
			}
			if !pt.At.After(last) {
				t.Fatalf("time went backwards: %v after %v", pt.At, last)
			}
			last = pt.At
			for _, v := range []float64{pt.CPUPercent, pt.MemoryUsedBytes, pt.DiskReadIOPS, pt.DiskWriteIOPS,
				pt.DiskReadBytesPerSec, pt.DiskWriteBytesPerSec, pt.NetInBytesPerSec, pt.NetOutBytesPerSec} {
				if math.IsNaN(v) || math.IsInf(v, 0) || (v < 0 && v != -1) {
					t.Fatalf("bad value %v in %+v", v, pt)
				}
			}
			if pt.CPUPercent > 100 {
				t.Fatalf("CPU %v > 100", pt.CPUPercent)
			}
		}
	})
}

// TestSampleOverSSH runs the sampling loop over a real sshd on this machine
// while the test loads the CPU and writes to disk, and checks that the
// series is plausible and shows the load.
func TestSampleOverSSH(t *testing.T) {
	c, _ := dialLocal(t)

	// Load: a busy loop on one CPU and 64 MiB written with fsync, while sampling runs.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	busy := exec.CommandContext(loadCtx, "sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer busy.Wait()
	ddDone := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		out, err := exec.CommandContext(loadCtx, "dd", "if=/dev/urandom", "of="+filepath.Join(t.TempDir(), "load"), "bs=1M", "count=64", "conv=fsync").CombinedOutput()
		if err != nil {
			err = errors.New(string(out))
		}
		ddDone <- err
	}()

	var seen int
	start := time.Now()
	got, err := Sample(ctx, c, 3, time.Second, func(inventory.Sample) { seen++ })
	took := time.Since(start)
	stopLoad()
	if err := <-ddDone; err != nil {
		t.Fatalf("dd: %v", err)
	}
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	if len(got.Points) != 3 || seen != 3 {
		t.Fatalf("got %d points (%d reported), want 3", len(got.Points), seen)
	}
	if took < 2500*time.Millisecond || took > 10*time.Second {
		t.Errorf("3 points at 1 s took %s, want about 3 s (a baseline reading, then one per second)", took)
	}
	if got.IntervalSeconds != 1 || !got.End.After(got.Start) || got.Expected() != 3 || got.Coverage() != 1 {
		t.Errorf("window %v..%v interval %v: expected %d, coverage %v; want 3 and 1", got.Start, got.End, got.IntervalSeconds, got.Expected(), got.Coverage())
	}
	total := float64(memTotalBytes(t))
	var maxCPU, written float64
	for i, p := range got.Points {
		t.Logf("point %d: %+v", i, p)
		if i > 0 && !p.At.After(got.Points[i-1].At) {
			t.Errorf("point %d at %v is not after %v", i, p.At, got.Points[i-1].At)
		}
		if d := p.At.Sub(start); d < 0 || d > 15*time.Second {
			t.Errorf("point %d at %v: %s from the start of sampling", i, p.At, d)
		}
		if p.CPUPercent < 0 || p.CPUPercent > 100 {
			t.Errorf("point %d: CPU %v%%", i, p.CPUPercent)
		}
		if p.MemoryUsedBytes <= 0 || p.MemoryUsedBytes >= total {
			t.Errorf("point %d: memory used %v, total %v", i, p.MemoryUsedBytes, total)
		}
		for _, v := range []float64{p.DiskReadIOPS, p.DiskWriteIOPS, p.DiskReadBytesPerSec, p.DiskWriteBytesPerSec, p.NetInBytesPerSec, p.NetOutBytesPerSec} {
			if v < 0 {
				t.Errorf("point %d: a rate is missing: %+v", i, p)
			}
		}
		maxCPU = max(maxCPU, p.CPUPercent)
		written += p.DiskWriteBytesPerSec
	}
	// One of n CPUs busy is 100/n percent; allow for scheduling.
	if want := 100 / float64(cpuCount(t)) * 0.6; maxCPU < want {
		t.Errorf("highest CPU %.1f%%: the busy loop should show as at least %.1f%%", maxCPU, want)
	}
	if written < 32<<20 {
		t.Errorf("disk writes add up to %.0f bytes/s over the points: the 64 MiB written with fsync should show", written)
	}
}

// TestSampleCanceled stops a long series early and keeps what arrived.
func TestSampleCanceled(t *testing.T) {
	c, port := dialLocal(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	n := 0
	got, err := Sample(ctx, c, 600, time.Second, func(inventory.Sample) {
		if n++; n == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancel took %s to stop a 10-minute series", time.Since(start))
	}
	if got == nil || len(got.Points) < 1 || got.Coverage() != 1 {
		t.Fatalf("kept %+v, want the points before the cancel, a window ending at the last one", got)
	}
	// The loop is gone from the host within seconds (the kill runs in the
	// background): no sh of this sshd's sessions still reads /proc for us.
	// Other tests may sample through their own sshd at the same time.
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		left = left[:0]
		out, _ := exec.Command("pgrep", "-f", "r %s").CombinedOutput()
		for _, pid := range strings.Fields(string(out)) {
			env, _ := os.ReadFile("/proc/" + pid + "/environ")
			if strings.Contains(string(env), fmt.Sprintf(" 127.0.0.1 %d\x00", port)) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
	}
	t.Errorf("the sampling loop (pids %v) still runs 10 s after cancel", left)
}

// dialLocal connects to this machine through a real sshd on loopback, and
// returns the sshd's port.
func dialLocal(t *testing.T) (*remote.SSHClient, int) {
	t.Helper()
	if _, err := os.Stat("/proc/diskstats"); err != nil {
		t.Skip("not a Linux machine")
	}
	s := sshd.StartT(t, sshd.Options{})
	c, err := remote.DialSSH(t.Context(), remote.SSHConfig{Host: "local", Address: "127.0.0.1", Port: s.Port, User: s.User,
		PrivateKey: remote.NewSecret(string(s.ClientKey)), KnownHosts: s.KnownHostsFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, s.Port
}

func memTotalBytes(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	p := newSampleParser()
	p.cur = &reading{mem: m}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			p.feed("m "+f[0]+" "+f[1], time.Now())
		}
	}
	return m["MemTotal"] * 1024
}

func cpuCount(t *testing.T) int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range strings.TrimSpace(string(out)) {
		n = n*10 + int(c-'0')
	}
	return max(1, n)
}

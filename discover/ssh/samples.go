package ssh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// Streamer starts a long-running command whose output is read while it runs.
// *remote.SSHClient satisfies it.
type Streamer interface {
	StartStream(ctx context.Context, cmd string) (stdin io.WriteCloser, stdout io.Reader, wait func() error, err error)
}

var _ Streamer = (*remote.SSHClient)(nil)

// Sample collects count performance points, interval apart, with one
// long-running sh loop on the host that reads /proc (no root needed). Rates
// come from the differences between two readings, so the loop reads the
// counters count+1 times and takes count×interval in all.
//
// Points arrive as the loop prints them; each is passed to onPoint (which
// may be nil) and kept. When ctx ends or the host stops answering, Sample
// returns the points collected so far with the error: the caller decides
// whether a short series is worth keeping. The returned Samples is nil only
// when no point arrived. Start is the first point's time; End is the last
// point's time when the series is complete or ctx ended, and the planned end
// when the host failed, so that Coverage shows the loss.
func Sample(ctx context.Context, s Streamer, count int, interval time.Duration, onPoint func(inventory.Sample)) (*inventory.Samples, error) {
	if count < 1 || interval < time.Second {
		return nil, fmt.Errorf("samples: %d points every %s: want at least 1 point and an interval of 1s or more", count, interval)
	}
	stdin, stdout, wait, err := s.StartStream(ctx, samplerScript(count, interval))
	if err != nil {
		return nil, fmt.Errorf("samples: start the sampling loop: %w", err)
	}
	stdin.Close()
	p := newSampleParser()
	var out *inventory.Samples
	var parseErr error
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pt, ok, perr := p.feed(sc.Text(), time.Now())
		if perr != nil && parseErr == nil {
			parseErr = perr
		}
		if !ok {
			continue
		}
		if out == nil {
			out = &inventory.Samples{Start: pt.At, IntervalSeconds: interval.Seconds()}
		}
		out.Points = append(out.Points, pt)
		if onPoint != nil {
			onPoint(pt)
		}
	}
	werr := wait()
	switch {
	case ctx.Err() != nil:
		err = werr
		if err == nil {
			err = ctx.Err()
		}
	case werr != nil:
		err = fmt.Errorf("samples: %w", werr)
	case sc.Err() != nil:
		err = fmt.Errorf("samples: reading the sampling loop: %w", sc.Err())
	case pointCount(out) < count:
		err = fmt.Errorf("samples: the sampling loop ended after %d of %d points", pointCount(out), count)
		if parseErr != nil {
			err = fmt.Errorf("%w (first unreadable line: %v)", err, parseErr)
		}
	}
	if out != nil {
		out.End = out.Points[len(out.Points)-1].At
		if err != nil && ctx.Err() == nil {
			out.End = out.Start.Add(time.Duration(count-1) * interval)
		}
	}
	return out, err
}

func pointCount(s *inventory.Samples) int {
	if s == nil {
		return 0
	}
	return len(s.Points)
}

// samplerScript is the sh loop Sample runs. It prints, once, the whole
// physical disks ("h disks") and NICs ("h nics") that sysfs knows (a device
// link means hardware, not loop, dm-, md, zram or a bridge), then per reading
// a record: "r N", the uptime, the first line of /proc/stat, the memory lines
// of /proc/meminfo, every line of /proc/diskstats and /proc/net/dev, and "e".
// Only builtins run per reading except sleep: a loaded host pays nothing.
func samplerScript(count int, interval time.Duration) string {
	script := `LC_ALL=C; export LC_ALL
printf 'h disks'; for d in /sys/block/*; do [ -e "$d/device" ] && printf ' %s' "${d##*/}"; done; printf '\n'
printf 'h nics'; for d in /sys/class/net/*; do [ -e "$d/device" ] && printf ' %s' "${d##*/}"; done; printf '\n'
n=` + strconv.Itoa(count) + `; i=0
while :; do
  printf 'r %s\n' "$i"
  read -r l < /proc/uptime; printf 'u %s\n' "$l"
  read -r l < /proc/stat; printf 'c %s\n' "$l"
  while read -r k v u; do case $k in MemTotal:|MemAvailable:|MemFree:|Buffers:|Cached:|SReclaimable:) printf 'm %s %s\n' "$k" "$v";; esac; done < /proc/meminfo
  while read -r l; do printf 'd %s\n' "$l"; done < /proc/diskstats
  while read -r l; do printf 'n %s\n' "$l"; done < /proc/net/dev
  printf 'e\n'
  [ "$i" -ge "$n" ] && break
  i=$((i+1))
  sleep ` + strconv.FormatFloat(interval.Seconds(), 'f', -1, 64) + `
done`
	return "sh -c " + remote.ShellQuote(script)
}

// reading is one record of the sampling loop: raw counters.
type reading struct {
	uptime   float64 // seconds since boot; 0 when unknown
	cpuBusy  uint64  // jiffies, all CPUs
	cpuTotal uint64
	cpuOK    bool
	mem      map[string]uint64 // meminfo key (without colon) -> kB
	disks    map[string]counters
	nics     map[string]counters // rx, tx bytes
}

// counters are the cumulative counters of one disk or NIC.
type counters [4]uint64

// Indices into reading.disks values.
const (
	dReads = iota
	dSectorsRead
	dWrites
	dSectorsWritten
)

// sampleParser turns the loop's lines into points. It is pure: time comes
// from the caller, and nothing but the lines decides the result.
type sampleParser struct {
	disks, nics map[string]bool // from the "h" lines; nil: not told
	cur         *reading
	prev        *reading
	// base anchors the host's uptime to the appliance's clock: a point's
	// time is base plus the uptime elapsed since the first reading.
	base       time.Time
	baseUptime float64
	lastAt     time.Time
}

func newSampleParser() *sampleParser { return &sampleParser{} }

// feed reads one line. ok is true when the line completed a point; err
// describes a line that could not be understood (the line is then skipped:
// one bad line costs at most one point).
func (p *sampleParser) feed(line string, arrived time.Time) (pt inventory.Sample, ok bool, err error) {
	tag, rest, _ := strings.Cut(line, " ")
	switch tag {
	case "h":
		kind, names, _ := strings.Cut(rest, " ")
		set := map[string]bool{}
		for _, n := range strings.Fields(names) {
			set[n] = true
		}
		switch kind {
		case "disks":
			p.disks = set
		case "nics":
			p.nics = set
		}
	case "r":
		p.cur = &reading{mem: map[string]uint64{}, disks: map[string]counters{}, nics: map[string]counters{}}
	case "u":
		if p.cur == nil {
			return pt, false, nil
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return pt, false, fmt.Errorf("uptime line %q", line)
		}
		v, perr := strconv.ParseFloat(f[0], 64)
		if perr != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return pt, false, fmt.Errorf("uptime line %q", line)
		}
		p.cur.uptime = v
	case "c":
		if p.cur == nil {
			return pt, false, nil
		}
		busy, total, perr := parseCPULine(rest)
		if perr != nil {
			return pt, false, perr
		}
		p.cur.cpuBusy, p.cur.cpuTotal, p.cur.cpuOK = busy, total, true
	case "m":
		if p.cur == nil {
			return pt, false, nil
		}
		f := strings.Fields(rest)
		if len(f) != 2 {
			return pt, false, fmt.Errorf("meminfo line %q", line)
		}
		v, perr := strconv.ParseUint(f[1], 10, 64)
		if perr != nil {
			return pt, false, fmt.Errorf("meminfo line %q", line)
		}
		p.cur.mem[strings.TrimSuffix(f[0], ":")] = v
	case "d":
		if p.cur == nil {
			return pt, false, nil
		}
		name, v, perr := parseDiskstatsLine(rest)
		if perr != nil {
			return pt, false, perr
		}
		p.cur.disks[name] = v
	case "n":
		if p.cur == nil {
			return pt, false, nil
		}
		name, v, isDev, perr := parseNetDevLine(rest)
		if perr != nil {
			return pt, false, perr
		}
		if isDev {
			p.cur.nics[name] = v
		}
	case "e":
		if p.cur == nil {
			return pt, false, nil
		}
		cur := p.cur
		p.cur = nil
		if p.prev == nil {
			p.prev = cur
			p.base, p.baseUptime = arrived, cur.uptime
			return pt, false, nil
		}
		pt, ok = p.point(p.prev, cur, arrived)
		p.prev = cur
		return pt, ok, nil
	case "":
	default:
		return pt, false, fmt.Errorf("unexpected line %q", shorten(line))
	}
	return pt, false, nil
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// point computes the rates between two readings. A field that cannot be
// computed is -1, as inventory.Sample documents.
func (p *sampleParser) point(a, b *reading, arrived time.Time) (inventory.Sample, bool) {
	dt := b.uptime - a.uptime
	at := arrived
	if b.uptime > 0 && p.baseUptime > 0 && b.uptime >= p.baseUptime {
		at = p.base.Add(time.Duration((b.uptime - p.baseUptime) * float64(time.Second)))
	}
	if !at.After(p.lastAt) {
		// Time never runs backwards in a series, whatever the host says.
		at = p.lastAt.Add(time.Millisecond)
	}
	p.lastAt = at
	s := inventory.Sample{At: at, CPUPercent: -1, MemoryUsedBytes: -1,
		DiskReadIOPS: -1, DiskWriteIOPS: -1, DiskReadBytesPerSec: -1, DiskWriteBytesPerSec: -1,
		NetInBytesPerSec: -1, NetOutBytesPerSec: -1}
	if a.cpuOK && b.cpuOK && b.cpuTotal > a.cpuTotal && b.cpuBusy >= a.cpuBusy {
		s.CPUPercent = min(100, 100*float64(b.cpuBusy-a.cpuBusy)/float64(b.cpuTotal-a.cpuTotal))
	}
	s.MemoryUsedBytes = memoryUsed(b.mem)
	if dt > 0 {
		if d, ok := sumDeltas(a.disks, b.disks, p.physicalDisk); ok {
			s.DiskReadIOPS = float64(d[dReads]) / dt
			s.DiskWriteIOPS = float64(d[dWrites]) / dt
			s.DiskReadBytesPerSec = float64(d[dSectorsRead]) * 512 / dt
			s.DiskWriteBytesPerSec = float64(d[dSectorsWritten]) * 512 / dt
		}
		if n, ok := sumDeltas(a.nics, b.nics, p.countedNIC(b)); ok {
			s.NetInBytesPerSec = float64(n[0]) / dt
			s.NetOutBytesPerSec = float64(n[1]) / dt
		}
	}
	return s, true
}

// memoryUsed is total minus what the kernel could hand out without
// swapping (MemAvailable, or its pre-3.14 estimate); -1 when unknown.
func memoryUsed(m map[string]uint64) float64 {
	total, ok := m["MemTotal"]
	if !ok || total == 0 {
		return -1
	}
	avail, ok := m["MemAvailable"]
	if !ok {
		avail = m["MemFree"] + m["Buffers"] + m["Cached"] + m["SReclaimable"]
	}
	if avail > total {
		return 0
	}
	return float64(total-avail) * 1024
}

// sumDeltas adds b-a over the names both readings hold that keep says to
// count. A counter that went backwards (wrapped, or a device replaced)
// counts nothing. ok is false when no name was counted.
func sumDeltas(a, b map[string]counters, keep func(string) bool) (sum counters, ok bool) {
	for name, bv := range b {
		av, seen := a[name]
		if !seen || !keep(name) {
			continue
		}
		ok = true
		for i := range bv {
			if bv[i] >= av[i] {
				sum[i] += bv[i] - av[i]
			}
		}
	}
	return sum, ok
}

// physicalDisk says whether a diskstats name is a whole physical disk: one
// that sysfs lists with a device link, or, when the host did not say, a name
// that is neither virtual nor a partition.
func (p *sampleParser) physicalDisk(name string) bool {
	if len(p.disks) > 0 {
		return p.disks[name]
	}
	for _, v := range []string{"loop", "ram", "dm-", "md", "zram", "sr", "fd", "nbd"} {
		if strings.HasPrefix(name, v) {
			return false
		}
	}
	return !isPartitionName(name)
}

// isPartitionName tells partitions by their names: sda1, vdb2, xvda1,
// nvme0n1p1, mmcblk0p1.
func isPartitionName(name string) bool {
	if strings.HasPrefix(name, "nvme") || strings.HasPrefix(name, "mmcblk") {
		i := strings.LastIndexByte(name, 'p')
		return i > 0 && i < len(name)-1 && allDigits(name[i+1:]) && (name[i-1] >= '0' && name[i-1] <= '9')
	}
	return len(name) > 0 && name[len(name)-1] >= '0' && name[len(name)-1] <= '9'
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// countedNIC returns which interfaces count: the hardware NICs sysfs listed
// when there are any in the reading, otherwise every interface but lo
// (containers and some VMs have no device links).
func (p *sampleParser) countedNIC(b *reading) func(string) bool {
	for n := range b.nics {
		if p.nics[n] {
			return func(name string) bool { return p.nics[name] }
		}
	}
	return func(name string) bool { return name != "lo" }
}

// parseCPULine reads the aggregate line of /proc/stat: busy and total
// jiffies. Idle and iowait are not busy; guest time is already in user.
func parseCPULine(line string) (busy, total uint64, err error) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: first line %q is not the cpu total", shorten(line))
	}
	var v [8]uint64
	for i := 1; i < len(f) && i <= 8; i++ {
		if v[i-1], err = strconv.ParseUint(f[i], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: cpu line %q: %w", shorten(line), err)
		}
	}
	for _, x := range v {
		if total+x < total {
			return 0, 0, errors.New("/proc/stat: cpu counters overflow")
		}
		total += x
	}
	idle := v[3] + v[4]
	if idle > total {
		return 0, 0, errors.New("/proc/stat: idle exceeds total")
	}
	return total - idle, total, nil
}

// parseDiskstatsLine reads one /proc/diskstats line: name, then reads
// completed, sectors read, writes completed, sectors written.
func parseDiskstatsLine(line string) (string, counters, error) {
	var v counters
	f := strings.Fields(line)
	if len(f) < 14 {
		return "", v, fmt.Errorf("/proc/diskstats: line %q has %d fields, want 14 or more", shorten(line), len(f))
	}
	for i, col := range []int{3, 5, 7, 9} {
		n, err := strconv.ParseUint(f[col], 10, 64)
		if err != nil {
			return "", v, fmt.Errorf("/proc/diskstats: line %q: %w", shorten(line), err)
		}
		v[i] = n
	}
	return f[2], v, nil
}

// parseNetDevLine reads one /proc/net/dev line. isDev is false for the two
// header lines.
func parseNetDevLine(line string) (name string, v counters, isDev bool, err error) {
	name, rest, ok := strings.Cut(line, ":")
	if !ok || strings.Contains(name, "|") {
		if strings.Contains(line, "|") {
			return "", v, false, nil // header
		}
		return "", v, false, fmt.Errorf("/proc/net/dev: line %q", shorten(line))
	}
	f := strings.Fields(rest)
	if len(f) < 16 {
		return "", v, false, fmt.Errorf("/proc/net/dev: line %q has %d counters, want 16", shorten(line), len(f))
	}
	rx, err1 := strconv.ParseUint(f[0], 10, 64)
	tx, err2 := strconv.ParseUint(f[8], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return "", v, false, fmt.Errorf("/proc/net/dev: line %q: %w", shorten(line), err)
	}
	return strings.TrimSpace(name), counters{rx, tx}, true, nil
}

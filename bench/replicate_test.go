package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/fixtures/vmimage"
	"github.com/shift-migrate/shift/remote"
)

// The replication benchmark's disk: 4 GiB, an MBR table, one ext4 partition
// from 1 MiB holding the Debian root filesystem of fixtures/vmimage plus
// real files copied from this machine's /usr/lib, about 1 GiB in all; every
// other byte is a written zero (the image file is fully allocated, not
// sparse), as a block device reads.
const (
	diskSize   = 4 << 30
	bigSize    = 64 << 30
	partOffset = 1 << 20
	fsBlock    = 4096
	dataTarget = 1 << 30
	// changeBytes is 1% of the disk, rewritten in place in changeRuns runs
	// inside large files before each delta pass.
	changeBytes = diskSize / 100
	changeRuns  = 4
)

// setupEnv is what every iteration shares.
type setupEnv struct {
	shift   string // the shift binary (appliance and agent)
	srv     *sshd.Server
	hosts   string // hosts file naming the sshd as host "local"
	src     string // the 4 GiB image
	big     string // the 64 GiB sparse image with the same data
	nonZero int64  // bytes of src in 4 KiB blocks that are not all zero
	// files are the large files of the filesystem, for the delta's change.
	files []fileBlocks
	rng   *rand.Rand
}

type fileBlocks struct {
	path   string
	blocks []int64 // physical block numbers of the file's data, in file order
}

// bigOnce is set once the 64 GiB case has run.
var bigOnce atomic.Bool

var setup struct {
	once sync.Once
	env  *setupEnv
	err  error
	skip string // a missing real component
}

func closeSetup() {
	if setup.env != nil && setup.env.srv != nil {
		setup.env.srv.Close()
	}
}

func need(b *testing.B) *setupEnv {
	b.Helper()
	setup.once.Do(func() { setup.env, setup.skip, setup.err = build(b) })
	if setup.skip != "" {
		sshd.Missing(b, setup.skip)
	}
	if setup.err != nil {
		b.Fatal(setup.err)
	}
	return setup.env
}

// build makes the images, the binary and the sshd; skip names a missing
// component.
func build(b testing.TB) (_ *setupEnv, skip string, _ error) {
	ctx := context.Background()
	for _, tool := range []string{"qemu-img", "rsync", "ssh", "debugfs", "mkfs.ext4", "sfdisk"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, tool + " not found (make deps installs it)", nil
		}
	}
	start := time.Now()
	e := &setupEnv{rng: rand.New(rand.NewPCG(1, 2))}
	e.shift = filepath.Join(workDir, "shift")
	// Built as make build builds it (no symbol tables, no DWARF): shift
	// uploads its own binary as the agent, so its size is part of a copy.
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", e.shift, "github.com/shift-migrate/shift/cmd/shift").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("build shift: %v: %s", err, out)
	}
	im, err := vmimage.Build(ctx, vmimage.Options{})
	if errors.Is(err, vmimage.ErrMissingTool) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	srv, err := sshd.Start(ctx, sshd.Options{Dir: filepath.Join(workDir, "sshd")})
	if errors.Is(err, sshd.ErrNoSSHD) {
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	e.srv = srv
	e.hosts = filepath.Join(workDir, "hosts.yaml")
	host, port := "127.0.0.1", srv.Port
	if err := remote.WriteHosts(e.hosts, remote.Settings{}, nil, []remote.HostEntry{{Name: "local", Address: host,
		Settings: remote.Settings{Transport: "ssh", Port: port, User: srv.User, Timeout: "2m",
			Key: remote.SecretRef("file:" + srv.ClientKeyFile), SSH: &remote.SSHSettings{KnownHosts: srv.KnownHostsFile}}}}); err != nil {
		return nil, "", err
	}

	// The root filesystem of the Debian image, then real files up to 1 GiB.
	root := filepath.Join(workDir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, "", err
	}
	if err := run("debugfs", "-R", "rdump / "+root, fmt.Sprintf("%s?offset=%d", im.Path, partOffset)); err != nil {
		return nil, "", err
	}
	used, err := treeSize(root)
	if err != nil {
		return nil, "", err
	}
	if err := copyRealFiles(filepath.Join(root, "srv", "data"), "/usr/lib", dataTarget-used); err != nil {
		return nil, "", err
	}

	e.src = filepath.Join(workDir, "disk.img")
	if err := writeZeros(e.src, diskSize); err != nil {
		return nil, "", err
	}
	sf := exec.Command("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", e.src)
	sf.Stdin = strings.NewReader("start=2048, type=83, bootable\n")
	if out, err := sf.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("sfdisk: %v: %s", err, out)
	}
	if err := run("mkfs.ext4", "-q", "-F", "-L", "root", "-E", fmt.Sprintf("offset=%d,nodiscard", partOffset),
		"-d", root, e.src, fmt.Sprintf("%dk", (diskSize-partOffset)/1024)); err != nil {
		return nil, "", err
	}
	if err := os.RemoveAll(root); err != nil {
		return nil, "", err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(e.src, &st); err != nil {
		return nil, "", err
	}
	if st.Size != diskSize || st.Blocks*512 < diskSize {
		return nil, "", fmt.Errorf("%s: %d bytes, %d allocated: want %d, not sparse", e.src, st.Size, st.Blocks*512, diskSize)
	}
	if e.nonZero, err = nonZeroBytes(e.src); err != nil {
		return nil, "", err
	}
	if e.files, err = largeFiles(e.src); err != nil {
		return nil, "", err
	}

	// The 64 GiB disk: the same bytes, then 60 GiB of holes.
	e.big = filepath.Join(workDir, "big.img")
	if err := run("cp", "--sparse=always", e.src, e.big); err != nil {
		return nil, "", err
	}
	if err := os.Truncate(e.big, bigSize); err != nil {
		return nil, "", err
	}
	b.Logf("setup: %d MiB of non-zero data on the 4 GiB disk, %d large files, in %s", e.nonZero>>20, len(e.files), time.Since(start).Round(time.Second))
	return e, "", nil
}

// BenchmarkReplicateDisk measures "shift replicate" (the CLI, as a separate
// process, with its agent deployed over a real OpenSSH sshd on loopback) on
// a 4 GiB non-sparse disk holding about 1 GiB of a Debian root filesystem
// and real files, against the baselines of the disk engine's issue, all in
// one iteration so that each ratio compares times of the same moment:
//
//   - baseline-full-s: "ssh host cat DISK > disk.raw" with OpenSSH's client
//     through the same sshd, then "qemu-img convert -O vpc -o
//     subformat=fixed,force_size=on disk.raw out.vhd";
//   - full-s and full-x-faster: "shift replicate --format vhd" into a new
//     directory (the command's wall time: login, agent upload, the pass with
//     its read-back check, cleanup; full-pass-s is the pass alone), and the
//     baseline's time over it (target ≥5, aim 8);
//     wire-per-nonzero: bytes on the wire over the disk's non-zero bytes
//     (target ≤0.6);
//   - then 1% of the disk (41 MiB) is rewritten in place, in four runs inside
//     four large files of the filesystem;
//   - rsync-delta-s: "rsync --inplace --no-whole-file" of the disk over the
//     same sshd into the baseline's disk.raw, which held the disk before the
//     change;
//   - delta-s, delta-x-of-rsync (target ≤0.5), delta-moved-% (chunk bytes
//     sent over the disk's size, target ≤1.5) and delta-wire-%;
//   - the VHD is checked with "qemu-img compare" against the disk, and its
//     footer must be the one the full copy wrote;
//   - appliance-/agent-peak-RSS-MiB: the replicate process's peak (rusage)
//     and the agent's VmHWM, the largest of the two passes (target ≤256);
//   - CPU seconds, which the other work on a shared machine disturbs less
//     than wall time: baseline-full-cpu-s (the ssh client, sshd with cat,
//     qemu-img), split into baseline-cpu-{ssh,sshd,qemu-img}-s, and
//     full-cpu-s (the appliance, the agent, sshd with the agent's shell),
//     split into full-cpu-{appliance,agent,sshd}-s; full-x-less-cpu is the
//     first over the second. The splits show each side's critical path:
//     the baseline's ssh and sshd (with cat) are single-threaded and run
//     side by side, then qemu-img; shift's appliance and agent spread
//     their work over the CPUs, and only its sshd is one thread.
//
// The sub-benchmark 64GiB-sparse copies a 64 GiB disk with the same data
// (and 60 GiB of holes) to report the peak RSS of both sides there too, in
// the first run of the process only (-count runs it once).
func BenchmarkReplicateDisk(b *testing.B) {
	e := need(b)
	b.Run("4GiB", func(b *testing.B) {
		var m metrics
		for b.Loop() {
			replicateRound(b, e, &m)
		}
		m.report(b)
	})
	b.Run("64GiB-sparse", func(b *testing.B) {
		// Memory, not time, is what this case shows: once per process.
		if !bigOnce.CompareAndSwap(false, true) {
			b.Skip("measured in the first run of this process")
		}
		var m metrics
		for b.Loop() {
			out := filepath.Join(workDir, "out64")
			os.RemoveAll(out)
			r, rss, agentRSS := replicate(b, e, e.big, out, "raw")
			if r.Size != bigSize || r.Sent == 0 {
				b.Fatalf("64 GiB pass: %+v", r)
			}
			m.add("full-s", r.Wall)
			m.max("appliance-peak-RSS-MiB", rss)
			m.max("agent-peak-RSS-MiB", agentRSS)
			os.RemoveAll(out)
		}
		m.report(b)
	})
}

// replicateRound is one iteration of the 4 GiB case.
func replicateRound(b *testing.B, e *setupEnv, m *metrics) {
	ctx := context.Background()
	raw, vhd := filepath.Join(workDir, "disk.raw"), filepath.Join(workDir, "base.vhd")
	sshArgs := e.sshArgs()

	// Baseline: ssh cat, then qemu-img convert.
	sshd0 := e.sshdCPU()
	baseFull, cat, conv := runBaseline(b, e, raw, vhd)
	baseSSH, baseConv, baseSSHD := cpuSeconds(cat), cpuSeconds(conv), e.sshdCPU()-sshd0
	baseCPU := baseSSH + baseConv + baseSSHD
	os.Remove(vhd)
	settle()

	// shift: full copy into a fixed VHD.
	out := filepath.Join(workDir, "out")
	os.RemoveAll(out)
	sshd0 = e.sshdCPU()
	full, rss1, agent1 := replicate(b, e, e.src, out, "vhd")
	fullSSHD := e.sshdCPU() - sshd0 - full.agentCPU
	if full.Pass != 1 {
		b.Fatalf("full copy: pass %d", full.Pass)
	}
	footer := readTail(b, full.Image, 512)

	// 1% of the disk changes in place; the disk is put back at the end of
	// the round, so that every round copies the same disk.
	restore := changeFiles(b, e)
	defer restore()

	// Baseline: rsync onto the copy the baseline made before the change.
	settle()
	t0 := time.Now()
	rs := exec.CommandContext(ctx, "rsync", "--inplace", "--no-whole-file", "-e", "ssh "+strings.Join(sshArgs, " "),
		e.srv.User+"@127.0.0.1:"+e.src, raw)
	if out, err := combined(rs); err != nil {
		b.Fatalf("rsync: %v: %s", err, out)
	}
	rsyncDelta := time.Since(t0).Seconds()
	settle()

	// shift: delta pass.
	delta, rss2, agent2 := replicate(b, e, e.src, out, "vhd")
	e.sshdCPU() // the next round starts after this pass's sshd ended
	if delta.Pass != 2 || delta.Sent == 0 {
		b.Fatalf("delta pass: pass %d, %d chunks sent", delta.Pass, delta.Sent)
	}
	if err := run("qemu-img", "compare", "-f", "raw", "-F", "vpc", e.src, delta.Image); err != nil {
		b.Fatalf("the VHD differs from the source after the delta pass: %v", err)
	}
	if !bytes.Equal(readTail(b, delta.Image, 512), footer) {
		b.Fatal("the delta pass wrote a footer other than the full copy's")
	}
	os.Remove(raw)
	os.RemoveAll(out)

	m.add("baseline-full-s", baseFull)
	m.add("full-s", full.Wall)
	m.add("full-pass-s", full.Seconds)
	m.add("full-x-faster", baseFull/full.Wall)
	m.add("wire-per-nonzero", float64(full.WireBytes)/float64(e.nonZero))
	fullCPU := full.cpu + full.agentCPU + fullSSHD
	m.add("baseline-full-cpu-s", baseCPU)
	m.add("baseline-cpu-ssh-s", baseSSH)
	m.add("baseline-cpu-sshd-s", baseSSHD)
	m.add("baseline-cpu-qemu-img-s", baseConv)
	m.add("full-cpu-s", fullCPU)
	m.add("full-cpu-appliance-s", full.cpu)
	m.add("full-cpu-agent-s", full.agentCPU)
	m.add("full-cpu-sshd-s", fullSSHD)
	m.add("full-x-less-cpu", baseCPU/fullCPU)
	m.add("rsync-delta-s", rsyncDelta)
	m.add("delta-s", delta.Wall)
	m.add("delta-pass-s", delta.Seconds)
	m.add("delta-x-of-rsync", delta.Wall/rsyncDelta)
	m.add("delta-moved-%", float64(delta.DataBytes)*100/diskSize)
	m.add("delta-wire-%", float64(delta.WireBytes)*100/diskSize)
	m.max("appliance-peak-RSS-MiB", max(rss1, rss2))
	m.max("agent-peak-RSS-MiB", max(agent1, agent2))
}

// sshArgs are the OpenSSH client's options for the benchmark's sshd.
func (e *setupEnv) sshArgs() []string {
	return []string{"-p", strconv.Itoa(e.srv.Port), "-i", e.srv.ClientKeyFile, "-o", "UserKnownHostsFile=" + e.srv.KnownHostsFile,
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"}
}

// runBaseline runs the baseline, "ssh host cat DISK > raw" with
// OpenSSH's client through the benchmark's sshd, then "qemu-img convert
// -O vpc -o subformat=fixed,force_size=on raw vhd", and returns its wall
// time in seconds and how the two commands ended.
func runBaseline(b *testing.B, e *setupEnv, raw, vhd string) (secs float64, cat, conv *os.ProcessState) {
	b.Helper()
	t0 := time.Now()
	f, err := os.Create(raw)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	c := exec.Command("ssh", append(e.sshArgs(), e.srv.User+"@127.0.0.1", "cat "+e.src)...)
	c.Stdout = f
	if out, err := combined(c); err != nil {
		b.Fatalf("ssh cat: %v: %s", err, out)
	}
	f.Close()
	q := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, vhd)
	if out, err := combined(q); err != nil {
		b.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	return time.Since(t0).Seconds(), c.ProcessState, q.ProcessState
}

// settle writes the page cache's dirty data out before the next timed step,
// untimed, so that no step pays for the writeback another one left behind:
// the baseline's "cat > disk.raw" leaves gigabytes dirty when it ends,
// while shift syncs what it writes within its own time.
func settle() { syscall.Sync() }

// passResult is the part of "shift replicate --json" the benchmark reads.
type passResult struct {
	Image     string  `json:"image"`
	Size      int64   `json:"size"`
	Pass      int     `json:"pass"`
	Sent      int64   `json:"sent"`
	DataBytes int64   `json:"dataBytes"`
	WireBytes int64   `json:"wireBytes"`
	Seconds   float64 `json:"seconds"`
	// Wall is the command's whole run: login, agent upload, pass, cleanup.
	Wall float64 `json:"-"`
	// cpu and agentCPU are the CPU seconds of the replicate process and of
	// the agent.
	cpu, agentCPU float64
}

// cpuSeconds returns the user and system CPU time of an ended process.
func cpuSeconds(ps *os.ProcessState) float64 {
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// sshdCPU returns the CPU seconds of the sshd's ended descendants (the
// per-connection sshd processes and what they ran, which reaped their own
// children), once they have been reaped: it waits until the count stops
// moving, at most two seconds.
func (e *setupEnv) sshdCPU() float64 {
	cfg, err := os.ReadFile(e.srv.ConfigFile)
	if err != nil {
		return 0
	}
	var pidFile string
	for _, line := range strings.Split(string(cfg), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "PidFile" {
			pidFile = f[1]
		}
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	read := func() float64 {
		f := procStat(strings.TrimSpace(string(pid)))
		if len(f) < 17 {
			return 0
		}
		cu, _ := strconv.ParseFloat(f[15], 64)
		cs, _ := strconv.ParseFloat(f[16], 64)
		return (cu + cs) / clockTicks
	}
	last := read()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		v := read()
		if v == last {
			break
		}
		last = v
	}
	return last
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux.
const clockTicks = 100

// procStat returns the fields of /proc/PID/stat, the command name counted
// as one field whatever it holds.
func procStat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return append([]string{pid, "comm"}, strings.Fields(string(b[i+1:]))...)
}

// replicate runs "shift replicate" and returns its result with the peak RSS
// of the appliance process and of the agent, in MiB.
func replicate(b *testing.B, e *setupEnv, src, out, format string) (r passResult, rss, agentRSS float64) {
	b.Helper()
	agentDir := filepath.Join(workDir, "agent")
	if err := os.MkdirAll(agentDir, 0o755); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(e.shift, "replicate", "--hosts", e.hosts, "local", "--disk", src, "--to", out,
		"--format", format, "--agent-dir", agentDir, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stop := watchAgent(agentDir)
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0).Seconds()
	agentRSS, r.agentCPU = stop()
	if err != nil {
		b.Fatalf("shift replicate: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		b.Fatalf("shift replicate --json: %v: %s", err, stdout.String())
	}
	r.Wall = wall
	r.cpu = cpuSeconds(cmd.ProcessState)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	if agentRSS == 0 {
		b.Fatal("the agent's peak RSS was not seen in /proc")
	}
	return r, rss, agentRSS
}

// watchAgent follows the agent process that shift deploys into dir (its
// command line is DIR/shift-agent.XXXXXX/shift agent …) and returns a stop
// function giving the largest VmHWM seen, in MiB, and the agent's CPU
// seconds. The agent runs on this machine, behind the loopback sshd; VmHWM
// and the CPU time only grow, so the last readings before it exits are its
// totals to within one poll.
func watchAgent(dir string) (stop func() (rss, cpu float64)) {
	done := make(chan struct{})
	type result struct{ rss, cpu float64 }
	res := make(chan result, 1)
	prefix := dir + "/shift-agent."
	go func() {
		var peak, cpu, cur float64
		pid := ""
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if pid == "" {
				pid = findProc(prefix)
			}
			if pid != "" {
				if v := vmHWM(pid); v > 0 {
					peak = max(peak, v)
					if f := procStat(pid); len(f) >= 15 {
						ut, _ := strconv.ParseFloat(f[13], 64)
						st, _ := strconv.ParseFloat(f[14], 64)
						cur = (ut + st) / clockTicks
					}
				} else {
					pid = "" // exited (a sudo wrapper or the next pass may follow)
					cpu, cur = cpu+cur, 0
				}
			}
			select {
			case <-done:
				res <- result{peak, cpu + cur}
				return
			case <-t.C:
			}
		}
	}()
	return func() (float64, float64) { close(done); r := <-res; return r.rss, r.cpu }
}

func findProc(prefix string) string {
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		cl, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && bytes.HasPrefix(cl, []byte(prefix)) && bytes.Contains(cl, []byte("/shift\x00agent")) {
			return d.Name()
		}
	}
	return ""
}

func vmHWM(pid string) float64 {
	s, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// changeFiles rewrites changeBytes of the filesystem's file data in place:
// changeRuns runs of random bytes, each inside another large file, at a
// block-aligned offset of that file, as a database updates its pages. The
// returned function writes the original bytes back: without it every round
// would copy a disk with another 41 MiB of random (incompressible) bytes in
// place of real files, and the wire ratio would creep up round by round.
func changeFiles(b *testing.B, e *setupEnv) (restore func()) {
	b.Helper()
	f, err := os.OpenFile(e.src, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	type saved struct {
		off  int64
		data []byte
	}
	var orig []saved
	runBlocks := int64(changeBytes / changeRuns / fsBlock)
	buf := make([]byte, fsBlock)
	for _, k := range e.rng.Perm(len(e.files))[:changeRuns] {
		fb := e.files[k]
		first := e.rng.Int64N(int64(len(fb.blocks)) - runBlocks + 1)
		for _, blk := range fb.blocks[first : first+runBlocks] {
			off := partOffset + blk*fsBlock
			old := make([]byte, fsBlock)
			if _, err := f.ReadAt(old, off); err != nil {
				b.Fatal(err)
			}
			orig = append(orig, saved{off, old})
			for i := range buf {
				buf[i] = byte(e.rng.Uint32())
			}
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return func() {
		f, err := os.OpenFile(e.src, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		for _, s := range orig {
			if _, err := f.WriteAt(s.data, s.off); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// largeFiles lists the files of /srv/data at least twice a change run's
// size with their physical blocks (debugfs "blocks").
func largeFiles(img string) ([]fileBlocks, error) {
	dev := fmt.Sprintf("%s?offset=%d", img, partOffset)
	out, err := exec.Command("debugfs", "-R", "ls -p /srv/data", dev).Output()
	if err != nil {
		return nil, fmt.Errorf("debugfs ls: %w", err)
	}
	minSize := int64(2 * changeBytes / changeRuns)
	var files []fileBlocks
	for _, line := range strings.Split(string(out), "\n") {
		// /inode/mode/uid/gid/name/size/
		p := strings.Split(line, "/")
		if len(p) < 7 || !strings.HasPrefix(p[2], "10") {
			continue
		}
		size, _ := strconv.ParseInt(p[6], 10, 64)
		if size < minSize {
			continue
		}
		path := "/srv/data/" + p[5]
		bl, err := exec.Command("debugfs", "-R", "blocks "+path, dev).Output()
		if err != nil {
			return nil, fmt.Errorf("debugfs blocks %s: %w", path, err)
		}
		fb := fileBlocks{path: path}
		for _, w := range strings.Fields(string(bl)) {
			n, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("debugfs blocks %s: %q", path, w)
			}
			fb.blocks = append(fb.blocks, n)
		}
		if int64(len(fb.blocks))*fsBlock >= minSize {
			files = append(files, fb)
		}
	}
	if len(files) < changeRuns {
		return nil, fmt.Errorf("only %d files of at least %d bytes in /srv/data: too few for the change", len(files), minSize)
	}
	return files, nil
}

// copyRealFiles copies regular files from src into dst, flat (names made
// unique), largest first, until budget bytes.
func copyRealFiles(dst, src string, budget int64) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	type file struct {
		path string
		size int64
	}
	var all []file
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > 0 {
			all = append(all, file{p, info.Size()})
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool {
		return all[i].size > all[j].size || all[i].size == all[j].size && all[i].path < all[j].path
	})
	for i, f := range all {
		if budget <= 0 {
			break
		}
		if f.size > budget || f.size > 64<<20 {
			continue
		}
		name := fmt.Sprintf("%05d-%s", i, filepath.Base(f.path))
		if err := copyFile(filepath.Join(dst, name), f.path); err != nil {
			continue // unreadable: take another
		}
		budget -= f.size
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func treeSize(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// writeZeros writes a file of size zero bytes, every block allocated.
func writeZeros(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// nonZeroBytes counts the bytes of the 4 KiB blocks of path that are not
// all zero: the data the disk holds.
func nonZeroBytes(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	zero := make([]byte, fsBlock)
	var n int64
	for {
		m, err := io.ReadFull(f, buf)
		for i := 0; i+fsBlock <= m; i += fsBlock {
			if !bytes.Equal(buf[i:i+fsBlock], zero) {
				n += fsBlock
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func readTail(b *testing.B, path string, n int64) []byte {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, st.Size()-n); err != nil {
		b.Fatal(err)
	}
	return buf
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// combined runs cmd with stderr captured (stdout as set).
func combined(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if cmd.Stdout == nil {
		cmd.Stdout = &stderr
	}
	err := cmd.Run()
	return stderr.Bytes(), err
}

// metrics averages values over iterations (or keeps the largest).
type metrics struct {
	names []string
	sum   map[string]float64
	n     map[string]int
	peak  map[string]bool
}

func (m *metrics) init(name string) {
	if m.sum == nil {
		m.sum, m.n, m.peak = map[string]float64{}, map[string]int{}, map[string]bool{}
	}
	if _, ok := m.sum[name]; !ok {
		m.names = append(m.names, name)
		m.sum[name] = 0
	}
}

func (m *metrics) add(name string, v float64) { m.init(name); m.sum[name] += v; m.n[name]++ }

func (m *metrics) max(name string, v float64) {
	m.init(name)
	m.peak[name] = true
	m.sum[name] = max(m.sum[name], v)
}

func (m *metrics) report(b *testing.B) {
	for _, name := range m.names {
		v := m.sum[name]
		if !m.peak[name] && m.n[name] > 0 {
			v /= float64(m.n[name])
		}
		b.ReportMetric(v, name)
	}
}

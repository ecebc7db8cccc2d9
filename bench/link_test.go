package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/fixtures/sshd"
)

// linkRate is the link of BenchmarkReplicateDiskLink: gigabit Ethernet,
// the link an appliance on the migration's LAN most often has to its
// sources.
const linkRate = "1gbit"

// BenchmarkReplicateDiskLink is the full copy of BenchmarkReplicateDisk
// (the same disk, the same baseline, both through the same sshd) over a
// 1 Gbit/s link instead of unlimited loopback. The link is loopback shaped
// with tc: a token bucket on the traffic that leaves the benchmark's sshd,
// and nothing else on the machine (other loopback traffic measured 3.1
// against 3.6 GB/s with the queueing discipline in place). It needs root,
// tc and the kernel's htb and u32.
//
// Loopback leaves the two machines' CPUs as the only limit, and on a
// 2-core machine both sides share them. On a real network the bytes that
// must cross the wire decide: the baseline sends every byte of the disk,
// shift the non-zero bytes compressed. Reported: baseline-full-s, full-s,
// full-x-faster, and the rate the pass's bytes crossed the link
// (link-MiB/s).
func BenchmarkReplicateDiskLink(b *testing.B) {
	e := need(b)
	undo, why := shapeSSHD(e.srv.Port, linkRate)
	if why != "" {
		sshd.Missing(b, why)
	}
	defer undo()
	var m metrics
	for b.Loop() {
		raw, vhd := filepath.Join(workDir, "disk.raw"), filepath.Join(workDir, "base.vhd")
		base, _, _ := runBaseline(b, e, raw, vhd)
		os.Remove(raw)
		os.Remove(vhd)
		settle()

		out := filepath.Join(workDir, "out")
		os.RemoveAll(out)
		full, _, _ := replicate(b, e, e.src, out, "vhd")
		if full.Pass != 1 {
			b.Fatalf("full copy: pass %d", full.Pass)
		}
		if err := run("qemu-img", "compare", "-f", "raw", "-F", "vpc", e.src, full.Image); err != nil {
			b.Fatalf("the VHD differs from the source: %v", err)
		}
		os.RemoveAll(out)
		settle()

		m.add("baseline-full-s", base)
		m.add("full-s", full.Wall)
		m.add("full-pass-s", full.Seconds)
		m.add("full-x-faster", base/full.Wall)
		m.add("link-MiB/s", float64(full.WireBytes)/full.Seconds/(1<<20))
		m.add("wire-per-nonzero", float64(full.WireBytes)/float64(e.nonZero))
	}
	m.report(b)
}

// shapeSSHD limits the traffic that leaves the sshd listening on port (on
// loopback) to rate, a tc rate ("1gbit"), and returns the function that
// lifts the limit. why says what is missing when it cannot: root, tc, or a
// loopback without a queueing discipline of its own, which this does not
// replace.
func shapeSSHD(port int, rate string) (undo func(), why string) {
	undo = func() {}
	if os.Geteuid() != 0 {
		return undo, "shaping the loopback link needs root"
	}
	if _, err := exec.LookPath("tc"); err != nil {
		return undo, "tc not found (iproute2)"
	}
	cur, err := exec.Command("tc", "qdisc", "show", "dev", "lo").CombinedOutput()
	if err != nil {
		return undo, fmt.Sprintf("tc qdisc show dev lo: %v: %s", err, cur)
	}
	if f := strings.Fields(string(cur)); len(f) > 1 && f[1] != "noqueue" {
		return undo, "loopback already has a queueing discipline (a benchmark that was killed may have left it: tc qdisc del dev lo root): " + strings.TrimSpace(string(cur))
	}
	// A hierarchical token bucket: every packet in the unlimited default
	// class unless the filter sends it to the class that is the link.
	// (htb and u32, because kernels without modules often lack prio.)
	cmds := [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "100gbit", "quantum", "200000"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "burst", "256kb", "quantum", "60000"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "sport", strconv.Itoa(port), "0xffff", "flowid", "1:20"},
	}
	undo = func() { exec.Command("tc", "qdisc", "del", "dev", "lo", "root").Run() }
	for _, c := range cmds {
		if out, err := exec.Command("tc", c...).CombinedOutput(); err != nil {
			undo()
			return func() {}, fmt.Sprintf("tc %s: %v: %s", strings.Join(c, " "), err, bytes.TrimSpace(out))
		}
	}
	return undo, ""
}

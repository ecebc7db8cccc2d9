package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkReplicate measures the pipeline over real sshd on loopback for a
// 1 GiB sparse image holding 256 MiB of data (half random, half text), in
// one run with its baseline:
//
//   - ssh-cat: the baseline, "ssh host cat IMAGE > disk.raw" through the
//     same sshd (the whole GiB, zeros included);
//   - full: a first pass into a fresh raw image, digest verified;
//   - delta: a pass after 1% of the chunks changed.
//
// disk-MB/s is the disk's size over the time; wire-MB/s and wire-% what
// crossed SSH.
func BenchmarkReplicate(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	const size = 1 << 30
	n := chunks(size)
	data := spread(n, 64)
	img := makeImage(b, dir, size, data)
	_, c := sshSource(b, "")
	a := deploy(b, c, img)

	b.Run("ssh-cat", func(b *testing.B) {
		for b.Loop() {
			out, err := os.Create(filepath.Join(dir, "cat.raw"))
			if err != nil {
				b.Fatal(err)
			}
			stdin, stdout, wait, err := c.StartStream(ctx, "cat "+img)
			if err != nil {
				b.Fatal(err)
			}
			stdin.Close()
			m, err := io.Copy(out, stdout)
			if err != nil || m != size {
				b.Fatalf("cat: %d bytes, %v", m, err)
			}
			if err := wait(); err != nil {
				b.Fatal(err)
			}
			out.Close()
		}
		b.ReportMetric(float64(size)/1e6/(b.Elapsed().Seconds()/float64(b.N)), "disk-MB/s")
		os.Remove(filepath.Join(dir, "cat.raw"))
	})

	b.Run("full", func(b *testing.B) {
		var wire int64
		for b.Loop() {
			p := filepath.Join(dir, "full.raw")
			sink, err := OpenFileSink(p, size, true)
			if err != nil {
				b.Fatal(err)
			}
			r, err := a.Pass(ctx, sink, NewMemJournal(size), Options{})
			if err != nil {
				b.Fatal(err)
			}
			wire += r.WireBytes
			sink.Close()
		}
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(size)/1e6/sec, "disk-MB/s")
		b.ReportMetric(float64(wire)/float64(b.N)/1e6/sec, "wire-MB/s")
		b.ReportMetric(float64(wire)/float64(b.N)*100/float64(int64(len(data))*ChunkSize), "wire-%-of-data")
		reportRSS(b, a)
	})

	b.Run("delta", func(b *testing.B) {
		p := filepath.Join(dir, "delta.raw")
		sink, err := OpenFileSink(p, size, true)
		if err != nil {
			b.Fatal(err)
		}
		defer sink.Close()
		j := NewMemJournal(size)
		if _, err := a.Pass(ctx, sink, j, Options{}); err != nil {
			b.Fatal(err)
		}
		changed := (n + 99) / 100
		var wire int64
		k := int64(0)
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			for range changed {
				overwrite(b, img, data[k%int64(len(data))], ChunkSize/2)
				k++
			}
			b.StartTimer()
			r, err := a.Pass(ctx, sink, j, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if r.Sent != changed {
				b.Fatalf("delta sent %d chunks, want %d", r.Sent, changed)
			}
			wire += r.WireBytes
		}
		b.ReportMetric(float64(wire)/float64(b.N)*100/size, "wire-%-of-disk")
	})
}

// reportRSS reports the peak resident memory of this process (the
// appliance side) and of the agent process on the source.
func reportRSS(b *testing.B, a *RemoteAgent) {
	if v := vmHWM("/proc/self/status"); v > 0 {
		b.ReportMetric(v, "appliance-peak-RSS-MiB")
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(cmd), a.dir+"/shift\x00agent") {
			continue
		}
		if v := vmHWM(filepath.Join(filepath.Dir(p), "status")); v > 0 {
			b.ReportMetric(v, "agent-peak-RSS-MiB")
		}
	}
}

func vmHWM(status string) float64 {
	s, err := os.ReadFile(status)
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

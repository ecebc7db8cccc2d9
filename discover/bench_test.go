package discover_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/remote"
)

// BenchmarkDiscoverFleet discovers 200 simulated Windows hosts (each its own
// WinRM endpoint on loopback, the three healthy presets in turn, a third of
// them over NTLM) and 20 SSH sessions to this machine through a real sshd, at
// concurrency 32: the target workload (fleet-220), and each half on
// its own. It reports hosts per second and the peak Go heap during a run.
func BenchmarkDiscoverFleet(b *testing.B) {
	const windowsHosts, sshHosts, concurrency = 200, 20, 32
	dir := b.TempDir()
	presets := []string{"ws2019-sql2019-sp2019", "ws2012r2-sql2014", "ws2022-bitlocker"}
	var entries []remote.HostEntry
	for i := 0; i < windowsHosts; i++ {
		host, err := windows.Load(presets[i%len(presets)])
		if err != nil {
			b.Fatal(err)
		}
		auth, authName := winrmserver.AuthBasic, "basic"
		if i%3 == 0 {
			auth, authName = winrmserver.AuthNTLM, "ntlm"
		}
		srv, err := winrmserver.Listen("127.0.0.1:0", host, winrmserver.Options{Auth: auth})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { srv.Close() })
		pw := filepath.Join(dir, fmt.Sprintf("w%03d.pw", i))
		if err := os.WriteFile(pw, []byte(host.LabPassword()), 0o600); err != nil {
			b.Fatal(err)
		}
		no := false
		entries = append(entries, remote.HostEntry{Name: fmt.Sprintf("win%03d", i), Address: "127.0.0.1",
			Settings: remote.Settings{Transport: "winrm", Port: srv.Port(), User: host.LabUser(),
				Password: remote.SecretRef("file:" + pw), WinRM: &remote.WinRMSettings{HTTPS: &no, Auth: authName}}})
	}
	s := sshd.StartT(b, sshd.Options{})
	for i := 0; i < sshHosts; i++ {
		e := sshEntry(fmt.Sprintf("linux%02d", i), s, s.KnownHostsFile)
		entries = append(entries, e)
	}
	winHF, sshHF, fleetHF := load(b, entries[:windowsHosts]...), load(b, entries[windowsHosts:]...), load(b, entries...)

	for _, c := range []struct {
		name string
		hf   *remote.HostsFile
	}{{"windows-200", winHF}, {"ssh-20", sshHF}, {"fleet-220", fleetHF}} {
		b.Run(c.name, func(b *testing.B) {
			var peak uint64
			for i := 0; i < b.N; i++ {
				stop := samplePeakHeap(&peak)
				cpu0 := selfCPU()
				start := time.Now()
				inv, err := discover.Run(context.Background(), c.hf, nil, discover.Options{Concurrency: concurrency})
				took := time.Since(start)
				cpu := selfCPU() - cpu0
				stop()
				if err != nil {
					b.Fatal(err)
				}
				for _, h := range inv.Hosts {
					if !h.Reachable() || h.OS.Family == "" {
						b.Fatalf("%s: %+v", h.Name, h.Errors)
					}
				}
				b.ReportMetric(float64(len(inv.Hosts))/took.Seconds(), "hosts/s")
				// shift's own CPU per host: the targets here share this machine,
				// so wall time also pays for their side of the probe.
				b.ReportMetric(float64(cpu.Milliseconds())/float64(len(inv.Hosts)), "shift-cpu-ms/host")
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// samplePeakHeap records the largest live heap seen until stop is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for !done.Load() {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > *peak {
				*peak = ms.HeapAlloc
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { done.Store(true); <-finished }
}

// selfCPU returns the user+system CPU time this process has used: shift's
// side of discovery, without sshd and the probed commands.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

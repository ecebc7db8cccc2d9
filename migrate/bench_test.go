package migrate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/diskimg"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// BenchmarkWave20 runs one wave of 20 lab hosts at concurrency 8 into the
// local cloud, from nothing to in sync: discovery and assessment of each
// host over real SSH, the agent uploaded and started 20 times, every disk
// copied (each host's disk is its own real MBR + ext4 image holding 24 MiB
// of files), with a fresh state directory and ledger every iteration. It
// reports the wave's wall time and the data moved per second.
func BenchmarkWave20(b *testing.B) {
	const hosts, concurrency = 20, 8
	diskimg.Need(b, "sfdisk", "mkfs.ext4")
	dir := b.TempDir()
	s := sshd.StartT(b, sshd.Options{})
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, s.ClientKey, 0o600); err != nil {
		b.Fatal(err)
	}
	var hf, wave strings.Builder
	fmt.Fprintf(&hf, "version: 1\ndefaults: {transport: ssh, user: %s, key: 'file:%s', ssh: {knownHosts: %s}}\nhosts:\n", s.User, key, s.KnownHostsFile)
	for i := range hosts {
		name := fmt.Sprintf("lab%02d", i)
		img := diskimg.Build(b, diskimg.Spec{Size: 64 << 20, Table: diskimg.MBR, Partitions: []diskimg.Part{{
			Start: 1 << 20, Size: 63 << 20, FS: "ext4", Files: map[string][]byte{
				"data/a.bin": diskimg.Content(name+"a", 8<<20), "data/b.bin": diskimg.Content(name+"b", 8<<20),
				"data/c.bin": diskimg.Content(name+"c", 8<<20)}}}})
		fmt.Fprintf(&hf, "  - {name: %s, address: 127.0.0.1, port: %d}\n", name, s.Port)
		fmt.Fprintf(&wave, "      - {name: %s, disks: {include: [%s]}}\n", name, img)
	}
	write(b, filepath.Join(dir, "hosts.yaml"), hf.String())
	bin := shiftBinary(b)
	var moved int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		state := filepath.Join(dir, fmt.Sprintf("state%d", i))
		planPath := filepath.Join(dir, fmt.Sprintf("plan%d.yaml", i))
		write(b, planPath, fmt.Sprintf("version: 1\nhosts: hosts.yaml\ntarget: {kind: local, stateDir: %s}\nwaves:\n  - name: lab\n    concurrency: %d\n    hosts:\n%s",
			state, concurrency, wave.String()))
		p, err := plan.Load(planPath)
		if err != nil {
			b.Fatal(err)
		}
		hfile, err := remote.LoadHosts(filepath.Join(dir, "hosts.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		batch, err := migrate.FromPlan(p, hfile, migrate.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		tg, err := local.New(local.Options{Dir: state})
		if err != nil {
			b.Fatal(err)
		}
		l, err := ledger.Open(b.Context(), filepath.Join(state, "ledger"), ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		store, err := migrate.NewStore(b.Context(), l, p)
		if err != nil {
			b.Fatal(err)
		}
		batch.Runner = &migrate.Runner{Hosts: hfile, Target: tg, Ledger: store, Until: face.InSync,
			AgentBinary: func(string) (string, error) { return bin, nil }}
		b.StartTimer()
		start := time.Now()
		done := batch.Run(b.Context())
		took := time.Since(start)
		b.StopTimer()
		l.Close()
		moved = 0
		for _, r := range done.Servers {
			if r.Phase != face.InSync || r.Err != "" {
				b.Fatalf("%s ended %s: %s", r.Host, r.Phase, r.Err)
			}
			moved += r.Bytes
		}
		b.ReportMetric(took.Seconds(), "s/wave")
		b.ReportMetric(float64(moved)/took.Seconds()/(1<<20), "MiB/s")
		os.RemoveAll(state)
		b.StartTimer()
	}
	b.ReportMetric(float64(moved)/(1<<20), "MiB/wave")
}

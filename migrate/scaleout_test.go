package migrate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/diskimg"
	"github.com/shift-migrate/shift/fixtures/postgres"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/ledger"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// TestScaleOutSharesAPlan runs one plan of six servers on two appliances at
// once, sharing a ledger in a real PostgreSQL: every server reaches in-sync,
// and each was moved by exactly one appliance.
func TestScaleOutSharesAPlan(t *testing.T) {
	const hosts = 6
	diskimg.Need(t, "sfdisk", "mkfs.ext4")
	pg := postgres.StartT(t, postgres.Options{})
	dir := t.TempDir()
	s := sshd.StartT(t, sshd.Options{})
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, s.ClientKey, 0o600); err != nil {
		t.Fatal(err)
	}
	var hf, wave strings.Builder
	fmt.Fprintf(&hf, "version: 1\ndefaults: {transport: ssh, user: %s, key: 'file:%s', ssh: {knownHosts: %s}}\nhosts:\n", s.User, key, s.KnownHostsFile)
	for i := range hosts {
		name := fmt.Sprintf("app%02d", i)
		img := diskimg.Build(t, diskimg.Spec{Size: 32 << 20, Table: diskimg.MBR, Partitions: []diskimg.Part{{
			FS: "ext4", Files: map[string][]byte{"data.bin": diskimg.Content(name, 4<<20)}}}})
		fmt.Fprintf(&hf, "  - {name: %s, address: 127.0.0.1, port: %d}\n", name, s.Port)
		fmt.Fprintf(&wave, "      - {name: %s, disks: {include: [%s]}}\n", name, img)
	}
	write(t, filepath.Join(dir, "hosts.yaml"), hf.String())
	state := filepath.Join(dir, "state")
	planPath := filepath.Join(dir, "waves.yaml")
	write(t, planPath, fmt.Sprintf("version: 1\nname: shared\nhosts: hosts.yaml\ntarget: {kind: local, stateDir: %s}\nwaves:\n  - name: all\n    concurrency: 2\n    hosts:\n%s", state, wave.String()))
	bin := shiftBinary(t)
	ctx := t.Context()

	var wg sync.WaitGroup
	results := map[string][]face.ServerResult{}
	var mu sync.Mutex
	for _, app := range []string{"appliance-a", "appliance-b"} {
		l, err := ledger.OpenPostgres(ctx, pg.DSN("postgres"), app, ledger.Options{Appliance: app})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		p, err := plan.Load(planPath)
		if err != nil {
			t.Fatal(err)
		}
		hfile, err := remote.LoadHosts(filepath.Join(dir, "hosts.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := migrate.FromPlan(p, hfile, migrate.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tg, err := local.New(local.Options{Dir: state})
		if err != nil {
			t.Fatal(err)
		}
		store, err := migrate.NewStore(ctx, l, p)
		if err != nil {
			t.Fatal(err)
		}
		b.Runner = &migrate.Runner{Hosts: hfile, Target: tg, Ledger: store, Until: face.InSync,
			AgentBinary: func(string) (string, error) { return bin, nil }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := b.Run(ctx)
			mu.Lock()
			results[app] = done.Servers
			mu.Unlock()
		}()
	}
	wg.Wait()

	l, err := ledger.OpenPostgres(ctx, pg.DSN("postgres"), "checker", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	worked := map[string]int{}
	for i := range hosts {
		name := fmt.Sprintf("app%02d", i)
		srv, err := l.Server(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if srv.Phase != string(face.InSync) {
			t.Errorf("%s is %s, want in-sync (results %+v)", name, srv.Phase, results)
		}
		hist, err := l.History(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		apps := map[string]bool{}
		for _, h := range hist {
			apps[h.Appliance] = true
		}
		if len(apps) != 1 {
			t.Errorf("%s was moved by %v, want exactly one appliance", name, apps)
		}
		for a := range apps {
			worked[a]++
		}
	}
	t.Logf("servers per appliance: %v", worked)
	for _, res := range results {
		for _, r := range res {
			if r.Err != "" {
				t.Errorf("%s: %s", r.Host, r.Err)
			}
		}
	}
}

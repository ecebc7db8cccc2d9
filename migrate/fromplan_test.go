package migrate_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

// TestFromPlanTestMigration: testMigration (the plan's, or --test) reaches
// the server; an Azure test copy needs an isolated subnet and the plan
// says which field to set.
func TestFromPlanTestMigration(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "hosts.yaml"), `version: 1
hosts:
  - {name: web01, address: 10.0.0.5, transport: ssh, user: root, key: file:id}
  - {name: web02, address: 10.0.0.6, transport: ssh, user: root, key: file:id}
`)
	hf, err := remote.LoadHosts(filepath.Join(dir, "hosts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	load := func(target string) *plan.Plan {
		t.Helper()
		write(t, filepath.Join(dir, "waves.yaml"), `version: 1
hosts: hosts.yaml
target: `+target+`
waves:
  - name: web
    hosts:
      - {name: web01, testMigration: true}
      - {name: web02}
`)
		p, err := plan.Load(filepath.Join(dir, "waves.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := func(b *migrate.Batch) map[string]string {
		got := map[string]string{}
		for _, w := range b.Waves {
			for _, s := range w.Servers {
				if s.TestMigration {
					got[s.Name] = s.TestSubnet
				}
			}
		}
		return got
	}

	p := load("{kind: local}")
	b, err := migrate.FromPlan(p, hf, migrate.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tests(b); len(got) != 1 || got["web01"] != "" {
		t.Errorf("test migrations from the plan: %v, want web01 only", got)
	}
	if b, err = migrate.FromPlan(p, hf, migrate.PlanOptions{Test: true}); err != nil {
		t.Fatal(err)
	} else if got := tests(b); len(got) != 2 {
		t.Errorf("test migrations with --test: %v, want both hosts", got)
	}

	const azure = `{kind: azure, azure: {subscription: 00000000-0000-0000-0000-000000000000, resourceGroup: rg, location: westeurope%s}}`
	_, err = migrate.FromPlan(load(strings.ReplaceAll(azure, "%s", "")), hf, migrate.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "web01") || !strings.Contains(err.Error(), "target.azure.testSubnet") {
		t.Errorf("azure test migration without a test subnet: %v", err)
	}
	subnet := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/lab/subnets/isolated"
	_, err = migrate.FromPlan(load(strings.ReplaceAll(azure, "%s", ", testSubnet: "+subnet)), hf, migrate.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "upload: storage") {
		t.Errorf("azure test migration with direct upload: %v", err)
	}
	storage := ", testSubnet: " + subnet + ", upload: storage, container: stage, storageAccount: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stage"
	b, err = migrate.FromPlan(load(strings.ReplaceAll(azure, "%s", storage)), hf, migrate.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tests(b); got["web01"] != subnet {
		t.Errorf("azure test subnet: %v", got)
	}
}

package migrate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/plan"
)

const wizardPlan = `version: 1
hosts: hosts.yaml
defaults:
  checks:
    linux: {}
waves:
  - name: web
    hosts:
      # the web server
      - name: web01
        disks:
          include: [/dev/sda, /dev/sdb]
  - name: db
    dependsOn: [web]
    hosts:
      - name: db01
  - name: not-ready
    hold: true
    hosts:
      - name: old01
`

func writePlan(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "waves.yaml")
	if err := os.WriteFile(p, []byte(wizardPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// TestEditPlan edits hosts of a plan file the way the wizard does, and
// reads the file back.
func TestEditPlan(t *testing.T) {
	e := &Engine{}
	path := writePlan(t)
	err := e.EditPlan(path,
		face.PlanEdit{Host: "web01", Hold: ptr(true), Size: ptr("4 CPUs, 16G"), Disks: ptr([]string{" /dev/sdb "}),
			StopServices: ptr([]string{"nginx", "php-fpm"}), Bandwidth: ptr("50M"), Note: ptr("lab: a note"),
			Checks: ptr([]string{"sqlServer"})},
		face.PlanEdit{Host: "db01", Size: ptr("Standard_D4s_v5"), Checks: ptr([]string{"linux", "sharepoint"})},
		face.PlanEdit{Host: "old01", Wave: ptr("late")},
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	web, _ := p.Effective("web01")
	if !web.Hold || web.Size.CPUs != 4 || web.Size.Memory != 16<<30 || strings.Join(web.Disks.Include, ",") != "/dev/sdb" ||
		strings.Join(web.StopServices, ",") != "nginx,php-fpm" || web.Bandwidth != 50<<20 {
		t.Errorf("web01: %+v", web)
	}
	if web.Checks.Linux != nil || web.Checks.SQLServer == nil {
		t.Errorf("web01 checks: the inherited linux section is still on or sqlServer is off: %+v", web.Checks)
	}
	h, _ := p.Host("web01")
	if !strings.Contains(h.Comment, "lab: a note") || !strings.Contains(h.Comment, "the web server") {
		t.Errorf("web01's comment lost the old text or lacks the note: %q", h.Comment)
	}
	db, _ := p.Effective("db01")
	if db.Size.VMSize != "Standard_D4s_v5" || db.Checks.Linux == nil || db.Checks.SharePoint == nil {
		t.Errorf("db01: %+v", db)
	}
	if p.Wave("not-ready") != nil || p.Wave("late") == nil || p.Wave("late").Hold {
		t.Errorf("old01 was not moved into a new wave, or the empty held wave stayed: %v", p.HostNames())
	}
	// The note is not added twice.
	if err := e.EditPlan(path, face.PlanEdit{Host: "web01", Note: ptr("lab: a note")}); err != nil {
		t.Fatal(err)
	}
	p, _ = plan.Load(path)
	if h, _ := p.Host("web01"); strings.Count(h.Comment, "lab: a note") != 1 {
		t.Errorf("the note twice: %q", h.Comment)
	}

	s, err := e.PlanSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if w := s["web01"]; w.Wave != "web" || w.Bandwidth != "50M/s" || len(w.Disks) != 1 || len(w.StopServices) != 2 {
		t.Errorf("settings of web01: %+v", w)
	}
	if s["db01"].Disks != nil {
		t.Errorf("db01 moves every disk, but its settings say %v", s["db01"].Disks)
	}
}

// TestEditPlanRefuses leaves the file as it was when an edit is wrong, and
// says which host and what to write instead.
func TestEditPlanRefuses(t *testing.T) {
	e := &Engine{}
	for _, c := range []struct {
		name string
		edit face.PlanEdit
		want string
	}{
		{"unknown host", face.PlanEdit{Host: "nope", Hold: ptr(true)}, "host nope: not in the plan; its hosts: web01, db01, old01"},
		{"release in a held wave", face.PlanEdit{Host: "old01", Hold: ptr(false)}, "wave not-ready is held as a whole"},
		{"bad size", face.PlanEdit{Host: "web01", Size: ptr("4 CPUs, lots")}, "host web01: size"},
		{"odd size", face.PlanEdit{Host: "web01", Size: ptr("big and fast")}, "write CPUs and memory as"},
		{"bad bandwidth", face.PlanEdit{Host: "web01", Bandwidth: ptr("fast")}, "bandwidth \"fast\""},
		{"bad check", face.PlanEdit{Host: "web01", Checks: ptr([]string{"oracle"})}, "\"oracle\" is not a section"},
		{"empty wave others depend on", face.PlanEdit{Host: "web01", Wave: ptr("db")}, "wave db depends on it"},
		{"small memory", face.PlanEdit{Host: "web01", Size: ptr("2 CPUs, 64M")}, "would make the plan invalid"},
	} {
		path := writePlan(t)
		err := e.EditPlan(path, c.edit)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, face.ErrUsage) {
			t.Errorf("%s: error %v, want %q (a usage error)", c.name, err, c.want)
		}
		if b, _ := os.ReadFile(path); string(b) != wizardPlan {
			t.Errorf("%s: the refused edit changed the file:\n%s", c.name, b)
		}
	}
}

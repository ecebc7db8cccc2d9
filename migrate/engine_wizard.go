package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/migrate/plan"
)

// PlanSettings returns, for every host of the plan at path, the settings the
// wizard shows beside LoadPlan's summary, keyed by host name.
func (e *Engine) PlanSettings(path string) (map[string]face.PlanHostSettings, error) {
	p, err := plan.Load(path)
	if err != nil {
		return nil, usage(err)
	}
	out := map[string]face.PlanHostSettings{}
	for _, name := range p.HostNames() {
		ef, _ := p.Effective(name)
		s := face.PlanHostSettings{Host: name, Wave: ef.Wave, Disks: ef.Disks.Include, StopServices: ef.StopServices}
		if ef.Bandwidth > 0 {
			s.Bandwidth = ef.Bandwidth.String() + "/s"
		}
		out[name] = s
	}
	return out, nil
}

// EditPlan applies edits to the plan file at path and writes it back, with
// its comments. The edited plan is checked as a whole before it is written:
// an edit that would make it invalid changes nothing, and the error says
// which host and field and what to write instead (errors wrap
// face.ErrUsage).
func (e *Engine) EditPlan(path string, edits ...face.PlanEdit) error {
	p, err := plan.Load(path)
	if err != nil {
		return usage(err)
	}
	for _, ed := range edits {
		if err := applyEdit(p, ed); err != nil {
			return usage(fmt.Errorf("%s: host %s: %w", path, ed.Host, err))
		}
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if _, err := plan.Parse(path, b); err != nil {
		return usage(fmt.Errorf("the edit would make the plan invalid, so it was not saved: %w", err))
	}
	return p.WriteFile(path, true)
}

func applyEdit(p *plan.Plan, ed face.PlanEdit) error {
	h, _ := p.Host(ed.Host)
	if h == nil {
		return fmt.Errorf("not in the plan; its hosts: %s", strings.Join(p.HostNames(), ", "))
	}
	if ed.Wave != nil {
		if err := moveHost(p, ed.Host, strings.TrimSpace(*ed.Wave)); err != nil {
			return err
		}
		h, _ = p.Host(ed.Host)
	}
	if ed.Hold != nil {
		_, w := p.Host(ed.Host)
		if !*ed.Hold && w.Hold {
			return fmt.Errorf("wave %s is held as a whole (hold: true): move the host to another wave to release it", w.Name)
		}
		h.Hold = *ed.Hold
	}
	if ed.Size != nil {
		z, err := parseSize(*ed.Size)
		if err != nil {
			return err
		}
		h.Size = z
	}
	if ed.Disks != nil {
		include := clean(*ed.Disks)
		if h.Disks == nil {
			h.Disks = &plan.Disks{}
		}
		h.Disks.Include = include
		h.Disks.Exclude = slices.DeleteFunc(h.Disks.Exclude, func(d string) bool { return slices.Contains(include, d) })
		if h.Disks.Include == nil && h.Disks.Exclude == nil && h.Disks.Type == "" && h.Disks.Types == nil {
			h.Disks = nil
		}
	}
	if ed.StopServices != nil {
		h.Cutover = &plan.Cutover{StopServices: clean(*ed.StopServices)}
	}
	if ed.Bandwidth != nil {
		var bw plan.Bandwidth
		if s := strings.TrimSpace(*ed.Bandwidth); s != "" {
			if err := yaml.Unmarshal([]byte(strconv.Quote(s)), &bw); err != nil {
				return fmt.Errorf("bandwidth: %w", err)
			}
		}
		h.Bandwidth = bw
	}
	if ed.Note != nil && !strings.Contains(h.Comment, *ed.Note) {
		h.Comment = strings.TrimRight(*ed.Note+"\n"+h.Comment, "\n")
	}
	if ed.Checks != nil {
		return setChecks(p, ed.Host, *ed.Checks)
	}
	return nil
}

// moveHost moves host into the wave named to, made at the end of the plan
// when there is none; a wave left empty is removed.
func moveHost(p *plan.Plan, host, to string) error {
	if to == "" {
		return errors.New("wave: a name is needed")
	}
	h, from := p.Host(host)
	if from.Name == to {
		return nil
	}
	moved := *h
	from.Hosts = slices.DeleteFunc(from.Hosts, func(x plan.Host) bool { return x.Name == host })
	if w := p.Wave(to); w != nil {
		w.Hosts = append(w.Hosts, moved)
	} else {
		p.Waves = append(p.Waves, plan.Wave{Name: to, Hosts: []plan.Host{moved}})
	}
	if len(from.Hosts) == 0 {
		name := from.Name
		for _, w := range p.Waves {
			if slices.Contains(w.DependsOn, name) {
				return fmt.Errorf("wave %s would be left empty, but wave %s depends on it: edit dependsOn in the file first", name, w.Name)
			}
		}
		p.Waves = slices.DeleteFunc(p.Waves, func(w plan.Wave) bool { return w.Name == name })
	}
	return nil
}

var cpuMemRe = regexp.MustCompile(`(?i)^([0-9]+)\s*(?:v?cpus?)?\s*[,/ ]\s*([0-9.]+\s*[a-z]*)$`)

// parseSize reads "", a VM size name, or CPUs and memory.
func parseSize(s string) (plan.Size, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "source") {
		return plan.Size{}, nil
	}
	if m := cpuMemRe.FindStringSubmatch(s); m != nil {
		cpus, _ := strconv.Atoi(m[1])
		var mem plan.ByteSize
		if err := yaml.Unmarshal([]byte(strconv.Quote(strings.TrimSpace(m[2]))), &mem); err != nil {
			return plan.Size{}, fmt.Errorf("size %q: memory: %w", s, err)
		}
		return plan.Size{CPUs: cpus, Memory: mem}, nil
	}
	if strings.ContainsAny(s, " ,/") {
		return plan.Size{}, fmt.Errorf("size %q: write CPUs and memory as \"4 CPUs, 16G\", a VM size name as Standard_D4s_v5, or leave it empty for the source's", s)
	}
	return plan.Size{VMSize: s}, nil
}

// checkSections are the validation sections the wizard switches.
var checkSections = []string{"linux", "sqlServer", "sharePoint"}

// setChecks turns the host's validation sections on or off so that exactly
// on are in effect, writing as little as it can on the host itself.
func setChecks(p *plan.Plan, host string, on []string) error {
	want := map[string]bool{}
	for _, s := range clean(on) {
		i := slices.IndexFunc(checkSections, func(c string) bool { return strings.EqualFold(c, s) })
		if i < 0 {
			return fmt.Errorf("checks: %q is not a section; sections: %s (http and command checks are edited in the file)", s, strings.Join(checkSections, ", "))
		}
		want[checkSections[i]] = true
	}
	h, _ := p.Host(host)
	if h.Checks == nil {
		h.Checks = &plan.Checks{}
	}
	c := h.Checks
	c.Linux, c.SQLServer, c.SharePoint = keepOn(c.Linux, want["linux"]), keepOn(c.SQLServer, want["sqlServer"]), keepOn(c.SharePoint, want["sharePoint"])
	ef, _ := p.Effective(host)
	if have := ef.Checks.Linux != nil; have != want["linux"] {
		c.Linux = &plan.LinuxCheck{Off: !want["linux"]}
	}
	if have := ef.Checks.SQLServer != nil; have != want["sqlServer"] {
		c.SQLServer = &plan.SQLServerCheck{Off: !want["sqlServer"]}
	}
	if have := ef.Checks.SharePoint != nil; have != want["sharePoint"] {
		c.SharePoint = &plan.SharePointCheck{Off: !want["sharePoint"]}
	}
	if c.Linux == nil && c.SQLServer == nil && c.SharePoint == nil && c.HTTP == nil && c.Commands == nil {
		h.Checks = nil
	}
	return nil
}

// keepOn keeps a host's own section when it stays on, and drops it
// otherwise (setChecks then turns off what is still inherited).
func keepOn[T any](sec *T, on bool) *T {
	if on {
		return sec
	}
	return nil
}

// clean trims the entries of a list and drops the empty ones; nil when none
// is left.
func clean(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

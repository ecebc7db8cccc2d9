package plan

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

var (
	nameRe         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	subscriptionRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceIDRe   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/`)
)

// checker collects the problems of a decoded plan.
type checker struct {
	p    *Plan
	errs Errors
}

// errAt records a problem of field, placed at the field or, when the field
// was not written in the file, at its nearest parent that was.
func (c *checker) errAt(field, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		return
	}
	c.errs = append(c.errs, c.p.errorAt(field, fmt.Sprintf(format, args...)))
}

// errNear records a problem of field, placed at field when it is written and
// else at near (the setting that makes field necessary).
func (c *checker) errNear(field, near, format string, args ...any) {
	if _, ok := c.p.pos[field]; ok || len(c.errs) >= maxErrors {
		c.errAt(field, format, args...)
		return
	}
	e := c.p.errorAt(near, fmt.Sprintf(format, args...))
	e.Field = field
	c.errs = append(c.errs, e)
}

func (p *Plan) errorAt(field, msg string) *Error {
	e := &Error{File: p.Path, Field: field, Msg: msg}
	for f := field; ; {
		if pos, ok := p.pos[f]; ok {
			e.Line, e.Col = pos.Line, pos.Col
			break
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			if pos, ok := p.pos[""]; ok && f != "" {
				e.Line, e.Col = pos.Line, pos.Col
			}
			break
		}
		f = f[:i]
	}
	return e
}

// belowOne reports whether a count that must be at least 1 is not: in a
// file, when it is written (leaving it out means inherit); in a plan built
// in memory, when it is negative (0 means inherit).
func (p *Plan) belowOne(field string, v int) bool {
	if p.pos == nil {
		return v < 0
	}
	_, written := p.pos[field]
	return written && v < 1
}

// Check checks a plan built in memory (Draft, or a caller's edits) the way
// Parse checks a file. Parse calls it itself.
func (p *Plan) Check() error {
	if errs := p.check(); len(errs) > 0 {
		return errs
	}
	return nil
}

func (p *Plan) check() Errors {
	c := &checker{p: p}
	switch {
	case p.Version == 0:
		c.errAt("version", "missing: add version: 1 as the first line")
	case p.Version != Version:
		c.errAt("version", "version %d is not supported: this shift reads version %d", p.Version, Version)
	}
	if strings.TrimSpace(p.Hosts) == "" {
		c.errAt("hosts", "missing: name the hosts file that says how to reach each server (hosts: hosts.yaml, relative to this plan)")
	}
	c.target()
	if p.belowOne("defaults.concurrency", p.Defaults.Concurrency) {
		c.errAt("defaults.concurrency", "%d: must be at least 1 (hosts of a wave copied at once)", p.Defaults.Concurrency)
	}
	c.policy("defaults", p.Defaults.Policy)
	for i, b := range p.Blackouts {
		f := fmt.Sprintf("blackouts[%d]", i)
		if err := b.Window().check(); err != nil {
			c.errAt(f, "%v", err)
		}
	}
	c.waves()
	return c.errs
}

func (c *checker) target() {
	t := c.p.Target
	switch t.Kind {
	case "", KindLocal:
		if t.Azure != nil {
			c.errAt("target.azure", "azure settings need kind: azure (the target's kind is %s)", kindOr(t.Kind))
		}
	case KindAzure:
		if t.StateDir != "" {
			c.errAt("target.stateDir", "stateDir is for kind: local; an Azure target keeps its state in Azure")
		}
		c.azure(t.Azure)
	default:
		c.errAt("target.kind", "%q: must be local or azure", t.Kind)
	}
}

func kindOr(k string) string {
	if k == "" {
		return KindLocal
	}
	return k
}

func (c *checker) azure(a *AzureTarget) {
	if a == nil {
		c.errAt("target", "kind azure needs azure: {subscription: ID, resourceGroup: NAME, location: REGION}")
		return
	}
	if !subscriptionRe.MatchString(a.Subscription) {
		c.errAt("target.azure.subscription", "%q: give the subscription ID, a GUID (az account show --query id)", a.Subscription)
	}
	if a.ResourceGroup == "" {
		c.errAt("target.azure.resourceGroup", "missing: name the resource group the VMs go into")
	}
	if a.Location == "" || strings.ContainsAny(a.Location, " /") {
		c.errAt("target.azure.location", "%q: give a region name such as westeurope (az account list-locations -o table)", a.Location)
	}
	if a.Subnet != "" {
		c.subnet("target.azure.subnet", a.Subnet)
	}
	if a.TestSubnet != "" {
		c.subnet("target.azure.testSubnet", a.TestSubnet)
	}
	switch a.Upload {
	case "", UploadDirect:
	case UploadStorage:
		if !resourceIDRe.MatchString(a.StorageAccount) {
			c.errNear("target.azure.storageAccount", "target.azure.upload", "upload: storage needs storageAccount: the ARM ID of the staging account (/subscriptions/.../storageAccounts/NAME)")
		}
		if a.Container == "" {
			c.errNear("target.azure.container", "target.azure.upload", "upload: storage needs container: the blob container that stages the disks")
		}
	default:
		c.errAt("target.azure.upload", "%q: must be direct or storage", a.Upload)
	}
	if a.DiskType != "" {
		c.tier("target.azure.diskType", a.DiskType)
	}
	for k, v := range a.Tags {
		f := fmt.Sprintf("target.azure.tags[%s]", k)
		switch {
		case k == "" || len(k) > 512 || strings.ContainsAny(k, `<>%&\?/`):
			c.errAt(f, "tag name %q: 1 to 512 characters without < > %% & \\ ? /", k)
		case len(v) > 256:
			c.errAt(f, "tag value is %d characters; Azure allows 256", len(v))
		}
	}
}

func (c *checker) subnet(field, id string) {
	if !resourceIDRe.MatchString(id) || !strings.Contains(strings.ToLower(id), "/subnets/") {
		c.errAt(field, "%q: give the subnet's ARM ID (/subscriptions/.../virtualNetworks/VNET/subnets/NAME)", id)
	}
}

func (c *checker) tier(field, tier string) {
	for _, t := range assess.DiskTiers {
		if t == tier {
			return
		}
	}
	c.errAt(field, "%q: must be one of %s", tier, strings.Join(assess.DiskTiers, ", "))
}

func (c *checker) policy(field string, pol Policy) {
	switch pol.Approval {
	case "", Manual, Automatic:
	default:
		c.errAt(child(field, "approval"), "%q: must be manual (an operator approves each cutover) or automatic", pol.Approval)
	}
	if d := pol.Delta; d != nil {
		if f := child(field, "delta.maxPasses"); c.p.belowOne(f, d.MaxPasses) {
			c.errAt(f, "%d: must be at least 1", d.MaxPasses)
		}
	}
	if pol.Checks != nil {
		c.checks(child(field, "checks"), pol.Checks)
	}
}

func (c *checker) checks(field string, ch *Checks) {
	if s := ch.SQLServer; s != nil {
		f := child(field, "sqlServer")
		c.secret(child(f, "password"), string(s.Password))
		switch {
		case s.User != "" && s.Password == "":
			c.errAt(child(f, "user"), "user %s needs password: env:NAME or file:PATH (or leave user out for integrated security)", s.User)
		case s.User == "" && s.Password != "":
			c.errAt(child(f, "password"), "a password needs user: (or leave both out for integrated security)")
		}
	}
	if l := ch.Linux; l != nil {
		f := child(field, "linux")
		for i, u := range l.Units {
			if strings.TrimSpace(u) == "" || strings.ContainsAny(u, " /") {
				c.errAt(fmt.Sprintf("%s.units[%d]", f, i), "%q: name a systemd unit (nginx.service)", u)
			}
		}
		for i, d := range l.Databases {
			if d.Engine != "postgresql" && d.Engine != "mysql" {
				c.errAt(fmt.Sprintf("%s.databases[%d].engine", f, i), "%q: must be postgresql or mysql (mysql covers MariaDB)", d.Engine)
			}
		}
	}
	names := map[string]bool{}
	for i, h := range ch.HTTP {
		f := fmt.Sprintf("%s.http[%d]", field, i)
		c.checkName(f, h.Name, names)
		u, err := url.Parse(h.URL)
		if h.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.errAt(child(f, "url"), "%q: give a full http:// or https:// URL, requested from inside the host (http://localhost:8080/health)", h.URL)
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
			c.errAt(child(f, "status"), "%d: an HTTP status is 100 to 599 (leave it out to expect the status seen before the move)", h.Status)
		}
	}
	names = map[string]bool{}
	for i, cmd := range ch.Commands {
		f := fmt.Sprintf("%s.commands[%d]", field, i)
		c.checkName(f, cmd.Name, names)
		if strings.TrimSpace(cmd.Command) == "" {
			c.errAt(child(f, "command"), "missing: the command to run on the host; it must exit 0")
		}
	}
}

func (c *checker) checkName(field, name string, seen map[string]bool) {
	switch {
	case strings.TrimSpace(name) == "":
		c.errAt(child(field, "name"), "missing: give the check a name; findings and reports show it")
	case seen[name]:
		c.errAt(child(field, "name"), "%q is used twice in this list: names must differ", name)
	}
	seen[name] = true
}

// secret refuses anything but a reference. The message never repeats the
// value: it may be a password.
func (c *checker) secret(field, ref string) {
	if ref == "" || (strings.HasPrefix(ref, "env:") && len(ref) > 4) || (strings.HasPrefix(ref, "file:") && len(ref) > 5) {
		return
	}
	c.errAt(field, "a secret must be a reference, env:NAME or file:PATH; a literal password is not accepted in a plan file")
}

func (c *checker) waves() {
	p := c.p
	if len(p.Waves) == 0 {
		c.errAt("waves", "no waves: add waves: with at least one wave and its hosts (or draft a plan with shift plan --from inventory.json)")
		return
	}
	waveAt := map[string]int{}
	hostAt := map[string]string{}
	for i, w := range p.Waves {
		f := fmt.Sprintf("waves[%d]", i)
		switch {
		case w.Name == "":
			c.errAt(f, "wave has no name: add name:")
		case !nameRe.MatchString(w.Name):
			c.errAt(child(f, "name"), "%q: use letters, digits, '.', '_' and '-' (at most 63)", w.Name)
		default:
			if j, dup := waveAt[w.Name]; dup {
				c.errAt(child(f, "name"), "wave %s is defined twice (first on line %d): rename one or merge them", w.Name, p.pos[fmt.Sprintf("waves[%d]", j)].Line)
			} else {
				waveAt[w.Name] = i
			}
		}
		if w.Window != nil {
			if err := w.Window.check(); err != nil {
				c.errAt(child(f, "window"), "%v", err)
			}
		}
		if ff := child(f, "concurrency"); p.belowOne(ff, w.Concurrency) {
			c.errAt(ff, "%d: must be at least 1 (hosts of the wave copied at once)", w.Concurrency)
		}
		c.policy(f, w.Policy)
		if len(w.Hosts) == 0 {
			c.errAt(child(f, "hosts"), "wave %s has no hosts: add hosts or remove the wave", w.Name)
		}
		for j, h := range w.Hosts {
			c.host(fmt.Sprintf("%s.hosts[%d]", f, j), h, hostAt)
		}
	}
	c.waveDeps(waveAt)
	c.hostDeps(hostAt)
}

func (c *checker) host(f string, h Host, hostAt map[string]string) {
	p := c.p
	switch {
	case h.Name == "":
		c.errAt(f, "host has no name: add name: as in the hosts file")
		return
	case !nameRe.MatchString(h.Name):
		c.errAt(child(f, "name"), "%q: use the host's name from the hosts file (letters, digits, '.', '_', '-')", h.Name)
		return
	}
	if prev, dup := hostAt[h.Name]; dup {
		_, pw := p.Host(h.Name)
		c.errAt(child(f, "name"), "host %s is already in wave %s (line %d): a host moves in one wave only", h.Name, pw.Name, p.errorAt(prev, "").Line)
		return
	}
	hostAt[h.Name] = f
	if err := h.Size.check(); err != nil {
		c.errAt(child(f, "size"), "host %s: %v", h.Name, err)
	}
	if d := h.Disks; d != nil {
		c.disks(child(f, "disks"), h.Name, d)
	}
	seen := map[string]bool{}
	for i, n := range h.NICs {
		nf := fmt.Sprintf("%s.nics[%d]", f, i)
		switch {
		case n.Source == "":
			c.errAt(nf, "host %s: a NIC needs source: the source interface's name (eth0, Ethernet0)", h.Name)
		case seen[n.Source]:
			c.errAt(child(nf, "source"), "host %s: NIC %s is listed twice", h.Name, n.Source)
		}
		seen[n.Source] = true
		if n.Subnet != "" {
			c.subnet(child(nf, "subnet"), n.Subnet)
		}
	}
	c.policy(f, h.Policy)
}

func (c *checker) disks(f, host string, d *Disks) {
	in := map[string]bool{}
	for _, n := range d.Include {
		in[n] = true
	}
	for i, n := range d.Exclude {
		if in[n] {
			c.errAt(fmt.Sprintf("%s.exclude[%d]", f, i), "host %s: disk %s is both included and excluded: keep it in one list", host, n)
		}
	}
	if d.Type != "" {
		c.tier(child(f, "type"), d.Type)
	}
	for _, n := range sortedKeys(d.Types) {
		c.tier(fmt.Sprintf("%s.types[%s]", f, n), d.Types[n])
		for _, x := range d.Exclude {
			if x == n {
				c.errAt(fmt.Sprintf("%s.types[%s]", f, n), "host %s: disk %s is excluded, so it has no tier: remove it from types or exclude", host, n)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *checker) waveDeps(waveAt map[string]int) {
	p := c.p
	names := sortedKeys(waveAt)
	graph := map[string][]string{}
	for i, w := range p.Waves {
		for j, d := range w.DependsOn {
			f := fmt.Sprintf("waves[%d].dependsOn[%d]", i, j)
			switch _, ok := waveAt[d]; {
			case d == w.Name:
				c.errAt(f, "wave %s depends on itself: remove it from dependsOn", w.Name)
			case !ok:
				c.errAt(f, "wave %s depends on %q, which is not a wave of this plan%s", w.Name, d, didYouMean(d, names))
			default:
				graph[w.Name] = append(graph[w.Name], d)
			}
		}
	}
	if cyc := findCycle(p.waveNames(), graph); cyc != nil {
		i := waveAt[cyc[0]]
		c.errAt(fmt.Sprintf("waves[%d].dependsOn", i), "waves depend on each other in a cycle: %s: remove one of these dependsOn entries", strings.Join(cyc, " → "))
	}
}

func (c *checker) hostDeps(hostAt map[string]string) {
	p := c.p
	names := sortedKeys(hostAt)
	graph := map[string][]string{}
	var order []string
	for i, w := range p.Waves {
		for j, h := range w.Hosts {
			order = append(order, h.Name)
			for k, d := range h.DependsOn {
				f := fmt.Sprintf("waves[%d].hosts[%d].dependsOn[%d]", i, j, k)
				switch _, ok := hostAt[d]; {
				case d == h.Name:
					c.errAt(f, "host %s depends on itself: remove it from dependsOn", h.Name)
				case !ok:
					c.errAt(f, "host %s depends on %q, which is not a host of this plan%s", h.Name, d, didYouMean(d, names))
				default:
					graph[h.Name] = append(graph[h.Name], d)
				}
			}
		}
	}
	if cyc := findCycle(order, graph); cyc != nil {
		c.errAt(child(hostAt[cyc[0]], "dependsOn"), "hosts depend on each other in a cycle: %s: remove one of these dependsOn entries", strings.Join(cyc, " → "))
	}
}

func didYouMean(got string, names []string) string {
	if s := closest(got, names); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}

func (p *Plan) waveNames() []string {
	out := make([]string, len(p.Waves))
	for i, w := range p.Waves {
		out[i] = w.Name
	}
	return out
}

// findCycle returns the first cycle of graph as a path that ends where it
// starts (a → b → a), visiting nodes in the order given; nil when there is
// none.
func findCycle(nodes []string, graph map[string][]string) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range graph[n] {
			switch color[m] {
			case grey:
				for i, s := range stack {
					if s == m {
						return append(append([]string(nil), stack[i:]...), m)
					}
				}
			case white:
				if cyc := visit(m); cyc != nil {
					return cyc
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return nil
	}
	for _, n := range nodes {
		if color[n] == white {
			if cyc := visit(n); cyc != nil {
				return cyc
			}
		}
	}
	return nil
}

// Order returns the wave names in the order they may run: file order, except
// that a wave comes after the waves it depends on. It assumes a checked
// plan (no cycles).
func (p *Plan) Order() []string {
	done := map[string]bool{}
	var out []string
	var visit func(name string)
	visit = func(name string) {
		if done[name] {
			return
		}
		done[name] = true
		if w := p.Wave(name); w != nil {
			for _, d := range w.DependsOn {
				visit(d)
			}
		}
		out = append(out, name)
	}
	for _, w := range p.Waves {
		visit(w.Name)
	}
	return out
}

// CheckHosts checks that every host of the plan is one of names (the hosts
// file's). The error is an Errors value with one entry per unknown host,
// placed at the host in the plan.
func (p *Plan) CheckHosts(names []string) error {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	hostsFile := p.Hosts
	if hostsFile == "" {
		hostsFile = "the hosts file"
	}
	var errs Errors
	for i, w := range p.Waves {
		for j, h := range w.Hosts {
			if !known[h.Name] {
				errs = append(errs, p.errorAt(fmt.Sprintf("waves[%d].hosts[%d].name", i, j),
					fmt.Sprintf("host %s is not in %s%s: add it there or fix the name", h.Name, hostsFile, didYouMean(h.Name, sorted))))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

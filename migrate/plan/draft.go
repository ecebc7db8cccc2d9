package plan

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/validate"
)

// DraftOptions tune Draft. The zero value drafts for the local target.
type DraftOptions struct {
	// Name names the plan; empty means "migration".
	Name string
	// Hosts is the hosts file as the plan names it (relative to the plan);
	// empty means "hosts.yaml".
	Hosts string
	// Target is where the servers go; a zero Kind means local. For local,
	// sizes are written as CPUs and memory; for azure, as VM size names.
	Target Target
	// Concurrency is written into the defaults; 0 means 4.
	Concurrency int
	// Generator names the program in the header comment ("shift 0.3.0").
	Generator string
}

// HeldWave is the name of the wave Draft puts hosts into that cannot move
// as they are.
const HeldWave = "not-ready"

// Draft proposes a plan for the hosts of an inventory, using its
// assessment for sizes and readiness (res may be nil: then nothing is sized
// or held).
//
// Hosts that depend on each other, as far as the inventory shows it, share
// a wave: the servers of a SharePoint farm and the SQL Servers that hold its
// content databases, with the SharePoint servers' cutover after their SQL
// Servers'. The inventory records listening ports but no connections
// between hosts, so no other dependency is guessed. The other hosts go into
// the waves of the assessment (its grouping), hosts that are not ready or
// not assessed into a held wave "not-ready" whose comments list the
// blockers, and a dependency group with such a member is held as a whole.
// Checks are prefilled from what runs on each host. Every wave, host and
// setting is ordered so that the same inputs give the same file.
func Draft(inv *inventory.Inventory, res *assess.Result, opts DraftOptions) *Plan {
	d := &drafter{inv: inv, res: res, opts: opts, parent: map[string]string{}, why: map[string][]string{}}
	return d.plan()
}

type drafter struct {
	inv    *inventory.Inventory
	res    *assess.Result
	opts   DraftOptions
	parent map[string]string
	// why holds, per group root, the sentences saying why hosts share it.
	why map[string][]string
	// after maps a host to the hosts its cutover waits for.
	after map[string][]string
}

func (d *drafter) plan() *Plan {
	o := d.opts
	p := &Plan{
		Version: Version,
		Name:    firstNonZero(o.Name, "migration"),
		Hosts:   firstNonZero(o.Hosts, "hosts.yaml"),
		Target:  o.Target,
		Defaults: Defaults{
			Concurrency: firstNonZero(o.Concurrency, DefaultConcurrency),
			Policy:      Policy{Approval: Manual},
		},
	}
	p.Target.Kind = kindOr(p.Target.Kind)
	p.Comment = d.header()
	d.link()
	groups := d.groups()
	var plain, joined []Wave
	var held []Host
	names := map[string]bool{HeldWave: true}
	waveOf := map[string]int{}
	for _, g := range groups {
		if len(g) > 1 {
			joined = append(joined, d.groupWave(g, names))
			continue
		}
		h := d.host(g[0])
		if d.heldReason(g[0]) != "" {
			h.Hold = false
			held = append(held, h)
			continue
		}
		wn := d.assessWave(g[0])
		i, ok := waveOf[wn]
		if !ok {
			i = len(plain)
			waveOf[wn] = i
			plain = append(plain, Wave{Name: uniqueName(wn, names),
				Comment: fmt.Sprintf("Hosts the assessment grouped into wave %q; nothing the inventory\nshows ties them to other hosts.", wn)})
		}
		plain[i].Hosts = append(plain[i].Hosts, h)
	}
	p.Waves = append(append(p.Waves, plain...), joined...)
	if len(held) > 0 {
		p.Waves = append(p.Waves, Wave{Name: HeldWave, Hold: true, Hosts: held,
			Comment: "Held: these hosts cannot move as they are. Fix what each one's comment names, run\nshift discover and shift plan again, or move a fixed host into a wave."})
	}
	return p
}

func (d *drafter) header() string {
	gen := firstNonZero(d.opts.Generator, "shift")
	lines := []string{
		fmt.Sprintf("Migration plan drafted by %s from an inventory of %d host(s)", gen, len(d.inv.Hosts)),
	}
	if !d.inv.GeneratedAt.IsZero() {
		lines[0] += " discovered " + d.inv.GeneratedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	if d.res != nil {
		lines = append(lines, fmt.Sprintf("and its assessment as of %s (sizes priced with %s, %s).", d.res.AsOf, d.res.Catalog.Name, d.res.Catalog.PricesAsOf))
	}
	return strings.Join(append(lines,
		"Review every wave before running: shift migrate --plan THIS-FILE --yes",
		"Check edits with: shift plan check THIS-FILE (fields: migrate/plan/SCHEMA.md)",
		"",
		"Waves: a SharePoint farm shares a wave with the SQL Servers of its content",
		"databases; other hosts follow the assessment's grouping. The inventory holds",
		"no connections between hosts: add dependsOn where you know of others.",
	), "\n")
}

// key is how a name in SharePoint's view (a NetBIOS name, an FQDN, a SQL
// instance "SQL01\SHAREPOINT" or "SQL01,1433") is matched to a host.
func key(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, `\,`); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i > 0 && net4(s) == "" {
		s = s[:i]
	}
	return s
}

var ipv4Re = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

func net4(s string) string {
	if ipv4Re.MatchString(s) {
		return s
	}
	return ""
}

// lookup maps names a host is known by to its inventory name. A name that
// two hosts share is left out: it cannot say which one is meant.
func (d *drafter) lookup() map[string]string {
	out := map[string]string{}
	clash := map[string]bool{}
	for _, h := range d.inv.Hosts {
		for _, n := range []string{h.Name, h.Identity.Hostname, h.Identity.FQDN, h.Address} {
			k := key(n)
			if k == "" || k == "localhost" || k == "127.0.0.1" {
				continue
			}
			if prev, ok := out[k]; ok && prev != h.Name {
				clash[k] = true
			}
			out[k] = h.Name
		}
	}
	for k := range clash {
		delete(out, k)
	}
	return out
}

func (d *drafter) find(x string) string {
	for d.parent[x] != x {
		d.parent[x] = d.parent[d.parent[x]]
		x = d.parent[x]
	}
	return x
}

func (d *drafter) union(a, b, why string) {
	ra, rb := d.find(a), d.find(b)
	if ra != rb {
		if rb < ra {
			ra, rb = rb, ra
		}
		d.parent[rb] = ra
		d.why[ra] = append(d.why[ra], d.why[rb]...)
		delete(d.why, rb)
	}
	if !contains(d.why[ra], why) {
		d.why[ra] = append(d.why[ra], why)
	}
}

// link joins the hosts the inventory shows depending on each other.
func (d *drafter) link() {
	d.after = map[string][]string{}
	for _, h := range d.inv.Hosts {
		d.parent[h.Name] = h.Name
	}
	names := d.lookup()
	for _, h := range d.inv.Hosts {
		farm := h.SharePoint
		if farm == nil {
			continue
		}
		farmName := firstNonZero(farm.ConfigDatabase, "farm")
		for _, s := range farm.Servers {
			// SharePoint lists outgoing mail and other non-farm servers with
			// the role Invalid; they are not members.
			if strings.EqualFold(s.Role, "Invalid") {
				continue
			}
			if m, ok := names[key(s.Name)]; ok && m != h.Name {
				a, b := min(h.Name, m), max(h.Name, m)
				d.union(a, b, fmt.Sprintf("%s and %s are servers of the SharePoint farm %s", a, b, farmName))
			}
		}
		for _, db := range farm.ContentDatabases {
			m, ok := names[key(db.Server)]
			if !ok || m == h.Name {
				continue
			}
			d.union(h.Name, m, fmt.Sprintf("%s holds content database %s of the SharePoint farm %s", m, db.Name, farmName))
			if !contains(d.after[h.Name], m) {
				d.after[h.Name] = append(d.after[h.Name], m)
			}
		}
	}
}

// groups returns the dependency groups, each sorted by name, ordered by
// their first member.
func (d *drafter) groups() [][]string {
	by := map[string][]string{}
	for _, h := range d.inv.Hosts {
		r := d.find(h.Name)
		by[r] = append(by[r], h.Name)
	}
	out := make([][]string, 0, len(by))
	for _, g := range by {
		sort.Strings(g)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func (d *drafter) groupWave(g []string, names map[string]bool) Wave {
	root := d.find(g[0])
	base := "group-" + g[0]
	for _, n := range g {
		if h := d.inv.Host(n); h != nil && h.SharePoint != nil {
			base = "sharepoint-" + n
			break
		}
	}
	w := Wave{Name: uniqueName(base, names)}
	why := append([]string(nil), d.why[root]...)
	sort.Strings(why)
	var heldBy []string
	for _, n := range g {
		h := d.host(n)
		if h.Hold {
			heldBy = append(heldBy, n)
			h.Hold = false
		}
		h.DependsOn = d.after[n]
		sort.Strings(h.DependsOn)
		w.Hosts = append(w.Hosts, h)
	}
	lines := append([]string{"These hosts depend on each other and move together:"}, indent(why)...)
	if len(heldBy) > 0 {
		w.Hold = true
		lines = append(lines, fmt.Sprintf("Held as a whole: %s cannot move as is (see the host comments).", strings.Join(heldBy, ", ")))
	}
	w.Comment = strings.Join(lines, "\n")
	return w
}

func indent(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "  " + s
	}
	return out
}

var waveNameBad = regexp.MustCompile(`[^a-z0-9._-]+`)

func uniqueName(base string, used map[string]bool) string {
	n := strings.Trim(waveNameBad.ReplaceAllString(strings.ToLower(base), "-"), "-._")
	if len(n) > 56 {
		n = n[:56]
	}
	if n == "" {
		n = "wave"
	}
	name := n
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", n, i)
	}
	used[name] = true
	return name
}

func (d *drafter) result(name string) *assess.HostResult {
	if d.res == nil {
		return nil
	}
	return d.res.Host(name)
}

func (d *drafter) assessWave(name string) string {
	if r := d.result(name); r != nil && r.Wave != "" {
		return r.Wave
	}
	return "wave-1"
}

// heldReason says why a host cannot move as is; "" when it can.
func (d *drafter) heldReason(name string) string {
	r := d.result(name)
	if r == nil {
		return ""
	}
	switch r.Verdict {
	case assess.NotReady:
		var lines []string
		for _, b := range r.Blockers() {
			lines = append(lines, fmt.Sprintf("blocked: %s: %s", b.Rule, oneLine(b.Message)), "  fix: "+oneLine(b.Fix))
		}
		return strings.Join(lines, "\n")
	case assess.NotAssessed:
		if len(r.DiscoveryErrors) == 0 {
			return "not assessed: discovery did not finish"
		}
		e := r.DiscoveryErrors[0]
		s := fmt.Sprintf("not assessed: discovery %s (%s): %s", e.Step, e.Kind, oneLine(e.Message))
		if e.Hint != "" {
			s += "\n  fix: " + oneLine(e.Hint)
		}
		return s
	}
	return ""
}

func oneLine(s string) string {
	return assess.RedactString(strings.Join(strings.Fields(s), " "))
}

// host drafts one host entry; Hold marks a host that cannot move (the caller
// decides where it goes and clears the mark).
func (d *drafter) host(name string) Host {
	h := Host{Name: name}
	ih := d.inv.Host(name)
	r := d.result(name)
	var notes []string
	if reason := d.heldReason(name); reason != "" {
		h.Hold = true
		notes = append(notes, reason)
	} else if r != nil && r.Verdict == assess.Conditional {
		var ids []string
		for _, c := range r.Conditions() {
			ids = append(ids, c.Rule)
		}
		notes = append(notes, "ready with conditions: "+strings.Join(ids, ", ")+" (see the assessment report)")
	}
	if r != nil && r.Sizing != nil {
		h.Size, notes = d.size(r.Sizing, notes)
		if d.opts.Target.Kind == KindAzure && len(r.Sizing.Disks) > 0 {
			h.Disks = &Disks{Type: r.Sizing.Disks[0].Tier}
		}
	}
	if ih != nil {
		h.Disks, notes = diskChoice(ih, h.Disks, notes)
		h.NICs, notes = staticNICs(ih, notes)
		h.Checks = checksFor(ih)
	}
	h.Comment = wrap(strings.Join(notes, "\n"), 96)
	return h
}

// wrap breaks lines longer than width at spaces; continuation lines are
// indented by four spaces so they read as part of the line above.
func wrap(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for len(line) > width {
			i := strings.LastIndexByte(line[:width], ' ')
			if i <= 8 {
				break
			}
			out = append(out, line[:i])
			line = "    " + strings.TrimLeft(line[i:], " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func (d *drafter) size(s *assess.Sizing, notes []string) (Size, []string) {
	if s.VMSize == "" && s.Required.VCPUs == 0 {
		return Size{}, notes
	}
	note := fmt.Sprintf("sized %s: %s", s.Basis, firstNonZero(s.VMSize, "no catalog size fits"))
	if s.VMSize != "" {
		note += fmt.Sprintf(" (%d vCPU, %g GiB)", s.VCPUs, s.MemoryGiB)
	}
	if s.MonthlyCost > 0 && d.res != nil {
		note += fmt.Sprintf(", about %s %.2f/month", d.res.Catalog.Currency, s.MonthlyCost)
	}
	notes = append(notes, note)
	if d.opts.Target.Kind == KindAzure && s.VMSize != "" {
		return Size{VMSize: s.VMSize}, notes
	}
	cpus, mem := s.VCPUs, s.MemoryGiB
	if cpus == 0 {
		cpus, mem = s.Required.VCPUs, s.Required.MemoryGiB
	}
	if cpus == 0 || mem <= 0 {
		return Size{}, notes
	}
	memBytes := ByteSize(math.Ceil(mem*1024)) << 20
	return Size{CPUs: cpus, Memory: max(memBytes, 256<<20)}, notes
}

// diskChoice lists the disks that move and leaves removable ones behind.
func diskChoice(ih *inventory.Host, base *Disks, notes []string) (*Disks, []string) {
	var include, desc []string
	for _, dk := range ih.Disks {
		if dk.Removable {
			notes = append(notes, fmt.Sprintf("disk %s is removable and stays behind", dk.Name))
			continue
		}
		include = append(include, dk.Name)
		desc = append(desc, fmt.Sprintf("%s %s", dk.Name, gib(dk.SizeBytes)))
	}
	if len(include) == 0 {
		return base, notes
	}
	if base == nil {
		base = &Disks{}
	}
	base.Include = include
	notes = append(notes, "disks: "+strings.Join(desc, ", "))
	return base, notes
}

func gib(b uint64) string {
	return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
}

// staticNICs keeps the static IPv4 addresses of physical NICs.
func staticNICs(ih *inventory.Host, notes []string) ([]NIC, []string) {
	var out []NIC
	for _, n := range ih.NICs {
		if n.Virtual || n.Team {
			continue
		}
		for _, a := range n.Addresses {
			static := a.Origin == "static" || (a.Origin == "" && n.DHCP != nil && !*n.DHCP)
			if a.Family == "ipv4" && static {
				out = append(out, NIC{Source: n.Name, KeepStaticIP: true})
				notes = append(notes, fmt.Sprintf("NIC %s has the static address %s/%d: the target subnet must contain it, or set keepStaticIP: false", n.Name, a.Address, a.Prefix))
				break
			}
		}
	}
	return out, notes
}

// httpPorts are the ports whose listeners get an HTTP check.
var httpPorts = map[int]string{80: "http", 443: "https", 8000: "http", 8008: "http", 8080: "http", 8081: "http", 8443: "https", 8888: "http"}

func checksFor(ih *inventory.Host) *Checks {
	c := &Checks{}
	if len(ih.SQLServer) > 0 {
		c.SQLServer = &SQLServerCheck{Budget: Duration(validate.DefaultBudget)}
	}
	if sp := ih.SharePoint; sp != nil {
		c.SharePoint = &SharePointCheck{}
		for _, wa := range sp.WebApplications {
			if wa.URL != "" {
				c.HTTP = append(c.HTTP, validate.HTTPCheck{Name: "sharepoint " + wa.Name, URL: wa.URL})
			}
		}
	}
	if ih.OS.Family == "linux" {
		if dbs := linuxDatabases(ih); len(dbs) > 0 {
			c.Linux = &LinuxCheck{Databases: dbs}
		}
		c.HTTP = append(c.HTTP, linuxHTTP(ih)...)
	}
	if c.SQLServer == nil && c.SharePoint == nil && c.Linux == nil && len(c.HTTP) == 0 {
		return nil
	}
	return c
}

func linuxDatabases(ih *inventory.Host) []validate.DatabaseCheck {
	found := map[string]bool{}
	for _, s := range ih.Services {
		n := strings.ToLower(s.Name)
		if s.State != "" && s.State != "running" {
			continue
		}
		switch {
		case strings.HasPrefix(n, "postgresql"):
			found["postgresql"] = true
		case strings.HasPrefix(n, "mysql"), strings.HasPrefix(n, "mariadb"):
			found["mysql"] = true
		}
	}
	for _, p := range ih.Ports {
		switch {
		case p.Protocol == "tcp" && p.Port == 5432:
			found["postgresql"] = true
		case p.Protocol == "tcp" && p.Port == 3306:
			found["mysql"] = true
		}
	}
	var out []validate.DatabaseCheck
	for _, e := range []string{"mysql", "postgresql"} {
		if found[e] {
			out = append(out, validate.DatabaseCheck{Engine: e})
		}
	}
	return out
}

func linuxHTTP(ih *inventory.Host) []validate.HTTPCheck {
	ports := map[int]bool{}
	for _, p := range ih.Ports {
		if _, ok := httpPorts[p.Port]; ok && p.Protocol == "tcp" {
			ports[p.Port] = true
		}
	}
	list := make([]int, 0, len(ports))
	for p := range ports {
		list = append(list, p)
	}
	sort.Ints(list)
	var out []validate.HTTPCheck
	for _, p := range list {
		scheme := httpPorts[p]
		out = append(out, validate.HTTPCheck{Name: fmt.Sprintf("port %d", p), URL: fmt.Sprintf("%s://localhost:%d/", scheme, p)})
	}
	return out
}

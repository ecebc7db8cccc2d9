package assess

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

// SchemaVersion is the version of the JSON form of [Result] (see SCHEMA.md).
// It grows by one whenever a field changes meaning or is removed; added fields
// do not change it.
const SchemaVersion = 1

// Verdict says whether a host, or one finding about it, stands in the way of
// moving the host as is.
type Verdict string

// Verdicts, from best to worst.
const (
	// Ready: nothing found that needs doing before the move.
	Ready Verdict = "ready"
	// Conditional: the host can move once the conditions are met or accepted
	// (a check that could not be made is a condition too).
	Conditional Verdict = "ready-with-conditions"
	// NotReady: the host cannot move as is; each blocker names its fix.
	NotReady Verdict = "not-ready"
	// NotAssessed: discovery of the host failed, so nothing could be judged.
	NotAssessed Verdict = "not-assessed"
)

// Verdicts lists every verdict from best to worst, for reports.
var Verdicts = []Verdict{Ready, Conditional, NotReady, NotAssessed}

func (v Verdict) rank() int { return slices.Index(Verdicts, v) }

// Worse returns the worse of two verdicts.
func Worse(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Label is the verdict in words for people ("ready with conditions").
func (v Verdict) Label() string { return strings.ReplaceAll(string(v), "-", " ") }

// Evidence is one inventory field a finding rests on.
type Evidence struct {
	// Field is the path of the field in the inventory, e.g.
	// "volumes[C:].encryption" or "firmware.secureBoot".
	Field string `json:"field"`
	// Value is the field's value as text; "unknown" when the field is empty.
	Value string `json:"value"`
}

// Finding is what one rule found on one host.
type Finding struct {
	// Rule is the id of the rule (see [Rules]).
	Rule string `json:"rule"`
	// Title is the rule's title.
	Title string `json:"title"`
	// Verdict is Conditional or NotReady; passing rules make no finding.
	Verdict Verdict `json:"verdict"`
	// Message says what was found and names its evidence.
	Message  string     `json:"message"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Fix is the exact command or procedure that resolves the finding.
	Fix string `json:"fix"`
	// Unchecked is true when the finding says the rule could not be checked
	// (the inventory does not hold what it needs); Fix then says how to check
	// by hand.
	Unchecked bool `json:"unchecked,omitempty"`
}

// HostResult is the assessment of one host.
type HostResult struct {
	Name     string `json:"name"`
	Hostname string `json:"hostname,omitempty"`
	// OS is the product name; OSFamily "windows" or "linux"; empty when unknown.
	OS       string `json:"os,omitempty"`
	OSFamily string `json:"osFamily,omitempty"`
	// EndOfSupport is the OS vendor's end of support, "YYYY-MM-DD"; empty when unknown.
	EndOfSupport string  `json:"endOfSupport,omitempty"`
	Verdict      Verdict `json:"verdict"`
	// Wave is the wave the host belongs to (see [Options.Waves]).
	Wave string `json:"wave"`
	// Findings are sorted blockers first, then by rule id.
	Findings []Finding `json:"findings"`
	// Passed are the ids of the rules that were checked and found nothing.
	Passed []string `json:"passed"`
	// DiscoveryErrors are the errors discovery recorded for the host, notes
	// (kind "unsupported") included.
	DiscoveryErrors []inventory.Error `json:"discoveryErrors,omitempty"`
	// Sizing is nil for a host that was not assessed.
	Sizing     *Sizing            `json:"sizing,omitempty"`
	SQLServer  []SQLSummary       `json:"sqlServer,omitempty"`
	SharePoint *SharePointSummary `json:"sharePoint,omitempty"`
}

// Blockers returns the findings with verdict NotReady.
func (h *HostResult) Blockers() []Finding { return h.filter(NotReady) }

// Conditions returns the findings with verdict Conditional.
func (h *HostResult) Conditions() []Finding { return h.filter(Conditional) }

func (h *HostResult) filter(v Verdict) []Finding {
	var out []Finding
	for _, f := range h.Findings {
		if f.Verdict == v {
			out = append(out, f)
		}
	}
	return out
}

// MonthlyCost is the host's estimated monthly cost; 0 when it was not sized.
func (h *HostResult) MonthlyCost() float64 {
	if h.Sizing == nil {
		return 0
	}
	return h.Sizing.MonthlyCost
}

// SQLSummary is a SQL Server instance as the report shows it.
type SQLSummary struct {
	Instance     string `json:"instance"`
	Release      string `json:"release,omitempty"`
	Version      string `json:"version,omitempty"`
	Level        string `json:"level,omitempty"`
	UpdateLevel  string `json:"updateLevel,omitempty"`
	Edition      string `json:"edition,omitempty"`
	EndOfSupport string `json:"endOfSupport,omitempty"`
	// Supported is false when EndOfSupport is before the assessment date; nil
	// when the date is unknown.
	Supported  *bool    `json:"supported,omitempty"`
	Clustered  bool     `json:"clustered,omitempty"`
	Databases  int      `json:"databases"`
	DataGiB    float64  `json:"dataGiB"`
	NotOnline  []string `json:"notOnline,omitempty"`
	FailedJobs []string `json:"failedJobs,omitempty"`
}

// SharePointSummary is a SharePoint farm as the report shows it.
type SharePointSummary struct {
	Release          string  `json:"release,omitempty"`
	Build            string  `json:"build"`
	EndOfSupport     string  `json:"endOfSupport,omitempty"`
	Supported        *bool   `json:"supported,omitempty"`
	Servers          int     `json:"servers"`
	WebApplications  int     `json:"webApplications"`
	SiteCollections  int     `json:"siteCollections"`
	ContentDatabases int     `json:"contentDatabases"`
	ContentGiB       float64 `json:"contentGiB"`
}

// Summary counts the verdicts and adds up the cost.
type Summary struct {
	Hosts int `json:"hosts"`
	// Verdicts maps each verdict to its number of hosts; every verdict is present.
	Verdicts map[Verdict]int `json:"verdicts"`
	// Blockers maps a rule id to the number of hosts it blocks.
	Blockers    map[string]int `json:"blockers"`
	MonthlyCost float64        `json:"monthlyCost"`
}

// Wave is a group of hosts that move together, with its cost.
type Wave struct {
	Name        string          `json:"name"`
	Hosts       []string        `json:"hosts"`
	Verdicts    map[Verdict]int `json:"verdicts"`
	MonthlyCost float64         `json:"monthlyCost"`
}

// Result is the assessment of an inventory. Its JSON form is documented in
// SCHEMA.md and versioned by SchemaVersion.
type Result struct {
	SchemaVersion int `json:"schemaVersion"`
	// AsOf is the date support status was judged against, "YYYY-MM-DD".
	AsOf string `json:"asOf"`
	// Generator names the program that wrote the result.
	Generator string `json:"generator,omitempty"`
	// InventoryGeneratedAt is when discovery ran.
	InventoryGeneratedAt time.Time     `json:"inventoryGeneratedAt"`
	Catalog              CatalogRef    `json:"catalog"`
	SizingOptions        SizingOptions `json:"sizingOptions"`
	Summary              Summary       `json:"summary"`
	Waves                []Wave        `json:"waves"`
	Hosts                []HostResult  `json:"hosts"`
}

// Reporter receives progress facts. A nil Reporter is valid.
type Reporter interface {
	// HostAssessed is called after each host.
	HostAssessed(h *HostResult)
}

// Options tune an assessment. The zero value is usable.
type Options struct {
	// AsOf is the date support status is judged against; zero means today.
	AsOf time.Time
	// Catalog prices the sizes and disks; nil means the bundled catalog.
	Catalog *Catalog
	// Sizing chooses the sizing basis and its knobs.
	Sizing SizingOptions
	// Samples are performance samples by host name. A host they do not
	// name is sized from the samples its inventory entry carries
	// (Host.Samples), and as is when it has none.
	Samples *inventory.SampleSet
	// Waves groups hosts; nil means every host in one wave "all".
	Waves Grouping
	// Generator is recorded in the result ("shift 0.1.0").
	Generator string
	// Reporter receives progress; nil means none.
	Reporter Reporter
}

// Assess judges every host of inv. It fails only on bad options; problems of
// hosts are findings.
func Assess(inv *inventory.Inventory, opts Options) (*Result, error) {
	if inv == nil {
		return nil, errors.New("assess: no inventory")
	}
	cat := opts.Catalog
	if cat == nil {
		var err error
		if cat, err = Bundled(); err != nil {
			return nil, err
		}
	}
	so, err := opts.Sizing.normalize()
	if err != nil {
		return nil, err
	}
	asOf := opts.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	waves := opts.Waves
	if waves == nil {
		waves = AllInOne
	}
	env := &Env{AsOf: asOf.UTC().Truncate(24 * time.Hour)}
	res := &Result{
		SchemaVersion:        SchemaVersion,
		AsOf:                 env.AsOf.Format(time.DateOnly),
		Generator:            opts.Generator,
		InventoryGeneratedAt: inv.GeneratedAt,
		Catalog:              cat.Ref(),
		SizingOptions:        so,
		Hosts:                make([]HostResult, 0, len(inv.Hosts)),
	}
	for i := range inv.Hosts {
		h := &inv.Hosts[i]
		var samples *inventory.Samples
		if opts.Samples != nil {
			samples = opts.Samples.Hosts[h.Name]
		}
		if samples == nil {
			samples = h.Samples
		}
		hr := assessHost(h, env, cat, so, samples)
		hr.Wave = waves(h)
		res.Hosts = append(res.Hosts, hr)
		if opts.Reporter != nil {
			opts.Reporter.HostAssessed(&res.Hosts[len(res.Hosts)-1])
		}
	}
	slices.SortStableFunc(res.Hosts, func(a, b HostResult) int { return cmp.Compare(a.Name, b.Name) })
	res.summarize()
	return res, nil
}

// assessHost runs every rule over one host and sizes it.
func assessHost(h *inventory.Host, env *Env, cat *Catalog, so SizingOptions, samples *inventory.Samples) HostResult {
	hr := HostResult{
		Name: h.Name, Hostname: h.Identity.Hostname, OS: h.OS.Name, OSFamily: h.OS.Family,
		EndOfSupport: h.OS.EndOfSupport, DiscoveryErrors: h.Errors,
		Findings: []Finding{}, Passed: []string{},
	}
	if !discovered(h) {
		hr.Verdict = NotAssessed
		return hr
	}
	for _, r := range rules {
		if r.OS != "" && r.OS != h.OS.Family {
			continue
		}
		fs := r.Check(h, env)
		if len(fs) == 0 {
			hr.Passed = append(hr.Passed, r.ID)
			continue
		}
		for _, f := range fs {
			f.Rule, f.Title = r.ID, r.Title
			hr.Findings = append(hr.Findings, f)
		}
	}
	sz, f := size(h, cat, so, samples)
	hr.Sizing = sz
	if f != nil {
		f.Rule, f.Title = sizeRule.ID, sizeRule.Title
		hr.Findings = append(hr.Findings, *f)
	} else {
		hr.Passed = append(hr.Passed, sizeRule.ID)
	}
	hr.SQLServer, hr.SharePoint = workloads(h, env)
	hr.Verdict = Ready
	for _, f := range hr.Findings {
		hr.Verdict = Worse(hr.Verdict, f.Verdict)
	}
	slices.SortStableFunc(hr.Findings, func(a, b Finding) int {
		if c := cmp.Compare(b.Verdict.rank(), a.Verdict.rank()); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	return hr
}

// discovered reports whether discovery learned enough of h to judge it: it
// connected, and it read at least the OS.
func discovered(h *inventory.Host) bool {
	if !h.Reachable() {
		return false
	}
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrCanceled {
			return false
		}
	}
	return h.OS.Name != "" || h.OS.Version != ""
}

func (r *Result) summarize() {
	s := Summary{Hosts: len(r.Hosts), Verdicts: map[Verdict]int{}, Blockers: map[string]int{}}
	for _, v := range Verdicts {
		s.Verdicts[v] = 0
	}
	byWave := map[string]*Wave{}
	var order []string
	for i := range r.Hosts {
		h := &r.Hosts[i]
		s.Verdicts[h.Verdict]++
		s.MonthlyCost += h.MonthlyCost()
		seen := map[string]bool{}
		for _, f := range h.Blockers() {
			if !seen[f.Rule] {
				s.Blockers[f.Rule]++
				seen[f.Rule] = true
			}
		}
		w := byWave[h.Wave]
		if w == nil {
			w = &Wave{Name: h.Wave, Hosts: []string{}, Verdicts: map[Verdict]int{}}
			for _, v := range Verdicts {
				w.Verdicts[v] = 0
			}
			byWave[h.Wave] = w
			order = append(order, h.Wave)
		}
		w.Hosts = append(w.Hosts, h.Name)
		w.Verdicts[h.Verdict]++
		w.MonthlyCost += h.MonthlyCost()
	}
	slices.Sort(order)
	r.Waves = make([]Wave, 0, len(order))
	for _, n := range order {
		w := byWave[n]
		w.MonthlyCost = round2(w.MonthlyCost)
		r.Waves = append(r.Waves, *w)
	}
	s.MonthlyCost = round2(s.MonthlyCost)
	r.Summary = s
}

// Host returns the result of the named host, or nil.
func (r *Result) Host(name string) *HostResult {
	for i := range r.Hosts {
		if r.Hosts[i].Name == name {
			return &r.Hosts[i]
		}
	}
	return nil
}

// Failing reports whether any host is at least as bad as v: with NotReady, a
// host that is not ready or not assessed; with Conditional, any host that is
// not plainly ready.
func (r *Result) Failing(v Verdict) []string {
	var out []string
	for _, h := range r.Hosts {
		if h.Verdict.rank() >= v.rank() {
			out = append(out, h.Name)
		}
	}
	return out
}

// ParseVerdict reads a verdict given on the command line: "ready",
// "conditions" / "ready-with-conditions", "not-ready", "not-assessed".
func ParseVerdict(s string) (Verdict, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ready":
		return Ready, nil
	case "conditions", "ready-with-conditions", "conditional":
		return Conditional, nil
	case "not-ready", "notready", "blockers":
		return NotReady, nil
	case "not-assessed":
		return NotAssessed, nil
	}
	return "", fmt.Errorf("unknown verdict %q: use ready, conditions, not-ready or not-assessed", s)
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}

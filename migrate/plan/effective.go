package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/shift-migrate/shift/validate"
)

// Effective is what applies to one host once the plan's levels are merged:
// the host's own settings win over its wave's, which win over the plan's
// defaults, which win over the built-in defaults.
type Effective struct {
	Host string
	Wave string
	// Hold is true when the host or its wave is held.
	Hold bool
	Size Size
	// Disks is never nil in effect: the zero value means every disk.
	Disks Disks
	NICs  []NIC
	// Bandwidth is the host's own cap; 0 means none.
	Bandwidth Bandwidth
	// WaveBandwidth caps the wave's copies together; 0 means none.
	WaveBandwidth Bandwidth
	// Concurrency is the wave's number of hosts copied at once.
	Concurrency int
	// Window is the wave's cutover window; nil means any time.
	Window *Window
	// DependsOnWaves are the waves that must be done before the host's wave
	// starts; DependsOn the hosts whose cutover must be done first.
	DependsOnWaves []string
	DependsOn      []string
	Approval       Approval
	TestMigration  bool
	Delta          Delta
	Checks         Checks
	// StopServices are stopped on the source at cutover, in order.
	StopServices []string
}

// Effective returns the merged settings of a host; ok is false when the plan
// has no such host.
func (p *Plan) Effective(host string) (e Effective, ok bool) {
	h, w := p.Host(host)
	if h == nil {
		return Effective{}, false
	}
	e = Effective{
		Host: h.Name, Wave: w.Name, Hold: h.Hold || w.Hold,
		Size: h.Size, NICs: h.NICs, Bandwidth: h.Bandwidth,
		WaveBandwidth:  firstNonZero(w.Bandwidth, p.Defaults.Bandwidth),
		Concurrency:    firstNonZero(w.Concurrency, p.Defaults.Concurrency, DefaultConcurrency),
		Window:         w.Window,
		DependsOnWaves: w.DependsOn,
		DependsOn:      h.DependsOn,
		Approval:       firstNonZero(h.Approval, w.Approval, p.Defaults.Approval, DefaultApproval),
	}
	if h.Disks != nil {
		e.Disks = *h.Disks
	}
	for _, pol := range []Policy{h.Policy, w.Policy, p.Defaults.Policy} {
		if pol.TestMigration != nil {
			e.TestMigration = *pol.TestMigration
			break
		}
	}
	for _, pol := range []Policy{h.Policy, w.Policy, p.Defaults.Policy} {
		if pol.Cutover != nil {
			e.StopServices = pol.Cutover.StopServices
			break
		}
	}
	e.Delta = Delta{MaxPasses: DefaultMaxPasses, SyncBelow: DefaultSyncBelow}
	for _, pol := range []Policy{p.Defaults.Policy, w.Policy, h.Policy} {
		if d := pol.Delta; d != nil {
			e.Delta.MaxPasses = firstNonZero(d.MaxPasses, e.Delta.MaxPasses)
			e.Delta.SyncBelow = firstNonZero(d.SyncBelow, e.Delta.SyncBelow)
			e.Delta.SyncRateBelow = firstNonZero(d.SyncRateBelow, e.Delta.SyncRateBelow)
		}
		if pol.Checks != nil {
			e.Checks = mergeChecks(e.Checks, *pol.Checks)
		}
	}
	e.Checks = dropOff(e.Checks)
	return e, true
}

func firstNonZero[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// mergeChecks lays over on top of base: sections replace, lists add up with
// an entry of the same name replacing the earlier one.
func mergeChecks(base, over Checks) Checks {
	out := base
	if over.SQLServer != nil {
		out.SQLServer = over.SQLServer
	}
	if over.SharePoint != nil {
		out.SharePoint = over.SharePoint
	}
	if over.Linux != nil {
		out.Linux = over.Linux
	}
	out.HTTP = mergeNamed(base.HTTP, over.HTTP, func(c validate.HTTPCheck) string { return c.Name })
	out.Commands = mergeNamed(base.Commands, over.Commands, func(c validate.CommandCheck) string { return c.Name })
	return out
}

func mergeNamed[T any](base, over []T, name func(T) string) []T {
	if len(over) == 0 {
		return base
	}
	out := append([]T(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if name(out[i]) == name(o) {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

func dropOff(c Checks) Checks {
	if c.SQLServer != nil && c.SQLServer.Off {
		c.SQLServer = nil
	}
	if c.SharePoint != nil && c.SharePoint.Off {
		c.SharePoint = nil
	}
	if c.Linux != nil && c.Linux.Off {
		c.Linux = nil
	}
	return c
}

// ValidateOptions turns a host's checks into the options of its validate
// probe, reading the SQL Server password reference. base is the directory
// relative file: references are resolved against (the plan's). Errors name
// the reference, never the secret.
func (c Checks) ValidateOptions(base string) (validate.Options, error) {
	o := validate.Options{HTTP: c.HTTP, Commands: c.Commands}
	if s := c.SQLServer; s != nil {
		o.CheckDB = s.CheckDB
		o.Budget = time.Duration(s.Budget)
		if s.User != "" {
			pw, err := s.Password.Resolve(base)
			if err != nil {
				return validate.Options{}, fmt.Errorf("checks.sqlServer.password: %w", err)
			}
			o.SQL = validate.SQLCredentials{User: s.User, Password: pw}
		}
	}
	if s := c.SharePoint; s != nil && o.Budget == 0 {
		o.Budget = time.Duration(s.Budget)
	}
	if l := c.Linux; l != nil {
		o.Units = l.Units
		o.Databases = l.Databases
		if o.Budget == 0 {
			o.Budget = time.Duration(l.Budget)
		}
	}
	return o, nil
}

// Dir is the directory relative paths of the plan are resolved against.
func (p *Plan) Dir() string {
	if p.Path == "" {
		return ""
	}
	return filepath.Dir(p.Path)
}

// Digest is a stable hash of the plan's meaning: what each host of each wave
// gets once the levels are merged, the waves' order, windows and
// dependencies, the blackouts and the target. Comments, formatting, key
// order, values spelled differently ("50M" or "50MiB/s") and where a setting
// is written (on the host, its wave or the defaults) do not change it;
// anything that changes what a run does does. The ledger stores it to
// notice a plan edited between runs.
func (p *Plan) Digest() string {
	type wave struct {
		Name  string      `json:"name"`
		Hosts []Effective `json:"hosts"`
	}
	doc := struct {
		Version   int        `json:"version"`
		Name      string     `json:"name"`
		Hosts     string     `json:"hosts"`
		Target    Target     `json:"target"`
		Blackouts []Blackout `json:"blackouts"`
		Waves     []wave     `json:"waves"`
	}{Version: p.Version, Name: p.Name, Hosts: p.Hosts, Target: p.Target, Blackouts: p.Blackouts}
	doc.Target.Kind = kindOr(doc.Target.Kind)
	for _, w := range p.Waves {
		dw := wave{Name: w.Name}
		for _, h := range w.Hosts {
			e, _ := p.Effective(h.Name)
			dw.Hosts = append(dw.Hosts, e)
		}
		doc.Waves = append(doc.Waves, dw)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Every field marshals; a failure is a programming error.
		panic(fmt.Sprintf("plan digest: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

package assess

import (
	"fmt"
	"path"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// Grouping puts a host into a wave and returns the wave's name.
type Grouping func(h *inventory.Host) string

// AllInOne puts every host into the wave "all".
func AllInOne(*inventory.Host) string { return "all" }

// ByPrefix names the wave after the host name up to its first "-", "_" or
// "." ("fin-sql01" → "fin"); a name without one is its own prefix.
func ByPrefix(h *inventory.Host) string {
	if i := strings.IndexAny(h.Name, "-_."); i > 0 {
		return h.Name[:i]
	}
	return h.Name
}

// ByDomain names the wave after the host's domain or workgroup.
func ByDomain(h *inventory.Host) string {
	switch {
	case h.Identity.Domain != "":
		return strings.ToLower(h.Identity.Domain)
	case h.Identity.Workgroup != "":
		return "workgroup " + strings.ToLower(h.Identity.Workgroup)
	}
	return "no domain"
}

// WavePattern assigns hosts whose name matches Glob (path.Match syntax) to
// the wave Name.
type WavePattern struct {
	Name, Glob string
}

// ByPattern puts a host into the wave of the first pattern its name matches,
// else into "unassigned".
func ByPattern(patterns []WavePattern) Grouping {
	return func(h *inventory.Host) string {
		for _, p := range patterns {
			if ok, _ := path.Match(p.Glob, h.Name); ok {
				return p.Name
			}
		}
		return "unassigned"
	}
}

// ParseWavePattern reads NAME=GLOB ("sql=*sql*").
func ParseWavePattern(s string) (WavePattern, error) {
	name, glob, ok := strings.Cut(s, "=")
	if !ok || name == "" || glob == "" {
		return WavePattern{}, fmt.Errorf("wave %q: want NAME=GLOB, e.g. sql='*sql*'", s)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return WavePattern{}, fmt.Errorf("wave %q: bad pattern: %w", s, err)
	}
	return WavePattern{Name: name, Glob: glob}, nil
}

// GroupingByName returns the grouping named "all", "prefix" or "domain".
func GroupingByName(name string) (Grouping, error) {
	switch name {
	case "", "all":
		return AllInOne, nil
	case "prefix":
		return ByPrefix, nil
	case "domain":
		return ByDomain, nil
	}
	return nil, fmt.Errorf("waves %q: use all, prefix or domain (or --wave NAME=GLOB)", name)
}

package main

import (
	"errors"
	"fmt"
	"io"

	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/assess/report"
	"github.com/shift-migrate/shift/inventory"
)

func init() { commands = append(commands, newAssessCmd) }

type assessFlags struct {
	inventory  string
	reports    []string
	catalog    string
	region     string
	samples    string
	percentile float64
	comfort    float64
	diskTier   string
	families   []string
	waves      string
	wave       []string
	asOf       string
	failOn     string
}

func newAssessCmd() *cobra.Command {
	var f assessFlags
	cmd := &cobra.Command{
		Use:   "assess --inventory FILE [--report FILE]...",
		Short: "Judge which servers can move, what blocks them, and what they will cost",
		Long: `Assess reads an inventory written by 'shift discover', runs the readiness
rules over every host, sizes each one onto an Azure VM size and managed disks,
and writes reports. Each --report names a file whose extension picks the
format: .html (self-contained, charts included), .md, .json (schema in
assess/SCHEMA.md), .csv (one row per server) or .xlsx. Without --report the
Markdown report goes to stdout. A summary goes to stderr.

Verdicts: ready; ready with conditions (also when a rule could not be
checked); not ready (a blocker, each with its fix); not assessed (discovery
failed). Readiness is data: assess exits 0 whatever the verdicts, unless
--fail-on asks it to exit 3 for CI pipelines.

Prices come from a bundled, dated catalog of approximate list prices for one
region; pass --catalog FILE (same JSON format) for real quotes or another
region. Hosts with performance samples are sized by the --percentile of
their load times --comfort; without, as they are configured. The samples are
those 'shift discover --sample' put into the inventory, or, for the hosts it
names, a separate --samples FILE. The confidence rating says how far the
samples cover the sizing (a window under a day gets at most two stars).`,
		Example: `  shift assess --inventory inv.json --report assessment.html --report assessment.xlsx
  shift assess --inventory inv.json --waves prefix --report waves.md
  shift assess --inventory inv.json --fail-on not-ready --report out.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAssess(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.inventory, "inventory", "", "inventory file written by 'shift discover' (required)")
	fl.StringArrayVar(&f.reports, "report", nil, "write a report to FILE; the extension picks the format (.html .md .json .csv .xlsx); repeatable")
	fl.StringVar(&f.catalog, "catalog", "", "VM size and disk price catalog (JSON) instead of the bundled approximation")
	fl.StringVar(&f.region, "region", "", "Azure region the prices must be for; must match the catalog's region")
	fl.StringVar(&f.samples, "samples", "", "performance samples (JSON) for performance-based sizing; they win over the inventory's samples for the hosts they name")
	fl.Float64Var(&f.percentile, "percentile", assess.DefaultPercentile, "percentile of the samples to size for (1-100)")
	fl.Float64Var(&f.comfort, "comfort", assess.DefaultComfort, "comfort factor multiplying the measured need (>= 1)")
	fl.StringVar(&f.diskTier, "disk-tier", assess.DefaultDiskTier, "managed-disk tier: "+strings.Join(assess.DiskTiers, ", "))
	fl.StringSliceVar(&f.families, "family", nil, "limit VM sizes to these families (B, Dsv5, Esv5, Fsv2); default all")
	fl.StringVar(&f.waves, "waves", "all", "group hosts into waves: all, prefix (name up to the first - _ .) or domain")
	fl.StringArrayVar(&f.wave, "wave", nil, "NAME=GLOB: hosts whose name matches GLOB go into wave NAME (first match wins; overrides --waves)")
	fl.StringVar(&f.asOf, "as-of", "", "judge support status as of this date (YYYY-MM-DD); default today")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 3 when any host is at least this bad: not-ready (includes not assessed) or conditions")
	return cmd
}

func runAssess(cmd *cobra.Command, f assessFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.inventory == "" {
		return usageError(errors.New("assess needs --inventory FILE"), "write one with 'shift discover --hosts hosts.yaml -o inventory.json'")
	}
	for _, r := range f.reports {
		if _, err := report.FormatOf(r); err != nil {
			return usageError(err, "")
		}
		if err := checkWritable(r); err != nil {
			return usageError(fmt.Errorf("--report %s: %w", r, errors.Unwrap(err)), "choose another report path")
		}
	}
	var failOn assess.Verdict
	if f.failOn != "" {
		v, err := assess.ParseVerdict(f.failOn)
		if err != nil || (v != assess.NotReady && v != assess.Conditional) {
			return usageError(fmt.Errorf("--fail-on %q: use not-ready or conditions", f.failOn), "")
		}
		failOn = v
	}
	opts := assess.Options{Generator: "shift " + versionString(),
		Sizing: assess.SizingOptions{Percentile: f.percentile, Comfort: f.comfort, DiskTier: f.diskTier, Families: f.families}}
	if f.asOf != "" {
		t, err := time.Parse(time.DateOnly, f.asOf)
		if err != nil {
			return usageError(fmt.Errorf("--as-of %q: want YYYY-MM-DD", f.asOf), "")
		}
		opts.AsOf = t
	}
	var err error
	if len(f.wave) > 0 {
		var pats []assess.WavePattern
		for _, w := range f.wave {
			p, err := assess.ParseWavePattern(w)
			if err != nil {
				return usageError(err, "")
			}
			pats = append(pats, p)
		}
		opts.Waves = assess.ByPattern(pats)
	} else if opts.Waves, err = assess.GroupingByName(f.waves); err != nil {
		return usageError(err, "")
	}
	inv, err := inventory.ReadFile(f.inventory)
	if err != nil {
		return usageError(fmt.Errorf("--inventory: %w", err), "give the JSON file 'shift discover -o' wrote")
	}
	if f.catalog != "" {
		if opts.Catalog, err = assess.LoadCatalog(f.catalog); err != nil {
			return usageError(err, "the catalog format is the bundled one's: see assess/data/azure-catalog.json")
		}
	}
	if f.region != "" {
		cat := opts.Catalog
		if cat == nil {
			if cat, err = assess.Bundled(); err != nil {
				return err
			}
		}
		if !strings.EqualFold(cat.Region, f.region) {
			return usageError(fmt.Errorf("--region %s: the catalog %q has prices for %s only", f.region, cat.Name, cat.Region),
				"pass --catalog FILE with prices for "+f.region)
		}
	}
	if f.samples != "" {
		if opts.Samples, err = inventory.ReadSamplesFile(f.samples); err != nil {
			return usageError(fmt.Errorf("--samples: %w", err), "")
		}
	}
	res, err := assess.Assess(inv, opts)
	if err != nil {
		return usageError(err, "")
	}
	if len(f.reports) == 0 {
		if err := report.Write(stdout, report.Markdown, res); err != nil {
			return err
		}
	}
	for _, r := range f.reports {
		if err := report.WriteFile(r, res); err != nil {
			return err
		}
	}
	printAssessSummary(stderr, res, f.reports)
	if failOn != "" {
		if bad := res.Failing(failOn); len(bad) > 0 {
			fmt.Fprintf(stderr, "--fail-on %s: %d host(s): %s\n", f.failOn, len(bad), strings.Join(bad, ", "))
			return &exitError{code: exitPartial, silent: true}
		}
	}
	return nil
}

func printAssessSummary(w io.Writer, res *assess.Result, reports []string) {
	s := res.Summary
	for _, h := range res.Hosts {
		line := fmt.Sprintf("%-24s %-22s", h.Name, h.Verdict.Label())
		switch {
		case h.Verdict == assess.NotAssessed && len(h.DiscoveryErrors) > 0:
			e := h.DiscoveryErrors[0]
			line += fmt.Sprintf(" discovery %s (%s): %s", e.Step, e.Kind, e.Message)
		case len(h.Blockers()) > 0:
			var ids []string
			for _, b := range h.Blockers() {
				ids = append(ids, b.Rule)
			}
			line += " blockers: " + strings.Join(ids, ", ")
		}
		fmt.Fprintln(w, strings.TrimRight(assess.RedactString(line), " "))
	}
	fmt.Fprintf(w, "\n%d host(s): %d ready, %d with conditions, %d not ready, %d not assessed; est. %s %.2f/month (%s prices as of %s, %s)\n",
		s.Hosts, s.Verdicts[assess.Ready], s.Verdicts[assess.Conditional], s.Verdicts[assess.NotReady], s.Verdicts[assess.NotAssessed],
		res.Catalog.Currency, s.MonthlyCost, res.Catalog.Region, res.Catalog.PricesAsOf, "approximate unless --catalog")
	if len(s.Blockers) > 0 {
		ids := make([]string, 0, len(s.Blockers))
		for id := range s.Blockers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf("%s ×%d", id, s.Blockers[id]))
		}
		fmt.Fprintf(w, "blockers: %s\n", strings.Join(parts, ", "))
	}
	for _, r := range reports {
		fmt.Fprintf(w, "report written to %s\n", r)
	}
}

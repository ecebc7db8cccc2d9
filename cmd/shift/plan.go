package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/plan"
	"github.com/shift-migrate/shift/remote"
)

func init() { commands = append(commands, newPlanCmd) }

type planFlags struct {
	from          string
	output        string
	hosts         string
	name          string
	target        string
	subscription  string
	resourceGroup string
	location      string
	concurrency   int
	asOf          string
	waves         string
	catalog       string
	force         bool
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --from INVENTORY [-o waves.yaml]",
		Short: "Draft a migration plan (waves.yaml) from an inventory, or check one",
		Long: `Plan drafts a migration plan from an inventory written by 'shift discover'. It
assesses the inventory itself, then proposes waves: a SharePoint farm shares a
wave with the SQL Servers of its content databases (SharePoint after SQL
Server), the other hosts follow the assessment's grouping (--waves), and hosts
that are not ready or not assessed go into a held wave "not-ready" whose
comments list the blockers and their fixes. Sizes come from the assessment,
validation checks from what runs on each host (SQL Server, SharePoint,
PostgreSQL/MySQL, web ports). The draft is meant to be read and edited; the
format is documented in migrate/plan/SCHEMA.md.

The plan goes to -o (never over an existing file unless --force) or, without
-o, to stdout; a summary goes to stderr.

'shift plan check FILE' checks a plan and the hosts file it names, and prints
every problem with its line and column.`,
		Example: `  shift plan --from inventory.json --hosts hosts.yaml -o waves.yaml
  shift plan --from inventory.json --waves prefix --target azure \
      --subscription 0b1f6471-... --resource-group rg-moved --location westeurope -o waves.yaml
  shift plan check waves.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runPlanDraft(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "inventory file written by 'shift discover' (required)")
	fl.StringVarP(&f.output, "output", "o", "", "write the plan to this file instead of stdout")
	fl.StringVar(&f.hosts, "hosts", "", "hosts file the plan names (the one discovery used); its hosts are checked against the inventory")
	fl.StringVar(&f.name, "name", "", "name of the migration (default: the output file's name)")
	fl.StringVar(&f.target, "target", plan.KindLocal, "where the servers go: local or azure")
	fl.StringVar(&f.subscription, "subscription", "", "Azure subscription ID (with --target azure)")
	fl.StringVar(&f.resourceGroup, "resource-group", "", "Azure resource group (with --target azure)")
	fl.StringVar(&f.location, "location", "", "Azure region, e.g. westeurope (with --target azure)")
	fl.IntVar(&f.concurrency, "concurrency", plan.DefaultConcurrency, "hosts of a wave copied at once")
	fl.StringVar(&f.asOf, "as-of", "", "judge support status as of this date (YYYY-MM-DD); default today")
	fl.StringVar(&f.waves, "waves", "all", "group the hosts without dependencies: all, prefix (name up to the first - _ .) or domain")
	fl.StringVar(&f.catalog, "catalog", "", "VM size and disk price catalog (JSON) instead of the bundled approximation")
	fl.BoolVar(&f.force, "force", false, "replace an existing -o file")
	cmd.AddCommand(newPlanCheckCmd())
	return cmd
}

func runPlanDraft(cmd *cobra.Command, f planFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.from == "" {
		return usageError(errors.New("plan needs --from INVENTORY"), "write one with 'shift discover --hosts hosts.yaml -o inventory.json'")
	}
	if f.concurrency < 1 {
		return usageError(fmt.Errorf("--concurrency %d: must be at least 1", f.concurrency), "")
	}
	target, err := planTarget(f)
	if err != nil {
		return err
	}
	if f.output != "" {
		if err := checkWritable(f.output); err != nil {
			return usageError(err, "choose another -o path")
		}
		if _, err := os.Stat(f.output); err == nil && !f.force {
			return usageError(fmt.Errorf("-o %s: the file exists", f.output), "pass --force to replace it, or choose another -o path")
		}
	}
	opts := assess.Options{Generator: "shift " + versionString()}
	if f.asOf != "" {
		t, err := time.Parse(time.DateOnly, f.asOf)
		if err != nil {
			return usageError(fmt.Errorf("--as-of %q: want YYYY-MM-DD", f.asOf), "")
		}
		opts.AsOf = t
	}
	if opts.Waves, err = assess.GroupingByName(f.waves); err != nil {
		return usageError(err, "")
	}
	if f.catalog != "" {
		if opts.Catalog, err = assess.LoadCatalog(f.catalog); err != nil {
			return usageError(err, "the catalog format is the bundled one's: see assess/data/azure-catalog.json")
		}
	}
	inv, err := inventory.ReadFile(f.from)
	if err != nil {
		return usageError(fmt.Errorf("--from: %w", err), "give the JSON file 'shift discover -o' wrote")
	}
	if len(inv.Hosts) == 0 {
		return usageError(fmt.Errorf("--from %s: the inventory has no hosts", f.from), "run 'shift discover' with a hosts file that lists servers")
	}
	hostsRef, hf, err := planHosts(f)
	if err != nil {
		return err
	}
	res, err := assess.Assess(inv, opts)
	if err != nil {
		return usageError(err, "")
	}
	name := f.name
	if name == "" && f.output != "" {
		name = strings.TrimSuffix(filepath.Base(f.output), filepath.Ext(f.output))
	}
	p := plan.Draft(inv, res, plan.DraftOptions{Name: name, Hosts: hostsRef, Target: target,
		Concurrency: f.concurrency, Generator: "shift " + versionString()})
	if err := p.Check(); err != nil {
		return fmt.Errorf("the drafted plan does not pass its own checks (a bug in shift): %w", err)
	}
	if hf != nil {
		if err := p.CheckHosts(hf.Names()); err != nil {
			return usageError(fmt.Errorf("--hosts %s does not list every host of the inventory:\n%w", f.hosts, err),
				"pass the hosts file discovery used, or add the hosts to it")
		}
	}
	if f.output == "" {
		b, err := p.Marshal()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		printPlanSummary(stderr, p, "")
		return err
	}
	if err := p.WriteFile(f.output, f.force); err != nil {
		if errors.Is(err, plan.ErrExists) {
			return usageError(err, "pass --force to replace it, or choose another -o path")
		}
		return err
	}
	printPlanSummary(stderr, p, f.output)
	return nil
}

// planTarget builds the draft's target from the flags.
func planTarget(f planFlags) (plan.Target, error) {
	switch f.target {
	case plan.KindLocal:
		if f.subscription != "" || f.resourceGroup != "" || f.location != "" {
			return plan.Target{}, usageError(errors.New("--subscription, --resource-group and --location are for --target azure"), "")
		}
		return plan.Target{Kind: plan.KindLocal}, nil
	case plan.KindAzure:
		if f.subscription == "" || f.resourceGroup == "" || f.location == "" {
			return plan.Target{}, usageError(errors.New("--target azure needs --subscription, --resource-group and --location"),
				"az account show --query id gives the subscription ID")
		}
		return plan.Target{Kind: plan.KindAzure, Azure: &plan.AzureTarget{Subscription: f.subscription, ResourceGroup: f.resourceGroup, Location: f.location}}, nil
	}
	return plan.Target{}, usageError(fmt.Errorf("--target %q: use local or azure", f.target), "")
}

// planHosts returns the hosts file as the plan should name it (relative to
// the plan's directory) and the parsed file, or a placeholder when no
// --hosts was given.
func planHosts(f planFlags) (string, *remote.HostsFile, error) {
	if f.hosts == "" {
		return "hosts.yaml", nil, nil
	}
	hf, err := remote.LoadHosts(f.hosts)
	if err != nil {
		return "", nil, usageError(fmt.Errorf("--hosts: %w", err), "")
	}
	ref := f.hosts
	if f.output != "" {
		abs, err1 := filepath.Abs(f.hosts)
		dir, err2 := filepath.Abs(filepath.Dir(f.output))
		if err1 == nil && err2 == nil {
			if rel, err := filepath.Rel(dir, abs); err == nil {
				ref = rel
			}
		}
	} else if abs, err := filepath.Abs(f.hosts); err == nil {
		ref = abs
	}
	return ref, hf, nil
}

func printPlanSummary(w io.Writer, p *plan.Plan, output string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hosts, held := 0, 0
	var reasons []string
	for _, wv := range p.Waves {
		var names []string
		for _, h := range wv.Hosts {
			names = append(names, h.Name)
			if wv.Hold || h.Hold {
				held++
				reason, _, _ := strings.Cut(h.Comment, "\n")
				reasons = append(reasons, fmt.Sprintf("held: %s: %s", h.Name, strings.TrimPrefix(reason, "# ")))
			}
		}
		hosts += len(wv.Hosts)
		label := "wave " + wv.Name
		if wv.Hold {
			label += " (held)"
		}
		fmt.Fprintf(tw, "%s\t%d host(s):\t%s\n", label, len(wv.Hosts), strings.Join(names, ", "))
	}
	tw.Flush()
	for _, r := range reasons {
		fmt.Fprintln(w, assess.RedactString(r))
	}
	fmt.Fprintf(w, "%d wave(s), %d host(s), %d held\n", len(p.Waves), hosts, held)
	if output != "" {
		fmt.Fprintf(w, "plan written to %s; review it, then check it with 'shift plan check %s'\n", output, output)
	}
}

func newPlanCheckCmd() *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a plan and its hosts file; print every problem with its line",
		Long: `Check reads a plan file and the hosts file it names and reports every
problem with file:line:col, the field and the fix. On success it prints each
wave with its hosts and when its cutover may next run (its window minus the
blackouts), and the plan's digest.

Exit status 2 when the plan or its hosts file has a problem.`,
		Example: `  shift plan check waves.yaml
  shift plan check waves.yaml --at 2025-07-05T12:00:00+02:00`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlanCheck(cmd, args[0], at) },
	}
	cmd.Flags().StringVar(&at, "at", "", "show the next windows as of this time (RFC 3339); default now")
	return cmd
}

func runPlanCheck(cmd *cobra.Command, path, at string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	now := time.Now()
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return usageError(fmt.Errorf("--at %q: want RFC 3339, e.g. 2025-07-05T12:00:00+02:00", at), "")
		}
		now = t
	}
	p, err := plan.Load(path)
	if err != nil {
		return planProblems(stderr, path, err, "the format is in migrate/plan/SCHEMA.md")
	}
	hf, err := remote.LoadHosts(p.HostsPath())
	if err != nil {
		return usageError(fmt.Errorf("plan %s: hosts: %w", path, err),
			fmt.Sprintf("fix the hosts file, or point hosts: in %s at the right one (relative to the plan)", path))
	}
	if err := p.CheckHosts(hf.Names()); err != nil {
		return planProblems(stderr, path, err, "the plan's hosts must be listed in "+p.HostsPath())
	}
	printPlanCheck(stdout, p, path, now)
	return nil
}

// planProblems prints every problem of a plan on its own line and returns
// the usage exit status.
func planProblems(w io.Writer, path string, err error, hint string) error {
	var errs plan.Errors
	if !errors.As(err, &errs) {
		return usageError(err, hint)
	}
	for _, e := range errs {
		fmt.Fprintf(w, "shift: %v\n", e)
	}
	fmt.Fprintf(w, "%d problem(s) in %s\nhint: %s\n", len(errs), path, hint)
	return &exitError{code: exitUsage, silent: true}
}

func printPlanCheck(w io.Writer, p *plan.Plan, path string, now time.Time) {
	hosts, held := 0, 0
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tHOSTS\tAFTER\tNEXT WINDOW")
	for _, name := range p.Order() {
		wv := p.Wave(name)
		n := 0
		for _, h := range wv.Hosts {
			if wv.Hold || h.Hold {
				held++
			} else {
				n++
			}
		}
		hosts += len(wv.Hosts)
		next := "held"
		if !wv.Hold {
			next = nextWindowLabel(p, wv.Name, now)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", wv.Name, n, dash(strings.Join(wv.DependsOn, ",")), next)
	}
	tw.Flush()
	if in, until, reason := p.InBlackout(now); in {
		fmt.Fprintf(w, "in a blackout until %s: %s\n", until.Format("2006-01-02 15:04 MST"), reason)
	}
	fmt.Fprintf(w, "%s: ok: %d wave(s), %d host(s), %d held; hosts file %s\ndigest %s\n", path, len(p.Waves), hosts, held, p.HostsPath(), p.Digest())
}

func nextWindowLabel(p *plan.Plan, wave string, now time.Time) string {
	s, e, ok := p.NextWindow(wave, now)
	switch {
	case !ok:
		return "none: the window is over or blacked out"
	case !s.After(now) && e.IsZero():
		return "now, no end"
	case e.IsZero():
		return "from " + s.Format("2006-01-02 15:04 MST")
	}
	from := "now"
	if s.After(now) {
		from = s.Format("2006-01-02 15:04 MST")
	}
	return fmt.Sprintf("%s until %s", from, e.In(s.Location()).Format("2006-01-02 15:04 MST"))
}

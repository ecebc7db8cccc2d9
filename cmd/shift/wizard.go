package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/assess/report"
	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/tui"
)

// The wizard drives the engine through tui.Engine only.
var _ tui.Engine = (*migrate.Engine)(nil)

// wizardFlags are the root command's own flags: they apply when shift runs
// without a subcommand and opens the wizard.
type wizardFlags struct {
	lab bool
}

// runWizard opens the terminal wizard, on the built-in lab with --lab.
func runWizard(cmd *cobra.Command, f wizardFlags) error {
	in, out := cmd.InOrStdin(), cmd.OutOrStdout()
	if !isTerminal(in) || !isTerminal(out) {
		return usageError(errors.New("the wizard needs a terminal"),
			"run shift in a terminal, or use the commands: 'shift lab', 'shift discover' (see 'shift --help')")
	}
	ctx := cmd.Context()
	gen := "shift " + versionString()
	eng := &migrate.Engine{Generator: gen, Assessor: assessor{generator: gen}}
	opts := tui.Options{Engine: eng}
	if f.lab {
		dir, err := os.MkdirTemp("", "shift-lab-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(cmd.ErrOrStderr(), "shift: starting the built-in lab…")
		lab, err := fixtures.StartLab(ctx, fixtures.LabOptions{Dir: filepath.Join(dir, "lab")})
		if err != nil {
			return err
		}
		defer lab.Close()
		hosts := filepath.Join(dir, "hosts.yaml")
		if err := lab.WriteHosts(hosts); err != nil {
			return fmt.Errorf("lab: write hosts file: %w", err)
		}
		opts.HostsFile, opts.OutDir, opts.Lab = hosts, dir, true
		opts.Target = "local cloud (QEMU)"
	}
	return tui.Run(ctx, opts, tui.RunOptions{Input: in, Output: out})
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// assessor gives the engine the assess package's rules, sizing and cost and
// its report renderers (which only cmd/shift imports).
type assessor struct{ generator string }

var _ migrate.Assessor = assessor{}

func (a assessor) Assess(ctx context.Context, inv *inventory.Inventory) (*face.Assessment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := assess.Assess(inv, assess.Options{Generator: a.generator})
	if err != nil {
		return nil, err
	}
	out := &face.Assessment{Currency: res.Catalog.Currency, MonthlyTotal: res.Summary.MonthlyCost, Report: res}
	for i := range res.Hosts {
		h := &res.Hosts[i]
		v := face.Verdict{Host: h.Name, OS: h.OS, Readiness: readiness(h.Verdict), MonthlyCost: h.MonthlyCost()}
		if h.Sizing != nil {
			v.Size = h.Sizing.VMSize
		}
		for _, f := range h.Findings {
			sev := face.Condition
			if f.Verdict == assess.NotReady {
				sev = face.Blocker
			}
			v.Findings = append(v.Findings, face.Finding{Rule: f.Rule, Severity: sev, Message: f.Message, Fix: f.Fix})
		}
		if h.Verdict == assess.NotAssessed {
			// No rule ran: what stopped discovery is what the user must fix.
			for _, e := range h.DiscoveryErrors {
				v.Findings = append(v.Findings, face.Finding{Rule: "discovery/" + e.Step, Severity: face.Blocker,
					Message: assess.RedactString(e.Message), Fix: e.Hint})
			}
		}
		out.Servers = append(out.Servers, v)
	}
	return out, nil
}

func readiness(v assess.Verdict) face.Readiness {
	switch v {
	case assess.Ready:
		return face.Ready
	case assess.Conditional:
		return face.Conditions
	case assess.NotReady:
		return face.NotReady
	}
	return face.Unknown
}

func (a assessor) Export(path string, fa *face.Assessment) error {
	res, ok := fa.Report.(*assess.Result)
	if !ok {
		return errors.New("the assessment holds no report to export")
	}
	if _, err := report.FormatOf(path); err != nil {
		return err
	}
	return report.WriteFile(path, res)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

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
	eng := &migrate.Engine{Generator: gen, Assessor: assessor{generator: gen},
		Migration: migrate.MigrationSetup{AgentBinary: agentBinary, WindowsAgent: windowsAgentBinary}}
	opts := tui.Options{Engine: eng}
	if f.lab {
		stop, err := startWizardLab(ctx, cmd.ErrOrStderr(), eng, &opts)
		if err != nil {
			return err
		}
		defer stop()
	}
	return tui.Run(ctx, opts, tui.RunOptions{Input: in, Output: out})
}

// labDir is where the wizard's lab keeps its state between starts: its
// keys, hosts file, disk image, plan and the local cloud with the ledger.
// It is under the temporary directory, so that the demo never touches the
// user's state directory, and the same at every start, so that a migration
// stopped in one lab is resumed in the next.
func labDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("shift-lab-%d", os.Getuid()))
}

// startWizardLab starts the built-in lab for the wizard and points the
// engine and the wizard at it. stop ends the lab.
func startWizardLab(ctx context.Context, stderr io.Writer, eng *migrate.Engine, opts *tui.Options) (stop func(), err error) {
	dir := labDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "shift: starting the built-in lab in %s…\n", dir)
	lab, err := fixtures.StartLab(ctx, fixtures.LabOptions{Dir: filepath.Join(dir, "lab")})
	if err != nil {
		unlock()
		return nil, err
	}
	stop = func() {
		lab.Close()
		unlock()
		fmt.Fprintf(stderr, "shift: the lab's plan, ledger and local cloud stay in %s for the next start (rm -r it to start over)\n", dir)
	}
	hosts := filepath.Join(dir, "hosts.yaml")
	if err := lab.WriteHosts(hosts); err != nil {
		stop()
		return nil, fmt.Errorf("lab: write hosts file: %w", err)
	}
	eng.Migration.StateDir = filepath.Join(dir, "state")
	// The lab's image boots nothing: a cutover's rollback need not wait
	// the ten minutes a real server may take to boot.
	eng.Migration.BootTimeout = time.Minute
	opts.HostsFile, opts.OutDir, opts.Lab = hosts, dir, true
	opts.Target = "local cloud (QEMU)"
	opts.PlanEdits, opts.PlanNote = labPlanEdits(lab)
	return stop, nil
}

// labBandwidth slows the copy of the lab's disk image so that its progress
// can be watched: 24 MiB of data take about six seconds.
const labBandwidth = "4M"

// labSize is the VM a cutover of local boots: the image needs no more.
const labSize = "1 CPU, 512M"

// labPlanEdits make a drafted plan movable in the lab: local copies the
// lab's small disk image instead of this machine's disks, at a pace a
// person can follow; the simulated Windows hosts, which have no disks to
// read, are held.
func labPlanEdits(lab *fixtures.Lab) ([]face.PlanEdit, string) {
	var edits []face.PlanEdit
	yes, no := true, false
	for _, h := range lab.Hosts {
		switch {
		case h.Name == "local" && lab.LocalDisk != "":
			// Its own wave, so that no assessment verdict on this machine
			// holds it.
			disks, bw, wave, size := []string{lab.LocalDisk}, labBandwidth, "lab", labSize
			comment := "lab: copies the lab's 64 MiB disk image instead of this machine's disks, capped at " + labBandwidth + "/s so the progress can be watched;\nthe image boots nothing, so a cutover ends in a rollback"
			edits = append(edits, face.PlanEdit{Host: h.Name, Wave: &wave, Hold: &no, Disks: &disks, Bandwidth: &bw, Size: &size, Note: &comment})
		case h.Transport == "winrm" || h.Name == "local":
			comment := "lab: simulated host: it answers discovery and validation, but has no disks to copy"
			edits = append(edits, face.PlanEdit{Host: h.Name, Hold: &yes, Note: &comment})
		}
	}
	note := "lab: local copies a 64 MiB disk image; the simulated Windows hosts are held"
	if lab.LocalDisk == "" {
		note = "lab: every host is held (" + lab.DiskNote + ")"
	}
	return edits, note
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

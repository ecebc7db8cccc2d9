package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/fixtures"
	"github.com/shift-migrate/shift/migrate"
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
	eng := &migrate.Engine{Generator: "shift " + versionString()}
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

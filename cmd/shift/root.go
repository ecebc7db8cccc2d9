package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionString() string {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var wf wizardFlags
	root := &cobra.Command{
		Use:   "shift",
		Short: "Discover, assess and move servers into cloud VMs",
		Long: `shift moves on-prem Windows and Linux servers into persistent cloud VMs.

It discovers what runs on each server (SSH for Linux, WinRM for Windows),
reports which servers can move, copies their disks block by block, cuts over
with minutes of downtime and proves the workloads came up intact.

Start with the built-in lab:
  shift --lab                                 # the wizard on the lab
or without the wizard:
  shift lab --write-hosts lab-hosts.yaml      # in one terminal
  shift discover --hosts lab-hosts.yaml -o inventory.json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWizard(cmd, wf)
		},
	}
	root.Flags().BoolVar(&wf.lab, "lab", false, "open the wizard on the built-in lab, with the local cloud as target")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + exitCodesHelp + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(err, fmt.Sprintf("see '%s --help'", c.CommandPath()))
	})
	root.AddCommand(newVersionCmd(), newDiscoverCmd(), newLabCmd())
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands are the subcommands that register themselves from their own file
// with func init() { commands = append(commands, newXCmd) }, so that adding a
// command touches no shared file.
var commands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print shift's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "shift %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

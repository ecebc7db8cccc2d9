package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
)

func init() { commands = append(commands, newVMCmd) }

func newVMCmd() *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "List, start, stop and delete the VMs of the local cloud",
		Long: `The local cloud runs migrated servers as QEMU VMs (KVM when it works, TCG
otherwise). Its disks and VM definitions live in a state directory and
survive restarts of shift and of the VMs: a VM keeps running after shift
exits, and a later 'shift vm list' finds it.

The state directory is --state, else $SHIFT_STATE, else
$XDG_STATE_HOME/shift, else ~/.local/state/shift.

Each VM's first NIC forwards SSH, WinRM and RDP to loopback ports, shown
by 'shift vm list'.`,
		Example: `  shift vm list
  ssh -p PORT root@127.0.0.1        # PORT from the ssh column
  shift vm console web01 | tail
  shift vm stop web01 --timeout 30s
  shift vm delete web01 --disks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&state, "state", "", "state directory of the local cloud (default $SHIFT_STATE, else $XDG_STATE_HOME/shift or ~/.local/state/shift)")
	open := func() (*local.Target, error) {
		dir := state
		if dir == "" {
			d, err := local.DefaultDir()
			if err != nil {
				return nil, usageError(err, "give --state DIR")
			}
			dir = d
		}
		return local.New(local.Options{Dir: dir})
	}
	cmd.AddCommand(newVMListCmd(open), newVMStartCmd(open), newVMStopCmd(open), newVMConsoleCmd(open), newVMDeleteCmd(open))
	return cmd
}

type openTarget func() (*local.Target, error)

// withTarget opens the local cloud and runs fn on it with the command's
// context and its VM name argument.
func withTarget(open openTarget, fn func(ctx context.Context, cmd *cobra.Command, tg *local.Target, name string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		tg, err := open()
		if err != nil {
			return err
		}
		return fn(cmd.Context(), cmd, tg, args[0])
	}
}

// vmError gives the cloud's sentinel errors their exit code and hint.
func vmError(err error) error {
	switch {
	case errors.Is(err, cloud.ErrInvalid):
		return usageError(err, "VM names are letters, digits, '.', '_' and '-'")
	case errors.Is(err, cloud.ErrNotFound):
		return &exitError{code: exitFailure, err: err, hint: "'shift vm list' shows the VMs of this state directory (--state)"}
	}
	return err
}

func newVMListCmd(open openTarget) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the VMs with their state and forwarded ports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tg, err := open()
			if err != nil {
				return err
			}
			vms, err := tg.ListVMs(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if vms == nil {
					vms = []cloud.VM{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(vms)
			}
			if len(vms) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no VMs in %s\n", tg.Dir())
				return nil
			}
			printVMs(cmd.OutOrStdout(), vms)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the VMs as a JSON array")
	return cmd
}

func printVMs(w io.Writer, vms []cloud.VM) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tCPUS\tMEMORY\tFIRMWARE\tSSH\tWINRM\tRDP\tDISKS")
	for _, vm := range vms {
		addr := func(service string) string {
			if a, ok := vm.Address(service); ok {
				return a.Host + ":" + strconv.Itoa(a.Port)
			}
			return "-"
		}
		s := vm.Spec
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d MiB\t%s\t%s\t%s\t%s\t%s\n", s.Name, vm.State, s.CPUs, s.MemoryMiB, s.Firmware,
			addr("ssh"), addr("winrm"), addr("rdp"), strings.Join(s.Disks(), ","))
	}
	tw.Flush()
}

func newVMStartCmd(open openTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "start NAME",
		Short: "Start a VM (it keeps running after shift exits)",
		Args:  cobra.ExactArgs(1),
		RunE: withTarget(open, func(ctx context.Context, cmd *cobra.Command, tg *local.Target, name string) error {
			if err := tg.StartVM(ctx, name); err != nil {
				return vmError(err)
			}
			vm, err := tg.VMStatus(ctx, name)
			if err != nil {
				return vmError(err)
			}
			accel, why := tg.Accel(ctx)
			fmt.Fprintf(cmd.ErrOrStderr(), "VM %s %s (%s: %s)\n", name, vm.State, accel, why)
			printVMs(cmd.OutOrStdout(), []cloud.VM{vm})
			return nil
		}),
	}
}

func newVMStopCmd(open openTarget) *cobra.Command {
	var timeout time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "stop NAME",
		Short: "Shut a VM down (power button, forced off after --timeout)",
		Args:  cobra.ExactArgs(1),
		RunE: withTarget(open, func(ctx context.Context, cmd *cobra.Command, tg *local.Target, name string) error {
			if timeout <= 0 {
				return usageError(fmt.Errorf("--timeout %s: must be positive", timeout), "use --force to power off at once")
			}
			grace := timeout
			if force {
				grace = -1
			}
			if err := tg.StopVM(ctx, name, grace); err != nil {
				return vmError(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "VM %s stopped\n", name)
			return nil
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", cloud.DefaultStopGrace, "how long the guest may take to shut down before it is forced off")
	cmd.Flags().BoolVar(&force, "force", false, "power off at once, without asking the guest")
	return cmd
}

func newVMConsoleCmd(open openTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "console NAME",
		Short: "Print a VM's serial console log (every boot)",
		Args:  cobra.ExactArgs(1),
		RunE: withTarget(open, func(ctx context.Context, cmd *cobra.Command, tg *local.Target, name string) error {
			r, err := tg.Console(ctx, name)
			if err != nil {
				return vmError(err)
			}
			defer r.Close()
			_, err = io.Copy(cmd.OutOrStdout(), r)
			return err
		}),
	}
}

func newVMDeleteCmd(open openTarget) *cobra.Command {
	var disks bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a VM (forced off if running); its disks stay unless --disks",
		Args:  cobra.ExactArgs(1),
		RunE: withTarget(open, func(ctx context.Context, cmd *cobra.Command, tg *local.Target, name string) error {
			var names []string
			if disks {
				vm, err := tg.VMStatus(ctx, name)
				if err != nil && !errors.Is(err, cloud.ErrNotFound) {
					return vmError(err)
				}
				names = vm.Spec.Disks()
				if vm.Spec.OSDisk == "" {
					names = nil
				}
			}
			if err := tg.DeleteVM(ctx, name); err != nil {
				return vmError(err)
			}
			// Disks on a detached context: the VM is gone, leave no orphans
			// half-deleted because of a Ctrl-C.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			for _, d := range names {
				if err := tg.DeleteDisk(dctx, d); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "VM %s deleted", name)
			if len(names) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), " with disks %s", strings.Join(names, ", "))
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			return nil
		}),
	}
	cmd.Flags().BoolVar(&disks, "disks", false, "also delete the VM's disks")
	return cmd
}

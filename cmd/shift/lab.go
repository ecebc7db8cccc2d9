package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/fixtures"
)

func newLabCmd() *cobra.Command {
	var writeHosts, state string
	var noSSH bool
	cmd := &cobra.Command{
		Use:   "lab --write-hosts FILE",
		Short: "Serve the built-in lab: simulated Windows hosts and this machine over SSH",
		Long: `Lab serves a set of lab hosts on loopback until interrupted:

  - simulated Windows servers behind a real WinRM endpoint (WS-Management over
    HTTP and HTTPS, Basic and NTLM), one per preset;
  - this machine over a real OpenSSH sshd with a generated host key and login key.

It writes a hosts file that 'shift discover' accepts, with the lab's keys,
CA certificate and password referenced as files in the state directory.`,
		Example: `  shift lab --write-hosts lab.yaml &
  shift discover --hosts lab.yaml -o inventory.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if writeHosts == "" {
				return usageError(errors.New("lab needs --write-hosts FILE"), "the hosts file is how 'shift discover' finds the lab")
			}
			if err := checkWritable(writeHosts); err != nil {
				return usageError(err, "")
			}
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			if state == "" {
				dir, err := os.MkdirTemp("", "shift-lab-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				state = dir
			}
			lab, err := fixtures.StartLab(ctx, fixtures.LabOptions{Dir: state, NoSSH: noSSH})
			if err != nil {
				return err
			}
			defer lab.Close()
			if err := lab.WriteHosts(writeHosts); err != nil {
				return fmt.Errorf("lab: write hosts file: %w", err)
			}
			abs, _ := filepath.Abs(writeHosts)
			tw := tabwriter.NewWriter(stderr, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "HOST\tTRANSPORT\tADDRESS\tWHAT")
			for _, h := range lab.Hosts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, h.Transport, h.Addr, h.Detail)
			}
			tw.Flush()
			fmt.Fprintf(stderr, "\nlab ready; hosts file: %s\nnext: shift discover --hosts %s -o inventory.json\n(Ctrl-C stops the lab)\n", abs, writeHosts)
			<-ctx.Done()
			fmt.Fprintln(stderr, "lab: stopping")
			return nil
		},
	}
	cmd.Flags().StringVar(&writeHosts, "write-hosts", "", "write the lab's hosts file here (required)")
	cmd.Flags().StringVar(&state, "state", "", "directory for the lab's keys and certificates (default: a temporary directory removed on exit)")
	cmd.Flags().BoolVar(&noSSH, "no-ssh", false, "serve only the Windows hosts")
	return cmd
}

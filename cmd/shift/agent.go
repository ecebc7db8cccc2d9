package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/transfer"
)

func init() { commands = append(commands, newAgentCmd) }

func newAgentCmd() *cobra.Command {
	var diskPath string
	var workers int
	cmd := &cobra.Command{
		Use:   "agent [--disk DEV]",
		Short: "Read a disk for the appliance (started by shift on the source; not for direct use)",
		Long: `Agent is the source side of a replication. The appliance uploads the shift
binary to the source, runs "shift agent" over SSH and speaks shift's framed
agent protocol with it over stdin and stdout. The agent opens the disk
read-only and never writes to it.

Without --disk the agent reads the disk that holds the root filesystem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if diskPath == "" {
				p, err := rootDisk()
				if err != nil {
					return usageError(fmt.Errorf("agent: find the root disk: %w", err), "name the disk with --disk /dev/sdX")
				}
				diskPath = p
			}
			d, err := disk.OpenFile(diskPath)
			if err != nil {
				hint := ""
				if errors.Is(err, os.ErrPermission) {
					hint = "reading a disk needs root: log in as root or allow passwordless sudo"
				}
				return &exitError{code: exitFailure, err: fmt.Errorf("agent: open disk: %w", err), hint: hint}
			}
			defer d.Close()
			return transfer.ServeAgent(cmd.Context(), d, cmd.InOrStdin(), cmd.OutOrStdout(),
				transfer.AgentOptions{Name: diskPath, Workers: workers})
		},
	}
	cmd.Flags().StringVar(&diskPath, "disk", "", "block device or image file to read (default: the disk holding /)")
	cmd.Flags().IntVar(&workers, "workers", 0, "chunks read and compressed at once (default: CPUs, at most 8)")
	return cmd
}

// rootDisk finds the whole disk under the root filesystem through
// /proc/self/mountinfo and /sys/dev/block.
func rootDisk() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != "/" {
			continue
		}
		sys := filepath.Join("/sys/dev/block", f[2])
		real, err := filepath.EvalSymlinks(sys)
		if err != nil {
			return "", fmt.Errorf("root filesystem on device %s, which is not a block device (a container or network filesystem?)", f[2])
		}
		if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
			real = filepath.Dir(real)
		}
		return "/dev/" + filepath.Base(real), nil
	}
	return "", errors.New("no root filesystem in /proc/self/mountinfo")
}

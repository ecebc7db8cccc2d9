package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/transfer"
)

func init() { commands = append(commands, newAgentCmd) }

// maxFreeze bounds how long an agent keeps filesystems frozen.
const maxFreeze = 15 * time.Minute

func newAgentCmd() *cobra.Command {
	var diskPath, connect, pin, snapshot string
	var workers int
	var freeze bool
	cmd := &cobra.Command{
		Use:   "agent [--disk DEV]",
		Short: "Read a disk for the appliance (started by shift on the source; not for direct use)",
		Long: `Agent is the source side of a replication. The appliance uploads the shift
binary to the source, runs "shift agent" over SSH and speaks shift's framed
agent protocol with it over stdin and stdout. The agent opens the disk
read-only and never writes to it.

Without --disk the agent reads the disk that holds the root filesystem.

The agent maps the disk with the filesystems' allocation maps (ext4, FAT and
NTFS bitmaps) before every pass: space a filesystem marks free is neither
read nor sent, on block devices and non-sparse images too, and the copy
reads as zeros there. What a filesystem does not use does not matter to it;
the whole-disk digest covers what the agent declares (free space as zeros)
on both sides, so it still proves the copy equal. On a mounted filesystem the
on-disk maps can lag behind new allocations: the next pass catches those
chunks, and the final pass of a cutover runs on a frozen filesystem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if connect != "" {
				return runConnectBackAgent(cmd, diskPath, connect, pin, snapshot, workers)
			}
			if pin != "" || snapshot != "" {
				return usageError(errors.New("agent: --pin and --snapshot go with --connect"), "")
			}
			if diskPath == "" {
				p, err := rootDisk()
				if err != nil {
					return usageError(fmt.Errorf("agent: find the root disk: %w", err), "name the disk with --disk /dev/sdX")
				}
				diskPath = p
			}
			if freeze {
				frozen, skipped, thaw, err := freezeDisk(diskPath, maxFreeze)
				if err != nil {
					return &exitError{code: exitFailure, err: fmt.Errorf("agent: freeze the filesystems on %s: %w", diskPath, err)}
				}
				defer thaw()
				fmt.Fprintf(cmd.ErrOrStderr(), "agent: frozen: %s\n", strings.Join(frozen, ", "))
				for _, s := range skipped {
					fmt.Fprintf(cmd.ErrOrStderr(), "agent: not frozen: %s\n", s)
				}
			}
			if err := dropCache(diskPath); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "agent: drop the cached pages of %s: %v (a pass may read stale data)\n", diskPath, err)
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
			src := &mappedDisk{File: d, warn: cmd.ErrOrStderr()}
			if out, ok := cmd.OutOrStdout().(*os.File); ok {
				transfer.GrowPipe(out)
			}
			return transfer.ServeAgent(cmd.Context(), src, cmd.InOrStdin(), cmd.OutOrStdout(),
				transfer.AgentOptions{Name: diskPath, Workers: workers})
		},
	}
	cmd.Flags().StringVar(&diskPath, "disk", "", "block device or image file to read (default: the disk holding /)")
	cmd.Flags().BoolVar(&freeze, "freeze", false, "freeze the filesystems mounted from the disk while the agent runs (Linux; thawed on exit, on a lost session, and after "+maxFreeze.String()+" at most)")
	cmd.Flags().IntVar(&workers, "workers", 0, "chunks read and compressed at once (default: CPUs, at most 8)")
	cmd.Flags().StringVar(&connect, "connect", "", "dial back to the appliance at HOST:PORT over TLS instead of using stdin/stdout (Windows); the one-time token is read from $SHIFT_AGENT_TOKEN")
	cmd.Flags().StringVar(&pin, "pin", "", "with --connect: the appliance certificate's pin, sha256:HEX")
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "with --connect: OFFSET:LENGTH:DEVICE, a partition of the disk to read from a VSS shadow copy")
	return cmd
}

// runConnectBackAgent serves the agent protocol over a TLS connection to the
// appliance, as the Windows agent does. The token never appears on the
// command line: the appliance passes it in the environment.
func runConnectBackAgent(cmd *cobra.Command, diskPath, connect, pin, snapshot string, workers int) error {
	token := os.Getenv("SHIFT_AGENT_TOKEN")
	switch {
	case diskPath == "":
		return usageError(errors.New("agent: --connect needs --disk"), "the appliance always names the disk, e.g. --disk \\\\.\\PHYSICALDRIVE0")
	case pin == "":
		return usageError(errors.New("agent: --connect needs --pin sha256:HEX"), "")
	case token == "":
		return usageError(errors.New("agent: --connect needs the one-time token in $SHIFT_AGENT_TOKEN"), "")
	}
	src, cl, err := transfer.OpenAgentDisk(diskPath, snapshot)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("agent: %w", err)}
	}
	defer cl.Close()
	return transfer.ServeConnectBack(cmd.Context(), src,
		transfer.DialBackConfig{Address: connect, Pin: pin, Token: token},
		transfer.AgentOptions{Name: diskPath, Workers: workers})
}

// mappedDisk is a source disk whose extents come from convert.Inspect: the
// image's holes plus the free space of the filesystems whose allocation maps
// can be read. transfer asks for them at the start of the session and again
// before every later pass, so a delta pass skips what became free and zeros
// it on the target.
type mappedDisk struct {
	*disk.File
	warn   io.Writer // where a failed inspection is reported; nil discards
	warned bool
}

var _ disk.Source = (*mappedDisk)(nil)

// Extents maps the disk with its filesystems' allocation maps. When the
// partition table or a filesystem cannot be read, the agent falls back to
// the plain map of the file (everything allocated counts as data): slower,
// never wrong.
func (m *mappedDisk) Extents(ctx context.Context) ([]disk.Extent, error) {
	l, err := convert.Inspect(ctx, m.File)
	if err == nil {
		return l.Extents, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	if m.warn != nil && !m.warned {
		m.warned = true
		fmt.Fprintf(m.warn, "agent: %s: %v; reading every allocated byte instead of using the filesystems' maps\n", m.Name(), err)
	}
	return m.File.Extents(ctx)
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

package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/shift-migrate/shift/remote"
)

// DeployOptions say which agent to run on a Linux source and on which disk.
type DeployOptions struct {
	// Binary returns the path of a linux shift binary for goarch ("amd64",
	// "arm64", …), the architecture the source reported. It is required.
	Binary func(goarch string) (string, error)
	// Disk is the device or image the agent reads; "" lets the agent pick
	// the disk that holds the source's root filesystem.
	Disk string
	// Workers is passed to the agent as --workers; 0 lets it choose.
	Workers int
	// Freeze makes the agent freeze the filesystems mounted from its disk
	// while it runs (--freeze), so that a pass reads one moment of the
	// disk: a cutover's final pass, with the applications stopped.
	Freeze bool
	// Dir is the directory on the source in which a private directory for
	// the binary is made; "" means /tmp. It must not be mounted noexec.
	Dir string
}

// RemoteAgent is a shift agent running on a source over SSH, with the
// session to it.
type RemoteAgent struct {
	*Session
	// Arch is the source's architecture as a GOARCH; Sudo says the agent
	// runs through sudo.
	Arch string
	Sudo bool

	c       *remote.SSHClient
	base    string // DeployOptions.Dir
	dir     string // the private directory in base
	wait    func() error
	cleaned bool
}

// GoArch maps `uname -m` output to a GOARCH.
func GoArch(uname string) (string, bool) {
	switch strings.TrimSpace(uname) {
	case "x86_64", "amd64":
		return "amd64", true
	case "aarch64", "arm64":
		return "arm64", true
	case "i386", "i486", "i586", "i686":
		return "386", true
	case "armv7l", "armv6l":
		return "arm", true
	case "ppc64le":
		return "ppc64le", true
	case "s390x":
		return "s390x", true
	case "riscv64":
		return "riscv64", true
	}
	return "", false
}

// DeployAgent uploads the shift binary for the source's architecture into a
// fresh temporary directory on the source (SFTP), starts "shift agent" there
// with its stdin and stdout as the protocol stream (through "sudo -n" when
// the login user is not root and may use sudo), and reads its hello. Close
// stops the agent and removes the binary; a failed deploy removes it too.
func DeployAgent(ctx context.Context, c *remote.SSHClient, opts DeployOptions) (_ *RemoteAgent, err error) {
	if opts.Binary == nil {
		return nil, errors.New("deploy agent: DeployOptions.Binary is required")
	}
	base := opts.Dir
	if base == "" {
		base = "/tmp"
	}
	mk := "uname -m; id -u; mktemp -d " + remote.ShellQuote(path.Join(base, "shift-agent.XXXXXX"))
	res, err := c.Run(ctx, mk)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	if err := res.Err("uname -m; id -u; mktemp -d"); err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	lines := strings.Fields(string(res.Stdout))
	if len(lines) != 3 {
		return nil, fmt.Errorf("deploy agent: unexpected output of uname, id and mktemp in %s: %q", base, res.Stdout)
	}
	a := &RemoteAgent{c: c, dir: lines[2], base: base}
	defer func() {
		if err != nil {
			a.cleanup(ctx)
		}
	}()
	arch, ok := GoArch(lines[0])
	if !ok {
		return nil, fmt.Errorf("deploy agent: the source's architecture %q is not one shift is built for", lines[0])
	}
	a.Arch = arch
	bin, err := opts.Binary(arch)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	defer f.Close()
	// The file is named shift so that it runs as the shift command
	// whatever binary it came from.
	exe := path.Join(a.dir, "shift")
	if err := c.Upload(ctx, f, exe, 0o700); err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}

	if lines[1] != "0" {
		// RunPrivileged checks sudo once and explains what is wrong; it
		// runs directly when the hosts file says sudo: never.
		pr, err := c.RunPrivileged(ctx, "id -u")
		if err != nil {
			return nil, fmt.Errorf("deploy agent: %w", err)
		}
		a.Sudo = strings.TrimSpace(string(pr.Stdout)) == "0"
	}
	cmd := remote.ShellQuote(exe) + " agent"
	if opts.Disk != "" {
		cmd += " --disk " + remote.ShellQuote(opts.Disk)
	}
	if opts.Workers > 0 {
		cmd += fmt.Sprintf(" --workers %d", opts.Workers)
	}
	if opts.Freeze {
		cmd += " --freeze"
	}
	if prof := os.Getenv(AgentProfileEnv); prof != "" {
		cmd = "env " + ProfileEnv + "=" + remote.ShellQuote(prof) + " " + cmd
	}
	if a.Sudo {
		cmd = "sudo -n -- " + cmd
	}
	// The shell removes the agent's directory once the agent exits, so
	// that a clean end needs no further SSH session; Close removes it when
	// the wrapper could not (killed, connection lost).
	q := remote.ShellQuote(a.dir)
	cmd = "sh -c " + remote.ShellQuote(cmd+"; rc=$?; rm -rf -- "+q+
		" || { echo \"shift: could not remove \""+q+" >&2; exit 125; }; exit $rc")
	stdin, stdout, wait, err := c.StartStream(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	a.wait = wait
	s, err := Open(ctx, stdout, stdin)
	if err != nil {
		stdin.Close()
		if werr := wait(); werr != nil {
			// The agent's own message (bad --disk, unreadable device) says more.
			err = fmt.Errorf("%w (agent: %w)", err, werr)
		}
		a.wait = nil
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a.Session = s
	return a, nil
}

// Close ends the session, waits for the agent to exit and removes its
// binary from the source (with its own time limit, also when ctx has ended).
// It returns the agent's exit error, if any.
func (a *RemoteAgent) Close(ctx context.Context) error {
	var err error
	if a.Session != nil {
		a.Session.Close()
	}
	if a.wait != nil {
		err = a.wait()
		a.wait = nil
		// A clean exit means the wrapper removed the directory.
		a.cleaned = a.cleaned || err == nil
	}
	if cerr := a.cleanup(ctx); err == nil {
		err = cerr
	}
	return err
}

func (a *RemoteAgent) cleanup(ctx context.Context) error {
	if a.cleaned || a.dir == "" || !strings.HasPrefix(a.dir, path.Join(a.base, "shift-agent.")) {
		return nil
	}
	a.cleaned = true
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res, err := a.c.Run(cctx, "rm -rf "+remote.ShellQuote(a.dir))
	if err == nil {
		err = res.Err("rm agent")
	}
	if err != nil {
		return fmt.Errorf("remove agent %s: %w", a.dir, err)
	}
	return nil
}

package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

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
	// Uncompressed uploads the binary as it is even where the source has
	// zstd (see DeployAgent).
	Uncompressed bool
}

// RemoteAgent is a shift agent running on a source over SSH, with the
// session to it.
type RemoteAgent struct {
	*Session
	// Arch is the source's architecture as a GOARCH; Sudo says the agent
	// runs through sudo; Compressed says its binary was uploaded
	// zstd-compressed.
	Arch       string
	Sudo       bool
	Compressed bool

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
//
// One SSH session does it all, so that a deploy costs one login shell on
// the source: a small script makes the directory and says the
// architecture, the user, the directory and whether zstd is installed on
// its first line of output; it then waits for a word on its input while
// the binary is uploaded beside it over SFTP, and runs the agent (directly
// or through sudo) in its place. If the appliance gives up before that
// word, the script sees its input end and removes the directory; once the
// agent exits, it removes it too.
//
// Where the source has zstd, the binary travels compressed (zstd's fastest
// level: some 40% of its size, a third of the time on the wire) and the
// script decompresses it before running it. The binary for the appliance's
// own architecture, the usual case, is compressed while the source's shell
// starts.
func DeployAgent(ctx context.Context, c *remote.SSHClient, opts DeployOptions) (_ *RemoteAgent, err error) {
	if opts.Binary == nil {
		return nil, errors.New("deploy agent: DeployOptions.Binary is required")
	}
	base := opts.Dir
	if base == "" {
		base = "/tmp"
	}
	var packed *packedBinary
	if !opts.Uncompressed {
		if bin, err := opts.Binary(runtime.GOARCH); err == nil {
			packed = packBinary(bin)
		}
	}
	stdin, stdout, wait, err := c.StartStream(ctx, deployScript(base, opts))
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	a := &RemoteAgent{c: c, base: base, wait: wait}
	defer func() {
		if err == nil {
			return
		}
		// Closing the script's input makes it remove the directory before
		// the agent runs, or ends the agent, whose wrapper removes it.
		stdin.Close()
		if werr := a.wait(); werr != nil {
			// The script's or the agent's own message (mktemp, a noexec
			// directory, a bad --disk, an unreadable device) says more.
			err = fmt.Errorf("%w (source: %w)", err, werr)
		} else {
			a.cleaned = true
		}
		a.wait = nil
		a.cleanup(ctx)
	}()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if errors.Is(err, io.EOF) {
		err = errors.New("the shell ended before it said anything")
	}
	if err != nil {
		return nil, fmt.Errorf("deploy agent: prepare a directory in %s on the source: %w", base, err)
	}
	f := strings.Fields(strings.TrimPrefix(line, deployHello))
	if !strings.HasPrefix(line, deployHello) || len(f) != 4 {
		return nil, fmt.Errorf("deploy agent: unexpected first line from the source's shell: %q (is a login script printing to stdout?)", line)
	}
	a.dir = f[2]
	arch, ok := GoArch(f[0])
	if !ok {
		return nil, fmt.Errorf("deploy agent: the source's architecture %q is not one shift is built for", f[0])
	}
	a.Arch = arch
	bin, err := opts.Binary(arch)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	a.Compressed = f[3] == "zstd" && !opts.Uncompressed
	if packed == nil || packed.path != bin {
		packed = nil
	}
	if err := uploadAgent(ctx, c, bin, a.dir, a.Compressed, packed); err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	if f[1] != "0" {
		// RunPrivileged checks sudo once and explains what is wrong; it
		// runs directly when the hosts file says sudo: never.
		pr, err := c.RunPrivileged(ctx, "id -u")
		if err != nil {
			return nil, fmt.Errorf("deploy agent: %w", err)
		}
		a.Sudo = strings.TrimSpace(string(pr.Stdout)) == "0"
	}
	word := "run\n"
	if a.Sudo {
		word = "sudo\n"
	}
	if _, err := io.WriteString(stdin, word); err != nil {
		return nil, fmt.Errorf("deploy agent: start: %w", err)
	}
	s, err := Open(ctx, out, stdin)
	if err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a.Session = s
	return a, nil
}

// uploadAgent uploads the binary bin into dir on the source as dir/shift,
// or compressed as dir/shift.zst, which the deploy script decompresses:
// packed's bytes when it holds bin compressed, else compressed as it goes.
// The file is named shift so that it runs as the shift command whatever
// binary it came from.
func uploadAgent(ctx context.Context, c *remote.SSHClient, bin, dir string, compressed bool, packed *packedBinary) error {
	if compressed && packed != nil {
		select {
		case <-packed.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if packed.err == nil {
			return c.Upload(ctx, bytes.NewReader(packed.data), path.Join(dir, "shift.zst"), 0o600)
		}
	}
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	if !compressed {
		return c.Upload(ctx, f, path.Join(dir, "shift"), 0o700)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(compressBinary(pw, f)) }()
	err = c.Upload(ctx, pr, path.Join(dir, "shift.zst"), 0o600)
	// Stops the compressor when the upload ended first.
	pr.CloseWithError(errors.New("upload ended"))
	return err
}

// compressBinary writes r to w compressed for the deploy script's zstd.
func compressBinary(w io.Writer, r io.Reader) error {
	enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), 4)))
	if err != nil {
		return err
	}
	_, err = enc.ReadFrom(r)
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("compress the agent binary: %w", err)
	}
	return nil
}

// packedBinary is a binary being compressed in the background; data is
// complete once done is closed and err is nil.
type packedBinary struct {
	path    string
	size    int64
	modTime time.Time
	done    chan struct{}
	data    []byte
	err     error
}

// packs holds the compressed binaries of this process, by path: a
// migration deploys an agent on every server, for every pass, and the
// binary is compressed once (some 0.1 CPU-s and 15 MB for shift's own).
var packs struct {
	sync.Mutex
	m map[string]*packedBinary
}

// packBinary returns the binary at path compressed, or being compressed in
// the background: the copy made earlier in this process while the file
// keeps its size and modification time, else a new one.
func packBinary(path string) *packedBinary {
	st, err := os.Stat(path)
	if err != nil {
		p := &packedBinary{path: path, done: make(chan struct{}), err: err}
		close(p.done)
		return p
	}
	packs.Lock()
	defer packs.Unlock()
	if p := packs.m[path]; p != nil && p.size == st.Size() && p.modTime.Equal(st.ModTime()) {
		select {
		case <-p.done:
			if p.err == nil {
				return p
			}
		default:
			return p
		}
	}
	p := &packedBinary{path: path, size: st.Size(), modTime: st.ModTime(), done: make(chan struct{})}
	if packs.m == nil {
		packs.m = map[string]*packedBinary{}
	}
	packs.m[path] = p
	go func() {
		defer close(p.done)
		f, err := os.Open(path)
		if err != nil {
			p.err = err
			return
		}
		defer f.Close()
		var buf bytes.Buffer
		buf.Grow(int(st.Size() / 2))
		p.err = compressBinary(&buf, f)
		p.data = buf.Bytes()
	}()
	return p
}

// deployHello starts the first line of DeployAgent's script.
const deployHello = "shift-deploy "

// deployScript is the shell script of DeployAgent's session.
func deployScript(base string, opts DeployOptions) string {
	agent := `"$d/shift" agent`
	if opts.Disk != "" {
		agent += " --disk " + remote.ShellQuote(opts.Disk)
	}
	if opts.Workers > 0 {
		agent += fmt.Sprintf(" --workers %d", opts.Workers)
	}
	if opts.Freeze {
		agent += " --freeze"
	}
	if prof := os.Getenv(AgentProfileEnv); prof != "" {
		agent = "env " + ProfileEnv + "=" + remote.ShellQuote(prof) + " " + agent
	}
	// read takes its line byte by byte from a pipe, so the protocol stream
	// that follows it reaches the agent whole.
	script := `d=$(mktemp -d ` + remote.ShellQuote(path.Join(base, "shift-agent.XXXXXX")) + `) || exit 125
z=raw; command -v zstd >/dev/null 2>&1 && z=zstd
echo "` + deployHello + `$(uname -m) $(id -u) $d $z"
IFS= read -r go || go=
case $go in run|sudo) ;; *) rm -rf -- "$d"; exit 0 ;; esac
if [ -f "$d/shift.zst" ]; then
  zstd -dqf "$d/shift.zst" -o "$d/shift" && chmod 700 "$d/shift" && rm -f "$d/shift.zst" ||
    { rm -rf -- "$d"; echo "shift: could not decompress the agent in $d" >&2; exit 125; }
fi
if [ "$go" = sudo ]; then sudo -n -- ` + agent + `; else ` + agent + `; fi
rc=$?
rm -rf -- "$d" || { echo "shift: could not remove $d" >&2; exit 125; }
exit $rc`
	return "sh -c " + remote.ShellQuote(script)
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

package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/shift-migrate/shift/inventory"
	"golang.org/x/crypto/ssh"
)

// ShellQuote quotes s as one word for a POSIX shell. It wraps s in single
// quotes and replaces each single quote inside s with this sequence (close the
// quote, an escaped quote, reopen):
//
//	'\''
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Run runs cmd in a new session and returns its output and exit code. A
// non-zero exit is a Result, not an error; the error is for a command that
// could not run, a lost connection, or ctx ending (the session is then
// killed and closed).
func (c *SSHClient) Run(ctx context.Context, cmd string) (*Result, error) {
	return c.run(ctx, "run", cmd, false)
}

// run runs cmd; asRoot says that it runs through sudo, so killing it on
// cancel needs sudo too.
func (c *SSHClient) run(ctx context.Context, step, cmd string, asRoot bool) (*Result, error) {
	sess, err := c.session(ctx, step)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	errw := newPGIDWriter(&stderr)
	sess.Stdout, sess.Stderr = &stdout, errw
	if err := sess.Start(reportPGID(cmd)); err != nil {
		return nil, c.sessionError(step, cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		c.killGroup(errw, asRoot)
		return nil, ctxError(c.host, step, fmt.Errorf("%s: %w", shortCommand(cmd), ctx.Err()))
	}
	errw.flush()
	res := &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if code, ok := exitCode(err); ok {
		res.ExitCode = code
		return res, nil
	}
	return nil, c.sessionError(step, cmd, err)
}

// exitCode returns the exit code that err (from Session.Wait) carries.
func exitCode(err error) (int, bool) {
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		return ee.ExitStatus(), true
	}
	return 0, false
}

// session opens a session, giving up when ctx ends.
func (c *SSHClient) session(ctx context.Context, step string) (*ssh.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(c.host, step, err)
	}
	sess, err := c.client.NewSession()
	if err != nil {
		return nil, c.sessionError(step, "", err)
	}
	return sess, nil
}

func (c *SSHClient) sessionError(step, cmd string, err error) *Error {
	if cmd != "" {
		err = fmt.Errorf("%s: %w", shortCommand(cmd), err)
	}
	e := &Error{Host: c.host, Step: step, Kind: inventory.ErrProbe, Err: err}
	var missing *ssh.ExitMissingError
	var oce *ssh.OpenChannelError
	switch {
	case errors.As(err, &missing), errors.Is(err, io.EOF), classifyNet(err) == inventory.ErrUnreachable:
		e.Kind = inventory.ErrUnreachable
		e.Hint = "the connection to the host was lost: check the network and the host, then retry"
	case errors.As(err, &oce):
		e.Hint = "sshd refused a new session: raise MaxSessions in the host's sshd_config if many run at once"
	}
	return e
}

// shortCommand abbreviates a command line for error messages.
func shortCommand(cmd string) string {
	if i := strings.IndexByte(cmd, '\n'); i >= 0 {
		cmd = cmd[:i] + " …"
	}
	if len(cmd) > 80 {
		cmd = cmd[:80] + "…"
	}
	return fmt.Sprintf("%q", cmd)
}

// privMode is how RunPrivileged elevates.
type privMode int

const (
	privUnknown privMode = iota
	privDirect           // root already, or elevation disabled
	privSudo             // sudo -n works
)

// RunPrivileged runs cmd as root: directly when the login user is root (or
// SSHConfig.Sudo is "never"), otherwise through "sudo -n -- sh -c". The first
// call checks once that sudo works without a password; when it does not, the
// error is a *Error of kind inventory.ErrPermission whose hint says how to
// fix it. Results and other errors are as for Run.
func (c *SSHClient) RunPrivileged(ctx context.Context, cmd string) (*Result, error) {
	mode, err := c.privilege(ctx)
	if err != nil {
		return nil, err
	}
	if mode == privDirect {
		return c.run(ctx, "run privileged", cmd, false)
	}
	return c.run(ctx, "run with sudo", "sudo -n -- sh -c "+ShellQuote(cmd), true)
}

// sudoProbe prints "root" when the session already runs as root, "sudo" when
// passwordless sudo works, and otherwise fails with sudo's message.
const sudoProbe = `if [ "$(id -u)" = 0 ]; then echo root; else sudo -n -- true && echo sudo; fi`

func (c *SSHClient) privilege(ctx context.Context) (privMode, error) {
	c.privMu.Lock()
	defer c.privMu.Unlock()
	if c.priv != privUnknown {
		return c.priv, nil
	}
	if c.user == "root" || c.sudo == "never" {
		c.priv = privDirect
		return c.priv, nil
	}
	res, err := c.run(ctx, "sudo", sudoProbe, false)
	if err != nil {
		return 0, err
	}
	switch strings.TrimSpace(string(res.Stdout)) {
	case "root":
		c.priv = privDirect
		return c.priv, nil
	case "sudo":
		c.priv = privSudo
		return c.priv, nil
	}
	return 0, c.sudoError(res)
}

// sudoError explains why "sudo -n true" failed.
func (c *SSHClient) sudoError(res *Result) *Error {
	stderr := strings.TrimSpace(string(res.Stderr))
	e := &Error{Host: c.host, Step: "sudo", Kind: inventory.ErrPermission}
	nopasswd := fmt.Sprintf("on %s, allow %s to use sudo without a password (a line '%s ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/), or log in as root",
		c.host, c.user, c.user)
	switch {
	case strings.Contains(stderr, "password is required"), strings.Contains(stderr, "terminal is required"),
		strings.Contains(stderr, "askpass"):
		e.Err = fmt.Errorf("sudo asks user %s for a password, and shift runs it non-interactively (sudo -n): %s", c.user, stderr)
		e.Hint = nopasswd
	case strings.Contains(stderr, "must have a tty"):
		e.Err = fmt.Errorf("sudo requires a terminal for user %s: %s", c.user, stderr)
		e.Hint = fmt.Sprintf("on %s, add 'Defaults:%s !requiretty' to the sudoers, or log in as root", c.host, c.user)
	case res.ExitCode == 127 || strings.Contains(stderr, "not found"):
		e.Kind = inventory.ErrUnsupported
		e.Err = fmt.Errorf("sudo is not installed: %s", stderr)
		e.Hint = fmt.Sprintf("install sudo on %s and allow %s to use it without a password, or log in as root", c.host, c.user)
	default:
		if stderr == "" {
			stderr = fmt.Sprintf("exit status %d", res.ExitCode)
		}
		e.Err = fmt.Errorf("user %s may not use sudo: %s", c.user, stderr)
		e.Hint = nopasswd
	}
	return e
}

// StartStream starts cmd with its stdin and stdout connected to the caller,
// for long-running peers such as the shift agent. wait returns when cmd ends:
// nil on exit 0, otherwise a *Error quoting the first line of its stderr; call
// it once, after reading stdout to its end. When ctx ends, cmd is killed,
// stdout reads fail and wait returns the context's error.
func (c *SSHClient) StartStream(ctx context.Context, cmd string) (stdin io.WriteCloser, stdout io.Reader, wait func() error, err error) {
	const step = "stream"
	sess, err := c.session(ctx, step)
	if err != nil {
		return nil, nil, nil, err
	}
	stdin, err = sess.StdinPipe()
	var remoteOut io.Reader
	if err == nil {
		remoteOut, err = sess.StdoutPipe()
	}
	stderr := &limitedBuffer{max: 64 << 10}
	errw := newPGIDWriter(stderr)
	sess.Stderr = errw
	if err == nil {
		err = sess.Start(reportPGID(cmd))
	}
	if err != nil {
		sess.Close()
		return nil, nil, nil, c.sessionError(step, cmd, err)
	}
	// The session's stdout only ends when sshd closes the channel, which it
	// delays until the command exits: a pipe lets a cancel end reads at once.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, remoteOut)
		pw.CloseWithError(err)
	}()
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	waitDone := func() error {
		defer sess.Close()
		var werr error
		select {
		case werr = <-done:
		case <-ctx.Done():
			sess.Signal(ssh.SIGKILL)
			sess.Close()
			c.killGroup(errw, false)
			pw.CloseWithError(ctx.Err())
			return ctxError(c.host, step, fmt.Errorf("%s: %w", shortCommand(cmd), ctx.Err()))
		}
		errw.flush()
		code, ok := exitCode(werr)
		if !ok {
			return c.sessionError(step, cmd, werr)
		}
		res := &Result{Stderr: stderr.bytes(), ExitCode: code}
		if rerr := res.Err(shortCommand(cmd)); rerr != nil {
			return &Error{Host: c.host, Step: step, Kind: inventory.ErrProbe, Err: rerr}
		}
		return nil
	}
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	return stdin, pr, func() error { defer stop(); return waitDone() }, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

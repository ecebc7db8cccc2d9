package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"golang.org/x/crypto/ssh"
)

// DefaultSSHTimeout bounds the dial and handshake when SSHConfig.Timeout is 0.
const DefaultSSHTimeout = 30 * time.Second

// SSHClient is an authenticated SSH connection to one host. It is safe for
// concurrent use: every Run opens its own session.
type SSHClient struct {
	host       string
	user       string
	sudo       string
	client     *ssh.Client
	jump       *SSHClient // the bastion this connection goes through, or nil
	newHostKey string

	privMu sync.Mutex
	priv   privMode // how RunPrivileged elevates, once known
}

// DialSSH connects to cfg's host (through cfg.Jump when set), verifies the
// host key against the known_hosts file and logs in. cfg.Timeout bounds the
// TCP dial and the handshake including auth; ctx can end either earlier.
// Every error is a *Error naming cfg.Host.
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSHClient, error) {
	if cfg.Address == "" || cfg.User == "" {
		return nil, &Error{Host: cfg.Host, Step: "ssh config", Kind: inventory.ErrConfig,
			Err: errors.New("address and user are required"), Hint: "set address and user for this host in the hosts file"}
	}
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(port))
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultSSHTimeout
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(cfg.Host, "connect "+addr, err)
	}
	hk, err := newHostKeyChecker(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := newSSHAuth(cfg)
	if err != nil {
		return nil, err
	}
	defer auth.close()

	var jump *SSHClient
	conn, err := func() (net.Conn, error) {
		if cfg.Jump == nil {
			d := net.Dialer{Timeout: timeout}
			return d.DialContext(ctx, "tcp", addr)
		}
		jump, err = DialSSH(ctx, *cfg.Jump)
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return jump.client.DialContext(dctx, "tcp", addr)
	}()
	if err != nil {
		if jump != nil {
			jump.Close()
		}
		return nil, dialSSHError(cfg, addr, err)
	}

	config := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth.methods,
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms(hk.name(addr)),
		Timeout:           timeout,
	}
	sc, chans, reqs, err := handshake(ctx, conn, addr, config, timeout)
	if err != nil {
		conn.Close()
		if jump != nil {
			jump.Close()
		}
		return nil, handshakeError(ctx, cfg, hk, auth, len(config.HostKeyAlgorithms) > 0, err)
	}
	return &SSHClient{
		host:       cfg.Host,
		user:       cfg.User,
		sudo:       cfg.Sudo,
		client:     ssh.NewClient(sc, chans, reqs),
		jump:       jump,
		newHostKey: hk.recorded,
	}, nil
}

// errHandshakeTimeout marks a handshake cut short by the timeout.
var errHandshakeTimeout = errors.New("no SSH handshake in time")

// handshake runs the SSH handshake on conn, closing conn when timeout passes
// or ctx ends. This works for TCP connections and for channels through a jump
// host alike (the latter do not support deadlines).
func handshake(ctx context.Context, conn net.Conn, addr string, config *ssh.ClientConfig, timeout time.Duration) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		conn.Close()
	})
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	timerStopped, ctxStopped := timer.Stop(), stop()
	if err == nil && (!timerStopped || !ctxStopped) {
		// The handshake finished while the connection was being closed.
		sc.Close()
		err = errors.New("connection closed")
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		if timedOut.Load() {
			return nil, nil, nil, fmt.Errorf("%w (%s): %w", errHandshakeTimeout, timeout, err)
		}
		return nil, nil, nil, err
	}
	return sc, chans, reqs, nil
}

// dialSSHError classifies a failure to open the TCP connection, directly or
// through the jump host.
func dialSSHError(cfg SSHConfig, addr string, err error) error {
	var re *Error
	if errors.As(err, &re) {
		// The jump host itself failed: keep its kind and hint, name both.
		return &Error{Host: cfg.Host, Step: "jump host", Kind: re.Kind, Hint: re.Hint,
			Err: fmt.Errorf("host %s: %s: %w", re.Host, re.Step, re.Err)}
	}
	if cfg.Jump == nil {
		return DialError(cfg.Host, addr, err)
	}
	step := "connect " + addr + " via " + cfg.Jump.Host
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == ssh.Prohibited {
		return &Error{Host: cfg.Host, Step: step, Kind: inventory.ErrPermission, Err: err,
			Hint: "the jump host refuses to forward connections: set AllowTcpForwarding yes for this user in its sshd_config"}
	}
	if errors.As(err, &oce) {
		return &Error{Host: cfg.Host, Step: step, Kind: inventory.ErrUnreachable, Err: err,
			Hint: "the jump host could not reach " + addr + ": check the address and port as seen from the jump host"}
	}
	e := DialError(cfg.Host, addr, err)
	e.Step = step
	return e
}

// handshakeError classifies a failed SSH handshake.
func handshakeError(ctx context.Context, cfg SSHConfig, hk *hostKeyChecker, auth *sshAuth, restricted bool, err error) error {
	if hk.refused != nil {
		return hk.refused
	}
	step := "ssh handshake"
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		return ctxError(cfg.Host, step, err)
	case errors.Is(err, errHandshakeTimeout):
		return &Error{Host: cfg.Host, Step: step, Kind: inventory.ErrTimeout, Err: err,
			Hint: "the port accepted the connection but no SSH server answered: check that the port is sshd's; a slow host may need a longer --timeout"}
	case strings.Contains(msg, "unable to authenticate"):
		return &Error{Host: cfg.Host, Step: "auth", Kind: inventory.ErrAuth, Err: err, Hint: auth.authHint(cfg.User)}
	case restricted && strings.Contains(msg, "no common algorithm for host key"):
		return &Error{Host: cfg.Host, Step: "host key", Kind: inventory.ErrHostKey,
			Err:  fmt.Errorf("the host offers no host key of the type recorded in known_hosts %s: %w", hk.file, err),
			Hint: "the host's keys were replaced, or someone is intercepting the connection: confirm the host's fingerprints on its console, then remove the stale known_hosts line"}
	case strings.Contains(msg, "no common algorithm"):
		return &Error{Host: cfg.Host, Step: step, Kind: inventory.ErrUnsupported, Err: err,
			Hint: "shift and the server share no algorithm: the server's SSH is too old or restricted; enable a modern key exchange and cipher"}
	}
	kind := classifyNet(err)
	if kind == inventory.ErrProbe {
		kind = inventory.ErrUnreachable
	}
	return &Error{Host: cfg.Host, Step: step, Kind: kind, Err: err,
		Hint: "the port accepted the connection but the SSH handshake failed: check that it is an SSH server and that it accepts connections from here (AllowUsers, MaxStartups, tcp wrappers)"}
}

// ctxError reports an operation cut short by its context.
func ctxError(host, step string, err error) *Error {
	e := &Error{Host: host, Step: step, Kind: inventory.ErrCanceled, Err: err}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Kind = inventory.ErrTimeout
		e.Hint = "the host did not finish in time: raise --timeout if it is slow"
	}
	return e
}

// User returns the login user.
func (c *SSHClient) User() string { return c.user }

// NewHostKey returns the host key ("type SHA256:…") that this dial recorded in
// known_hosts by trust on first use, or "" when the key was already known.
func (c *SSHClient) NewHostKey() string { return c.newHostKey }

// Close ends the connection, and the jump host's when there is one.
func (c *SSHClient) Close() error {
	err := c.client.Close()
	if c.jump != nil {
		c.jump.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

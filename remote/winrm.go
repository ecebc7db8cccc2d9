package remote

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/masterzen/winrm"
	"github.com/shift-migrate/shift/inventory"
)

// WinRMClient runs PowerShell scripts on one Windows host through the real
// masterzen/winrm client. It is safe for concurrent use; every script runs in
// a shell of its own.
type WinRMClient struct {
	cfg    WinRMConfig
	client *winrm.Client

	// closing cancels dials; conns are the open connections, closed by Close.
	closing context.Context
	stop    context.CancelFunc
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

// DialWinRM prepares a client for cfg. It checks the configuration and builds
// the endpoint and transport (Basic through winrm's default transport, NTLM
// through winrm.ClientNTLM) but makes no network round trip: connection, TLS
// and credential errors surface from the first RunPowerShell, classified the
// same way. This keeps dialing hundreds of hosts cheap.
func DialWinRM(ctx context.Context, cfg WinRMConfig) (*WinRMClient, error) {
	if err := ctx.Err(); err != nil {
		return nil, winrmError(cfg.Host, "winrm connect", err)
	}
	if cfg.Address == "" || cfg.User == "" {
		return nil, &Error{Host: cfg.Host, Step: "winrm connect", Kind: inventory.ErrConfig,
			Err: fmt.Errorf("address and user must be set"), Hint: "give the host an address and a user in the hosts file"}
	}
	auth := strings.ToLower(cfg.Auth)
	if auth == "" {
		auth = "ntlm"
	}
	if auth != "ntlm" && auth != "basic" {
		return nil, &Error{Host: cfg.Host, Step: "winrm connect", Kind: inventory.ErrConfig,
			Err: fmt.Errorf("unknown WinRM auth %q", cfg.Auth), Hint: `auth must be "basic" or "ntlm"`}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Port == 0 {
		cfg.Port = 5985
		if cfg.HTTPS {
			cfg.Port = 5986
		}
	}
	c := &WinRMClient{cfg: cfg, conns: map[net.Conn]struct{}{}}
	c.closing, c.stop = context.WithCancel(context.Background())

	endpoint := &winrm.Endpoint{
		Host:          cfg.Address,
		Port:          cfg.Port,
		HTTPS:         cfg.HTTPS,
		Insecure:      cfg.Insecure,
		TLSServerName: cfg.TLSServerName,
		Timeout:       cfg.Timeout,
	}
	if cfg.HTTPS && !cfg.Insecure && len(cfg.CACert) > 0 {
		endpoint.CACert = cfg.CACert
	}
	params := winrm.NewParameters(operationTimeout(cfg.Timeout), "en-US", 153600)
	params.Dial = c.dial
	if auth == "ntlm" {
		params.TransportDecorator = func() winrm.Transporter { return winrm.NewClientNTLMWithDial(c.dial) }
	}
	client, err := winrm.NewClientWithParameters(endpoint, cfg.User, cfg.Password.Reveal(), params)
	if err != nil {
		c.stop()
		return nil, &Error{Host: cfg.Host, Step: "winrm connect", Kind: inventory.ErrTLS, Err: err,
			Hint: "the CA bundle could not be read: give a PEM file with the certificate that signed the host's"}
	}
	c.client = client
	return c, nil
}

// operationTimeout is the WS-Management OperationTimeout for a per-request
// timeout: short enough that the host's w:TimedOut fault arrives before the
// HTTP response timeout, at most 20 s (as pywinrm) so that a cancelled
// script is signalled soon.
func operationTimeout(timeout time.Duration) string {
	op := min(max(timeout/2, 500*time.Millisecond), 20*time.Second)
	return "PT" + strconv.FormatFloat(op.Seconds(), 'f', 3, 64) + "S"
}

// dial opens a connection that Close can shut down.
func (c *WinRMClient) dial(network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: min(c.cfg.Timeout, 30*time.Second), KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(c.closing, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Err() != nil {
		conn.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: conn, owner: c}
	c.conns[tc] = struct{}{}
	return tc, nil
}

type trackedConn struct {
	net.Conn
	owner *WinRMClient
	once  sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.owner.mu.Lock()
		delete(t.owner.conns, t)
		t.owner.mu.Unlock()
	})
	return t.Conn.Close()
}

// RunPowerShell runs script on the host: the command line is
// PowerShellCommandLine and the script travels on stdin (sent in chunks that
// fit the envelope size), so its length is not limited by the command line.
// A script that exits non-zero is a Result, not an error.
//
// When ctx ends first, RunPowerShell returns at once; the client then
// signals the command to terminate and deletes the shell in the background,
// as soon as the pending long poll (at most the OperationTimeout) returns.
func (c *WinRMClient) RunPowerShell(ctx context.Context, script string) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.fail(err)
	}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code, err := c.client.RunWithContextWithInput(ctx, PowerShellCommandLine(), &stdout, &stderr, strings.NewReader(script))
		done <- outcome{&Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			if ctx.Err() != nil {
				return nil, c.fail(ctx.Err())
			}
			return nil, c.fail(o.err)
		}
		return o.res, nil
	case <-ctx.Done():
		return nil, c.fail(ctx.Err())
	}
}

// fail classifies err, and in the unlikely case that a message quotes the
// password (a host echoing it in a fault), replaces the message.
func (c *WinRMClient) fail(err error) *Error {
	e := winrmError(c.cfg.Host, "winrm run", err)
	if p := c.cfg.Password.Reveal(); p != "" && strings.Contains(e.Err.Error(), p) {
		e.Err = &redactedError{msg: strings.ReplaceAll(e.Err.Error(), p, redacted), err: e.Err}
	}
	return e
}

// redactedError hides a secret found in an error's text and still unwraps to
// the original for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r *redactedError) Error() string { return r.msg }
func (r *redactedError) Unwrap() error { return r.err }

// Close closes the client's connections; runs still in flight fail.
func (c *WinRMClient) Close() error {
	c.stop()
	c.mu.Lock()
	conns := make([]net.Conn, 0, len(c.conns))
	for conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
	return nil
}

package transfer

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/shift-migrate/shift/disk"
)

// Errors of the connect-back handshake.
var (
	// ErrTokenRefused is returned by DialBack when the appliance refused the
	// token: unknown, already used or expired (the error says which).
	ErrTokenRefused = errors.New("the appliance refused the agent's token")
	// ErrTokenExpired is returned by ConnectBack.Accept when no agent
	// presented the token before it expired.
	ErrTokenExpired = errors.New("no agent connected back with the token before it expired")
)

// connectGreeting starts the agent's first line on the TLS stream:
// "SHIFT-CONNECT 1 <token hex>\n". The appliance answers "OK\n" or
// "NO <reason>\n", then the agent protocol (see ProtocolVersion) follows.
const connectGreeting = "SHIFT-CONNECT 1 "

// handshakeTimeout bounds the TLS handshake and the token exchange of one
// connection.
const handshakeTimeout = 15 * time.Second

// ConnectBack is the appliance's side of an agent that dials back (the
// Windows agent, started through WinRM): a TLS listener with a fresh
// self-signed certificate and a one-time token. It hands out exactly one
// connection, the first that presents the token before it expires; every
// other connection is refused with the reason, and the refusals are kept
// for the error Accept returns.
type ConnectBack struct {
	ln      net.Listener
	tls     *tls.Config
	pin     string
	token   []byte
	expires time.Time

	accepted chan net.Conn
	closed   chan struct{}
	once     sync.Once
	wg       sync.WaitGroup

	mu      sync.Mutex
	used    bool
	refused []string
}

// ListenConnectBack listens on addr ("127.0.0.1:0", "10.0.0.5:0") with a
// new certificate and a new random 32-byte token that expires after ttl
// (0 means 5 minutes).
func ListenConnectBack(addr string, ttl time.Duration) (*ConnectBack, error) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	cert, pin, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("connect-back: certificate: %w", err)
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("connect-back: token: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect-back: listen %s: %w", addr, err)
	}
	l := &ConnectBack{
		ln:       ln,
		tls:      &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}},
		pin:      pin,
		token:    token,
		expires:  time.Now().Add(ttl),
		accepted: make(chan net.Conn, 1),
		closed:   make(chan struct{}),
	}
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// Addr returns the address the agent dials, host:port.
func (l *ConnectBack) Addr() string { return l.ln.Addr().String() }

// Pin returns the SHA-256 pin of the listener's certificate (see Pin).
func (l *ConnectBack) Pin() string { return l.pin }

// Token returns the one-time token in hex. It is a secret: pass it to the
// agent through its environment, never log it.
func (l *ConnectBack) Token() string { return hex.EncodeToString(l.token) }

// Expires returns when the token stops being accepted.
func (l *ConnectBack) Expires() time.Time { return l.expires }

// Refused returns why connections were refused so far, oldest first.
func (l *ConnectBack) Refused() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.refused...)
}

// Accept waits for the agent's connection: it returns the TLS stream after
// the token was accepted, ErrTokenExpired when the token expires first, or
// ctx's error. The listener keeps refusing later connections until Close.
func (l *ConnectBack) Accept(ctx context.Context) (net.Conn, error) {
	t := time.NewTimer(time.Until(l.expires))
	defer t.Stop()
	select {
	case c := <-l.accepted:
		return c, nil
	case <-t.C:
		// A connection accepted at the last moment wins.
		select {
		case c := <-l.accepted:
			return c, nil
		default:
		}
		if r := l.Refused(); len(r) > 0 {
			return nil, fmt.Errorf("connect-back on %s: %w (refused: %s)", l.Addr(), ErrTokenExpired, strings.Join(r, "; "))
		}
		return nil, fmt.Errorf("connect-back on %s: %w", l.Addr(), ErrTokenExpired)
	case <-ctx.Done():
		return nil, fmt.Errorf("connect-back on %s: %w", l.Addr(), ctx.Err())
	case <-l.closed:
		return nil, fmt.Errorf("connect-back on %s: %w", l.Addr(), net.ErrClosed)
	}
}

// Close stops listening and waits for the handshakes in progress. A
// connection Accept returned stays open.
func (l *ConnectBack) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closed)
		err = l.ln.Close()
		l.wg.Wait()
		select {
		case c := <-l.accepted: // accepted but never taken
			c.Close()
		default:
		}
	})
	return err
}

func (l *ConnectBack) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.handshake(c)
		}()
	}
}

func (l *ConnectBack) refuse(from, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.refused) < 32 {
		l.refused = append(l.refused, from+": "+why)
	}
}

// handshake runs TLS and the token check on one connection.
func (l *ConnectBack) handshake(raw net.Conn) {
	from := raw.RemoteAddr().String()
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	c := tls.Server(raw, l.tls)
	if err := c.Handshake(); err != nil {
		l.refuse(from, "TLS handshake: "+err.Error())
		raw.Close()
		return
	}
	line, err := bufio.NewReaderSize(io.LimitReader(c, 256), 256).ReadString('\n')
	if err != nil {
		l.refuse(from, "no greeting: "+err.Error())
		c.Close()
		return
	}
	why := l.check(line)
	if why != "" {
		l.refuse(from, why)
		io.WriteString(c, "NO "+why+"\n")
		c.Close()
		return
	}
	if _, err := io.WriteString(c, "OK\n"); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	l.accepted <- c // capacity 1, and only one token use succeeds
}

// check returns why a greeting line is refused, "" when it is accepted (the
// token is then used up).
func (l *ConnectBack) check(line string) string {
	hexTok, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), connectGreeting)
	if !ok {
		return "not a shift agent greeting"
	}
	tok, err := hex.DecodeString(hexTok)
	if err != nil || subtle.ConstantTimeCompare(tok, l.token) != 1 {
		return "unknown token"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.used:
		return "token already used"
	case time.Now().After(l.expires):
		return "token expired"
	}
	l.used = true
	return ""
}

// DialBackConfig says where the agent connects back to.
type DialBackConfig struct {
	// Address is the appliance's host:port.
	Address string
	// Pin is the appliance certificate's pin ("sha256:<hex>", see Pin).
	Pin string
	// Token is the one-time token in hex (see ConnectBack.Token).
	Token string
	// Dial opens the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialBack connects to the appliance: TCP, TLS 1.3 with the pinned
// certificate, then the token. It returns the stream for the agent protocol,
// or ErrPinMismatch or ErrTokenRefused (with the appliance's reason).
func DialBack(ctx context.Context, cfg DialBackConfig) (net.Conn, error) {
	tcfg, err := pinnedTLS(cfg.Pin)
	if err != nil {
		return nil, fmt.Errorf("connect back: %w", err)
	}
	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	raw, err := dial(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("connect back to %s: %w", cfg.Address, err)
	}
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	c := tls.Client(raw, tcfg)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		if errors.Is(err, ErrPinMismatch) {
			return nil, fmt.Errorf("connect back to %s: %w", cfg.Address, ErrPinMismatch)
		}
		return nil, fmt.Errorf("connect back to %s: TLS: %w", cfg.Address, err)
	}
	if _, err := io.WriteString(c, connectGreeting+cfg.Token+"\n"); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect back to %s: send token: %w", cfg.Address, err)
	}
	// Read the answer byte by byte: what follows belongs to the protocol.
	var ans []byte
	b := make([]byte, 1)
	for len(ans) < 256 {
		if _, err := io.ReadFull(c, b); err != nil {
			c.Close()
			return nil, fmt.Errorf("connect back to %s: %w: no answer (%v)", cfg.Address, ErrTokenRefused, err)
		}
		if b[0] == '\n' {
			break
		}
		ans = append(ans, b[0])
	}
	if a := string(ans); a != "OK" {
		c.Close()
		return nil, fmt.Errorf("connect back to %s: %w: %s", cfg.Address, ErrTokenRefused, strings.TrimPrefix(a, "NO "))
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// ServeConnectBack is the agent's side of a connect-back session: it dials
// the appliance (DialBack) and serves src over the stream (ServeAgent)
// until the appliance ends the session.
func ServeConnectBack(ctx context.Context, src disk.Source, cfg DialBackConfig, opts AgentOptions) error {
	c, err := DialBack(ctx, cfg)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	return ServeAgent(ctx, src, c, c, opts)
}

// OpenConnectBack opens an agent session over a stream Accept returned:
// Open with the connection as both directions. Session.Close ends the
// session with a TLS close_notify, which the agent reads as the end.
func OpenConnectBack(ctx context.Context, c net.Conn) (*Session, error) {
	return Open(ctx, c, c)
}

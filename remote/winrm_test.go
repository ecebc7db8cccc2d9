package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/inventory"
)

const (
	testUser     = "Administrator"
	testPassword = "S3cret-Pa55word!"
	utf8Text     = "Größe: 10 GiB — 東京 ✓ café"
)

// scriptHost is a simulated Windows host for the client tests. It checks
// that the command line is shift's PowerShell bootstrap and interprets the
// first line of the script sent on stdin:
//
//	echo          print the rest of the script
//	fail N        print "boom" on stderr and exit N
//	big N         print N bytes of a known pattern
//	sha256        print the length and SHA-256 of the whole script
//	utf8          print utf8Text
//	sleep D       wait D or until cancelled, and report a cancellation
type scriptHost struct {
	cancelled chan string
}

func newScriptHost() *scriptHost { return &scriptHost{cancelled: make(chan string, 16)} }

// ReadsStdin says that shift's bootstrap reads the script from stdin, so the
// server waits for the end of input however late it comes.
func (h *scriptHost) ReadsStdin(line string) bool { return line == PowerShellCommandLine() }

func (h *scriptHost) Password(user string) (string, bool) {
	if strings.EqualFold(user, testUser) {
		return testPassword, true
	}
	return "", false
}

func (h *scriptHost) Run(ctx context.Context, line string, stdin []byte) (stdout, stderr []byte, exit int) {
	if line != PowerShellCommandLine() {
		return nil, []byte("unexpected command line: " + line), 9009
	}
	first, rest, _ := strings.Cut(string(stdin), "\n")
	verb, arg, _ := strings.Cut(strings.TrimSpace(first), " ")
	switch verb {
	case "echo":
		return []byte(rest), nil, 0
	case "fail":
		n, _ := strconv.Atoi(arg)
		return nil, []byte("boom\r\n"), n
	case "big":
		n, _ := strconv.Atoi(arg)
		return pattern(n), nil, 0
	case "sha256":
		sum := sha256.Sum256(stdin)
		return []byte(fmt.Sprintf("%d %x", len(stdin), sum)), nil, 0
	case "utf8":
		return []byte(utf8Text), nil, 0
	case "sleep":
		d, _ := time.ParseDuration(arg)
		select {
		case <-time.After(d):
			return []byte("slept"), nil, 0
		case <-ctx.Done():
			h.cancelled <- first
			return nil, []byte("terminated"), 1
		}
	}
	return nil, []byte("unknown script " + first), 9009
}

// pattern returns n bytes of printable text that differ along the way.
func pattern(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %08d of the big output\r\n", i)
	}
	return b.Bytes()[:n]
}

// lockedBuffer collects server log records from concurrent requests.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWinRM starts a fixture endpoint on loopback; its request log is
// printed when the test fails and checked for the password in every case.
func startWinRM(t testing.TB, host winrmserver.Host, opts winrmserver.Options) *winrmserver.Server {
	t.Helper()
	logs := &lockedBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := winrmserver.Listen("127.0.0.1:0", host, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		out := logs.String()
		if strings.Contains(out, testPassword) {
			t.Errorf("server log contains the password")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", out)
		}
	})
	return srv
}

func config(srv *winrmserver.Server, auth string) WinRMConfig {
	return WinRMConfig{
		Host: "win01", Address: "127.0.0.1", Port: srv.Port(), Auth: auth,
		User: testUser, Password: NewSecret(testPassword), Timeout: 10 * time.Second,
	}
}

func dial(t testing.TB, cfg WinRMConfig) *WinRMClient {
	t.Helper()
	c, err := DialWinRM(context.Background(), cfg)
	if err != nil {
		t.Fatalf("DialWinRM: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *WinRMClient, script string) *Result {
	t.Helper()
	res, err := c.RunPowerShell(context.Background(), script)
	if err != nil {
		t.Fatalf("RunPowerShell: %v", err)
	}
	return res
}

// wantKind checks that err is a *Error of kind and step and never quotes the
// password.
func wantKind(t *testing.T, err error, kind, step string) *Error {
	t.Helper()
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *remote.Error", err, err)
	}
	if re.Kind != kind || re.Step != step {
		t.Errorf("kind/step = %s/%s, want %s/%s (error: %v)", re.Kind, re.Step, kind, step, err)
	}
	if re.Host != "win01" || !strings.HasPrefix(err.Error(), "host win01: ") {
		t.Errorf("error does not name the host: %v", err)
	}
	if re.Hint == "" && kind != inventory.ErrCanceled {
		t.Errorf("error has no hint: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, re), testPassword) {
		t.Errorf("error contains the password: %v", err)
	}
	return re
}

func TestWinRMHTTPBasic(t *testing.T) {
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{Auth: winrmserver.AuthBasic})
	c := dial(t, config(srv, "basic"))

	res := run(t, c, "echo\nhello from stdin\r\n")
	if string(res.Stdout) != "hello from stdin\r\n" || res.ExitCode != 0 || len(res.Stderr) != 0 {
		t.Errorf("echo = %+v", res)
	}
	res = run(t, c, "fail 3")
	if res.ExitCode != 3 || string(res.Stderr) != "boom\r\n" {
		t.Errorf("fail 3 = exit %d stderr %q, want 3 and boom", res.ExitCode, res.Stderr)
	}
	if err := res.Err("probe"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Result.Err = %v", err)
	}
	st := srv.Stats()
	for _, a := range []string{"Create", "Command", "Send", "Receive", "Signal", "Delete"} {
		if st.Actions[a] == 0 {
			t.Errorf("server saw no successful %s: %v", a, st.Actions)
		}
	}
}

func TestWinRMHTTPSNTLMWithCA(t *testing.T) {
	ca, caFile, err := winrmserver.GenerateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := ca.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{TLS: tlsCfg, Auth: winrmserver.AuthNTLM})
	bundle, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{testUser, `WIN-SHIFT01\` + testUser, `.\` + strings.ToLower(testUser)} {
		t.Run(user, func(t *testing.T) {
			cfg := config(srv, "ntlm")
			cfg.HTTPS, cfg.CACert, cfg.User = true, bundle, user
			c := dial(t, cfg)
			res := run(t, c, "utf8")
			if string(res.Stdout) != utf8Text {
				t.Errorf("stdout = %q, want %q", res.Stdout, utf8Text)
			}
		})
	}
	if srv.Stats().Unauthorized == 0 {
		t.Error("no NTLM challenge was sent: the client did not authenticate with NTLM")
	}
}

// newTLS returns a fresh CA and a server configuration for hosts.
func newTLS(t testing.TB, hosts ...string) (*winrmserver.CA, *tls.Config) {
	t.Helper()
	ca, err := winrmserver.NewCA("shift test CA")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerTLS(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return ca, cfg
}

func TestWinRMHTTPSInsecure(t *testing.T) {
	ca, tlsCfg := newTLS(t, "other.example")
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{TLS: tlsCfg})
	cfg := config(srv, "basic")
	cfg.HTTPS, cfg.Insecure = true, true
	if res := run(t, dial(t, cfg), "echo\nok"); string(res.Stdout) != "ok" {
		t.Errorf("stdout = %q", res.Stdout)
	}

	t.Run("unknown CA", func(t *testing.T) {
		cfg := config(srv, "ntlm")
		cfg.HTTPS = true
		_, err := dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
		wantKind(t, err, inventory.ErrTLS, "winrm connect")
	})
	t.Run("name mismatch", func(t *testing.T) {
		cfg := config(srv, "ntlm")
		cfg.HTTPS, cfg.CACert = true, ca.PEM()
		_, err := dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
		re := wantKind(t, err, inventory.ErrTLS, "winrm connect")
		if re.Hint != hintWinRMName {
			t.Errorf("hint = %q, want the name hint", re.Hint)
		}
		cfg.TLSServerName = "other.example"
		if res := run(t, dial(t, cfg), "echo\nnamed"); string(res.Stdout) != "named" {
			t.Errorf("with TLSServerName: stdout = %q", res.Stdout)
		}
	})
	t.Run("HTTPS client on HTTP port", func(t *testing.T) {
		plain := startWinRM(t, newScriptHost(), winrmserver.Options{})
		cfg := config(plain, "basic")
		cfg.HTTPS, cfg.Insecure = true, true
		_, err := dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
		wantKind(t, err, inventory.ErrTLS, "winrm connect")
	})
}

func TestWinRMWrongPassword(t *testing.T) {
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{})
	for _, auth := range []string{"basic", "ntlm"} {
		for _, user := range []string{testUser, "nobody"} {
			t.Run(auth+"/"+user, func(t *testing.T) {
				cfg := config(srv, auth)
				cfg.User, cfg.Password = user, NewSecret(testPassword+"x")
				_, err := dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
				re := wantKind(t, err, inventory.ErrAuth, "winrm auth")
				if !strings.Contains(re.Hint, "winrm get winrm/config/service/auth") {
					t.Errorf("hint = %q", re.Hint)
				}
			})
		}
	}
	if got := srv.Stats().AuthFailures; got < 4 {
		t.Errorf("server counted %d auth failures, want at least 4", got)
	}
	t.Run("method not offered", func(t *testing.T) {
		ntlmOnly := startWinRM(t, newScriptHost(), winrmserver.Options{Auth: winrmserver.AuthNTLM})
		_, err := dial(t, config(ntlmOnly, "basic")).RunPowerShell(context.Background(), "echo\nx")
		wantKind(t, err, inventory.ErrAuth, "winrm auth")
	})
}

func TestWinRMClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := WinRMConfig{Host: "win01", Address: "127.0.0.1", Port: port, User: testUser, Password: NewSecret(testPassword)}
	_, err = dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
	re := wantKind(t, err, inventory.ErrUnreachable, "winrm connect")
	if !strings.Contains(re.Hint, "Enable-PSRemoting") {
		t.Errorf("hint = %q", re.Hint)
	}
}

func TestWinRMNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and read, never answer
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = conn.Read(make([]byte, 1<<16))
				time.Sleep(5 * time.Second)
			}()
		}
	}()
	cfg := WinRMConfig{Host: "win01", Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Auth: "basic",
		User: testUser, Password: NewSecret(testPassword), Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err = dial(t, cfg).RunPowerShell(context.Background(), "echo\nx")
	wantKind(t, err, inventory.ErrTimeout, "winrm run")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 500ms timeout", d)
	}
}

func TestWinRMCancel(t *testing.T) {
	host := newScriptHost()
	srv := startWinRM(t, host, winrmserver.Options{})
	cfg := config(srv, "ntlm")
	cfg.Timeout = 2 * time.Second // OperationTimeout 1 s
	c := dial(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.RunPowerShell(ctx, "sleep 1m")
	if d := time.Since(start); d > time.Second {
		t.Errorf("RunPowerShell returned %v after the cancel, want promptly", d-300*time.Millisecond)
	}
	wantKind(t, err, inventory.ErrCanceled, "winrm run")
	select {
	case first := <-host.cancelled:
		if first != "sleep 1m" {
			t.Errorf("cancelled %q", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the host command was not cancelled within 5 s: no terminate signal")
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Actions["Signal"] == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.Stats().Actions["Signal"] == 0 {
		t.Error("the server saw no Signal")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.RunPowerShell(ctx, "sleep 1m")
	wantKind(t, err, inventory.ErrTimeout, "winrm run")
}

func TestWinRMLargeStdin(t *testing.T) {
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{})
	script := "sha256\n" + string(pattern(700*1024))
	res := run(t, dial(t, config(srv, "ntlm")), script)
	sum := sha256.Sum256([]byte(script))
	want := fmt.Sprintf("%d %s", len(script), hex.EncodeToString(sum[:]))
	if string(res.Stdout) != want {
		t.Errorf("host saw %q, want %q", res.Stdout, want)
	}
	if n := srv.Stats().Actions["Send"]; n < 5 {
		t.Errorf("%d Send requests for a 700 KiB script, want it split in chunks", n)
	}
}

func TestWinRMLargeStdout(t *testing.T) {
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{})
	const size = 5 << 20
	res := run(t, dial(t, config(srv, "basic")), "big "+strconv.Itoa(size))
	if !bytes.Equal(res.Stdout, pattern(size)) {
		t.Errorf("stdout differs: got %d bytes, want %d", len(res.Stdout), size)
	}
	// 153600-byte envelopes hold about 113 KiB of output each.
	if n := srv.Stats().Actions["Receive"]; n < size/(150*1024) {
		t.Errorf("%d Receive responses for %d bytes: output not split by MaxEnvelopeSize", n, size)
	}
}

func TestWinRMReceiveTimeoutIsRetried(t *testing.T) {
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{})
	cfg := config(srv, "basic")
	cfg.Timeout = 2 * time.Second // OperationTimeout 1 s
	res := run(t, dial(t, cfg), "sleep 2500ms")
	if string(res.Stdout) != "slept" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if n := srv.Stats().Faults["w:TimedOut"]; n < 2 {
		t.Errorf("%d w:TimedOut faults, want at least 2 for a 2.5 s command and 1 s OperationTimeout", n)
	}
}

func TestWinRMConcurrentNTLM(t *testing.T) {
	ca, tlsCfg := newTLS(t)
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{TLS: tlsCfg, Auth: winrmserver.AuthNTLM})
	cfg := config(srv, "ntlm")
	cfg.HTTPS, cfg.CACert = true, ca.PEM()
	c := dial(t, cfg)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("run %d\r\n", i)
			res, err := c.RunPowerShell(context.Background(), "echo\n"+want)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			if string(res.Stdout) != want {
				t.Errorf("run %d: stdout %q", i, res.Stdout)
			}
		}()
	}
	wg.Wait()
	st := srv.Stats()
	t.Logf("requests %d, unauthorized %d, auth failures %d, actions %v, faults %v",
		st.Requests, st.Unauthorized, st.AuthFailures, st.Actions, st.Faults)
	if st.AuthFailures != 0 {
		t.Errorf("%d NTLM handshakes failed", st.AuthFailures)
	}
}

func TestWinRMFault(t *testing.T) {
	// A real Windows fault, from masterzen/winrm's test fixtures.
	const body = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="">The filename or extension is too long. </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2147942606" Machine="52.12.219.136"><f:Message><f:ProviderFault provider="Shell cmd plugin" path="%systemroot%\system32\winrscmd.dll">The filename or extension is too long. </f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`
	e := winrmError("win01", "winrm run", errors.New("http error 500: "+body))
	var f *WinRMFault
	if e.Kind != inventory.ErrProbe || !errors.As(e, &f) {
		t.Fatalf("kind %s, err %v: want a probe error holding a WinRMFault", e.Kind, e)
	}
	if f.Subcode != "w:InternalError" || f.Code != 2147942606 || f.Message != "The filename or extension is too long." {
		t.Errorf("fault = %+v", f)
	}
	if strings.Contains(e.Error(), "<s:Envelope") {
		t.Errorf("error quotes the raw envelope: %v", e)
	}

	// Over the wire: a Receive for a shell the server does not know.
	srv := startWinRM(t, newScriptHost(), winrmserver.Options{})
	c := dial(t, config(srv, "basic"))
	cmd, err := c.client.NewShell("11111111-1111-1111-1111-111111111111").ExecuteWithContext(context.Background(), "cmd")
	if err == nil {
		cmd.Close()
		t.Fatal("Command in an unknown shell succeeded")
	}
	e = c.fail(err)
	if !errors.As(e, &f) || f.Code != 2150858843 || f.Subcode != "w:InvalidSelectors" {
		t.Errorf("unknown shell: %v (fault %+v)", e, f)
	}
	if !strings.Contains(e.Hint, "shell is gone") {
		t.Errorf("hint = %q", e.Hint)
	}
}

func TestWinRMClassifyStatus(t *testing.T) {
	for _, tc := range []struct {
		msg, kind, step string
	}{
		{"http response error: 401 - invalid content type", inventory.ErrAuth, "winrm auth"},
		{"http error 401: ", inventory.ErrAuth, "winrm auth"},
		{"http response error: 400 - invalid content type", inventory.ErrTLS, "winrm connect"},
		{"http response error: 404 - invalid content type", inventory.ErrProbe, "winrm connect"},
		{"http error 500: not xml", inventory.ErrProbe, "winrm run"},
		{"unknown error something", inventory.ErrProbe, "winrm run"},
	} {
		e := winrmError("win01", "winrm run", errors.New(tc.msg))
		if e.Kind != tc.kind || e.Step != tc.step {
			t.Errorf("%q: %s/%s, want %s/%s", tc.msg, e.Kind, e.Step, tc.kind, tc.step)
		}
	}
}

func TestDialWinRMConfig(t *testing.T) {
	for _, cfg := range []WinRMConfig{
		{Host: "win01", User: testUser},
		{Host: "win01", Address: "127.0.0.1"},
		{Host: "win01", Address: "127.0.0.1", User: testUser, Auth: "kerberos"},
	} {
		_, err := DialWinRM(context.Background(), cfg)
		wantKind(t, err, inventory.ErrConfig, "winrm connect")
	}
	_, err := DialWinRM(context.Background(), WinRMConfig{Host: "win01", Address: "127.0.0.1", User: testUser,
		HTTPS: true, CACert: []byte("not a pem")})
	wantKind(t, err, inventory.ErrTLS, "winrm connect")
	if got := operationTimeout(60 * time.Second); got != "PT20.000S" {
		t.Errorf("operationTimeout(60s) = %s", got)
	}
	if got := operationTimeout(2 * time.Second); got != "PT1.000S" {
		t.Errorf("operationTimeout(2s) = %s", got)
	}
}

// BenchmarkWinRMRunPowerShell measures one small script (Create, Command,
// Send, Receive, Signal, Delete) against one endpoint on loopback.
func BenchmarkWinRMRunPowerShell(b *testing.B) {
	ca, tlsCfg := newTLS(b)
	for _, tc := range []struct {
		name, auth string
		tls        *tls.Config
	}{
		{"http-basic", "basic", nil},
		{"http-ntlm", "ntlm", nil},
		{"https-ntlm", "ntlm", tlsCfg},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := startWinRM(b, newScriptHost(), winrmserver.Options{TLS: tc.tls})
			cfg := config(srv, tc.auth)
			cfg.HTTPS, cfg.CACert = tc.tls != nil, ca.PEM()
			c := dial(b, cfg)
			b.ResetTimer()
			for b.Loop() {
				res, err := c.RunPowerShell(context.Background(), "echo\nhello")
				if err != nil || string(res.Stdout) != "hello" {
					b.Fatalf("%v %+v", err, res)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scripts/s")
		})
	}
}

// BenchmarkWinRM200Hosts starts 200 HTTPS+NTLM endpoints and runs one script
// on each, 32 at a time, with a new client per host as discovery does.
func BenchmarkWinRM200Hosts(b *testing.B) {
	ca, tlsCfg := newTLS(b)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	servers := make([]*winrmserver.Server, 200)
	for i := range servers {
		servers[i] = startWinRM(b, newScriptHost(), winrmserver.Options{TLS: tlsCfg})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perServer := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(servers)) / 1024
	for b.Loop() {
		var g errgroup.Group
		g.SetLimit(32)
		for _, srv := range servers {
			g.Go(func() error {
				cfg := config(srv, "ntlm")
				cfg.HTTPS, cfg.CACert = true, ca.PEM()
				c, err := DialWinRM(context.Background(), cfg)
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.RunPowerShell(context.Background(), "echo\nx")
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(servers))/b.Elapsed().Seconds(), "hosts/s")
	b.ReportMetric(perServer, "KiB-heap/idle-server")
}

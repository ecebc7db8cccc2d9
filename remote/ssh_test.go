package remote_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// testHost is the hosts-file name every error must carry.
const testHost = "testhost"

// config returns a key-auth config for s that trusts s's known_hosts file.
func config(s *sshd.Server, user string) remote.SSHConfig {
	return remote.SSHConfig{
		Host:       testHost,
		Address:    "127.0.0.1",
		Port:       s.Port,
		User:       user,
		PrivateKey: remote.NewSecret(string(s.ClientKey)),
		KnownHosts: s.KnownHostsFile,
		Timeout:    10 * time.Second,
	}
}

func dial(t *testing.T, cfg remote.SSHConfig) *remote.SSHClient {
	t.Helper()
	c, err := remote.DialSSH(t.Context(), cfg)
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *remote.SSHClient, cmd string) *remote.Result {
	t.Helper()
	res, err := c.Run(t.Context(), cmd)
	if err != nil {
		t.Fatalf("Run(%q): %v", cmd, err)
	}
	return res
}

// wantError checks that err is a *remote.Error of kind naming testHost, with
// a hint, and that none of secrets appears anywhere in it.
func wantError(t *testing.T, err error, kind string, secrets ...string) *remote.Error {
	t.Helper()
	var re *remote.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *remote.Error", err, err)
	}
	if re.Kind != kind {
		t.Errorf("kind %q, want %q: %v", re.Kind, kind, err)
	}
	if re.Host != testHost || !strings.Contains(err.Error(), "host "+testHost) {
		t.Errorf("error does not name host %s: %v", testHost, err)
	}
	if re.Step == "" {
		t.Errorf("error has no step: %v", err)
	}
	if re.Hint == "" && kind != inventory.ErrCanceled {
		t.Errorf("error has no hint: %v", err)
	}
	text := fmt.Sprintf("%v %+v %#v %s", err, err, re, re.Hint)
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("error reveals a secret: %s", text)
		}
	}
	return re
}

func TestSSHRunOutputAndExitCodes(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	c := dial(t, config(s, s.User))
	if c.User() != s.User {
		t.Errorf("User() = %q, want %q", c.User(), s.User)
	}
	if c.NewHostKey() != "" {
		t.Errorf("NewHostKey() = %q for a known host", c.NewHostKey())
	}
	res := run(t, c, "echo out; echo err >&2; exit 3")
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("got stdout %q stderr %q exit %d, want out, err, 3", res.Stdout, res.Stderr, res.ExitCode)
	}
	if res := run(t, c, "true"); res.ExitCode != 0 {
		t.Errorf("true: exit %d", res.ExitCode)
	}
	if res := run(t, c, "id -un"); strings.TrimSpace(string(res.Stdout)) != s.User {
		t.Errorf("id -un = %q, want %q", res.Stdout, s.User)
	}
	// Sessions run concurrently on one connection.
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			res, err := c.Run(t.Context(), "echo "+strconv.Itoa(i))
			if err == nil && strings.TrimSpace(string(res.Stdout)) != strconv.Itoa(i) {
				err = fmt.Errorf("run %d printed %q", i, res.Stdout)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestShellQuote(t *testing.T) {
	words := []string{"", "plain", "it's", `a "b" c`, "$(id) `id` $HOME", "x'\"'y", "new\nline", `\`, "*"}
	s := sshd.StartT(t, sshd.Options{})
	c := dial(t, config(s, s.User))
	for _, w := range words {
		q := remote.ShellQuote(w)
		local, err := exec.Command("sh", "-c", "printf %s "+q).Output()
		if err != nil || string(local) != w {
			t.Errorf("local sh: ShellQuote(%q) = %s printed %q, %v", w, q, local, err)
		}
		res := run(t, c, "printf %s "+q)
		if string(res.Stdout) != w {
			t.Errorf("over ssh: ShellQuote(%q) = %s printed %q", w, q, res.Stdout)
		}
	}
}

func TestSSHRunPrivilegedAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		sshd.Missing(t, "logging in as root needs the tests to run as root")
	}
	s := sshd.StartT(t, sshd.Options{User: "root"})
	c := dial(t, config(s, "root"))
	res, err := c.RunPrivileged(t.Context(), `echo "it's $(id -u)"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "it's 0" {
		t.Errorf("RunPrivileged printed %q, want %q", got, "it's 0")
	}
}

func TestSSHRunPrivilegedWithSudo(t *testing.T) {
	user := sshd.RequireUser(t, "shift-sudo")
	s := sshd.StartT(t, sshd.Options{User: user})
	c := dial(t, config(s, user))
	if res := run(t, c, "id -un"); strings.TrimSpace(string(res.Stdout)) != user {
		t.Fatalf("Run as %q, want %s", res.Stdout, user)
	}
	res, err := c.RunPrivileged(t.Context(), `echo "it's $(id -u)"; exit 4`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "it's 0" || res.ExitCode != 4 {
		t.Errorf("RunPrivileged printed %q exit %d, want %q exit 4", got, res.ExitCode, "it's 0")
	}

	// A canceled privileged command is killed, although it runs as root.
	marker := "sleep 28.5" + strconv.Itoa(os.Getpid()%10)
	_, err = c.RunPrivileged(cancelWhenRunning(t, c, marker), marker)
	wantError(t, err, inventory.ErrCanceled)
	waitGone(t, c, marker)
}

func TestSSHSudoWantsPassword(t *testing.T) {
	user := sshd.RequireUser(t, "shift-nopw")
	s := sshd.StartT(t, sshd.Options{User: user})
	c := dial(t, config(s, user))
	_, err := c.RunPrivileged(t.Context(), "id -u")
	re := wantError(t, err, inventory.ErrPermission)
	if re.Step != "sudo" || !strings.Contains(err.Error(), "password") {
		t.Errorf("step %q, message %v: want step sudo and a word about the password", re.Step, err)
	}
	if !strings.Contains(re.Hint, "NOPASSWD") || !strings.Contains(re.Hint, testHost) || !strings.Contains(re.Hint, "root") {
		t.Errorf("hint %q should name the host, NOPASSWD and logging in as root", re.Hint)
	}
	// A plain Run still works.
	if res := run(t, c, "id -un"); strings.TrimSpace(string(res.Stdout)) != user {
		t.Errorf("Run as %q, want %s", res.Stdout, user)
	}
}

func TestSSHWrongPassword(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{Password: true})
	const secret = "wrong-Pa55word-do-not-print"
	cfg := config(s, s.User)
	cfg.PrivateKey = remote.Secret{}
	cfg.Password = remote.NewSecret(secret)
	_, err := remote.DialSSH(t.Context(), cfg)
	re := wantError(t, err, inventory.ErrAuth, secret)
	if re.Step != "auth" || !strings.Contains(re.Hint, "password") {
		t.Errorf("step %q hint %q: want step auth and a hint naming the password method", re.Step, re.Hint)
	}
	if !strings.Contains(s.Log(), "Failed password for "+s.User) {
		t.Errorf("sshd did not see a password attempt:\n%s", s.Log())
	}
}

func TestSSHKeyRefused(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := string(pem.EncodeToMemory(block))
	cfg := config(s, s.User)
	cfg.PrivateKey = remote.NewSecret(key)
	_, err = remote.DialSSH(t.Context(), cfg)
	re := wantError(t, err, inventory.ErrAuth, key, strings.Split(key, "\n")[1])
	if !strings.Contains(re.Hint, "publickey") {
		t.Errorf("hint %q does not name the publickey method", re.Hint)
	}
}

func TestSSHEncryptedKey(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	signer, err := ssh.ParseRawPrivateKey(s.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "key-passphrase-do-not-print"
	block, err := ssh.MarshalPrivateKeyWithPassphrase(signer, "", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(s, s.User)
	cfg.PrivateKey = remote.NewSecret(string(pem.EncodeToMemory(block)))

	_, err = remote.DialSSH(t.Context(), cfg)
	re := wantError(t, err, inventory.ErrConfig, pass)
	if !strings.Contains(re.Err.Error(), "encrypted") {
		t.Errorf("message %q does not say the key is encrypted", re.Err)
	}

	cfg.KeyPassphrase = remote.NewSecret("not-" + pass)
	_, err = remote.DialSSH(t.Context(), cfg)
	wantError(t, err, inventory.ErrAuth, pass, "not-"+pass)

	cfg.KeyPassphrase = remote.NewSecret(pass)
	c := dial(t, cfg)
	if res := run(t, c, "echo ok"); string(res.Stdout) != "ok\n" {
		t.Errorf("Run printed %q", res.Stdout)
	}
}

func TestSSHNoCredentials(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	cfg := config(s, s.User)
	cfg.PrivateKey = remote.Secret{}
	_, err := remote.DialSSH(t.Context(), cfg)
	wantError(t, err, inventory.ErrConfig)
}

func TestSSHAgent(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	key, err := ssh.ParseRawPrivateKey(s.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	served := make(chan struct{}, 16)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			served <- struct{}{}
			go func() {
				defer conn.Close()
				agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)

	cfg := config(s, s.User)
	cfg.PrivateKey = remote.Secret{}
	cfg.Agent = true
	c := dial(t, cfg)
	if res := run(t, c, "echo agent"); string(res.Stdout) != "agent\n" {
		t.Errorf("Run printed %q", res.Stdout)
	}
	if len(served) == 0 {
		t.Error("the agent was never asked")
	}

	// An agent without the right key: auth fails and says the agent was tried.
	keyring.RemoveAll()
	_, err = remote.DialSSH(t.Context(), cfg)
	if re := wantError(t, err, inventory.ErrAuth); !strings.Contains(re.Hint, "agent") {
		t.Errorf("hint %q does not name the agent", re.Hint)
	}

	t.Setenv("SSH_AUTH_SOCK", "")
	_, err = remote.DialSSH(t.Context(), cfg)
	wantError(t, err, inventory.ErrConfig)
}

func TestSSHUnknownHostKey(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	cfg := config(s, s.User)
	for _, name := range []string{"missing", "other-hosts"} {
		t.Run(name, func(t *testing.T) {
			cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
			var before []byte
			if name == "other-hosts" {
				before = []byte("[127.0.0.1]:1 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.ClientPublicKey))) + "\n")
				if err := os.WriteFile(cfg.KnownHosts, before, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := remote.DialSSH(t.Context(), cfg)
			re := wantError(t, err, inventory.ErrHostKey)
			for _, want := range []string{"ssh-ed25519", s.HostKeyFingerprint, cfg.KnownHosts} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message does not contain %q: %v", want, err)
				}
			}
			if !strings.Contains(re.Hint, "--trust-on-first-use") || !strings.Contains(re.Hint, "fingerprint") {
				t.Errorf("hint %q", re.Hint)
			}
			after, err := os.ReadFile(cfg.KnownHosts)
			if name == "missing" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("known_hosts was created: %v", err)
			}
			if name != "missing" && !bytes.Equal(after, before) {
				t.Errorf("known_hosts changed from %q to %q", before, after)
			}
		})
	}
}

func TestSSHTrustOnFirstUse(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	cfg := config(s, s.User)
	dir := filepath.Join(t.TempDir(), "new", ".ssh")
	cfg.KnownHosts = filepath.Join(dir, "known_hosts")
	cfg.TrustOnFirstUse = true
	c := dial(t, cfg)
	if want := "ssh-ed25519 " + s.HostKeyFingerprint; c.NewHostKey() != want {
		t.Errorf("NewHostKey() = %q, want %q", c.NewHostKey(), want)
	}
	c.Close()
	b, err := os.ReadFile(cfg.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", s.Port); !strings.HasPrefix(string(b), want) || strings.Count(string(b), "\n") != 1 {
		t.Errorf("known_hosts = %q, want one line starting %q", b, want)
	}
	for path, want := range map[string]os.FileMode{cfg.KnownHosts: 0o600, dir: 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, st.Mode().Perm(), err, want)
		}
	}

	cfg.TrustOnFirstUse = false
	c = dial(t, cfg)
	if c.NewHostKey() != "" {
		t.Errorf("second dial recorded %q again", c.NewHostKey())
	}
	if b2, _ := os.ReadFile(cfg.KnownHosts); !bytes.Equal(b, b2) {
		t.Errorf("second dial changed known_hosts to %q", b2)
	}
}

func TestSSHChangedHostKey(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	cfg := config(s, s.User)
	cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	old, err := os.ReadFile(s.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.KnownHosts, old, 0o600); err != nil {
		t.Fatal(err)
	}
	dial(t, cfg).Close()
	oldFP := s.HostKeyFingerprint
	if err := s.RotateHostKey(); err != nil {
		t.Fatal(err)
	}
	for _, tofu := range []bool{false, true} {
		cfg.TrustOnFirstUse = tofu
		_, err := remote.DialSSH(t.Context(), cfg)
		re := wantError(t, err, inventory.ErrHostKey)
		for _, want := range []string{"changed", oldFP, s.HostKeyFingerprint, cfg.KnownHosts + ":1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("tofu=%v: message does not contain %q: %v", tofu, want, err)
			}
		}
		if !strings.Contains(re.Hint, "man-in-the-middle") || !strings.Contains(re.Hint, "ssh-keygen -R") {
			t.Errorf("hint %q", re.Hint)
		}
		if now, _ := os.ReadFile(cfg.KnownHosts); !bytes.Equal(now, old) {
			t.Errorf("tofu=%v: known_hosts changed to %q", tofu, now)
		}
	}
}

func TestSSHHostKeyAlgorithmRestricted(t *testing.T) {
	// known_hosts records an RSA key for the host, which only has ed25519:
	// the client must ask for RSA only, and fail as a host key problem.
	s := sshd.StartT(t, sshd.Options{})
	cfg := config(s, s.User)
	cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := ssh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaLine := fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(rsaPub))
	if err := os.WriteFile(cfg.KnownHosts, []byte(rsaLine), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.TrustOnFirstUse = true
	_, err = remote.DialSSH(t.Context(), cfg)
	wantError(t, err, inventory.ErrHostKey)
	if now, _ := os.ReadFile(cfg.KnownHosts); string(now) != rsaLine {
		t.Errorf("known_hosts changed to %q", now)
	}
}

func TestSSHClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := remote.SSHConfig{Host: testHost, Address: "127.0.0.1", Port: port, User: "nobody",
		Password: remote.NewSecret("pw-secret"), KnownHosts: filepath.Join(t.TempDir(), "kh"), Timeout: 5 * time.Second}
	_, err = remote.DialSSH(t.Context(), cfg)
	re := wantError(t, err, inventory.ErrUnreachable, "pw-secret")
	if !strings.Contains(re.Step, "connect 127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("step %q does not name the address", re.Step)
	}
}

func TestSSHSilentListenerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accept, never speak
		}
	}()
	cfg := remote.SSHConfig{Host: testHost, Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "nobody",
		Password: remote.NewSecret("pw-secret"), KnownHosts: filepath.Join(t.TempDir(), "kh"), Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err = remote.DialSSH(t.Context(), cfg)
	elapsed := time.Since(start)
	re := wantError(t, err, inventory.ErrTimeout, "pw-secret")
	if re.Step != "ssh handshake" {
		t.Errorf("step %q, want ssh handshake", re.Step)
	}
	if elapsed < 400*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("gave up after %v, want about 500ms", elapsed)
	}
}

func TestSSHDialCanceled(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := remote.DialSSH(ctx, config(s, s.User))
	wantError(t, err, inventory.ErrCanceled)
}

func TestSSHJumpHost(t *testing.T) {
	bastion := sshd.StartT(t, sshd.Options{AllowTCPForwarding: true})
	target := sshd.StartT(t, sshd.Options{})
	jcfg := config(bastion, bastion.User)
	jcfg.Host = "bastion"
	cfg := config(target, target.User)
	cfg.Jump = &jcfg
	c := dial(t, cfg)
	if res := run(t, c, "echo via jump"); string(res.Stdout) != "via jump\n" {
		t.Errorf("Run printed %q", res.Stdout)
	}
	c.Close()
	if !strings.Contains(bastion.Log(), "Accepted publickey") {
		t.Errorf("the bastion saw no login:\n%s", bastion.Log())
	}

	t.Run("forwarding refused", func(t *testing.T) {
		closed := sshd.StartT(t, sshd.Options{AllowTCPForwarding: false})
		j := config(closed, closed.User)
		j.Host = "bastion"
		cfg := config(target, target.User)
		cfg.Jump = &j
		_, err := remote.DialSSH(t.Context(), cfg)
		if re := wantError(t, err, inventory.ErrPermission); !strings.Contains(re.Hint, "AllowTcpForwarding") {
			t.Errorf("hint %q", re.Hint)
		}
	})
	t.Run("unknown jump host key", func(t *testing.T) {
		j := jcfg
		j.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		cfg := config(target, target.User)
		cfg.Jump = &j
		_, err := remote.DialSSH(t.Context(), cfg)
		re := wantError(t, err, inventory.ErrHostKey)
		if re.Step != "jump host" || !strings.Contains(err.Error(), "host bastion") {
			t.Errorf("step %q, message %v: want the jump host named", re.Step, err)
		}
	})
	t.Run("unknown target host key", func(t *testing.T) {
		cfg := config(target, target.User)
		cfg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		cfg.Jump = &jcfg
		_, err := remote.DialSSH(t.Context(), cfg)
		if re := wantError(t, err, inventory.ErrHostKey); re.Step != "host key" {
			t.Errorf("step %q", re.Step)
		}
	})
}

func TestSSHRunCanceled(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	c := dial(t, config(s, s.User))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, "sleep 5")
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("Run returned after %v", elapsed)
	}
	wantError(t, err, inventory.ErrTimeout)

	marker := "sleep 29.5" + strconv.Itoa(os.Getpid()%10)
	start = time.Now()
	_, err = c.Run(cancelWhenRunning(t, c, marker), marker)
	wantError(t, err, inventory.ErrCanceled)
	// The connection still works, and the command was killed.
	waitGone(t, c, marker)
	if elapsed := time.Since(start); elapsed > 15*time.Second {
		t.Errorf("cancel took %v", elapsed)
	}
}

// count returns how many processes on c's host run args.
func count(t *testing.T, c *remote.SSHClient, args string) string {
	t.Helper()
	res := run(t, c, "ps -eo args | grep -c "+remote.ShellQuote("^"+args)+" || true")
	return strings.TrimSpace(string(res.Stdout))
}

// cancelWhenRunning returns a context that is canceled once a process on c's
// host runs args.
func cancelWhenRunning(t *testing.T, c *remote.SSHClient, args string) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go func() {
		defer cancel()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if res, err := c.Run(ctx, "ps -eo args | grep -c "+remote.ShellQuote("^"+args)); err != nil || strings.TrimSpace(string(res.Stdout)) != "0" {
				return
			}
		}
	}()
	return ctx
}

// waitGone waits up to 5 s until no process on c's host runs args.
func waitGone(t *testing.T, c *remote.SSHClient, args string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for count(t, c, args) != "0" {
		if time.Now().After(deadline) {
			t.Errorf("%q still running after cancel", args)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSSHUpload(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	c := dial(t, config(s, s.User))
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // the login user may not be the test's user
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "agent")
	data := bytes.Repeat([]byte("shift\x00\xff"), 300_000)
	for i, mode := range []os.FileMode{0o750, 0o600} {
		data[0] = byte('a' + i)
		if err := c.Upload(t.Context(), bytes.NewReader(data), dst, mode); err != nil {
			t.Fatalf("Upload: %v", err)
		}
		res := run(t, c, "stat -c %a "+remote.ShellQuote(dst)+" && sha256sum < "+remote.ShellQuote(dst))
		out := strings.Fields(string(res.Stdout))
		if len(out) < 2 || out[0] != strconv.FormatUint(uint64(mode), 8) {
			t.Errorf("stat/sha256sum printed %q, want mode %o", res.Stdout, mode)
			continue
		}
		got, err := c.Run(t.Context(), "cat "+remote.ShellQuote(dst))
		if err != nil || !bytes.Equal(got.Stdout, data) {
			t.Errorf("read back %d bytes (%v), want the %d uploaded", len(got.Stdout), err, len(data))
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("upload left temporary files: %v", entries)
	}

	err := c.Upload(t.Context(), strings.NewReader("x"), filepath.Join(dir, "no", "such", "dir", "f"), 0o644)
	wantError(t, err, inventory.ErrProbe)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = c.Upload(ctx, strings.NewReader("x"), filepath.Join(dir, "canceled"), 0o644)
	wantError(t, err, inventory.ErrCanceled)
}

func TestSSHUploadPermissionDenied(t *testing.T) {
	user := sshd.RequireUser(t, "shift-sudo")
	s := sshd.StartT(t, sshd.Options{User: user})
	c := dial(t, config(s, user))
	err := c.Upload(t.Context(), strings.NewReader("x"), filepath.Join(t.TempDir(), "f"), 0o644)
	wantError(t, err, inventory.ErrPermission)
}

func TestSSHStartStream(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	c := dial(t, config(s, s.User))
	stdin, stdout, wait, err := c.StartStream(t.Context(), "tr a-z A-Z")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(stdin, "hello agent\n")
		stdin.Close()
	}()
	out, err := io.ReadAll(stdout)
	if err != nil || string(out) != "HELLO AGENT\n" {
		t.Errorf("stream printed %q, %v", out, err)
	}
	if err := wait(); err != nil {
		t.Errorf("wait: %v", err)
	}

	_, stdout, wait, err = c.StartStream(t.Context(), "echo broken >&2; exit 2")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, stdout)
	err = wait()
	if re := wantErrorNoHint(t, err, inventory.ErrProbe); !strings.Contains(re.Error(), "broken") {
		t.Errorf("wait error %v does not quote stderr", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	_, stdout, wait, err = c.StartStream(ctx, "sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	io.Copy(io.Discard, stdout)
	err = wait()
	if time.Since(start) > 5*time.Second {
		t.Errorf("canceled stream ended after %v", time.Since(start))
	}
	wantError(t, err, inventory.ErrCanceled)
}

// wantErrorNoHint is wantError for errors that have nothing to suggest.
func wantErrorNoHint(t *testing.T, err error, kind string) *remote.Error {
	t.Helper()
	var re *remote.Error
	if !errors.As(err, &re) || re.Kind != kind || re.Host != testHost {
		t.Fatalf("got %v, want a *remote.Error of kind %s for %s", err, kind, testHost)
	}
	return re
}

// TestSSHHostKeyAlias proves a host is checked against its alias's
// known_hosts entry, as a migrated VM is against its source's: the right key
// passes on an address known_hosts never saw, another host's key fails.
func TestSSHHostKeyAlias(t *testing.T) {
	s := sshd.StartT(t, sshd.Options{})
	other := sshd.StartT(t, sshd.Options{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line, err := os.ReadFile(s.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	// Record s's key under the source's name only.
	_, key, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
	if err := os.WriteFile(kh, []byte("[source.example]:2222 "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config(s, s.User)
	cfg.KnownHosts, cfg.HostKeyAlias = kh, "source.example:2222"
	dial(t, cfg).Close()

	cfg = config(other, other.User)
	cfg.KnownHosts, cfg.HostKeyAlias = kh, "source.example:2222"
	_, err = remote.DialSSH(t.Context(), cfg)
	re := wantError(t, err, inventory.ErrHostKey)
	if !strings.Contains(re.Error(), "source.example") {
		t.Errorf("the error does not name the alias: %v", re)
	}
	// Without the alias the same address is simply unknown.
	cfg.HostKeyAlias = ""
	_, err = remote.DialSSH(t.Context(), cfg)
	if re := wantError(t, err, inventory.ErrHostKey); !strings.Contains(re.Error(), "unknown host key") {
		t.Errorf("without the alias: %v, want an unknown host key", re)
	}
}

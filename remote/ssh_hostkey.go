package remote

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/shift-migrate/shift/inventory"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// knownHostsMu serialises appends to known_hosts files by concurrent dials.
var knownHostsMu sync.Mutex

// hostKeyChecker verifies host keys against one known_hosts file and, with
// trust on first use, records unknown keys there. It remembers why it refused
// a key, because the SSH handshake reports only a generic failure.
type hostKeyChecker struct {
	host string // for errors: the hosts-file name
	file string
	tofu bool
	db   *knownhosts.HostKeyDB
	// alias replaces the dialled address in known_hosts lookups.
	alias string

	refused  *Error // set when the callback refused the key
	recorded string // fingerprint recorded by trust on first use
}

// newHostKeyChecker reads cfg's known_hosts file. A missing file is an empty
// one: every host is unknown.
func newHostKeyChecker(cfg SSHConfig) (*hostKeyChecker, error) {
	file := cfg.KnownHosts
	if file == "" {
		file = "~/.ssh/known_hosts"
	}
	file, err := ExpandPath(file, "")
	if err != nil {
		return nil, &Error{Host: cfg.Host, Step: "host key", Kind: inventory.ErrConfig,
			Err: fmt.Errorf("known_hosts file: %w", err), Hint: "set known_hosts to a file path"}
	}
	var db *knownhosts.HostKeyDB
	if _, statErr := os.Stat(file); errors.Is(statErr, fs.ErrNotExist) {
		db, err = knownhosts.NewDB()
	} else {
		db, err = knownhosts.NewDB(file)
	}
	if err != nil {
		return nil, &Error{Host: cfg.Host, Step: "host key", Kind: inventory.ErrConfig,
			Err:  fmt.Errorf("read known_hosts %s: %w", file, err),
			Hint: "fix or remove the line named in the message, or point known_hosts at another file"}
	}
	return &hostKeyChecker{host: cfg.Host, file: file, tofu: cfg.TrustOnFirstUse, db: db, alias: cfg.HostKeyAlias}, nil
}

// name is what known_hosts is searched for: the alias when there is one,
// else the address dialled.
func (h *hostKeyChecker) name(addr string) string {
	if h.alias != "" {
		return h.alias
	}
	return addr
}

// algorithms returns the host key algorithms recorded for hostport, or nil
// when it is unknown. Restricting the handshake to them makes the server show
// the key type that was recorded rather than another one.
func (h *hostKeyChecker) algorithms(hostport string) []string {
	return h.db.HostKeyAlgorithms(hostport)
}

// check is the ssh.HostKeyCallback.
func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if h.alias != "" {
		// The key must be the alias's: the address dialled proves nothing.
		hostname, remote = h.alias, aliasAddr{h.alias}
	}
	err := h.db.HostKeyCallback()(hostname, remote, key)
	if err == nil {
		return nil
	}
	fp := key.Type() + " " + ssh.FingerprintSHA256(key)
	var revoked *xknownhosts.RevokedError
	var keyErr *xknownhosts.KeyError
	switch {
	case errors.As(err, &revoked):
		h.refused = h.hostKeyError(fmt.Errorf("host key %s of %s is marked @revoked in %s:%d",
			fp, hostname, revoked.Revoked.Filename, revoked.Revoked.Line),
			"the host presents a key you revoked: do not connect until the host's keys are replaced")
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		var old []string
		for _, k := range keyErr.Want {
			old = append(old, fmt.Sprintf("%s %s at %s:%d", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
		}
		h.refused = h.hostKeyError(fmt.Errorf("host key of %s changed: it now presents %s, but known_hosts records %s",
			hostname, fp, strings.Join(old, "; ")),
			fmt.Sprintf("someone may be intercepting the connection (man-in-the-middle), or the host was rebuilt; "+
				"confirm the new fingerprint on the host's console, then remove the stale line (ssh-keygen -R '%s' -f %s) and connect again; "+
				"--trust-on-first-use never replaces a changed key",
				knownhosts.Normalize(hostname), keyErr.Want[0].Filename))
	case errors.As(err, &keyErr) && h.tofu:
		if werr := h.record(hostname, key); werr != nil {
			h.refused = &Error{Host: h.host, Step: "host key", Kind: inventory.ErrConfig,
				Err:  fmt.Errorf("record host key %s of %s in %s: %w", fp, hostname, h.file, werr),
				Hint: "make the known_hosts file and its directory writable, or add the key by hand"}
			return h.refused
		}
		h.recorded = fp
		return nil
	case errors.As(err, &keyErr):
		host, port, _ := net.SplitHostPort(hostname)
		h.refused = h.hostKeyError(fmt.Errorf("unknown host key %s for %s: not in known_hosts %s", fp, hostname, h.file),
			fmt.Sprintf("verify the fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), "+
				"then add it (ssh-keyscan -p %s %s >> %s) or rerun with --trust-on-first-use",
				keyFileType(key.Type()), port, host, h.file))
	default:
		h.refused = h.hostKeyError(fmt.Errorf("verify host key %s of %s: %w", fp, hostname, err), "")
	}
	return h.refused
}

func (h *hostKeyChecker) hostKeyError(err error, hint string) *Error {
	return &Error{Host: h.host, Step: "host key", Kind: inventory.ErrHostKey, Err: err, Hint: hint}
}

// record appends a known_hosts line for hostname ("[host]:port" for ports
// other than 22), creating the file (0600) and its directory (0700).
func (h *hostKeyChecker) record(hostname string, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(h.file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(h.file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{hostname}, key) + "\n"
	// Do not glue the new line to a last line without a newline.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := io.WriteString(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyFileType maps an SSH key type to the name sshd uses in its host key
// file names.
func keyFileType(t string) string {
	switch {
	case strings.Contains(t, "ed25519"):
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	case strings.Contains(t, "rsa"):
		return "rsa"
	}
	return "*"
}

// aliasAddr stands for the remote address when a host key alias is set, so
// that known_hosts lines for the real address play no part.
type aliasAddr struct{ hostport string }

func (a aliasAddr) Network() string { return "tcp" }
func (a aliasAddr) String() string  { return a.hostport }

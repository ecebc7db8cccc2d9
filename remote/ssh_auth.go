package remote

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshAuth is the set of auth methods built from an SSHConfig.
type sshAuth struct {
	methods []ssh.AuthMethod
	// tried names the methods for errors, without any secret.
	tried     []string
	agentConn net.Conn // nil without the agent; closed after the handshake
}

func (a *sshAuth) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
	}
}

// newSSHAuth builds the auth methods: public keys (the private key and the
// agent's keys, offered as one method because the SSH client tries each
// method name once), then password and keyboard-interactive answering with
// the password.
func newSSHAuth(cfg SSHConfig) (*sshAuth, error) {
	a := &sshAuth{}
	fail := func(kind string, err error, hint string) (*sshAuth, error) {
		a.close()
		return nil, &Error{Host: cfg.Host, Step: "auth", Kind: kind, Err: err, Hint: hint}
	}
	var signers []ssh.Signer
	if !cfg.PrivateKey.IsZero() {
		s, err := parsePrivateKey(cfg.PrivateKey, cfg.KeyPassphrase)
		if err != nil {
			a.close()
			re := err.(*Error)
			re.Host = cfg.Host
			return nil, re
		}
		signers = append(signers, s)
		a.tried = append(a.tried, "publickey with the private key "+ssh.FingerprintSHA256(s.PublicKey()))
	}
	var agentClient agent.ExtendedAgent
	if cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return fail(inventory.ErrConfig, errors.New("the ssh-agent is enabled but SSH_AUTH_SOCK is not set"),
				"start ssh-agent and add a key with ssh-add, or give a private key instead")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return fail(inventory.ErrConfig, fmt.Errorf("connect to the ssh-agent at SSH_AUTH_SOCK: %w", err),
				"check that ssh-agent runs and SSH_AUTH_SOCK points at its socket")
		}
		a.agentConn = conn
		agentClient = agent.NewClient(conn)
		a.tried = append(a.tried, "publickey with the ssh-agent's keys")
	}
	if len(signers) > 0 || agentClient != nil {
		a.methods = append(a.methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			if agentClient == nil {
				return signers, nil
			}
			fromAgent, err := agentClient.Signers()
			if err != nil && len(signers) == 0 {
				return nil, fmt.Errorf("ssh-agent: %w", err)
			}
			return append(append([]ssh.Signer(nil), signers...), fromAgent...), nil
		}))
	}
	if !cfg.Password.IsZero() {
		pw := cfg.Password
		a.methods = append(a.methods,
			ssh.Password(pw.Reveal()),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw.Reveal()
				}
				return answers, nil
			}))
		a.tried = append(a.tried, "password", "keyboard-interactive with the password")
	}
	if len(a.methods) == 0 {
		return fail(inventory.ErrConfig, fmt.Errorf("no credentials for user %s", cfg.User),
			"give a password, a private key, or enable the ssh-agent for this host")
	}
	return a, nil
}

// parsePrivateKey parses a PEM or OpenSSH private key, decrypting it with
// passphrase when it is encrypted. Errors never quote the key.
func parsePrivateKey(key, passphrase Secret) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey([]byte(key.Reveal()))
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase.IsZero() {
			return nil, &Error{Step: "auth", Kind: inventory.ErrConfig,
				Err:  errors.New("the private key is encrypted and no passphrase was given"),
				Hint: "give the key's passphrase (key_passphrase, as env: or file: reference), or use the ssh-agent"}
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key.Reveal()), []byte(passphrase.Reveal()))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, &Error{Step: "auth", Kind: inventory.ErrAuth,
				Err:  errors.New("the private key's passphrase is wrong"),
				Hint: "check the passphrase the key_passphrase reference points at"}
		}
	}
	if err != nil {
		return nil, &Error{Step: "auth", Kind: inventory.ErrConfig,
			Err:  fmt.Errorf("cannot read the private key: %s", keyParseReason(err)),
			Hint: "give an OpenSSH or PEM private key file (not the .pub file)"}
	}
	return s, nil
}

// keyParseReason shortens a key parse error to its reason. The parsers do not
// quote key material, but the reason is cut short to be safe.
func keyParseReason(err error) string {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return strings.TrimPrefix(msg, "ssh: ")
}

// authHint says which methods were tried, for a refused login.
func (a *sshAuth) authHint(user string) string {
	return fmt.Sprintf("the server refused user %s with every method tried (%s): check the user name and the credentials, "+
		"and the host's sshd log for the reason", user, strings.Join(a.tried, ", "))
}

package remote

import "time"

// SSHConfig says how to reach and log in to a host over SSH. The zero value of
// each field is documented; secrets are resolved before a config is built.
type SSHConfig struct {
	// Host is the name used in errors (the hosts-file name).
	Host string
	// Address is the host name or IP to dial.
	Address string
	// Port is the TCP port; 0 means 22.
	Port int
	// User is the login user; it must be set.
	User string
	// Password enables password (and keyboard-interactive) auth when set.
	Password Secret
	// PrivateKey is a PEM/OpenSSH private key; empty means none.
	PrivateKey Secret
	// KeyPassphrase decrypts PrivateKey when it is encrypted.
	KeyPassphrase Secret
	// Agent enables the ssh-agent at $SSH_AUTH_SOCK.
	Agent bool
	// KnownHosts is the known_hosts file used to verify the host key; empty
	// means ~/.ssh/known_hosts.
	KnownHosts string
	// HostKeyAlias, when set, is the "host:port" whose known_hosts entry
	// the server's key must match, instead of the address dialled: a
	// migrated VM answers on a new address with its source's host key, and
	// proves it is that replica by presenting it.
	HostKeyAlias string
	// TrustOnFirstUse records an unknown host key in KnownHosts instead of
	// failing. A changed key fails regardless.
	TrustOnFirstUse bool
	// Jump is the bastion to go through; nil means a direct connection.
	Jump *SSHConfig
	// Timeout bounds the TCP dial and handshake; 0 means 30 s.
	Timeout time.Duration
	// Sudo selects privilege elevation for commands that need root: "" or
	// "auto" uses "sudo -n" when User is not root, "never" never elevates.
	Sudo string
}

// WinRMConfig says how to reach and log in to a host over WinRM.
type WinRMConfig struct {
	// Host is the name used in errors (the hosts-file name).
	Host string
	// Address is the host name or IP to dial.
	Address string
	// Port is the TCP port; 0 means 5985 for HTTP and 5986 for HTTPS.
	Port int
	// HTTPS selects TLS.
	HTTPS bool
	// Insecure skips certificate verification; it must be asked for explicitly.
	Insecure bool
	// CACert is a PEM bundle that signs the host's certificate; empty means the
	// system roots.
	CACert []byte
	// TLSServerName overrides the name checked in the certificate; empty means
	// Address.
	TLSServerName string
	// Auth is "basic" or "ntlm"; empty means "ntlm".
	Auth     string
	User     string
	Password Secret
	// Timeout bounds each WinRM operation; 0 means 60 s.
	Timeout time.Duration
}

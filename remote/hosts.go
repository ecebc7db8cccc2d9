package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// HostsFileVersion is the version of the hosts-file format this shift reads.
const HostsFileVersion = 1

// HostsFile is a parsed hosts file: the servers to reach and how to log in to
// them. It holds references to secrets, never the secrets themselves; Resolve
// reads them for one host at a time so that one bad reference fails only the
// hosts that use it.
//
// The format (YAML):
//
//	version: 1
//	defaults:            # settings every host starts from
//	  timeout: 2m
//	groups:              # named settings a host can name with group:
//	  windows:
//	    transport: winrm
//	    user: Administrator
//	    password: env:WIN_PASSWORD      # or file:path; literals are refused
//	    winrm: {https: true, auth: ntlm, caCert: ca.pem}
//	hosts:
//	  - name: db01
//	    address: 10.0.0.5
//	    group: windows
//	  - name: web01
//	    address: 10.0.0.6
//	    transport: ssh
//	    user: shift
//	    key: file:~/.ssh/id_ed25519
//	    ssh: {knownHosts: ~/.ssh/known_hosts, jump: bastion}
//
// A host's settings are its group's, overridden by its own; a group's are the
// defaults, overridden by the group's.
type HostsFile struct {
	// Path is the file the hosts were read from; relative paths inside it are
	// relative to its directory.
	Path     string
	Defaults Settings
	Groups   map[string]Settings
	Hosts    []HostEntry
}

// HostEntry is one host of a hosts file.
type HostEntry struct {
	Name     string `yaml:"name"`
	Address  string `yaml:"address"`
	Group    string `yaml:"group,omitempty"`
	Settings `yaml:",inline"`
	// Line is the line of the entry in the hosts file.
	Line int `yaml:"-"`
}

// Settings are the connection settings a host, a group or the defaults carry.
// A nil pointer or empty string means "inherit".
type Settings struct {
	// Transport is "ssh" or "winrm".
	Transport string `yaml:"transport,omitempty"`
	Port      int    `yaml:"port,omitempty"`
	User      string `yaml:"user,omitempty"`
	// Password is a secret reference (env:NAME or file:PATH).
	Password SecretRef `yaml:"password,omitempty"`
	// Timeout bounds discovery of one host ("90s", "5m").
	Timeout string         `yaml:"timeout,omitempty"`
	SSH     *SSHSettings   `yaml:"ssh,omitempty"`
	WinRM   *WinRMSettings `yaml:"winrm,omitempty"`
	// Key is a secret reference to an SSH private key (normally file:PATH).
	Key SecretRef `yaml:"key,omitempty"`
}

// SSHSettings are the SSH-only settings.
type SSHSettings struct {
	KeyPassphrase   SecretRef `yaml:"keyPassphrase,omitempty"`
	Agent           *bool     `yaml:"agent,omitempty"`
	KnownHosts      string    `yaml:"knownHosts,omitempty"`
	TrustOnFirstUse *bool     `yaml:"trustOnFirstUse,omitempty"`
	// Jump names another host of the file to go through.
	Jump string `yaml:"jump,omitempty"`
	// Sudo is "auto" (default) or "never".
	Sudo string `yaml:"sudo,omitempty"`
}

// WinRMSettings are the WinRM-only settings.
type WinRMSettings struct {
	HTTPS *bool `yaml:"https,omitempty"`
	// Auth is "ntlm" (default) or "basic".
	Auth string `yaml:"auth,omitempty"`
	// CACert is a PEM file with the CA that signs the hosts' certificates.
	CACert string `yaml:"caCert,omitempty"`
	// Insecure disables certificate verification. It must be set explicitly.
	Insecure      *bool  `yaml:"insecure,omitempty"`
	TLSServerName string `yaml:"tlsServerName,omitempty"`
}

type hostsDoc struct {
	Version  int                 `yaml:"version"`
	Defaults Settings            `yaml:"defaults"`
	Groups   map[string]Settings `yaml:"groups"`
	Hosts    []HostEntry         `yaml:"hosts"`
}

// HostsError is a problem in a hosts file. It names the file and, when known,
// the line.
type HostsError struct {
	Path string
	Line int
	Msg  string
}

func (e *HostsError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("hosts file %s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("hosts file %s: %s", e.Path, e.Msg)
}

// LoadHosts reads and checks a hosts file.
func LoadHosts(path string) (*HostsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &HostsError{Path: path, Msg: err.Error()}
	}
	return ParseHosts(path, b)
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// ParseHosts parses a hosts file held in memory; path is used in errors and to
// resolve relative paths.
func ParseHosts(path string, data []byte) (*HostsFile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &HostsError{Path: path, Msg: "the file is empty: it needs a hosts: list"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc hostsDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(path, err)
	}
	lines := hostLines(&root)
	for i := range doc.Hosts {
		if i < len(lines) {
			doc.Hosts[i].Line = lines[i]
		}
	}
	hf := &HostsFile{Path: path, Defaults: doc.Defaults, Groups: doc.Groups, Hosts: doc.Hosts}
	if doc.Version != 0 && doc.Version != HostsFileVersion {
		return nil, &HostsError{Path: path, Msg: fmt.Sprintf("version %d is not supported (this shift reads version %d)", doc.Version, HostsFileVersion)}
	}
	if err := hf.check(); err != nil {
		return nil, err
	}
	return hf, nil
}

func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = strings.Replace(msg, m[0], "", 1)
	}
	msg = strings.ReplaceAll(msg, "\n", "; ")
	msg = strings.ReplaceAll(msg, "in type remote.", "in ")
	return &HostsError{Path: path, Line: line, Msg: msg}
}

// hostLines returns the line of each item of the top-level hosts sequence.
func hostLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "hosts" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, item := range m.Content[i+1].Content {
				out = append(out, item.Line)
			}
			return out
		}
	}
	return nil
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (hf *HostsFile) check() error {
	if len(hf.Hosts) == 0 {
		return &HostsError{Path: hf.Path, Msg: "no hosts: add a hosts: list with at least one name and address"}
	}
	seen := map[string]int{}
	for _, h := range hf.Hosts {
		fail := func(format string, args ...any) error {
			return &HostsError{Path: hf.Path, Line: h.Line, Msg: fmt.Sprintf(format, args...)}
		}
		switch {
		case h.Name == "":
			return fail("host has no name")
		case !hostName.MatchString(h.Name):
			return fail("host name %q: use letters, digits, '.', '_' and '-' (at most 63)", h.Name)
		case h.Address == "":
			return fail("host %s has no address", h.Name)
		}
		if strings.ContainsAny(h.Address, " /") {
			return fail("host %s: address %q is not a host name or IP", h.Name, h.Address)
		}
		if prev, ok := seen[h.Name]; ok {
			return fail("host %s is listed twice (first on line %d)", h.Name, prev)
		}
		seen[h.Name] = h.Line
		if h.Group != "" {
			if _, ok := hf.Groups[h.Group]; !ok {
				return fail("host %s names group %q, which the file does not define", h.Name, h.Group)
			}
		}
		s := hf.settings(h)
		switch s.Transport {
		case "ssh", "winrm":
		case "":
			return fail("host %s: no transport: set transport: ssh or transport: winrm (on the host, its group or defaults)", h.Name)
		default:
			return fail("host %s: transport %q: must be ssh or winrm", h.Name, s.Transport)
		}
		if s.User == "" {
			return fail("host %s: no user", h.Name)
		}
		if s.Port < 0 || s.Port > 65535 {
			return fail("host %s: port %d out of range", h.Name, s.Port)
		}
		if s.Timeout != "" {
			if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
				return fail("host %s: timeout %q: use a duration such as 90s or 5m", h.Name, s.Timeout)
			}
		}
		for _, ref := range []SecretRef{s.Password, s.Key, s.SSH.KeyPassphrase} {
			if ref != "" && !strings.HasPrefix(string(ref), "env:") && !strings.HasPrefix(string(ref), "file:") {
				return fail("host %s: a secret must be a reference, env:NAME or file:PATH (a literal secret is not accepted in a hosts file)", h.Name)
			}
		}
		if s.Transport == "ssh" {
			if s.Password == "" && s.Key == "" && !deref(s.SSH.Agent) {
				return fail("host %s: no SSH credential: set key:, password: or ssh: {agent: true}", h.Name)
			}
			if j := s.SSH.Jump; j != "" {
				if j == h.Name {
					return fail("host %s: jump names the host itself", h.Name)
				}
				if hf.entry(j) == nil {
					return fail("host %s: jump host %q is not a host of this file", h.Name, j)
				}
			}
			switch s.SSH.Sudo {
			case "", "auto", "never":
			default:
				return fail("host %s: sudo %q: must be auto or never", h.Name, s.SSH.Sudo)
			}
		}
		if s.Transport == "winrm" {
			if s.Password == "" {
				return fail("host %s: WinRM needs password: (env:NAME or file:PATH)", h.Name)
			}
			switch strings.ToLower(s.WinRM.Auth) {
			case "", "ntlm", "basic":
			default:
				return fail("host %s: winrm auth %q: must be ntlm or basic", h.Name, s.WinRM.Auth)
			}
		}
	}
	return nil
}

// Names returns the host names in file order.
func (hf *HostsFile) Names() []string {
	out := make([]string, len(hf.Hosts))
	for i, h := range hf.Hosts {
		out[i] = h.Name
	}
	return out
}

func (hf *HostsFile) entry(name string) *HostEntry {
	for i := range hf.Hosts {
		if hf.Hosts[i].Name == name {
			return &hf.Hosts[i]
		}
	}
	return nil
}

// Entry returns the host entry with the given name, or nil.
func (hf *HostsFile) Entry(name string) *HostEntry { return hf.entry(name) }

// settings merges defaults, group and host settings. The result's SSH and
// WinRM are never nil.
func (hf *HostsFile) settings(h HostEntry) Settings {
	s := merge(Settings{SSH: &SSHSettings{}, WinRM: &WinRMSettings{}}, hf.Defaults)
	if h.Group != "" {
		s = merge(s, hf.Groups[h.Group])
	}
	return merge(s, h.Settings)
}

func merge(base, over Settings) Settings {
	out := base
	set(&out.Transport, over.Transport)
	if over.Port != 0 {
		out.Port = over.Port
	}
	set(&out.User, over.User)
	set(&out.Password, over.Password)
	set(&out.Timeout, over.Timeout)
	set(&out.Key, over.Key)
	ssh := *base.SSH
	if o := over.SSH; o != nil {
		set(&ssh.KeyPassphrase, o.KeyPassphrase)
		setp(&ssh.Agent, o.Agent)
		set(&ssh.KnownHosts, o.KnownHosts)
		setp(&ssh.TrustOnFirstUse, o.TrustOnFirstUse)
		set(&ssh.Jump, o.Jump)
		set(&ssh.Sudo, o.Sudo)
	}
	out.SSH = &ssh
	w := *base.WinRM
	if o := over.WinRM; o != nil {
		setp(&w.HTTPS, o.HTTPS)
		set(&w.Auth, o.Auth)
		set(&w.CACert, o.CACert)
		setp(&w.Insecure, o.Insecure)
		set(&w.TLSServerName, o.TLSServerName)
	}
	out.WinRM = &w
	return out
}

func set[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

func setp[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

func deref(b *bool) bool { return b != nil && *b }

// Target is a host with its settings merged and its secrets read: what a
// transport needs to connect.
type Target struct {
	Name      string
	Address   string
	Transport string
	// Timeout bounds discovery of the host; 0 means the caller's default.
	Timeout time.Duration
	// SSH is set when Transport is "ssh".
	SSH *SSHConfig
	// WinRM is set when Transport is "winrm".
	WinRM *WinRMConfig
}

// Overrides are command-line settings that win over the hosts file.
type Overrides struct {
	// TrustOnFirstUse, when true, records unknown SSH host keys for every host.
	TrustOnFirstUse bool
	// KnownHosts replaces the known_hosts file of every SSH host when set.
	KnownHosts string
}

// Resolve merges the settings of host name and reads its secrets. Errors are
// *Error values of kind ErrConfig that name the host and the reference (never a
// secret).
func (hf *HostsFile) Resolve(name string, ov Overrides) (Target, error) {
	return hf.resolve(name, ov, 0)
}

func (hf *HostsFile) resolve(name string, ov Overrides, depth int) (Target, error) {
	h := hf.entry(name)
	if h == nil {
		return Target{}, &Error{Host: name, Step: "hosts file", Kind: "config", Err: fmt.Errorf("host %s is not in %s", name, hf.Path)}
	}
	if depth > 4 {
		return Target{}, &Error{Host: name, Step: "hosts file", Kind: "config", Err: errors.New("jump hosts nest more than 4 deep or form a loop")}
	}
	s := hf.settings(*h)
	base := filepath.Dir(hf.Path)
	cfgErr := func(err error) error {
		return &Error{Host: name, Step: "credentials", Kind: "config", Err: err,
			Hint: fmt.Sprintf("fix the reference of host %s in %s:%d", name, hf.Path, h.Line)}
	}
	t := Target{Name: name, Address: h.Address, Transport: s.Transport}
	if s.Timeout != "" {
		t.Timeout, _ = time.ParseDuration(s.Timeout)
	}
	password, err := s.Password.Resolve(base)
	if err != nil {
		return Target{}, cfgErr(fmt.Errorf("password: %w", err))
	}
	switch s.Transport {
	case "ssh":
		key, err := s.Key.Resolve(base)
		if err != nil {
			return Target{}, cfgErr(fmt.Errorf("key: %w", err))
		}
		pass, err := s.SSH.KeyPassphrase.Resolve(base)
		if err != nil {
			return Target{}, cfgErr(fmt.Errorf("keyPassphrase: %w", err))
		}
		c := &SSHConfig{
			Host: name, Address: h.Address, Port: s.Port, User: s.User,
			Password: password, PrivateKey: key, KeyPassphrase: pass,
			Agent: deref(s.SSH.Agent), TrustOnFirstUse: deref(s.SSH.TrustOnFirstUse) || ov.TrustOnFirstUse,
			Sudo: s.SSH.Sudo, Timeout: t.Timeout,
		}
		switch {
		case ov.KnownHosts != "":
			c.KnownHosts = ov.KnownHosts
		case s.SSH.KnownHosts != "":
			if c.KnownHosts, err = ExpandPath(s.SSH.KnownHosts, base); err != nil {
				return Target{}, cfgErr(fmt.Errorf("knownHosts: %w", err))
			}
		}
		if s.SSH.Jump != "" {
			jt, err := hf.resolve(s.SSH.Jump, ov, depth+1)
			if err != nil {
				return Target{}, err
			}
			if jt.SSH == nil {
				return Target{}, cfgErr(fmt.Errorf("jump host %s does not use ssh", s.SSH.Jump))
			}
			c.Jump = jt.SSH
		}
		t.SSH = c
	case "winrm":
		c := &WinRMConfig{
			Host: name, Address: h.Address, Port: s.Port, User: s.User, Password: password,
			HTTPS: deref(s.WinRM.HTTPS), Insecure: deref(s.WinRM.Insecure),
			Auth: strings.ToLower(s.WinRM.Auth), TLSServerName: s.WinRM.TLSServerName,
		}
		if s.WinRM.CACert != "" {
			p, err := ExpandPath(s.WinRM.CACert, base)
			if err == nil {
				c.CACert, err = os.ReadFile(p)
			}
			if err != nil {
				return Target{}, cfgErr(fmt.Errorf("caCert: %w", err))
			}
		}
		t.WinRM = c
	}
	return t, nil
}

// Port returns the port a target connects to, with the transport's default.
func (t Target) Port() int {
	switch {
	case t.SSH != nil && t.SSH.Port != 0:
		return t.SSH.Port
	case t.SSH != nil:
		return 22
	case t.WinRM != nil && t.WinRM.Port != 0:
		return t.WinRM.Port
	case t.WinRM != nil && t.WinRM.HTTPS:
		return 5986
	default:
		return 5985
	}
}

// Endpoint returns host:port.
func (t Target) Endpoint() string { return net.JoinHostPort(t.Address, fmt.Sprint(t.Port())) }

// WriteHosts writes a hosts file. It is used by the lab and by tests; the
// entries' secrets must already be references.
func WriteHosts(path string, defaults Settings, groups map[string]Settings, hosts []HostEntry) error {
	doc := hostsDoc{Version: HostsFileVersion, Defaults: defaults, Groups: groups, Hosts: hosts}
	var buf bytes.Buffer
	buf.WriteString("# shift hosts file: the servers to discover and how to log in.\n# Secrets are references (env:NAME or file:PATH), never values.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

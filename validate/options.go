package validate

import (
	"time"

	"github.com/shift-migrate/shift/remote"
)

// Options say what a probe checks beyond what it finds on its own.
type Options struct {
	// Budget bounds the data checksums (row counts and checksums per table);
	// tables past it are sampled or skipped, and the fingerprint says so.
	// 0 means DefaultBudget.
	Budget time.Duration
	// CheckDB runs DBCC CHECKDB ... PHYSICAL_ONLY on every SQL Server
	// database.
	CheckDB bool
	// SQL holds credentials for SQL Server checks; empty means integrated
	// security (the WinRM user).
	SQL SQLCredentials
	// Databases holds connection settings for PostgreSQL and MySQL/MariaDB
	// on Linux hosts.
	Databases []DatabaseCheck
	// HTTP are the HTTP endpoints to request.
	HTTP []HTTPCheck
	// Commands are custom commands whose exit status and output are recorded.
	Commands []CommandCheck
	// Units are systemd units that must be active, beyond those the before
	// fingerprint recorded.
	Units []string
}

// DefaultBudget bounds the data checksums of one host.
const DefaultBudget = 2 * time.Minute

// SQLCredentials log in to SQL Server with SQL authentication.
type SQLCredentials struct {
	User     string
	Password remote.Secret
}

// DatabaseCheck names a database server on a Linux host to fingerprint.
type DatabaseCheck struct {
	// Engine is "postgresql" or "mysql".
	Engine string `json:"engine" yaml:"engine"`
	// Databases to read; empty means every non-template database.
	Databases []string `json:"databases,omitempty" yaml:"databases,omitempty"`
	// User is the local user that runs the client (through runuser or
	// sudo -n); empty means postgres for PostgreSQL, root for MySQL.
	User string `json:"user,omitempty" yaml:"user,omitempty"`
	// Host is the server's address or its Unix socket: for PostgreSQL the
	// socket's directory, for MySQL/MariaDB the socket file (a path
	// starting with "/"). Empty means the client's default (the local
	// socket).
	Host string `json:"host,omitempty" yaml:"host,omitempty"`
	// Port is the server's port; 0 means the client's default.
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// Login is the database role or account; empty means the client's
	// default (the local user's name).
	Login string `json:"login,omitempty" yaml:"login,omitempty"`
	// Password logs Login in; the zero value sends none. It reaches the host
	// on the probe's stdin, never on a command line, and is never recorded.
	Password remote.Secret `json:"-" yaml:"-"`
	// SampleAbove is the table size (bytes, indexes included) above which
	// a PostgreSQL table is checksummed from a repeatable 1% block sample
	// instead of in full; 0 means 1 GiB, a negative value never samples.
	SampleAbove int64 `json:"sampleAbove,omitempty" yaml:"sampleAbove,omitempty"`
}

// DefaultSampleAbove is the table size above which PostgreSQL tables are
// sampled.
const DefaultSampleAbove = 1 << 30

// HTTPCheck is one HTTP request whose status (and optionally body) must
// match.
type HTTPCheck struct {
	Name string `json:"name" yaml:"name"`
	// URL is requested from inside the host; it may hold a token, so it
	// reaches the host on the probe's stdin and is recorded without its
	// user info and query values (curl over SSH, Invoke-WebRequest
	// over WinRM), so names resolve as the workload sees them.
	URL string `json:"url" yaml:"url"`
	// Status is the expected status; 0 means the one recorded before, else 200.
	Status int `json:"status,omitempty" yaml:"status,omitempty"`
	// Contains, when set, must appear in the body.
	Contains string `json:"contains,omitempty" yaml:"contains,omitempty"`
}

// CommandCheck is a custom command that must exit 0 (and print the same as
// before when Compare is set).
type CommandCheck struct {
	Name    string `json:"name" yaml:"name"`
	Command string `json:"command" yaml:"command"`
	// Compare makes a change of output a blocking finding.
	Compare bool `json:"compare,omitempty" yaml:"compare,omitempty"`
}

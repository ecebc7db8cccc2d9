package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/validate"
)

func init() { commands = append(commands, newValidateCmd) }

type validateFlags struct {
	host        string
	hosts       string
	before      string
	output      string
	http        []string
	command     []string
	database    []string
	dbUser      string
	dbHost      string
	dbPort      int
	dbLogin     string
	sqlUser     string
	sqlPassword string
	budget      time.Duration
	timeout     time.Duration
	checkDB     bool
	tofu        bool
	knownHosts  string
}

func newValidateCmd() *cobra.Command {
	var f validateFlags
	cmd := &cobra.Command{
		Use:   "validate --hosts FILE --host HOST [--before FP.json] [-o FP.json]",
		Short: "Fingerprint a server's workloads and compare them with an earlier fingerprint",
		Long: `Validate takes the fingerprint of one host: over SSH for Linux (hostname, boot
time, clock, free space, active systemd units, listening ports, fstab mounts,
filesystem UUIDs, PostgreSQL and MySQL/MariaDB row counts and checksums per
table), over WinRM for Windows (SQL Server, SharePoint), plus the HTTP and
command checks named on the command line.

Take one before the cutover with -o, and one of the target after it with
--before: every difference becomes a finding (blocking, warning or info)
naming the object with the expected and actual values. The report goes to
stdout; the exit status is 3 when a finding blocks the cutover.

Table checksums stop at --budget: tables not read in time are marked
"skipped: budget" in the fingerprint and reported, never silently dropped.
Passwords and URL tokens reach the host on the probe's stdin and are never
written to the fingerprint or the report.`,
		Example: `  shift validate --hosts hosts.yaml --host web01 -o web01-before.json \
      --database postgresql --http shop=https://web01/health --command app='systemctl is-active app'
  shift validate --hosts hosts.yaml --host web01 --before web01-before.json -o web01-after.json \
      --database postgresql --http shop=https://web01/health --command app='systemctl is-active app'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.hosts, "hosts", "", "hosts file (YAML) with the host and its credential references (required)")
	fl.StringVar(&f.host, "host", "", "the host to fingerprint, by its name in the hosts file (required)")
	fl.StringVar(&f.before, "before", "", "fingerprint taken earlier (JSON, from -o): compare with it")
	fl.StringVarP(&f.output, "output", "o", "", "write the fingerprint to this file (JSON, mode 0600)")
	fl.StringArrayVar(&f.http, "http", nil, "HTTP check NAME=URL[=STATUS], requested from the host (repeatable)")
	fl.StringArrayVar(&f.command, "command", nil, "command check NAME=CMD run on the host: must exit 0 and print the same as before (repeatable)")
	fl.StringArrayVar(&f.database, "database", nil, "database to checksum on a Linux host: ENGINE[:DB,...] with ENGINE postgresql or mysql (repeatable; default: the local servers found)")
	fl.StringVar(&f.dbUser, "db-os-user", "", "local user that runs psql or mysql on the host (default postgres / root)")
	fl.StringVar(&f.dbHost, "db-host", "", "address of the --database servers, or their Unix socket (PostgreSQL: its directory; MySQL: the socket file) (default: the local socket)")
	fl.IntVar(&f.dbPort, "db-port", 0, "port of the --database servers (default: the engine's)")
	fl.StringVar(&f.dbLogin, "db-login", "", "database role or account for --database (default: the local user's)")
	fl.StringVar(&f.sqlUser, "sql-user", "", "SQL login for SQL Server checks (default: Windows authentication as the WinRM user)")
	fl.StringVar(&f.sqlPassword, "sql-password", "", "password reference for --sql-user and --db-login: env:NAME or file:PATH")
	fl.DurationVar(&f.budget, "budget", validate.DefaultBudget, "time allowed for table checksums on one host")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "time limit for the whole probe")
	fl.BoolVar(&f.checkDB, "checkdb", false, "run DBCC CHECKDB (PHYSICAL_ONLY) on every SQL Server database")
	fl.BoolVar(&f.tofu, "trust-on-first-use", false, "record an unknown SSH host key in known_hosts instead of failing")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file (default: the hosts file's, else ~/.ssh/known_hosts)")
	return cmd
}

func runValidate(cmd *cobra.Command, f validateFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	switch {
	case f.hosts == "":
		return usageError(errors.New("validate needs --hosts FILE"), "write a hosts file (see 'shift discover --help'), or run 'shift lab --write-hosts lab.yaml'")
	case f.host == "":
		return usageError(errors.New("validate needs --host HOST, the host to fingerprint"), "add --host and a name from the hosts file")
	case f.budget <= 0 || f.timeout <= 0:
		return usageError(errors.New("--budget and --timeout must be positive"), "")
	}
	opts, err := validateOptions(f)
	if err != nil {
		return usageError(err, "")
	}
	var before *validate.Fingerprint
	if f.before != "" {
		if before, err = readFingerprint(f.before); err != nil {
			return usageError(err, "give the file that 'shift validate -o' wrote")
		}
	}
	if f.output != "" {
		if err := checkWritable(f.output); err != nil {
			return usageError(err, "choose another -o path")
		}
	}
	hf, err := remote.LoadHosts(f.hosts)
	if err != nil {
		return usageError(err, "fix the hosts file; 'shift discover --help' shows the format")
	}
	if hf.Entry(f.host) == nil {
		return usageError(fmt.Errorf("host %s is not in %s", f.host, f.hosts), "hosts in the file: "+strings.Join(hf.Names(), ", "))
	}
	t, err := hf.Resolve(f.host, remote.Overrides{TrustOnFirstUse: f.tofu, KnownHosts: f.knownHosts})
	if err != nil {
		return usageError(err, "")
	}
	if before != nil && before.Host != f.host {
		fmt.Fprintf(stderr, "note: comparing host %s with a fingerprint of %s\n", f.host, before.Host)
	}

	ctx := cmd.Context()
	fmt.Fprintf(stderr, "fingerprinting %s over %s…\n", f.host, t.Transport)
	fp, err := probe(cmd, t, opts, f.timeout)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return hinted(err)
	}
	if f.output != "" {
		if err := writeFingerprint(fp, f.output); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "fingerprint written to %s\n", f.output)
	}
	findings := validate.Compare(before, fp)
	if err := validate.WriteReport(stdout, before, fp, findings); err != nil {
		return err
	}
	if validate.Blocks(findings) {
		return &exitError{code: exitPartial, silent: true}
	}
	return nil
}

// probe fingerprints t over its transport within timeout.
func probe(cmd *cobra.Command, t remote.Target, opts validate.Options, timeout time.Duration) (*validate.Fingerprint, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	if t.WinRM != nil {
		c, err := remote.DialWinRM(ctx, *t.WinRM)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return validate.ProbeWinRM(ctx, c, t.Name, opts)
	}
	c, err := remote.DialSSH(ctx, *t.SSH)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return validate.ProbeSSH(ctx, c, t.Name, opts)
}

// validateOptions turns the check flags into probe options.
func validateOptions(f validateFlags) (validate.Options, error) {
	opts := validate.Options{Budget: f.budget, CheckDB: f.checkDB}
	var pw remote.Secret
	if f.sqlPassword != "" {
		s, err := remote.SecretRef(f.sqlPassword).Resolve(".")
		if err != nil {
			return opts, fmt.Errorf("--sql-password: %w", err)
		}
		pw = s
	}
	if f.sqlUser != "" {
		opts.SQL = validate.SQLCredentials{User: f.sqlUser, Password: pw}
	}
	for _, h := range f.http {
		c, err := parseHTTPFlag(h)
		if err != nil {
			return opts, err
		}
		opts.HTTP = append(opts.HTTP, c)
	}
	for _, c := range f.command {
		name, command, ok := strings.Cut(c, "=")
		if !ok || name == "" || strings.TrimSpace(command) == "" {
			return opts, fmt.Errorf("--command %q: want NAME=COMMAND", c)
		}
		opts.Commands = append(opts.Commands, validate.CommandCheck{Name: name, Command: command, Compare: true})
	}
	if (f.dbHost != "" || f.dbPort != 0) && len(f.database) == 0 {
		return opts, errors.New("--db-host and --db-port need --database: name the engine (and databases) they point at")
	}
	if f.dbPort < 0 || f.dbPort > 65535 {
		return opts, fmt.Errorf("--db-port %d: want a TCP port, 1 to 65535", f.dbPort)
	}
	for _, d := range f.database {
		engine, dbs, _ := strings.Cut(d, ":")
		switch engine {
		case "postgresql", "postgres", "mysql", "mariadb":
		default:
			return opts, fmt.Errorf("--database %q: engine %q is not postgresql or mysql", d, engine)
		}
		c := validate.DatabaseCheck{Engine: engine, User: f.dbUser, Host: f.dbHost, Port: f.dbPort, Login: f.dbLogin}
		if f.dbLogin != "" {
			c.Password = pw
		}
		if dbs != "" {
			c.Databases = strings.Split(dbs, ",")
		}
		opts.Databases = append(opts.Databases, c)
	}
	return opts, nil
}

// parseHTTPFlag reads NAME=URL[=STATUS]. A URL may hold '=' (in its query):
// a trailing =NNN is the status only when it is a 3-digit number.
func parseHTTPFlag(s string) (validate.HTTPCheck, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return validate.HTTPCheck{}, fmt.Errorf("--http %s: want NAME=URL[=STATUS]", validate.RedactURL(s))
	}
	c := validate.HTTPCheck{Name: name, URL: rest}
	if i := strings.LastIndexByte(rest, '='); i >= 0 {
		if n, err := strconv.Atoi(rest[i+1:]); err == nil && len(rest[i+1:]) == 3 && n >= 100 {
			c.URL, c.Status = rest[:i], n
		}
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return c, fmt.Errorf("--http %s: the URL must start with http:// or https://", name)
	}
	return c, nil
}

// readFingerprint reads a fingerprint written by -o.
func readFingerprint(path string) (*validate.Fingerprint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--before: %w", err)
	}
	var fp validate.Fingerprint
	if err := json.Unmarshal(b, &fp); err != nil {
		return nil, fmt.Errorf("--before %s: not a fingerprint: %w", path, err)
	}
	switch {
	case fp.Version == 0 || fp.Host == "":
		return nil, fmt.Errorf("--before %s: not a fingerprint (no version or host)", path)
	case fp.Version > validate.FormatVersion:
		return nil, fmt.Errorf("--before %s: fingerprint format %d is newer than this shift reads (%d)", path, fp.Version, validate.FormatVersion)
	}
	return &fp, nil
}

// writeFingerprint writes atomically with mode 0600: a half-written
// fingerprint never replaces a good one.
func writeFingerprint(fp *validate.Fingerprint, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fingerprint-*.json")
	if err != nil {
		return fmt.Errorf("write fingerprint: %w", err)
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	enc.SetIndent("", "  ")
	err = enc.Encode(fp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write fingerprint %s: %w", path, err)
	}
	return nil
}

package validate

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/psjson"
)

//go:embed scripts/*.ps1
var scriptFiles embed.FS

// The Windows probes, in the order probeWindows runs them. Each is the
// script scripts/<name>.ps1 whose header names "validate-<name>".
const (
	probeWindowsGeneric = "windows"
	probeSQLServer      = "sqlserver"
	probeSharePoint     = "sharepoint"
)

var winrmProbes = []string{probeWindowsGeneric, probeSQLServer, probeSharePoint}

// WinRMScript is one Windows probe script as it is sent to a host.
type WinRMScript struct {
	// Name is the probe name of the script's "# shift-probe:" header.
	Name string
	// Text is the whole script.
	Text string
}

// WinRMScripts returns the Windows probe scripts built with the default
// Options, in the order ProbeWinRM runs them. Simulated hosts use them to
// recognise the probes.
func WinRMScripts() []WinRMScript {
	var out []WinRMScript
	for _, name := range winrmProbes {
		text := buildWinScript(name, Options{})
		out = append(out, WinRMScript{Name: winProbeName(text), Text: text})
	}
	return out
}

// winScriptBody returns the fixed code of scripts/<name>.ps1: what follows its
// parameter block, and the probe name of its header.
func winScriptBody(name string) (probe, body string) {
	b, err := scriptFiles.ReadFile("scripts/" + name + ".ps1")
	if err != nil {
		panic("validate: embedded probe script missing: " + name) // the embed pattern guarantees it
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	_, body, ok := strings.Cut(text, "\n"+remote.ParamsEnd+"\n")
	if !ok {
		panic("validate: probe script " + name + " has no " + remote.ParamsEnd + " line")
	}
	return winProbeName(text), body
}

func winProbeName(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, "# shift-probe:"))
}

// buildWinScript builds the script of a probe with the parameters opts gives.
func buildWinScript(name string, opts Options) string {
	probe, body := winScriptBody(name)
	return remote.ParamScript(probe, winScriptParams(name, opts), body)
}

// winHTTPTimeout bounds one HTTP check on a Windows host.
const winHTTPTimeout = 30 * time.Second

// winScriptParams are the parameter lines of a probe's script. The SQL password
// travels only here, inside the script on the WinRM shell's stdin.
func winScriptParams(name string, opts Options) []remote.ScriptParam {
	switch name {
	case probeWindowsGeneric:
		type check struct {
			Name     string `json:"Name"`
			URL      string `json:"Url"`
			Contains string `json:"Contains,omitempty"`
		}
		checks := make([]check, 0, len(opts.HTTP))
		for _, c := range opts.HTTP {
			checks = append(checks, check{c.Name, c.URL, c.Contains})
		}
		js, _ := json.Marshal(checks)
		return []remote.ScriptParam{remote.P("HttpChecks", string(js)), remote.P("HttpTimeoutSeconds", int(winHTTPTimeout/time.Second))}
	case probeSQLServer:
		checkDB := 0
		if opts.CheckDB {
			checkDB = 1
		}
		return []remote.ScriptParam{
			remote.P("BudgetSeconds", sqlBudgetSeconds(opts.Budget)),
			remote.P("SampleAboveBytes", int64(DefaultSampleAbove)),
			remote.P("CheckDB", checkDB),
			remote.P("SqlUser", opts.SQL.User),
			remote.P("SqlPassword", opts.SQL.Password.Reveal()),
		}
	case probeSharePoint:
		return []remote.ScriptParam{remote.P("HttpTimeoutSeconds", 60)}
	}
	return nil
}

func sqlBudgetSeconds(d time.Duration) int {
	if d <= 0 {
		d = DefaultBudget
	}
	return int(math.Ceil(d.Seconds()))
}

// winRunner runs one PowerShell script on a host; *remote.WinRMClient is one.
type winRunner interface {
	RunPowerShell(ctx context.Context, script string) (*remote.Result, error)
}

var _ winRunner = (*remote.WinRMClient)(nil)

// probeWindows runs the Windows probes through r.
func probeWindows(ctx context.Context, r winRunner, host string, opts Options) (*Fingerprint, error) {
	if opts.SQL.User == "" && !opts.SQL.Password.IsZero() {
		return nil, fmt.Errorf("host %s: validate: a SQL password without a SQL user: give both for SQL authentication, or neither for Windows authentication", host)
	}
	fp := &Fingerprint{Version: FormatVersion, Host: host, Taken: time.Now().UTC()}
	fp.Generic.Transport = "winrm"
	for _, name := range winrmProbes {
		start := time.Now()
		res, err := r.RunPowerShell(ctx, buildWinScript(name, opts))
		end := time.Now()
		if err != nil {
			if winStopsProbe(err) {
				return nil, fmt.Errorf("host %s: validate: probe %s: %w", host, name, err)
			}
			fp.Errors = append(fp.Errors, ProbeError{Section: name, Message: fmt.Sprintf("host %s: probe %s: %v", host, name, err)})
			continue
		}
		fp.Generic.Reachable = true
		if perr := readWinProbe(fp, name, res, start, end, opts); perr != nil {
			perr.Message = fmt.Sprintf("host %s: probe %s: %s", host, name, perr.Message)
			fp.Errors = append(fp.Errors, *perr)
		}
	}
	return fp, nil
}

// winStopsProbe reports whether err means no further script can run either.
func winStopsProbe(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch remote.KindOf(err) {
	case inventory.ErrAuth, inventory.ErrUnreachable, inventory.ErrTLS, inventory.ErrTimeout,
		inventory.ErrCanceled, inventory.ErrConfig:
		return true
	}
	return false
}

// readWinProbe reads one script's result into fp; a failure comes back as the
// ProbeError to record.
func readWinProbe(fp *Fingerprint, name string, res *remote.Result, start, end time.Time, opts Options) *ProbeError {
	if res.ExitCode != 0 {
		msg := remote.PSErrorText(res.Stderr)
		return &ProbeError{Section: name, Message: fmt.Sprintf("failed (exit status %d): %s", res.ExitCode, msg), Hint: winProbeHint(name, msg)}
	}
	var err error
	switch name {
	case probeWindowsGeneric:
		err = readWinGeneric(fp, res.Stdout, start, end, opts.HTTP)
	case probeSQLServer:
		var absent string
		if fp.SQLServer, absent, err = readSQLServer(res.Stdout); absent != "" {
			fp.addAbsent(WorkloadSQLServer, absent)
		}
	case probeSharePoint:
		var absent string
		if fp.SharePoint, absent, err = readSharePoint(res.Stdout); absent != "" {
			fp.addAbsent(WorkloadSharePoint, absent)
		}
	}
	if err != nil {
		return &ProbeError{Section: name, Message: "reading its output: " + err.Error(),
			Hint: "the host printed JSON this version of shift does not understand; report it with the host's $PSVersionTable"}
	}
	return nil
}

// winProbeHint says what to do about an error a probe script ended with.
func winProbeHint(name, msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "cannot access the local farm"):
		return "make the WinRM account a SharePoint shell administrator (Add-SPShellAdmin) with access to the configuration database"
	case strings.Contains(m, "login failed"):
		return "give the account a SQL Server login with VIEW SERVER STATE and VIEW ANY DEFINITION, or pass SQL credentials"
	case strings.Contains(m, "access is denied"), strings.Contains(m, "access denied"):
		return "run validate with an account in the host's local Administrators group"
	case strings.Contains(m, "is not recognized as the name of a cmdlet"):
		return "the host lacks a PowerShell module the " + name + " probe needs; shift expects Windows PowerShell 5.1"
	}
	return "run the probe script by hand in Windows PowerShell 5.1 on the host to see the whole error"
}

// winGenericOutput is what scripts/windows.ps1 prints.
type winGenericOutput struct {
	Hostname       psjson.String
	DNSHostName    psjson.String
	Domain         psjson.String
	LastBootUpTime psjson.Time
	UtcNow         psjson.Time
	Volumes        psjson.List[struct {
		DeviceID  psjson.String
		Size      psjson.Int
		FreeSpace psjson.Int
	}]
	Http psjson.List[struct {
		Name     psjson.String
		Status   psjson.Int
		Contains psjson.Bool
		Error    psjson.String
	}]
}

// readWinGeneric fills fp's generic section and the results of checks, the
// HTTP checks the script was given, in order. The clock skew is the host's
// clock minus the midpoint of the run as the appliance saw it.
func readWinGeneric(fp *Fingerprint, stdout []byte, start, end time.Time, checks []HTTPCheck) error {
	var out winGenericOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return err
	}
	g := &fp.Generic
	g.Hostname = string(out.Hostname)
	g.BootTime = out.LastBootUpTime.Time
	if !out.UtcNow.IsZero() {
		mid := start.Add(end.Sub(start) / 2)
		g.ClockSkew = out.UtcNow.Sub(mid).Round(time.Millisecond)
	}
	for _, v := range out.Volumes {
		g.Volumes = append(g.Volumes, VolumeSpace{Mount: string(v.DeviceID), SizeBytes: uint64(max(v.Size.Value, 0)), FreeBytes: uint64(max(v.FreeSpace.Value, 0))})
	}
	for i, c := range checks {
		r := HTTPResult{Name: c.Name, URL: RedactURL(c.URL), Expected: c.Status}
		if i >= len(out.Http) {
			r.Error = "not requested: the probe printed fewer answers than it was given checks"
		} else {
			h := out.Http[i]
			r.Status, r.Error = int(h.Status.Value), scrub(string(h.Error), c.URL)
			if h.Contains.Valid {
				v := h.Contains.Value
				r.Contains = &v
			}
		}
		fp.HTTP = append(fp.HTTP, r)
	}
	return nil
}

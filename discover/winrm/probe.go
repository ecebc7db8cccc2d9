package winrm

import (
	"context"
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/psjson"
)

// Runner runs one PowerShell script on a host and returns what it printed.
// *remote.WinRMClient satisfies it. A script that ran and exited non-zero is
// a Result, not an error; an error (a *remote.Error when it can be
// classified) means the script could not be run at all.
type Runner interface {
	RunPowerShell(ctx context.Context, script string) (*remote.Result, error)
}

var _ Runner = (*remote.WinRMClient)(nil)

// parsers maps each probe to the function that reads its output into a host.
var parsers = map[string]func(h *inventory.Host, stdout []byte) ([]problem, error){
	"system":     parseSystem,
	"storage":    parseStorage,
	"network":    parseNetwork,
	"software":   parseSoftware,
	"sqlserver":  parseSQLServer,
	"sharepoint": parseSharePoint,
}

// problem is a failure a script caught and reported in its JSON ("Problems").
type problem struct {
	Step    psjson.String `json:"Step"`
	Message psjson.String `json:"Message"`
}

// Probe runs every probe script on the host through r and fills h. It never
// stops at a failed probe: each failure becomes an inventory.Error whose Step
// is the probe name. A failure to reach or log in to the host (a transport
// error of kind auth, unreachable, TLS, timeout or canceled) is recorded once
// and ends the probe, because every further script would fail the same way.
func Probe(ctx context.Context, r Runner, h *inventory.Host) {
	h.OS.Family = "windows"
	h.OS.ID = "windows"
	for _, s := range Scripts() {
		if err := ctx.Err(); err != nil {
			h.AddError(remote.AsInventoryError(s.Name, err))
			return
		}
		res, err := r.RunPowerShell(ctx, s.Text)
		if err != nil {
			ie := remote.AsInventoryError(s.Name, err)
			if ie.Hint == "" {
				ie.Hint = transportHint(ie.Kind)
			}
			h.AddError(ie)
			if stops(ie.Kind) {
				return
			}
			continue
		}
		runProbe(s.Name, res, h)
	}
}

// runProbe reads one script's result into h.
func runProbe(name string, res *remote.Result, h *inventory.Host) {
	stderr := psjson.DecodeStderr(res.Stderr)
	if res.ExitCode != 0 {
		h.AddError(scriptFailure(name, res.ExitCode, stderr))
		return
	}
	problems, err := parsers[name](h, res.Stdout)
	if err != nil {
		h.AddError(inventory.Error{
			Step:    name,
			Kind:    inventory.ErrParse,
			Message: fmt.Sprintf("probe %s: reading its output: %v", name, err),
			Hint:    "the host printed JSON this version of shift does not understand; report it with the host's PowerShell version ($PSVersionTable)",
		})
	}
	if stderr.Errors != "" {
		h.AddError(inventory.Error{
			Step:    name,
			Kind:    classifyMessage(stderr.Errors),
			Message: fmt.Sprintf("probe %s wrote errors: %s", name, psjson.FirstLine(stderr.Errors, 300)),
			Hint:    messageHint(stderr.Errors),
		})
	}
	for _, p := range problems {
		step := name
		if p.Step != "" {
			step = name + "/" + string(p.Step)
		}
		h.AddError(inventory.Error{
			Step:    step,
			Kind:    classifyMessage(string(p.Message)),
			Message: psjson.FirstLine(string(p.Message), 300),
			Hint:    messageHint(string(p.Message)),
		})
	}
}

// scriptFailure describes a script that exited non-zero.
func scriptFailure(name string, code int, stderr psjson.Stderr) inventory.Error {
	msg := psjson.FirstLine(stderr.Errors, 300)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d and no error text", code)
	}
	hint := messageHint(stderr.Errors)
	if hint == "" {
		hint = "run the probe script by hand on the host in Windows PowerShell 5.1 to see the full error"
	}
	return inventory.Error{
		Step:    name,
		Kind:    classifyMessage(stderr.Errors),
		Message: fmt.Sprintf("probe %s failed (exit status %d): %s", name, code, msg),
		Hint:    hint,
	}
}

// stops reports whether an error of this kind makes every further script
// fail too.
func stops(kind string) bool {
	switch kind {
	case inventory.ErrAuth, inventory.ErrUnreachable, inventory.ErrTLS, inventory.ErrTimeout,
		inventory.ErrCanceled, inventory.ErrConfig, inventory.ErrHostKey:
		return true
	}
	return false
}

func transportHint(kind string) string {
	switch kind {
	case inventory.ErrAuth:
		return "check the user and password; for a domain account use DOMAIN\\user, and NTLM unless the host allows Basic"
	case inventory.ErrUnreachable:
		return "check that WinRM listens (winrm quickconfig; port 5985 HTTP or 5986 HTTPS) and that no firewall blocks shift"
	case inventory.ErrTLS:
		return "give the CA that signed the host's WinRM certificate, or set insecure explicitly for a lab"
	case inventory.ErrTimeout:
		return "the host did not answer in time: raise the per-host timeout or check the network path"
	}
	return ""
}

// classifyMessage picks an error kind from what Windows said.
func classifyMessage(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "access is denied"), strings.Contains(m, "access was denied"),
		strings.Contains(m, "access denied"), strings.Contains(m, "unauthorizedaccess"),
		strings.Contains(m, "login failed"), strings.Contains(m, "requires elevation"),
		strings.Contains(m, "permission was denied"):
		return inventory.ErrPermission
	case strings.Contains(m, "is not recognized as the name of a cmdlet"),
		strings.Contains(m, "not supported on this platform"):
		return inventory.ErrUnsupported
	}
	return inventory.ErrProbe
}

// messageHint suggests what to do about what Windows said.
func messageHint(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "login failed"):
		return "give the discovery account a SQL Server login (VIEW SERVER STATE and VIEW ANY DEFINITION, or sysadmin) on this instance"
	case classifyMessage(msg) == inventory.ErrPermission:
		return "run discovery with an account in the host's local Administrators group (UAC remote restrictions apply to local accounts)"
	case strings.Contains(m, "is not recognized as the name of a cmdlet"):
		return "the host lacks a PowerShell module the probe needs; shift expects Windows PowerShell 5.1 on Windows Server 2012 R2 or later"
	}
	return ""
}

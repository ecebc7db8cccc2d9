package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/remote"
)

// VSSScriptBody is the fixed code of the VSS script. $Op create makes a
// shadow copy of drive $Volume (a letter) through WMI Win32_ShadowCopy.Create
// and prints its ID, device object and the partition's disk number, offset
// and size; $Op delete removes the shadow copy $Id.
const VSSScriptBody = `switch ($Op) {
  'create' {
    $part = Get-Partition -DriveLetter $Volume
    $r = ([WMIClass]'root\cimv2:Win32_ShadowCopy').Create("${Volume}:\", 'ClientAccessible')
    if ($r.ReturnValue -ne 0) { throw "VSS: Win32_ShadowCopy.Create for ${Volume}: returned $($r.ReturnValue)" }
    $s = Get-CimInstance Win32_ShadowCopy -Filter "ID='$($r.ShadowID)'"
    [pscustomobject]@{ Id = $r.ShadowID; DeviceObject = $s.DeviceObject; DiskNumber = $part.DiskNumber; Offset = $part.Offset; Size = $part.Size } | ConvertTo-Json -Compress
  }
  'delete' {
    $s = Get-CimInstance Win32_ShadowCopy -Filter "ID='$Id'"
    if ($s) { Remove-CimInstance -InputObject $s }
  }
  default { throw "vss: unknown operation $Op" }
}
`

// AgentScriptBody is the fixed code of the agent script. $Op start runs
// "$Exe agent --connect $Address --pin $Pin --disk $Disk [--snapshot
// $Snapshot]" as a detached process with the one-time token in its
// environment (SHIFT_AGENT_TOKEN, never on its command line) and its error
// output in $Log, and prints its process ID; $Op stop ends process
// $ProcessId, prints the log and removes the agent's directory.
const AgentScriptBody = `switch ($Op) {
  'start' {
    $env:SHIFT_AGENT_TOKEN = $Token
    $a = @('agent', '--connect', $Address, '--pin', $Pin, '--disk', ('"' + $Disk + '"'))
    if ($Snapshot) { $a += @('--snapshot', ('"' + $Snapshot + '"')) }
    $p = Start-Process -FilePath $Exe -ArgumentList $a -WindowStyle Hidden -PassThru -RedirectStandardError $Log
    Remove-Item Env:\SHIFT_AGENT_TOKEN
    [pscustomobject]@{ Id = $p.Id } | ConvertTo-Json -Compress
  }
  'stop' {
    if ($ProcessId -gt 0) {
      Stop-Process -Id $ProcessId -Force -ErrorAction SilentlyContinue
      Wait-Process -Id $ProcessId -Timeout 30 -ErrorAction SilentlyContinue
    }
    $log = ''
    if (Test-Path -LiteralPath $Log) { $log = [IO.File]::ReadAllText($Log) }
    Remove-Item -LiteralPath (Split-Path -Parent $Exe) -Recurse -Force -ErrorAction SilentlyContinue
    [pscustomobject]@{ Log = $log } | ConvertTo-Json -Compress
  }
  default { throw "agent: unknown operation $Op" }
}
`

// VSSScript returns the VSS script for one operation (see VSSScriptBody).
func VSSScript(op, volume, id string) string {
	return remote.ParamScript("vss", []remote.ScriptParam{remote.P("Op", op), remote.P("Volume", volume), remote.P("Id", id)}, VSSScriptBody)
}

// AgentStart says how the agent script starts an agent.
type AgentStart struct {
	Exe, Log, Address, Pin, Token, Disk, Snapshot string
}

// AgentScript returns the agent script for one operation (see
// AgentScriptBody); pid is the process a stop ends.
func AgentScript(op string, a AgentStart, pid int) string {
	return remote.ParamScript("agent", []remote.ScriptParam{
		remote.P("Op", op), remote.P("Exe", a.Exe), remote.P("Log", a.Log), remote.P("Address", a.Address), remote.P("Pin", a.Pin),
		remote.P("Token", a.Token), remote.P("Disk", a.Disk), remote.P("Snapshot", a.Snapshot), remote.P("ProcessId", pid),
	}, AgentScriptBody)
}

// WinRMDeployOptions say which agent to run on a Windows source, and how.
type WinRMDeployOptions struct {
	// Binary opens the windows/amd64 shift binary. It is required.
	Binary func() (io.ReadCloser, error)
	// Dir is the directory on the host for the binary and its log, removed
	// afterwards; "" means C:\Windows\Temp\shift-agent.
	Dir string
	// Volume is the drive letter whose partition is read from a VSS shadow
	// copy; "" means C. NoSnapshot reads the live disk instead.
	Volume     string
	NoSnapshot bool
	// Disk is the disk the agent reads; "" means the one holding Volume
	// (\\.\PHYSICALDRIVE<n>). Required with NoSnapshot.
	Disk string
	// Listen is the appliance's address the agent dials back to, host or
	// host:port; "" means the local address of the route to the host, on a
	// free port.
	Listen string
	// TokenTTL bounds how long the agent has to connect back; 0 means 2
	// minutes.
	TokenTTL time.Duration
}

// WinRMAgent is a shift agent running on a Windows source, connected back
// to the appliance over TLS, with the session to it.
type WinRMAgent struct {
	*Session
	// Snapshot is the shadow copy read ("" without one).
	Snapshot string

	c       *remote.WinRMClient
	start   AgentStart
	pid     int
	vssID   string
	cleaned bool
}

// DeployWinRMAgent runs the Windows agent path: it pushes the binary
// (remote.WinRMClient.Push, resumable), creates a VSS shadow copy of the
// volume, listens for the connect-back (fresh certificate, one-time token),
// starts the agent through WinRM, waits for it to dial back, and reads its
// hello. Close ends the session and, on its own time limit, stops the agent,
// deletes the shadow copy and removes the binary; a failed deploy does the
// same.
func DeployWinRMAgent(ctx context.Context, c *remote.WinRMClient, opts WinRMDeployOptions) (_ *WinRMAgent, err error) {
	if opts.Binary == nil {
		return nil, errors.New("deploy agent: WinRMDeployOptions.Binary is required")
	}
	dir := opts.Dir
	if dir == "" {
		dir = `C:\Windows\Temp\shift-agent`
	}
	vol := strings.TrimSuffix(strings.TrimSuffix(opts.Volume, `\`), ":")
	if vol == "" {
		vol = "C"
	}
	if len(vol) != 1 {
		return nil, fmt.Errorf("deploy agent: volume %q: want a drive letter such as C", opts.Volume)
	}
	if opts.NoSnapshot && opts.Disk == "" {
		return nil, errors.New(`deploy agent: without a snapshot, name the disk (\\.\PHYSICALDRIVE0)`)
	}
	a := &WinRMAgent{c: c, start: AgentStart{Exe: dir + `\shift.exe`, Log: dir + `\agent.log`, Disk: opts.Disk}}
	defer func() {
		if err != nil {
			if log := a.cleanup(ctx); log != "" {
				err = fmt.Errorf("%w (agent log: %s)", err, log)
			}
		}
	}()

	bin, err := opts.Binary()
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	err = c.Push(ctx, bin, a.start.Exe)
	bin.Close()
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}

	if !opts.NoSnapshot {
		var snap struct {
			Id, DeviceObject string
			DiskNumber       int
			Offset, Size     int64
		}
		if err := runJSON(ctx, c, VSSScript("create", vol, ""), "create VSS snapshot of "+vol+":", &snap); err != nil {
			return nil, fmt.Errorf("deploy agent: %w", err)
		}
		a.vssID = snap.Id
		if snap.DeviceObject == "" || snap.Size <= 0 {
			return nil, fmt.Errorf("deploy agent: the VSS snapshot of %s: has no device or size: %+v", vol, snap)
		}
		a.Snapshot = FormatSnapshot(snap.Offset, snap.Size, snap.DeviceObject)
		a.start.Snapshot = a.Snapshot
		if a.start.Disk == "" {
			a.start.Disk = `\\.\PHYSICALDRIVE` + strconv.Itoa(snap.DiskNumber)
		}
	}

	listen, err := listenAddr(c, opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	ttl := opts.TokenTTL
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	l, err := ListenConnectBack(listen, ttl)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	defer l.Close()
	a.start.Address, a.start.Pin, a.start.Token = l.Addr(), l.Pin(), l.Token()
	var started struct{ Id int }
	err = runJSON(ctx, c, AgentScript("start", a.start, 0), "start agent", &started)
	a.start.Token = "" // spent either way; Close's stop script does not carry it
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	a.pid = started.Id
	conn, err := l.Accept(ctx)
	if err != nil {
		return nil, fmt.Errorf("deploy agent: %w", err)
	}
	s, err := OpenConnectBack(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a.Session = s
	return a, nil
}

// listenAddr picks the connect-back address: the one given (a port added
// when missing), else the local address of the route to the host.
func listenAddr(c *remote.WinRMClient, listen string) (string, error) {
	if listen != "" {
		if _, _, err := net.SplitHostPort(listen); err != nil {
			listen = net.JoinHostPort(listen, "0")
		}
		return listen, nil
	}
	// A UDP "dial" sends nothing; it only asks the kernel for the route.
	u, err := net.Dial("udp", net.JoinHostPort(c.Address(), "5985"))
	if err != nil {
		return "", fmt.Errorf("find the local address towards %s: %w (set the listen address)", c.Address(), err)
	}
	defer u.Close()
	host, _, _ := net.SplitHostPort(u.LocalAddr().String())
	return net.JoinHostPort(host, "0"), nil
}

// Close ends the session, stops the agent, deletes the shadow copy and
// removes the binary, with its own time limit also when ctx has ended. It
// returns the agent's log when the agent reported an error.
func (a *WinRMAgent) Close(ctx context.Context) error {
	if a.Session != nil {
		a.Session.Close()
	}
	if log := a.cleanup(ctx); log != "" {
		return fmt.Errorf("agent: %s", log)
	}
	return nil
}

// cleanup undoes the deploy in reverse order and returns the agent's log.
func (a *WinRMAgent) cleanup(ctx context.Context) string {
	if a.cleaned {
		return ""
	}
	a.cleaned = true
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	var notes []string
	var stopped struct{ Log string }
	if err := runJSON(cctx, a.c, AgentScript("stop", a.start, a.pid), "stop agent", &stopped); err != nil {
		notes = append(notes, err.Error())
	}
	if a.vssID != "" {
		if res, err := a.c.RunPowerShell(cctx, VSSScript("delete", "", a.vssID)); err != nil {
			notes = append(notes, fmt.Sprintf("delete VSS snapshot %s: %v", a.vssID, err))
		} else if res.ExitCode != 0 {
			notes = append(notes, fmt.Sprintf("delete VSS snapshot %s: %s", a.vssID, remote.PSErrorText(res.Stderr)))
		}
	}
	if l := strings.TrimSpace(stopped.Log); l != "" {
		notes = append([]string{l}, notes...)
	}
	return strings.Join(notes, "; ")
}

// runJSON runs a script and decodes its JSON output into v.
func runJSON(ctx context.Context, c *remote.WinRMClient, script, step string, v any) error {
	res, err := c.RunPowerShell(ctx, script)
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s: exit status %d: %s", step, res.ExitCode, remote.PSErrorText(res.Stderr))
	}
	out := strings.TrimPrefix(strings.TrimSpace(string(res.Stdout)), "\ufeff")
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("%s: unexpected output %q: %w", step, out, err)
	}
	return nil
}

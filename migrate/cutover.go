package migrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/validate"
)

// The steps of a cutover, in order. Each is recorded in the ledger when
// done, so that a run killed in the middle of a cutover continues after the
// last finished step; a rollback undoes them in reverse.
const (
	stepStopServices = "stop-services"
	stepFinalPass    = "final-pass"
	stepBoot         = "boot"
)

// Undo actions recorded with the steps.
const (
	undoStartServices = "start-services"
	undoStopVM        = "stop-vm"
)

// cutover stops the source's services, runs the final pass, boots the
// target and validates it against the source's fingerprint. A blocking
// finding rolls the cutover back: the target stops, the source's services
// start again.
func (sr *serverRun) cutover(ctx context.Context) (face.Phase, string, error) {
	const ph = face.CuttingOver
	done, err := sr.doneSteps(ctx)
	if err != nil {
		return "", "", err
	}
	t, err := sr.target()
	if err != nil {
		return "", "", err
	}
	opts := sr.checks()

	// The fingerprint before is taken once, while the source still serves.
	var before validate.Fingerprint
	if ok, err := sr.getJSON(ctx, keyBefore, &before); err != nil {
		return "", "", err
	} else if !ok {
		fp, err := sr.probe(ctx, t, opts)
		if err != nil {
			return "", "", sr.stepErr(ph, "fingerprint the source", err, "")
		}
		if fs := validate.Compare(nil, fp); validate.Blocks(fs) {
			sr.findings(fs)
			return "", "", sr.stepErr(ph, "fingerprint the source", errors.New("the source itself fails validation: "+summary(fs)),
				"fix the source (or the plan's checks) first: a cutover would carry the problem over")
		}
		if err := sr.putJSON(ctx, keyBefore, fp); err != nil {
			return "", "", err
		}
		before = *fp
		sr.stepDone(ph, "fingerprint source", fingerprintSummary(fp))
	}

	if !done[stepStopServices] {
		if len(sr.s.StopServices) > 0 {
			if err := sr.services(ctx, t, "stop"); err != nil {
				return "", "", sr.stepErr(ph, "stop services", err, "the source keeps serving; fix the error and run again")
			}
		}
		if err := sr.Ledger.StepDone(ctx, sr.s.Name, stepStopServices, undoStartServices); err != nil {
			return "", "", err
		}
		sr.stepDone(ph, "stop services", orNone(sr.s.StopServices))
	}

	if !done[stepFinalPass] {
		disks, err := sr.disks(ctx)
		if err != nil {
			return "", "", err
		}
		if err := sr.flush(ctx, t); err != nil {
			return "", "", sr.rollback(ctx, sr.stepErr(ph, "flush the source", err, ""))
		}
		for _, d := range disks {
			if _, err := sr.pass(ctx, d, true); err != nil {
				if ctx.Err() != nil {
					return "", "", err
				}
				return "", "", sr.rollback(ctx, sr.stepErr(ph, "final pass of "+d.Source, err, ""))
			}
		}
		if err := sr.Ledger.StepDone(ctx, sr.s.Name, stepFinalPass, ""); err != nil {
			return "", "", err
		}
	}

	vm := vmName(sr.s.Name)
	if !done[stepBoot] {
		spec, err := sr.vmSpec(ctx, vm)
		if err != nil {
			return "", "", sr.rollback(ctx, sr.stepErr(ph, "define the target VM", err, ""))
		}
		if _, err := sr.Target.CreateVM(ctx, spec); err != nil {
			return "", "", sr.rollback(ctx, sr.stepErr(ph, "create VM "+vm, err, ""))
		}
		if err := sr.Ledger.StepDone(ctx, sr.s.Name, stepBoot, undoStopVM); err != nil {
			return "", "", err
		}
		if err := sr.Target.StartVM(ctx, vm); err != nil {
			return "", "", sr.rollback(ctx, sr.stepErr(ph, "start VM "+vm, err, ""))
		}
		sr.stepDone(ph, "boot", fmt.Sprintf("VM %s started on %s", vm, sr.Target.Kind()))
	}

	after, err := sr.probeTarget(ctx, ph, t, vm, opts)
	if err != nil {
		if ctx.Err() != nil {
			return "", "", err
		}
		return "", "", sr.rollback(ctx, sr.stepErr(ph, "validate the target", err, ""))
	}
	if err := sr.putJSON(ctx, keyAfter, after); err != nil {
		return "", "", err
	}
	fs := validate.Compare(&before, after)
	sr.findings(fs)
	if validate.Blocks(fs) {
		return "", "", sr.rollback(ctx, sr.stepErr(ph, "validate the target", errors.New(summary(fs)), ""))
	}
	detail := fmt.Sprintf("VM %s validated: %s", vm, countFindings(fs))
	sr.stepDone(ph, "validate", detail)
	return face.Validated, detail, nil
}

// checks are the validation options of the server: the plan's, plus its
// stopped services, which must run on the target.
func (sr *serverRun) checks() validate.Options {
	o := sr.s.Checks
	o.Units = append(slices.Clone(o.Units), sr.s.StopServices...)
	return o
}

func (sr *serverRun) doneSteps(ctx context.Context) (map[string]bool, error) {
	steps, err := sr.Ledger.Steps(ctx, sr.s.Name)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, s := range steps {
		done[s.Name] = true
	}
	return done, nil
}

// probe fingerprints the source through its transport.
func (sr *serverRun) probe(ctx context.Context, t remote.Target, opts validate.Options) (*validate.Fingerprint, error) {
	switch {
	case t.SSH != nil:
		c, err := remote.DialSSH(ctx, *t.SSH)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return validate.ProbeSSH(ctx, c, sr.s.Name, opts)
	case t.WinRM != nil:
		c, err := remote.DialWinRM(ctx, *t.WinRM)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return validate.ProbeWinRM(ctx, c, sr.s.Name, opts)
	}
	return nil, fmt.Errorf("host %s has no transport", sr.s.Name)
}

// probeTarget waits for the booted target to answer on the source's
// transport, then fingerprints it. Over SSH the target must present the
// source's host key: it is the source's disk.
func (sr *serverRun) probeTarget(ctx context.Context, ph face.Phase, t remote.Target, vm string, opts validate.Options) (*validate.Fingerprint, error) {
	timeout := sr.BootTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		st, err := sr.Target.VMStatus(ctx, vm)
		if err != nil {
			return nil, err
		}
		if st.State != cloud.Running {
			return nil, fmt.Errorf("VM %s is %s, not running", vm, st.State)
		}
		tt, err := targetOf(t, st)
		if err != nil {
			return nil, err
		}
		fp, err := sr.probe(ctx, tt, opts)
		if err == nil && !fp.Booting() {
			return fp, nil
		}
		if err == nil {
			// Up, but still starting its services: a fingerprint now would
			// miss them. The deadline takes the last one as it is.
			last = nil
			select {
			case <-ctx.Done():
				sr.stepDone(ph, "validate", fmt.Sprintf("VM %s was still booting after %s: validating it as it is", vm, timeout))
				return fp, nil
			case <-time.After(5 * time.Second):
			}
			continue
		}
		var re *remote.Error
		if errors.As(err, &re) && re.Kind == inventory.ErrHostKey {
			return nil, fmt.Errorf("VM %s does not present %s's host key: %w", vm, t.Name, err)
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("VM %s did not answer within %s (see its console: shift vm console %s): %w", vm, timeout, vm, last)
		case <-time.After(3 * time.Second):
		}
	}
}

// targetOf is t pointed at the VM: same credentials, the VM's address, and
// for SSH the source's known_hosts entry as the key to expect.
func targetOf(t remote.Target, vm cloud.VM) (remote.Target, error) {
	switch {
	case t.SSH != nil:
		a, ok := vm.Address("ssh")
		if !ok {
			return t, fmt.Errorf("VM %s reports no SSH address", vm.Spec.Name)
		}
		cfg := *t.SSH
		port := cfg.Port
		if port == 0 {
			port = 22
		}
		cfg.HostKeyAlias = net.JoinHostPort(cfg.Address, strconv.Itoa(port))
		cfg.Address, cfg.Port, cfg.TrustOnFirstUse = a.Host, a.Port, false
		cfg.Timeout = 20 * time.Second
		t.SSH = &cfg
	case t.WinRM != nil:
		a, ok := vm.Address("winrm")
		if !ok {
			return t, fmt.Errorf("VM %s reports no WinRM address", vm.Spec.Name)
		}
		cfg := *t.WinRM
		cfg.Address, cfg.Port = a.Host, a.Port
		t.WinRM = &cfg
	}
	return t, nil
}

// services starts or stops the server's StopServices on the source.
func (sr *serverRun) services(ctx context.Context, t remote.Target, verb string) error {
	units := slices.Clone(sr.s.StopServices)
	if verb == "start" {
		slices.Reverse(units)
	}
	switch {
	case t.SSH != nil:
		c, err := remote.DialSSH(ctx, *t.SSH)
		if err != nil {
			return err
		}
		defer c.Close()
		quoted := make([]string, len(units))
		for i, u := range units {
			quoted[i] = remote.ShellQuote(u)
		}
		cmd := "systemctl " + verb + " " + strings.Join(quoted, " ")
		res, err := c.RunPrivileged(ctx, cmd)
		if err != nil {
			return err
		}
		return res.Err(cmd)
	case t.WinRM != nil:
		c, err := remote.DialWinRM(ctx, *t.WinRM)
		if err != nil {
			return err
		}
		defer c.Close()
		cmdlet := map[string]string{"stop": "Stop-Service -Force", "start": "Start-Service"}[verb]
		quoted := make([]string, len(units))
		for i, u := range units {
			quoted[i] = remote.PSQuote(u)
		}
		script := fmt.Sprintf("$ErrorActionPreference = 'Stop'; foreach ($s in @(%s)) { %s -Name $s }", strings.Join(quoted, ", "), cmdlet)
		res, err := c.RunPowerShell(ctx, script)
		if err != nil {
			return err
		}
		return res.Err(verb + " services")
	}
	return fmt.Errorf("host %s has no transport", sr.s.Name)
}

// flush writes the source's dirty pages to its disks before the final pass.
// Linux syncs every filesystem; Windows reads from a fresh VSS snapshot,
// which flushes on its own.
func (sr *serverRun) flush(ctx context.Context, t remote.Target) error {
	if t.SSH == nil {
		return nil
	}
	c, err := remote.DialSSH(ctx, *t.SSH)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.RunPrivileged(ctx, "sync")
	if err != nil {
		return err
	}
	return res.Err("sync")
}

// rollback undoes the finished cutover steps in reverse order, records the
// server as rolled back, and returns cause with what was undone.
func (sr *serverRun) rollback(ctx context.Context, cause error) error {
	ctx = context.WithoutCancel(ctx)
	steps, err := sr.Ledger.Steps(ctx, sr.s.Name)
	if err != nil {
		return errors.Join(cause, err)
	}
	t, err := sr.target()
	if err != nil {
		return errors.Join(cause, err)
	}
	var undone, failed []string
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		var uerr error
		switch st.Undo {
		case undoStopVM:
			grace := sr.StopGrace
			if grace == 0 {
				grace = time.Minute
			}
			uerr = sr.Target.StopVM(ctx, vmName(sr.s.Name), grace)
			if uerr == nil {
				undone = append(undone, "stopped VM "+vmName(sr.s.Name)+" (kept for inspection)")
			}
		case undoStartServices:
			if len(sr.s.StopServices) > 0 {
				uerr = sr.services(ctx, t, "start")
				if uerr == nil {
					undone = append(undone, "started "+strings.Join(sr.s.StopServices, ", ")+" on the source")
				}
			}
		}
		if uerr != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", st.Undo, uerr))
			continue
		}
		if err := sr.Ledger.StepUndone(ctx, sr.s.Name, st.Name); err != nil {
			return errors.Join(cause, err)
		}
	}
	var se *StepError
	if errors.As(cause, &se) {
		switch {
		case len(failed) > 0:
			se.Hint = "ROLLBACK INCOMPLETE: " + strings.Join(failed, "; ") + "; do these by hand so the source serves again"
		default:
			se.Hint = "rolled back: " + orNone(undone) + "; the source serves again. Fix the cause, then run again to copy the changes and cut over anew"
		}
	}
	if len(failed) > 0 {
		// Stay in the cutover: the next run retries the rollback's steps.
		return cause
	}
	if err := sr.move(ctx, face.CuttingOver, face.RolledBack, assess.RedactString(cause.Error())); err != nil {
		return errors.Join(cause, err)
	}
	return &rolledBack{cause}
}

// rolledBack ends a server's run after a rollback.
type rolledBack struct{ error }

func (r *rolledBack) Unwrap() error { return r.error }

// vmSpec shapes the target VM from the plan and the source's inventory.
func (sr *serverRun) vmSpec(ctx context.Context, name string) (cloud.VMSpec, error) {
	disks, err := sr.disks(ctx)
	if err != nil {
		return cloud.VMSpec{}, err
	}
	var h inventory.Host
	if _, err := sr.getJSON(ctx, keyInventory, &h); err != nil {
		return cloud.VMSpec{}, err
	}
	spec := cloud.VMSpec{Name: name, CPUs: sr.s.CPUs, MemoryMiB: sr.s.MemoryMiB, Size: sr.s.Size, OSDisk: disks[0].Target,
		Tags: map[string]string{"shift-host": sr.s.Name}}
	if spec.CPUs == 0 {
		spec.CPUs = max(1, h.CPU.Logical, h.CPU.Cores)
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = max(512, int(h.Memory.TotalBytes>>20))
	}
	if h.Firmware.Type == "uefi" {
		spec.Firmware = cloud.UEFI
	}
	for _, d := range disks[1:] {
		spec.DataDisks = append(spec.DataDisks, d.Target)
	}
	return spec, nil
}

// vmName names the target VM of a host.
func vmName(host string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(host), "-"), "-")
	if len(n) > cloud.MaxNameLen {
		n = n[:cloud.MaxNameLen]
	}
	return n
}

func (sr *serverRun) findings(fs []validate.Finding) {
	for _, f := range fs {
		sr.emit(face.ValidationFinding{ID: sr.ID, Host: sr.s.Name, Severity: string(f.Severity), Check: f.Check, Object: f.Object,
			Expected: f.Expected, Actual: f.Actual, Message: f.Message})
	}
}

// summary names the blocking findings.
func summary(fs []validate.Finding) string {
	var b []string
	for _, f := range fs {
		if f.Severity == validate.Blocking {
			b = append(b, fmt.Sprintf("%s: %s", f.Object, f.Message))
		}
	}
	return fmt.Sprintf("%d blocking finding(s): %s", len(b), strings.Join(b, "; "))
}

func countFindings(fs []validate.Finding) string {
	n := map[validate.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	return fmt.Sprintf("%d blocking, %d warning(s), %d note(s)", n[validate.Blocking], n[validate.Warning], n[validate.Info])
}

func fingerprintSummary(fp *validate.Fingerprint) string {
	var parts []string
	if fp.Linux != nil {
		parts = append(parts, "linux")
	}
	if fp.SQLServer != nil {
		parts = append(parts, "sql server")
	}
	if fp.SharePoint != nil {
		parts = append(parts, "sharepoint")
	}
	if len(fp.HTTP) > 0 {
		parts = append(parts, fmt.Sprintf("%d http check(s)", len(fp.HTTP)))
	}
	if len(fp.Errors) > 0 {
		parts = append(parts, fmt.Sprintf("%d section(s) unreadable", len(fp.Errors)))
	}
	return orNone(parts)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Accel returns the accelerator VMs of this target use, "kvm" or "tcg",
// and why. Without Options.Accel it probes once: /dev/kvm must open and
// answer KVM_GET_API_VERSION, the host's KVM must not be PVM (which runs
// only PVM-enabled guest kernels), and QEMU started with -accel kvm must
// report KVM enabled.
func (t *Target) Accel(ctx context.Context) (accel, reason string) {
	if t.opts.Accel != "" {
		return t.opts.Accel, "chosen in the options"
	}
	t.accelOnce.Do(func() {
		t.accel, t.accelReason = "tcg", ""
		if why := t.kvmUnusable(ctx); why != "" {
			t.accelReason = why
		} else {
			t.accel, t.accelReason = "kvm", "KVM probe passed"
		}
		t.log.Info("accelerator", "accel", t.accel, "reason", t.accelReason)
	})
	return t.accel, t.accelReason
}

// kvmUnusable returns why KVM cannot be used, or "" when it can.
func (t *Target) kvmUnusable(ctx context.Context) string {
	v, err := kvmAPI()
	if err != nil {
		return fmt.Sprintf("/dev/kvm: %v", err)
	}
	if v != kvmAPIVersion {
		return fmt.Sprintf("/dev/kvm: API version %d, want %d", v, kvmAPIVersion)
	}
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		return "the host's KVM is PVM (kvm_pvm), which boots only PVM guest kernels"
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.opts.QEMU, "-accel", "kvm", "-machine", "pc", "-nodefaults",
		"-no-user-config", "-display", "none", "-S", "-qmp", "stdio")
	cmd.Stdin = strings.NewReader(`{"execute":"qmp_capabilities"}` + "\n" + `{"execute":"query-kvm"}` + "\n" + `{"execute":"quit"}` + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("qemu -accel kvm: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	dec := json.NewDecoder(&out)
	for {
		var m struct {
			Return struct {
				Enabled *bool `json:"enabled"`
			} `json:"return"`
		}
		if err := dec.Decode(&m); err != nil {
			return "qemu -accel kvm: no answer to query-kvm"
		}
		if m.Return.Enabled != nil {
			if !*m.Return.Enabled {
				return "qemu -accel kvm: KVM not enabled"
			}
			return ""
		}
	}
}

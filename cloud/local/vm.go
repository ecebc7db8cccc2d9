package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shift-migrate/shift/cloud"
)

// Forwarded services of a VM's first NIC: the guest port of each.
var services = []struct {
	name  string
	guest int
}{
	{"ssh", 22},
	{"winrm", 5985},
	{"winrm-https", 5986},
	{"rdp", 3389},
}

// vmMeta is vms/NAME/vm.json.
type vmMeta struct {
	Spec cloud.VMSpec `json:"spec"`
	// Ports are the loopback ports last forwarded to the services, kept
	// so that a restarted VM keeps its addresses when they are free.
	Ports map[string]int `json:"ports,omitempty"`
}

func (t *Target) vmDir(name string) string { return filepath.Join(t.opts.Dir, "vms", name) }

func (t *Target) vmFile(name, file string) string { return filepath.Join(t.vmDir(name), file) }

func (t *Target) readVM(name string) (vmMeta, error) {
	var m vmMeta
	b, err := os.ReadFile(t.vmFile(name, "vm.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("local: VM %s: %w", name, cloud.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("local: VM %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("local: VM %s: %s: %w (fix or delete the file)", name, t.vmFile(name, "vm.json"), err)
	}
	return m, nil
}

// vmStatus checks the name and context and reads the VM's definition.
func (t *Target) vmStatus(ctx context.Context, op, name string) (vmMeta, error) {
	if err := cloud.CheckName("VM", name); err != nil {
		return vmMeta{}, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, op+" VM "+name); err != nil {
		return vmMeta{}, err
	}
	return t.readVM(name)
}

// pid returns the VM's QEMU process when it runs: the pidfile names a live
// process whose command line carries that pidfile (not a recycled pid).
func (t *Target) pid(name string) (int, bool) {
	pidfile := t.vmFile(name, "qemu.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		return 0, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil && !bytes.Contains(cmdline, []byte(pidfile)) {
		return 0, false
	}
	return pid, true
}

func (t *Target) toVM(m vmMeta) cloud.VM {
	vm := cloud.VM{Spec: m.Spec, State: cloud.Stopped}
	if _, ok := t.pid(m.Spec.Name); ok {
		vm.State = cloud.Running
		for _, s := range services {
			if p := m.Ports[s.name]; p != 0 {
				vm.Addresses = append(vm.Addresses, cloud.Address{Service: s.name, Host: "127.0.0.1", Port: p})
			}
		}
	}
	return vm
}

// CreateVM implements cloud.Target. A UEFI VM gets its own copy of the
// OVMF variable store.
func (t *Target) CreateVM(ctx context.Context, spec cloud.VMSpec) (cloud.VM, error) {
	if err := cloud.CheckVMSpec(spec); err != nil {
		return cloud.VM{}, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "create VM "+spec.Name); err != nil {
		return cloud.VM{}, err
	}
	spec = spec.Normalize()
	unlock, err := t.lock(ctx)
	if err != nil {
		return cloud.VM{}, err
	}
	defer unlock()
	if m, err := t.readVM(spec.Name); err == nil {
		if !m.Spec.Equal(spec) {
			return cloud.VM{}, fmt.Errorf("local: VM %s: exists with another spec (delete it first): %w", spec.Name, cloud.ErrExists)
		}
		return t.toVM(m), nil
	} else if !errors.Is(err, cloud.ErrNotFound) {
		return cloud.VM{}, err
	}
	disks := map[string]diskMeta{}
	for _, d := range spec.Disks() {
		m, err := t.readDisk(d)
		switch {
		case err != nil:
			return cloud.VM{}, fmt.Errorf("local: VM %s: %w", spec.Name, err)
		case !m.Finalized:
			return cloud.VM{}, fmt.Errorf("local: VM %s: disk %s: %w (finish its copy first)", spec.Name, d, cloud.ErrNotFinalized)
		case m.VM != "":
			return cloud.VM{}, fmt.Errorf("local: VM %s: disk %s: used by VM %s: %w", spec.Name, d, m.VM, cloud.ErrInUse)
		}
		disks[d] = m
	}
	dir := t.vmDir(spec.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return cloud.VM{}, fmt.Errorf("local: create VM %s: %w", spec.Name, err)
	}
	fail := func(err error) (cloud.VM, error) {
		os.RemoveAll(dir)
		for d, m := range disks {
			if m.VM == spec.Name {
				m.VM = ""
				t.writeDisk(d, m)
			}
		}
		return cloud.VM{}, err
	}
	if spec.Firmware == cloud.UEFI {
		if err := copyFile(t.opts.OVMFVars, filepath.Join(dir, "OVMF_VARS.fd")); err != nil {
			return fail(fmt.Errorf("local: create VM %s: UEFI variable store: %w (install the ovmf package)", spec.Name, err))
		}
	}
	for d, m := range disks {
		m.VM = spec.Name
		disks[d] = m
		if err := t.writeDisk(d, m); err != nil {
			return fail(err)
		}
	}
	m := vmMeta{Spec: spec}
	// vm.json last: a VM without it does not exist.
	if err := writeJSON(t.vmFile(spec.Name, "vm.json"), m); err != nil {
		return fail(fmt.Errorf("local: create VM %s: %w", spec.Name, err))
	}
	t.log.Info("VM created", "vm", spec.Name, "firmware", spec.Firmware, "disks", spec.Disks())
	return t.toVM(m), nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// VMStatus implements cloud.Target.
func (t *Target) VMStatus(ctx context.Context, name string) (cloud.VM, error) {
	m, err := t.vmStatus(ctx, "status of", name)
	if err != nil {
		return cloud.VM{}, err
	}
	return t.toVM(m), nil
}

// ListVMs implements cloud.Target.
func (t *Target) ListVMs(ctx context.Context) ([]cloud.VM, error) {
	if err := ctxErr(ctx, "list VMs"); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(t.opts.Dir, "vms"))
	if err != nil {
		return nil, fmt.Errorf("local: list VMs: %w", err)
	}
	var vms []cloud.VM
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := t.readVM(e.Name())
		if errors.Is(err, cloud.ErrNotFound) {
			continue // half-deleted or half-created
		}
		if err != nil {
			return nil, err
		}
		vms = append(vms, t.toVM(m))
	}
	slices.SortFunc(vms, func(a, b cloud.VM) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return vms, nil
}

// StartVM implements cloud.Target: QEMU starts daemonized in its own
// session and outlives this process.
func (t *Target) StartVM(ctx context.Context, name string) error {
	pre, err := t.vmStatus(ctx, "start", name)
	if err != nil {
		return err
	}
	accel, _ := t.Accel(ctx)
	// Its disks may be the source of a clone, whose copy QEMU's writes
	// would tear: wait for it.
	unlock, err := t.lockIdle(ctx, pre.Spec.Disks()...)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := t.readVM(name)
	if err != nil {
		return err
	}
	if _, ok := t.pid(name); ok {
		return nil
	}
	for _, d := range m.Spec.Disks() {
		if _, err := t.readDisk(d); err != nil {
			return fmt.Errorf("local: start VM %s: %w", name, err)
		}
	}
	m.Ports = freePorts(m.Ports)
	if err := writeJSON(t.vmFile(name, "vm.json"), m); err != nil {
		return fmt.Errorf("local: start VM %s: %w", name, err)
	}
	for _, f := range []string{"qemu.pid", "qmp.sock"} {
		os.Remove(t.vmFile(name, f))
	}
	args := t.qemuArgs(m, accel)
	logf, err := os.OpenFile(t.vmFile(name, "qemu.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("local: start VM %s: %w", name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "%s shift: %s %s\n", time.Now().UTC().Format(time.RFC3339), t.opts.QEMU, strings.Join(args, " "))
	logStart, _ := logf.Seek(0, io.SeekEnd)
	// Not CommandContext: a canceled start must not kill a VM that came
	// up. -daemonize returns once the VM runs (or failed to).
	cmd := exec.Command(t.opts.QEMU, args...)
	cmd.Dir = t.vmDir(name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = setsid()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("local: start VM %s: qemu: %w: %s (all of it in %s)", name, err, tail(t.vmFile(name, "qemu.log"), logStart), t.vmFile(name, "qemu.log"))
	}
	if _, ok := t.pid(name); !ok {
		return fmt.Errorf("local: start VM %s: qemu exited at once: %s (see %s)", name, tail(t.vmFile(name, "qemu.log"), logStart), t.vmFile(name, "qemu.log"))
	}
	t.log.Info("VM started", "vm", name, "accel", accel, "ssh", m.Ports["ssh"])
	return nil
}

// tail returns what was appended to path after off, at most 2 KiB.
func tail(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	b = b[off:]
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

// freePorts returns a loopback port per service: the previous one when it
// is still free, else a new one from the kernel.
func freePorts(prev map[string]int) map[string]int {
	ports := map[string]int{}
	var hold []net.Listener
	defer func() {
		for _, l := range hold {
			l.Close()
		}
	}()
	for _, s := range services {
		if p := prev[s.name]; p != 0 {
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
				hold = append(hold, l)
				ports[s.name] = p
				continue
			}
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			continue
		}
		hold = append(hold, l)
		ports[s.name] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// qemuArgs is the QEMU command line of a VM; relative paths are inside the
// VM's directory (QEMU opens them before it daemonizes).
func (t *Target) qemuArgs(m vmMeta, accel string) []string {
	s := m.Spec
	esc := func(p string) string { return strings.ReplaceAll(p, ",", ",,") }
	args := []string{
		"-name", "guest=" + esc(s.Name),
		"-no-user-config",
		"-accel", accel,
		"-smp", strconv.Itoa(s.CPUs),
		"-m", strconv.Itoa(s.MemoryMiB),
		"-display", "none",
		"-vga", "std",
		"-monitor", "none",
		"-chardev", "file,id=serial0,path=serial.log,append=on",
		"-serial", "chardev:serial0",
		"-qmp", "unix:qmp.sock,server=on,wait=off",
		"-pidfile", t.vmFile(s.Name, "qemu.pid"),
		"-daemonize",
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	if s.Firmware == cloud.UEFI {
		args = append(args, "-machine", "q35",
			"-drive", "if=pflash,format=raw,readonly=on,file="+esc(t.opts.OVMFCode),
			"-drive", "if=pflash,format=raw,file=OVMF_VARS.fd")
	} else {
		args = append(args, "-machine", "pc")
	}
	for i, d := range s.Disks() {
		id := "disk" + strconv.Itoa(i)
		args = append(args, "-drive", "file="+esc(t.diskPath(d))+",format=raw,if=none,id="+id+",cache=writeback,discard=unmap")
		dev := "virtio-blk-pci,drive=" + id
		if i == 0 {
			dev += ",bootindex=1"
		}
		args = append(args, "-device", dev)
	}
	for i, nic := range s.NICs {
		id := "net" + strconv.Itoa(i)
		netdev := "user,id=" + id
		if nic.Isolated {
			// The guest sends nothing out (no host, no LAN, no DNS);
			// DHCP and the forwards below still work.
			netdev += ",restrict=on"
		}
		if i == 0 {
			for _, sv := range services {
				if p := m.Ports[sv.name]; p != 0 {
					netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", p, sv.guest)
				}
			}
		}
		mac := nic.MAC
		if mac == "" {
			mac = macFor(s.Name, i)
		}
		args = append(args, "-netdev", netdev, "-device", "virtio-net-pci,netdev="+id+",mac="+mac)
	}
	return args
}

// macFor derives a stable locally administered MAC (QEMU's 52:54:00
// prefix) from the VM's name and the NIC's index, so the guest sees the
// same NIC on every boot.
func macFor(vm string, i int) string {
	h := sha256.Sum256([]byte(vm + "/" + strconv.Itoa(i)))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// StopVM implements cloud.Target: the ACPI power button through QMP, then
// QMP quit after grace, then SIGKILL.
func (t *Target) StopVM(ctx context.Context, name string, grace time.Duration) error {
	if _, err := t.vmStatus(ctx, "stop", name); err != nil {
		return err
	}
	if grace == 0 {
		grace = cloud.DefaultStopGrace
	}
	pid, ok := t.pid(name)
	if !ok {
		return nil
	}
	sock := t.vmFile(name, "qmp.sock")
	if grace > 0 {
		q, err := dialQMP(ctx, sock)
		if err == nil {
			_, err = q.exec("system_powerdown")
			q.Close()
		}
		if err != nil {
			t.log.Warn("power button failed, forcing off", "vm", name, "err", err)
		} else if exited, err := waitExit(ctx, pid, grace); err != nil {
			return fmt.Errorf("local: stop VM %s: %w", name, err)
		} else if exited {
			t.log.Info("VM shut down", "vm", name)
			return t.stopped(name)
		}
	}
	// Force off, on a context of its own: a half-stopped VM helps nobody.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if q, err := dialQMP(fctx, sock); err == nil {
		q.exec("quit")
		q.Close()
	}
	if exited, _ := waitExit(fctx, pid, 10*time.Second); !exited {
		if err := kill(pid); err != nil {
			return fmt.Errorf("local: stop VM %s: kill %d: %w", name, pid, err)
		}
		if exited, _ := waitExit(fctx, pid, 10*time.Second); !exited {
			return fmt.Errorf("local: stop VM %s: QEMU process %d survived SIGKILL", name, pid)
		}
	}
	t.log.Info("VM forced off", "vm", name)
	return t.stopped(name)
}

func (t *Target) stopped(name string) error {
	for _, f := range []string{"qemu.pid", "qmp.sock"} {
		os.Remove(t.vmFile(name, f))
	}
	return nil
}

// waitExit polls until pid is gone, d passes or ctx ends (an error).
func waitExit(ctx context.Context, pid int, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		if !alive(pid) {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DeleteVM implements cloud.Target: forces the VM off, frees its disks and
// removes its directory (serial log and UEFI variables included).
func (t *Target) DeleteVM(ctx context.Context, name string) error {
	m, err := t.vmStatus(ctx, "delete", name)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.StopVM(ctx, name, -1); err != nil {
		return err
	}
	unlock, err := t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// vm.json first: a VM without it does not exist.
	if err := os.Remove(t.vmFile(name, "vm.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: delete VM %s: %w", name, err)
	}
	for _, d := range m.Spec.Disks() {
		dm, err := t.readDisk(d)
		if err != nil || dm.VM != name {
			continue
		}
		dm.VM = ""
		if err := t.writeDisk(d, dm); err != nil {
			return fmt.Errorf("local: delete VM %s: free %w", name, err)
		}
	}
	if err := os.RemoveAll(t.vmDir(name)); err != nil {
		return fmt.Errorf("local: delete VM %s: %w", name, err)
	}
	t.log.Info("VM deleted", "vm", name)
	return nil
}

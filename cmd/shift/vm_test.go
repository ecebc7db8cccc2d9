package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/fixtures/vmimage"
	"github.com/shift-migrate/shift/remote"
)

// TestVMBootPersists is the local cloud's acceptance: a Debian disk
// (fixtures/vmimage, a real debootstrapped image) written into cloud/local
// through its Disk writer boots; 'shift vm list' shows it running with its
// SSH address; a file written inside survives stopping the VM and starting
// it from a new shift process (a new Target over the same state directory);
// the serial log shows both boots. Under TCG a boot takes about 40 s.
func TestVMBootPersists(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM twice (minutes under TCG)")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		sshd.Missing(t, "qemu-system-x86_64 not found (make deps installs qemu-system-x86)")
	}
	im := vmimage.BuildT(t, vmimage.Options{})
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()

	tg, err := local.New(local.Options{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	copyImage(ctx, t, tg, im.Path, "deb-os")
	if _, err := tg.CreateVM(ctx, cloud.VMSpec{Name: "deb", CPUs: 2, MemoryMiB: 1024, OSDisk: "deb-os"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.StopVM(context.Background(), "deb", -1); err != nil && !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	key, err := im.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")

	start := time.Now()
	shift(t, 0, "vm", "start", "deb", "--state", state)
	port := sshPort(t, state)
	out := shift(t, 0, "vm", "list", "--state", state)
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^deb\s+running\s+2\s+1024 MiB\s+bios\s+127\.0\.0\.1:%d\s`, port)).MatchString(out) {
		t.Fatalf("shift vm list does not show deb running with SSH on port %d:\n%s", port, out)
	}
	marker := fmt.Sprintf("written-before-restart-%d", time.Now().UnixNano())
	c := dialVM(ctx, t, port, key, knownHosts, true)
	t.Logf("first boot: SSH up after %s", time.Since(start).Round(time.Second))
	sshRun(ctx, t, c, "echo "+marker+" > /root/shift-marker && sync")
	c.Close()

	start = time.Now()
	shift(t, 0, "vm", "stop", "deb", "--timeout", "3m", "--state", state)
	t.Logf("graceful stop took %s", time.Since(start).Round(time.Second))
	if out := shift(t, 0, "vm", "list", "--state", state); !regexp.MustCompile(`(?m)^deb\s+stopped\s`).MatchString(out) {
		t.Fatalf("after stop, shift vm list:\n%s", out)
	}
	if !strings.Contains(readFile(t, filepath.Join(state, "vms", "deb", "serial.log")), "reboot: Power down") {
		t.Errorf("serial log has no clean power down: the guest was forced off, not shut down")
	}

	// A new shift process: nothing but the state directory carries over.
	start = time.Now()
	shift(t, 0, "vm", "start", "deb", "--state", state)
	port2 := sshPort(t, state)
	// Strict host key check this time: the same disk, the same host key.
	c = dialVM(ctx, t, port2, key, knownHosts, false)
	t.Logf("second boot: SSH up after %s", time.Since(start).Round(time.Second))
	if got := strings.TrimSpace(sshRun(ctx, t, c, "cat /root/shift-marker")); got != marker {
		t.Errorf("after restart /root/shift-marker = %q, want %q", got, marker)
	}
	c.Close()

	console := shift(t, 0, "vm", "console", "deb", "--state", state)
	if n := strings.Count(console, "Linux version"); n != 2 {
		t.Errorf("serial console shows %d kernel boots, want 2", n)
	}
	if !strings.Contains(console, "shift-test login:") {
		t.Errorf("serial console shows no login prompt; its end:\n%s", lastLines(console, 20))
	}
	shift(t, 0, "vm", "delete", "deb", "--disks", "--state", state)
	if _, err := os.Stat(filepath.Join(state, "disks", "deb-os.raw")); !os.IsNotExist(err) {
		t.Errorf("vm delete --disks left the disk: %v", err)
	}
}

// copyImage writes an image file into a new target disk through the Disk
// writer: its data extents in 4 MiB writes, as the transfer engine does.
func copyImage(ctx context.Context, t *testing.T, tg cloud.Target, path, name string) {
	t.Helper()
	src, err := disk.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ext, err := src.Extents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: name, SizeBytes: cloud.RoundSize(src.Size())})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 4<<20)
	for _, e := range ext {
		if !e.Data {
			continue
		}
		for off := e.Offset; off < e.End(); off += int64(len(buf)) {
			n := min(int64(len(buf)), e.End()-off)
			if _, err := src.ReadAt(buf[:n], off); err != nil {
				t.Fatal(err)
			}
			if _, err := d.WriteAt(buf[:n], off); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %d MiB of data of %s into disk %s", disk.DataBytes(ext)>>20, filepath.Base(path), name)
}

// shift runs the CLI in this process and checks its exit code.
func shift(t *testing.T, want int, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := run(args, strings.NewReader(""), &stdout, &stderr); got != want {
		t.Fatalf("shift %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, want, &stdout, &stderr)
	}
	return stdout.String()
}

func sshPort(t *testing.T, state string) int {
	t.Helper()
	var vms []cloud.VM
	if err := json.Unmarshal([]byte(shift(t, 0, "vm", "list", "--json", "--state", state)), &vms); err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		if a, ok := vm.Address("ssh"); ok && vm.Spec.Name == "deb" {
			return a.Port
		}
	}
	t.Fatalf("shift vm list --json: no SSH address for deb: %+v", vms)
	return 0
}

// dialVM retries SSH until the guest has booted (up to 5 minutes).
func dialVM(ctx context.Context, t *testing.T, port int, key []byte, knownHosts string, tofu bool) *remote.SSHClient {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c, err := remote.DialSSH(ctx, remote.SSHConfig{
			Host: "deb", Address: "127.0.0.1", Port: port, User: "root",
			PrivateKey: remote.NewSecret(string(key)), KnownHosts: knownHosts, TrustOnFirstUse: tofu,
			Timeout: 10 * time.Second,
		})
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("SSH to the VM never came up: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

func sshRun(ctx context.Context, t *testing.T, c *remote.SSHClient, cmd string) string {
	t.Helper()
	res, err := c.Run(ctx, cmd)
	if err == nil {
		err = res.Err(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(res.Stdout)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

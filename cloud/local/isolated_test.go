package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/fixtures/vmimage"
)

// TestIsolatedNICBoot is what a test migration relies on: two clones of a
// real Debian disk (fixtures/vmimage) boot side by side, one with its NIC
// isolated. Both answer SSH on their forwarded port, so the appliance
// reaches both. From inside each guest the same probe opens a TCP
// connection to a listener of this test on the host (10.0.2.2 in QEMU's
// user network): the guest not isolated gets the listener's greeting; the
// isolated one does not, and the listener accepts nothing from it. Each
// guest also shows the probe working (its own sshd answers it) and its
// NIC configured (its DHCP address; QEMU's restricted DHCP gives the
// isolated one no router), so the isolated guest's failure is the network
// refusing what it sends. Both guests boot at once: on two idle CPUs about
// one TCG boot, 40 s.
func TestIsolatedNICBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots two Debian guests (a minute under TCG)")
	}
	needQEMU(t)
	im := vmimage.BuildT(t, vmimage.Options{})
	signer, hostKey := guestKeys(t, im)
	tg := newTarget(t, t.TempDir())
	t.Cleanup(func() { stopAll(t, tg) })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	importImage(ctx, t, tg, im.Path, "image")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	accepted := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			fmt.Fprintln(c, "hello from the host")
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port

	start := time.Now()
	guests := []struct {
		name     string
		isolated bool
	}{{"open", false}, {"isolated", true}}
	for _, g := range guests {
		if err := tg.CloneDisk(ctx, "image", cloud.DiskSpec{Name: g.name + "-os"}); err != nil {
			t.Fatal(err)
		}
		spec := cloud.VMSpec{Name: g.name, MemoryMiB: 512, OSDisk: g.name + "-os", NICs: []cloud.NICSpec{{Isolated: g.isolated}}}
		if _, err := tg.CreateVM(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if err := tg.StartVM(ctx, g.name); err != nil {
			t.Fatal(err)
		}
	}
	type result struct{ net, control, probe string }
	results := make([]result, len(guests))
	errs := make([]error, len(guests))
	var wg sync.WaitGroup
	for i, g := range guests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialGuest(ctx, tg, g.name, signer, hostKey)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			t.Logf("%s: SSH up after %s", g.name, time.Since(start).Round(time.Second))
			r := &results[i]
			for _, step := range []struct {
				out *string
				cmd string
			}{
				{&r.net, "ip -4 -o addr show scope global; ip route show default"},
				{&r.control, `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3'`},
				{&r.probe, fmt.Sprintf(`timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.2.2/%d && head -n 1 <&3' 2>&1; echo "exit=$?"`, port)},
			} {
				if *step.out, err = guestRun(c, step.cmd); err != nil {
					errs[i] = fmt.Errorf("%s: %w", g.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, g := range guests {
			t.Logf("%s: console:\n%s", g.name, consoleTail(tg, g.name))
		}
		t.Fatal(err)
	}
	for i, g := range guests {
		r := results[i]
		t.Logf("%s: network %q, probe of its own sshd %q, probe of the host %q", g.name, r.net, r.control, r.probe)
		if !strings.Contains(r.net, "10.0.2.15/") {
			t.Errorf("%s: the guest's NIC has no DHCP address: %q", g.name, r.net)
		}
		if !g.isolated && !strings.Contains(r.net, "default via 10.0.2.2") {
			t.Errorf("%s: the guest not isolated has no default route: %q", g.name, r.net)
		}
		if r.control != "SSH-" {
			t.Errorf("%s: the probe cannot even reach the guest's own sshd (%q): it proves nothing", g.name, r.control)
		}
		greeted := strings.Contains(r.probe, "hello from the host")
		switch {
		case g.isolated && greeted:
			t.Errorf("%s: the isolated guest reached the host's listener: %q", g.name, r.probe)
		case !g.isolated && !greeted:
			t.Errorf("%s: the guest not isolated did not reach the host's listener (%q): the probe proves nothing", g.name, r.probe)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if accepted != 1 {
		t.Errorf("the host's listener accepted %d connections, want 1 (from the guest not isolated only)", accepted)
	}
}

// importImage makes a raw image file a finalized disk of the target (cp
// keeps it sparse).
func importImage(ctx context.Context, t *testing.T, tg *local.Target, path, name string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: name, SizeBytes: cloud.RoundSize(st.Size())})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if out, err := exec.CommandContext(ctx, "cp", "--sparse=always", "--reflink=auto", path, diskFile(t, tg, name)).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", path, err, out)
	}
	if err := d.Finalize(ctx); err != nil {
		t.Fatal(err)
	}
}

func guestKeys(t *testing.T, im vmimage.Image) (ssh.Signer, ssh.PublicKey) {
	t.Helper()
	key, err := im.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := im.HostKey()
	if err != nil {
		t.Fatal(err)
	}
	return signer, hostKey
}

// dialGuest logs in to a VM's forwarded SSH port as root, retrying while
// the guest boots (up to 5 minutes).
func dialGuest(ctx context.Context, tg *local.Target, vm string, signer ssh.Signer, hostKey ssh.PublicKey) (*ssh.Client, error) {
	st, err := tg.VMStatus(ctx, vm)
	if err != nil {
		return nil, err
	}
	a, ok := st.Address("ssh")
	if !ok {
		return nil, fmt.Errorf("%s: no SSH address: %+v", vm, st)
	}
	cfg := &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey), HostKeyAlgorithms: []string{hostKey.Type()},
		Timeout: 10 * time.Second,
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c, err := ssh.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), cfg)
		if err == nil {
			return c, nil
		}
		if strings.Contains(err.Error(), "host key mismatch") || time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: SSH on %s:%d: %w", vm, a.Host, a.Port, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: SSH: %w", vm, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// guestRun runs cmd in the guest and returns its stdout, trimmed.
func guestRun(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if err := s.Run(cmd); err != nil {
		return "", fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func consoleTail(tg *local.Target, vm string) string {
	r, err := tg.Console(context.Background(), vm)
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	var b bytes.Buffer
	b.ReadFrom(r)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

package ssh

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/discover/ssh/sshtest"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/remote/shscript"
)

// needReal skips a test whose real component is missing, and fails it in CI.
func needReal(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI: %s", why)
	}
	t.Skip(why)
}

// TestProbeCanceled: a probe whose context has ended records why and stops.
func TestProbeCanceled(t *testing.T) {
	for _, tt := range []struct {
		kind string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{inventory.ErrCanceled, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{inventory.ErrTimeout, func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}},
	} {
		ctx, cancel := tt.ctx()
		h := &inventory.Host{Name: "local"}
		Probe(ctx, localRunner{}, h)
		cancel()
		if len(h.Errors) != 1 || h.Errors[0].Kind != tt.kind || h.Errors[0].Step != "probe" {
			t.Errorf("errors = %+v, want one %s", h.Errors, tt.kind)
		}
		if h.Identity.Hostname != "" || h.DiscoveredAt.IsZero() {
			t.Errorf("steps ran after cancellation, or no finish time: %+v", h)
		}
	}
}

// nobodyRunner runs commands as the unprivileged user nobody, and privileged
// ones through the real sudo -n, which refuses nobody.
type nobodyRunner struct{}

func (nobodyRunner) Run(ctx context.Context, cmd string) (*remote.Result, error) {
	return localRunner{}.Run(ctx, "runuser -u nobody -- sh -c "+remote.ShellQuote(cmd))
}

func (nobodyRunner) RunPrivileged(ctx context.Context, cmd string) (*remote.Result, error) {
	return localRunner{}.Run(ctx, "runuser -u nobody -- sudo -n sh -c "+remote.ShellQuote(cmd))
}

// TestProbeWithoutRoot: when sudo refuses, the privileged steps run as the
// user, the probe says so once, and still fills what it can.
func TestProbeWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		needReal(t, "runs commands as nobody through runuser: needs root")
	}
	for _, tool := range []string{"runuser", "sudo"} {
		if _, err := exec.LookPath(tool); err != nil {
			needReal(t, tool+" not installed (Debian packages util-linux, sudo)")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := &inventory.Host{Name: "local", Transport: "ssh"}
	Probe(ctx, nobodyRunner{}, h)
	for _, e := range h.Errors {
		t.Logf("host error: %+v", e)
	}
	i := slices.IndexFunc(h.Errors, func(e inventory.Error) bool { return e.Step == "privileges" })
	if i < 0 || h.Errors[i].Kind != inventory.ErrPermission || !strings.Contains(h.Errors[i].Message, "sudo") || h.Errors[i].Hint == "" {
		t.Fatalf("no permission error for the refused sudo: %+v", h.Errors)
	}
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrPermission && e.Step != "privileges" {
			t.Errorf("permission reported twice: %+v", e)
		}
	}
	sshtest.CheckAgainstLocal(t, h)
}

// sections builds a prober over canned sections (outputs of real commands
// from the reference files) to test how steps report failures.
func proberWith(secs map[string]shscript.Section) *prober {
	return &prober{h: &inventory.Host{Name: "h"}, secs: secs}
}

func errorKinds(h *inventory.Host) []string {
	var k []string
	for _, e := range h.Errors {
		k = append(k, e.Step+":"+e.Kind)
	}
	return k
}

// TestIdentityNoSMBIOS: the build VM has no SMBIOS; dmidecode fails with
// "/dev/mem: No such file or directory" (reference capture). That is a fact
// about the host, not an error.
func TestIdentityNoSMBIOS(t *testing.T) {
	failure := string(ref(t, "dmidecode/local-vm.dmidecode-s-system-uuid.failure.txt"))
	if !strings.Contains(failure, "/dev/mem: No such file or directory") {
		t.Fatal("reference file changed")
	}
	p := proberWith(map[string]shscript.Section{
		"hostname":  {Stdout: []byte("vm\n")},
		"fqdn":      {Stdout: []byte("vm.corp.example\n")},
		"dmi":       {},
		"dmidecode": {Code: 1, Stderr: []byte("/dev/mem: No such file or directory")},
		"virt":      {Code: 127},
		"cpuinfo":   {Stdout: ref(t, "proc/cpuinfo.kernel-6.18-vm.first-processor.txt")},
	})
	p.identity()
	id := p.h.Identity
	if len(p.h.Errors) != 0 || id.SystemUUID != "" || id.FQDN != "vm.corp.example" || id.Domain != "corp.example" || id.Virtualization != "vm-other" {
		t.Errorf("identity = %+v, errors %v", id, p.h.Errors)
	}

	// A host whose resolver knows no name for it.
	p = proberWith(map[string]shscript.Section{"hostname": {Stdout: []byte("localhost\n")}, "fqdn": {Stdout: []byte("localhost.localdomain\n")}, "dmi": {}})
	p.identity()
	if p.h.Identity.FQDN != "" || p.h.Identity.Domain != "" {
		t.Errorf("localhost.localdomain taken for an FQDN: %+v", p.h.Identity)
	}

	// With DMI, as root: UUID lower-cased, placeholders dropped.
	p = proberWith(map[string]shscript.Section{
		"hostname":  {Stdout: []byte("db01\n")},
		"fqdn":      {Code: 1, Stderr: []byte("hostname: Name or service not known")},
		"dmi":       {Stdout: []byte("sys_vendor=VMware, Inc.\nproduct_name=VMware Virtual Platform\nproduct_serial=VMware-56 4d 0d 1a cc cf 45 fa-43 81 ac 1f 3b 99 45 17\nproduct_uuid=1A0D4D56-CFCC-FA45-4381-AC1F3B994517\nbios_vendor=Phoenix Technologies LTD\nbios_version=6.00\n")},
		"dmidecode": {},
		"virt":      {Stdout: []byte("vmware\n")},
	})
	p.identity()
	id = p.h.Identity
	if len(p.h.Errors) != 0 || id.SystemUUID != "1a0d4d56-cfcc-fa45-4381-ac1f3b994517" || id.FQDN != "" || id.Manufacturer != "VMware, Inc." ||
		id.SerialNumber == "" || id.Virtualization != "vmware" || p.h.Firmware.Vendor != "Phoenix Technologies LTD" {
		t.Errorf("identity = %+v, firmware %+v, errors %v", id, p.h.Firmware, p.h.Errors)
	}
}

// TestStepFailures: a missing tool is ErrUnsupported naming the package, a
// failing one ErrProbe quoting stderr, unparsable output ErrParse naming the
// command; other steps go on.
func TestStepFailures(t *testing.T) {
	p := proberWith(map[string]shscript.Section{
		"lsblk":     {Code: 127, Stderr: []byte("sh: 1: lsblk: not found")},
		"ipaddr":    {Code: 0, Stdout: []byte(`Option "-j" is unknown, try "ip -help".`)},
		"sstcp":     {Code: 1, Stderr: []byte("Cannot open netlink socket: Protocol not supported")},
		"ssudp":     {Stdout: ref(t, "ss/ss-tlnpH.iproute2-6.1.0.debian12-vm.txt")},
		"units":     {Stdout: ref(t, "systemctl/jc-ubuntu-18.04.systemctl-a.service-lines.txt")},
		"unitfiles": {},
		"packages":  {Code: 127, Stderr: []byte("neither dpkg-query nor rpm found")},
	})
	p.storage()
	p.network()
	p.ports()
	p.services()
	p.software()
	got := errorKinds(p.h)
	want := []string{"disks:unsupported", "network:parse", "ports:probe", "software:unsupported"}
	if !slices.Equal(got, want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	if e := p.h.Errors[0]; e.Hint != "install util-linux on the host" {
		t.Errorf("lsblk hint %q", e.Hint)
	}
	if e := p.h.Errors[1]; !strings.Contains(e.Message, "ip -j addr") {
		t.Errorf("parse error does not name the command: %q", e.Message)
	}
	if e := p.h.Errors[2]; !strings.Contains(e.Message, "Cannot open netlink socket") {
		t.Errorf("probe error does not quote stderr: %q", e.Message)
	}
	if len(p.h.Ports) != 4 || len(p.h.Services) != 25 {
		t.Errorf("the steps that worked gave %d ports, %d services", len(p.h.Ports), len(p.h.Services))
	}
}

// TestServicesWithoutSystemd: PID 1 is not systemd (the build VM); the probe
// notes it once and falls back to service --status-all.
func TestServicesWithoutSystemd(t *testing.T) {
	sysv, err := readCaptured("service-status-all.debian12-vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := proberWith(map[string]shscript.Section{
		"units": {Code: 1, Stderr: []byte("System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down")},
		"sysv":  {Stdout: sysv},
	})
	p.services()
	if got := errorKinds(p.h); !slices.Equal(got, []string{"services:unsupported"}) || !strings.Contains(p.h.Errors[0].Message, "not been booted with systemd") {
		t.Errorf("errors %+v", p.h.Errors)
	}
	if len(p.h.Services) < 5 {
		t.Errorf("services %+v", p.h.Services)
	}
}

func TestWorkloads(t *testing.T) {
	p := proberWith(nil)
	p.workloads()
	if !slices.Equal(p.h.Absent, []string{"sharepoint"}) {
		t.Errorf("software unknown: absent %v, want only sharepoint", p.h.Absent)
	}
	p.h.Software = []inventory.Software{{Name: "bash"}}
	p.workloads()
	if !slices.Equal(p.h.Absent, []string{"sqlserver", "sharepoint"}) || p.h.SQLServer != nil {
		t.Errorf("absent %v, sql %+v", p.h.Absent, p.h.SQLServer)
	}
	p.h.Software = append(p.h.Software, inventory.Software{Name: "mssql-server", Version: "15.0.4345.5-2"})
	p.workloads()
	if !slices.Equal(p.h.Absent, []string{"sharepoint"}) || len(p.h.SQLServer) != 1 || p.h.SQLServer[0].Release != "SQL Server 2019" {
		t.Errorf("absent %v, sql %+v", p.h.Absent, p.h.SQLServer)
	}
}

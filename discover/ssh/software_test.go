package ssh

import (
	"errors"
	"slices"
	"testing"

	"github.com/shift-migrate/shift/inventory"
)

// TestParseSystemctlText: the text table that systemd < 246 prints even when
// asked for --output=json (RHEL 8), here from Ubuntu 18.04's `systemctl -a`.
func TestParseSystemctlText(t *testing.T) {
	svcs, err := parseSystemctlUnits(ref(t, "systemctl/jc-ubuntu-18.04.systemctl-a.service-lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 25 {
		t.Errorf("%d services, want 25 (the 6 not-found units dropped)", len(svcs))
	}
	want := []inventory.Service{
		{Name: "accounts-daemon.service", DisplayName: "Accounts Service", State: "running"},
		{Name: "acpid.service", DisplayName: "ACPI event daemon", State: "stopped"},
		{Name: "apparmor.service", DisplayName: "AppArmor initialization", State: "exited"},
		{Name: "getty@tty1.service", DisplayName: "Getty on tty1", State: "running"},
	}
	for _, w := range want {
		if !slices.Contains(svcs, w) {
			t.Errorf("missing %+v", w)
		}
	}
	for _, s := range svcs {
		if s.Name == "auditd.service" {
			t.Error("not-found unit listed")
		}
	}
}

// TestParseSystemctlJSON: rows with the keys of systemd's list-units table
// (src/systemctl/systemctl-list-units.c: unit, load, active, sub, job,
// description). No genuine capture exists in the reference corpus.
func TestParseSystemctlJSON(t *testing.T) {
	in := `[{"unit":"ssh.service","load":"loaded","active":"active","sub":"running","description":"OpenBSD Secure Shell server"},` +
		`{"unit":"nginx.service","load":"loaded","active":"failed","sub":"failed","description":"A high performance web server"},` +
		`{"unit":"foo.service","load":"not-found","active":"inactive","sub":"dead","description":"foo.service"},` +
		`{"unit":"bar.service","load":"loaded","active":"activating","sub":"start","job":"start","description":"Bar"}]`
	svcs, err := parseSystemctlUnits([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Service{
		{Name: "ssh.service", DisplayName: "OpenBSD Secure Shell server", State: "running"},
		{Name: "nginx.service", DisplayName: "A high performance web server", State: "failed"},
		{Name: "bar.service", DisplayName: "Bar", State: "starting"},
	}
	if !slices.Equal(svcs, want) {
		t.Errorf("got %+v", svcs)
	}
	// The resticprofile report of RHEL 8's reply to -o json, legend and all.
	if _, err := parseSystemctlUnits([]byte("UNIT LOAD ACTIVE SUB DESCRIPTION\n\n0 loaded units listed.\n")); !errors.Is(err, errNotJSON) {
		t.Errorf("empty text table: %v, want errNotJSON", err)
	}
}

func TestParseUnitFiles(t *testing.T) {
	// `systemctl list-unit-files --type=service --no-legend` (systemd 252
	// adds the PRESET column).
	in := "ssh.service                            enabled         enabled\n" +
		"sshd.service                           alias           -\n" +
		"getty@.service                         enabled         enabled\n" +
		"rsync.service                          disabled        enabled\n" +
		"systemd-fsck-root.service              static          -\n" +
		"nftables.service                       masked          enabled\n" +
		"systemd-remount-fs.service             generated       -\n" +
		"dbus-org.freedesktop.timedate1.service indirect        -\n"
	got, err := parseUnitFiles([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ssh.service": "auto", "rsync.service": "disabled", "systemd-fsck-root.service": "static",
		"nftables.service": "disabled", "systemd-remount-fs.service": "manual", "dbus-org.freedesktop.timedate1.service": "manual"}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	merged := mergeServices([]inventory.Service{{Name: "ssh.service", State: "running"}}, got)
	if merged[0].StartMode != "auto" || len(merged) != len(want) {
		t.Errorf("merged %+v", merged)
	}
	if i := slices.IndexFunc(merged, func(s inventory.Service) bool { return s.Name == "rsync.service" }); i < 0 || merged[i].State != "stopped" {
		t.Errorf("disabled unit not listed as stopped: %+v", merged)
	}
}

func TestParseServiceStatusAll(t *testing.T) {
	b, err := readCaptured("service-status-all.debian12-vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := parseServiceStatusAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(svcs, func(s inventory.Service) bool { return s.Name == "ssh" }); i < 0 || svcs[i].State != "stopped" {
		t.Errorf("ssh missing or not stopped: %+v", svcs)
	}
	if i := slices.IndexFunc(svcs, func(s inventory.Service) bool { return s.Name == "hwclock.sh" }); i < 0 || svcs[i].State != "" {
		t.Errorf("[ ? ] must leave the state unknown: %+v", svcs)
	}
	got, err := parseServiceStatusAll([]byte(" [ + ]  cron\n"))
	if err != nil || len(got) != 1 || got[0] != (inventory.Service{Name: "cron", State: "running"}) {
		t.Errorf("running: %+v, %v", got, err)
	}
	if _, err := parseServiceStatusAll([]byte("Usage: service < option > | --status-all\n")); err == nil {
		t.Error("usage text parsed")
	}
}

func TestParseDpkg(t *testing.T) {
	b, err := readCaptured("dpkg-query.debian12-vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := parseDpkg(b)
	if err != nil || len(sw) != 15 {
		t.Fatalf("%d packages, %v", len(sw), err)
	}
	want := inventory.Software{Name: "bash", Version: "5.2.15-2+b8", Arch: "amd64", Publisher: "Matthias Klose <doko@debian.org>", Source: "dpkg"}
	if !slices.Contains(sw, want) {
		t.Errorf("bash missing: %+v", sw)
	}
	// Removed packages whose configuration stays ("rc") are not installed.
	sw, err = parseDpkg([]byte("rc \told-pkg\t1.0\tamd64\tX\nhi \theld\t2.0\tall\tY\n"))
	if err != nil || len(sw) != 1 || sw[0].Name != "held" {
		t.Errorf("status filter: %+v, %v", sw, err)
	}
	if _, err := parseDpkg([]byte("dpkg-query: no packages found matching x\n")); err == nil {
		t.Error("error text parsed")
	}
}

func TestParseRPM(t *testing.T) {
	// rpm -qa --qf with rpmFormat (RHEL 9 values).
	in := "bash\t5.1.8-9.el9\tx86_64\tRed Hat, Inc.\t1718000000\n" +
		"gpg-pubkey\tfd431d51-4ae0493b\t(none)\t(none)\t1718000001\n" +
		"mssql-server\t16.0.4135.4-1\tx86_64\tMicrosoft\t1718000002\n"
	sw, err := parseRPM([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Software{
		{Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64", Publisher: "Red Hat, Inc.", InstallDate: "2024-06-10", Source: "rpm"},
		{Name: "mssql-server", Version: "16.0.4135.4-1", Arch: "x86_64", Publisher: "Microsoft", InstallDate: "2024-06-10", Source: "rpm"},
	}
	if !slices.Equal(sw, want) {
		t.Errorf("got %+v", sw)
	}
	inst := sqlOnLinux(sw[1].Version, []inventory.Service{{Name: "mssql-server.service", State: "running"}},
		[]inventory.Port{{Protocol: "tcp", Address: "0.0.0.0", Port: 1433, Process: "sqlservr", PID: 1200}})
	if inst.Version != "16.0.4135.4" || inst.Release != "SQL Server 2022" || inst.EndOfSupport != "2033-01-11" || inst.ServiceState != "running" || inst.TCPPort != 1433 {
		t.Errorf("SQL Server on Linux = %+v", inst)
	}
}

func TestPendingRebootSignals(t *testing.T) {
	r, err := parseRebootRequired([]byte("required\nlinux-image-6.1.0-18-amd64\nlibc6\n"))
	if err != nil || !r.Known || !r.Pending || !slices.Equal(r.Reasons, []string{"/run/reboot-required: linux-image-6.1.0-18-amd64", "/run/reboot-required: libc6"}) {
		t.Errorf("reboot-required: %+v, %v", r, err)
	}
	if r, err := parseRebootRequired([]byte("none\n")); err != nil || !r.Known || r.Pending {
		t.Errorf("none: %+v, %v", r, err)
	}
	if r, err := parseRebootRequired(nil); err != nil || r.Known {
		t.Errorf("no signal: %+v, %v", r, err)
	}
	// needs-restarting -r of dnf-plugins-core.
	out := "Core libraries or services have been updated since boot-up:\n  * kernel\n  * systemd\n\nReboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n"
	r, err = parseNeedsRestarting([]byte(out), 1)
	if err != nil || !r.Pending || !slices.Equal(r.Reasons, []string{"needs-restarting: kernel", "needs-restarting: systemd"}) {
		t.Errorf("needs-restarting 1: %+v, %v", r, err)
	}
	out = "No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n"
	if r, err := parseNeedsRestarting([]byte(out), 0); err != nil || !r.Known || r.Pending {
		t.Errorf("needs-restarting 0: %+v, %v", r, err)
	}
	if _, err := parseNeedsRestarting([]byte("Error: This command has to be run with superuser privileges\n"), 1); err == nil {
		t.Error("error text taken for a signal")
	}
}

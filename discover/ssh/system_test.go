package ssh

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// ref reads a file of testdata/reference.
func ref(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refFiles lists the files of a testdata/reference folder.
func refFiles(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(filepath.Join("testdata", "reference", dir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join("testdata", "reference"), p)
			names = append(names, rel)
		}
		return err
	})
	if err != nil || len(names) == 0 {
		t.Fatalf("no reference files in %s: %v", dir, err)
	}
	return names
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		file, id, version, pretty, eos string
		like                           []string
	}{
		{"os-release/debian-12.os-release", "debian", "12", "Debian GNU/Linux 12 (bookworm)", "2028-06-30", nil},
		{"os-release/ubuntu-22.04.5.os-release", "ubuntu", "22.04", "Ubuntu 22.04.5 LTS", "2032-04-30", []string{"debian"}},
		{"os-release/rhel-8.0-ubi8.os-release", "rhel", "8.0", "Red Hat Enterprise Linux 8.0 (Ootpa)", "2029-05-31", []string{"fedora"}},
		{"os-release/rhel-8.6.facter-fixture-with-injected-comments.os-release", "rhel", "8.6", "Red Hat Enterprise Linux 8.6 (Ootpa)", "2029-05-31", []string{"fedora"}},
		{"os-release/rhel-9.4.os-release", "rhel", "9.4", "Red Hat Enterprise Linux 9.4 (Plow)", "2032-05-31", []string{"fedora"}},
		{"os-release/rhel-9.6.os-release", "rhel", "9.6", "Red Hat Enterprise Linux 9.6 (Plow)", "2032-05-31", []string{"fedora"}},
		{"os-release/sles-15-sp2.os-release", "sles", "15.2", "SUSE Linux Enterprise Server 15 SP2", "2024-12-31", []string{"suse"}},
		{"os-release/sles-15-sp6.os-release", "sles", "15.6", "SUSE Linux Enterprise Server 15 SP6", "2028-12-31", []string{"suse"}},
	}
	if got := len(refFiles(t, "os-release")); got != len(tests) {
		t.Errorf("%d os-release reference files, %d covered", got, len(tests))
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			kv, err := parseOSRelease(ref(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if kv["ID"] != tt.id || kv["VERSION_ID"] != tt.version || kv["PRETTY_NAME"] != tt.pretty {
				t.Errorf("got ID=%q VERSION_ID=%q PRETTY_NAME=%q", kv["ID"], kv["VERSION_ID"], kv["PRETTY_NAME"])
			}
			if like := strings.Fields(kv["ID_LIKE"]); !slices.Equal(like, tt.like) {
				t.Errorf("ID_LIKE = %q, want %q", like, tt.like)
			}
			for k, v := range kv {
				if strings.HasPrefix(k, "#") || strings.ContainsAny(v, `"`) {
					t.Errorf("comment or quote leaked: %s=%s", k, v)
				}
			}
		})
	}
	// Shapes the reference files do not show.
	kv, err := parseOSRelease([]byte("ID='alpine'\r\nNAME=\"Alpine \\\"Edge\\\"\"\nbroken line\n"))
	if err != nil || kv["ID"] != "alpine" || kv["NAME"] != `Alpine "Edge"` {
		t.Errorf("single quotes, CRLF, escapes: %q, %v", kv, err)
	}
	if _, err := parseOSRelease([]byte("# nothing\n\n")); err == nil {
		t.Error("a file without ID or NAME parsed")
	}
}

func TestParseUname(t *testing.T) {
	u, err := parseUname([]byte("Linux 6.18.44-fc-v769 x86_64\n"))
	if err != nil || u != (uname{"Linux", "6.18.44-fc-v769", "x86_64"}) {
		t.Errorf("got %+v, %v", u, err)
	}
	if _, err := parseUname([]byte("Linux\n")); err == nil {
		t.Error("short output parsed")
	}
	for in, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "i386": "i686", "x86_64": "x86_64", "ppc64le": "ppc64le"} {
		if got := normalizeArch(in); got != want {
			t.Errorf("normalizeArch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		file string
		want cpuInfo
	}{
		{"proc/cpuinfo.kernel-6.18-vm.first-processor.txt", cpuInfo{Model: "AMD EPYC", Vendor: "AuthenticAMD", Sockets: 1, Cores: 1, Logical: 1, MHz: 2445.406, Hypervisor: true}},
		{"proc/ohai.cpuinfo-x86-guest-kvm-nested-rhel9.first-processor.txt", cpuInfo{Model: "Intel Core Processor (Haswell, no TSX, IBRS)", Vendor: "GenuineIntel", Sockets: 1, Cores: 1, Logical: 1, MHz: 2394.454, Hypervisor: true}},
	}
	if got := len(refFiles(t, "proc")) - 2; got != len(tests) { // two meminfo files
		t.Errorf("%d cpuinfo reference files, %d covered", got, len(tests))
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			got, err := parseCPUInfo(ref(t, tt.file))
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// Both processor blocks of the VM: the file holds the first; the second
	// differs in processor, core id and apicid only.
	first := string(ref(t, "proc/cpuinfo.kernel-6.18-vm.first-processor.txt"))
	second := strings.NewReplacer("processor\t: 0", "processor\t: 1", "core id\t\t: 0", "core id\t\t: 1").Replace(first)
	got, err := parseCPUInfo([]byte(first + second))
	if err != nil || got.Logical != 2 || got.Cores != 2 || got.Sockets != 1 {
		t.Errorf("two processors: %+v, %v", got, err)
	}
	if _, err := parseCPUInfo([]byte("garbage\n")); err == nil {
		t.Error("no processors parsed")
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		file string
		want memInfo
	}{
		{"proc/meminfo.kernel-6.18-vm.txt", memInfo{Total: 24683656 * 1024, Available: 24139004 * 1024, Swap: 0}},
		{"proc/jc.linux-proc.meminfo.txt", memInfo{Total: 3997272 * 1024, Available: 3386876 * 1024, Swap: 3996668 * 1024}},
	}
	for _, tt := range tests {
		got, err := parseMeminfo(ref(t, tt.file))
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
	if _, err := parseMeminfo([]byte("MemFree: 1 kB\n")); err == nil {
		t.Error("meminfo without MemTotal parsed")
	}
}

// dmidecodeUUID returns the "UUID:" field of a full dmidecode listing: what
// `dmidecode -s system-uuid` prints on the same machine.
func dmidecodeUUID(t *testing.T, b []byte) string {
	m := regexp.MustCompile(`(?m)^\s*UUID: (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no UUID field")
	}
	return string(m[1])
}

func TestParseSystemUUID(t *testing.T) {
	tests := map[string]string{
		"dmidecode/jc-centos-7.7.dmidecode.header-and-system-information.txt":   "28fd4d56-3389-e2f8-6474-0159923b580e",
		"dmidecode/jc-fedora32.dmidecode.header-and-system-information.txt":     "23bf4d56-aa01-9f4e-c392-24bd7b661668",
		"dmidecode/jc-ubuntu-18.04.dmidecode.header-and-system-information.txt": "1a0d4d56-cfcc-fa45-4381-ac1f3b994517", // upper case in dmidecode 3.1
	}
	for file, want := range tests {
		got, err := parseSystemUUID([]byte(dmidecodeUUID(t, ref(t, file)) + "\n"))
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", file, got, err, want)
		}
	}
	// dmidecode prints notes before the value on newer SMBIOS versions.
	got, err := parseSystemUUID([]byte("# SMBIOS implementations newer than version 3.2.0 are not\n# fully supported by this version of dmidecode.\n28FD4D56-3389-E2F8-6474-0159923B580E\n"))
	if err != nil || got != "28fd4d56-3389-e2f8-6474-0159923b580e" {
		t.Errorf("with notes: %q, %v", got, err)
	}
	for _, bad := range []string{"", "Not Settable", "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"} {
		if u, err := parseSystemUUID([]byte(bad)); err == nil {
			t.Errorf("%q gave UUID %q", bad, u)
		}
	}
}

func TestParseSecureBoot(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		ok   bool
	}{
		{"   6   0   0   0   1\n", true, true},  // efivarfs: attributes, then enabled
		{"   6   0   0   0   0\n", false, true}, // efivarfs: disabled
		{"   1\n", true, true},                  // legacy sysfs data file
		{"SecureBoot enabled\n", true, true},
		{"SecureBoot disabled\n", false, true},
		{"This system doesn't support Secure Boot\n", false, true},
		{"", false, false},
		{"   6   0   0   0   7\n", false, false},
		{"EFI variables are not supported on this system\n", false, false},
	}
	for _, tt := range tests {
		got, err := parseSecureBoot([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSecureBoot(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestVirtualization(t *testing.T) {
	tests := []struct {
		vendor, product string
		flag            bool
		want            string
	}{
		{"VMware, Inc.", "VMware Virtual Platform", true, "vmware"}, // from the dmidecode reference files
		{"Microsoft Corporation", "Virtual Machine", true, "microsoft"},
		{"QEMU", "Standard PC (Q35 + ICH9, 2009)", true, "kvm"},
		{"innotek GmbH", "VirtualBox", true, "oracle"},
		{"Dell Inc.", "PowerEdge R640", false, "none"},
		{"", "", true, "vm-other"},
		{"", "", false, ""},
	}
	for _, tt := range tests {
		if got := virtFromDMI(tt.vendor, tt.product, tt.flag); got != tt.want {
			t.Errorf("virtFromDMI(%q, %q, %v) = %q, want %q", tt.vendor, tt.product, tt.flag, got, tt.want)
		}
	}
	if v, err := parseDetectVirt([]byte("kvm\n")); err != nil || v != "kvm" {
		t.Errorf("detect-virt: %q, %v", v, err)
	}
}

func TestParseBootTimeAndTimezone(t *testing.T) {
	got, err := parseBootTime([]byte("btime 1795314776\n"))
	if err != nil || !got.Equal(time.Unix(1795314776, 0)) {
		t.Errorf("btime: %v, %v", got, err)
	}
	if _, err := parseBootTime([]byte("cpu 1 2 3\n")); err == nil {
		t.Error("missing btime parsed")
	}
	for in, want := range map[string]string{"Etc/UTC\n": "Etc/UTC", "/usr/share/zoneinfo/Europe/Berlin\n": "Europe/Berlin", "": ""} {
		if got := parseTimezone([]byte(in)); got != want {
			t.Errorf("parseTimezone(%q) = %q, want %q", in, got, want)
		}
	}
}

// readCaptured reads a file of testdata/captured.
func readCaptured(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "captured", name))
}

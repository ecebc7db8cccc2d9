package sshtest

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/inventory"
)

// CheckAgainstLocal fails t for every field of h, a probe of the machine
// the test runs on, that differs from what the test reads from the machine
// itself: hostname, kernel, architecture, OS id, memory, logical CPUs,
// firmware type, disks (as lsblk lists them), NIC MAC addresses, the
// root volume. It also fails on any parse error recorded in h.
func CheckAgainstLocal(t testing.TB, h *inventory.Host) {
	t.Helper()
	for _, e := range h.Errors {
		if e.Kind == inventory.ErrParse {
			t.Errorf("parse error on this machine: %+v", e)
		}
	}
	if want, err := os.Hostname(); err != nil {
		t.Errorf("os.Hostname: %v", err)
	} else if h.Identity.Hostname != want {
		t.Errorf("hostname = %q, want %q", h.Identity.Hostname, want)
	}
	if h.OS.Family != "linux" {
		t.Errorf("OS family = %q, want linux", h.OS.Family)
	}
	if want := readTrim(t, "/proc/sys/kernel/osrelease"); h.OS.Kernel != want {
		t.Errorf("kernel = %q, want %q", h.OS.Kernel, want)
	}
	if want, ok := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}[runtime.GOARCH]; ok && h.OS.Architecture != want {
		t.Errorf("architecture = %q, want %q", h.OS.Architecture, want)
	}
	if want := osReleaseID(t); h.OS.ID != want {
		t.Errorf("OS id = %q, want %q", h.OS.ID, want)
	}
	if want := memTotal(t); h.Memory.TotalBytes != want {
		t.Errorf("memory total = %d, want %d", h.Memory.TotalBytes, want)
	}
	if want := logicalCPUs(t); h.CPU.Logical != want {
		t.Errorf("logical CPUs = %d, want %d", h.CPU.Logical, want)
	}
	wantFW := "bios"
	if _, err := os.Stat("/sys/firmware/efi"); err == nil {
		wantFW = "uefi"
	}
	if h.Firmware.Type != wantFW {
		t.Errorf("firmware = %q, want %q", h.Firmware.Type, wantFW)
	}
	checkDisks(t, h)
	checkNICs(t, h)
	checkRoot(t, h)
}

func readTrim(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

func osReleaseID(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		b, err = os.ReadFile("/usr/lib/os-release")
	}
	if err != nil {
		t.Errorf("os-release: %v", err)
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "ID="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

func memTotal(t testing.TB) uint64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Errorf("meminfo: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(fs[1], 10, 64)
			return kb * 1024
		}
	}
	t.Errorf("meminfo: no MemTotal")
	return 0
}

func logicalCPUs(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Errorf("cpuinfo: %v", err)
		return 0
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if _, err := strconv.Atoi(strings.TrimSpace(v)); ok && err == nil && strings.TrimSpace(k) == "processor" {
			n++
		}
	}
	return n
}

// checkDisks compares h.Disks with the whole disks lsblk lists, leaving out
// loop devices, RAM disks (ram, zram) and empty slots as the probe does.
func checkDisks(t testing.TB, h *inventory.Host) {
	t.Helper()
	out, err := exec.Command("lsblk", "-J", "-d", "-b", "-o", "NAME,TYPE,SIZE").Output()
	if err != nil {
		t.Errorf("lsblk: %v", err)
		return
	}
	var doc struct {
		BlockDevices []struct {
			Name string          `json:"name"`
			Type string          `json:"type"`
			Size json.RawMessage `json:"size"`
		} `json:"blockdevices"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Errorf("lsblk JSON: %v", err)
		return
	}
	var want []string
	for _, d := range doc.BlockDevices {
		size := strings.Trim(string(d.Size), `"`)
		if d.Type != "disk" || size == "0" || strings.HasPrefix(d.Name, "zram") || strings.HasPrefix(d.Name, "ram") || strings.HasPrefix(d.Name, "loop") {
			continue
		}
		want = append(want, "/dev/"+d.Name)
	}
	var got []string
	for _, d := range h.Disks {
		got = append(got, d.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("disks = %v, want %v (from lsblk)", got, want)
	}
}

// checkNICs wants every non-loopback interface with a hardware address in
// h.NICs under its name, with that MAC.
func checkNICs(t testing.TB, h *inventory.Host) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Errorf("net.Interfaces: %v", err)
		return
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) == 0 {
			continue
		}
		j := slices.IndexFunc(h.NICs, func(n inventory.NIC) bool { return n.Name == i.Name })
		if j < 0 {
			t.Errorf("NIC %s (%s) missing from the probe", i.Name, i.HardwareAddr)
			continue
		}
		if got := h.NICs[j].MAC; got != i.HardwareAddr.String() {
			t.Errorf("NIC %s MAC = %q, want %q", i.Name, got, i.HardwareAddr)
		}
	}
}

// checkRoot wants a System volume mounted at / when / is a block device.
func checkRoot(t testing.TB, h *inventory.Host) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Errorf("mounts: %v", err)
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[1] != "/" || !strings.HasPrefix(f[0], "/dev/") || f[0] == "/dev/root" {
			continue
		}
		i := slices.IndexFunc(h.Volumes, func(v inventory.Volume) bool { return slices.Contains(v.MountPoints, "/") })
		if i < 0 {
			t.Errorf("no volume mounted at / (root is %s)", f[0])
			return
		}
		if v := h.Volumes[i]; !v.System || v.FSType != f[2] {
			t.Errorf("root volume = %+v, want System and fsType %s", v, f[2])
		}
		return
	}
}

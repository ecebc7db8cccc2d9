package local

import (
	"slices"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/cloud"
)

// The QEMU command line follows the spec: firmware, CPUs, memory, disks in
// order with the OS disk first to boot, forwards on the first NIC only,
// stable MACs.
func TestQEMUArgs(t *testing.T) {
	tg, err := New(Options{Dir: t.TempDir(), OVMFCode: "/fw/CODE.fd"})
	if err != nil {
		t.Fatal(err)
	}
	m := vmMeta{
		Spec: cloud.VMSpec{Name: "web01", CPUs: 4, MemoryMiB: 8192, Firmware: cloud.UEFI, OSDisk: "os", DataDisks: []string{"data"},
			NICs: []cloud.NICSpec{{}, {MAC: "52:54:00:00:00:01"}}}.Normalize(),
		Ports: map[string]int{"ssh": 2222, "rdp": 3390},
	}
	args := strings.Join(tg.qemuArgs(m, "kvm"), " ")
	for _, want := range []string{
		"-accel kvm", "-cpu host", "-smp 4", "-m 8192", "-machine q35",
		"if=pflash,format=raw,readonly=on,file=/fw/CODE.fd", "if=pflash,format=raw,file=OVMF_VARS.fd",
		"file=" + tg.diskPath("os") + ",format=raw,if=none,id=disk0", "virtio-blk-pci,drive=disk0,bootindex=1",
		"file=" + tg.diskPath("data") + ",format=raw,if=none,id=disk1", "-device virtio-blk-pci,drive=disk1 ",
		"user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:3390-:3389 ",
		"-netdev user,id=net1 ", "virtio-net-pci,netdev=net1,mac=52:54:00:00:00:01",
		"virtio-net-pci,netdev=net0,mac=" + macFor("web01", 0),
		"-pidfile " + tg.vmFile("web01", "qemu.pid"), "-daemonize",
	} {
		if !strings.Contains(args+" ", want) {
			t.Errorf("args lack %q:\n%s", want, args)
		}
	}
	m.Spec.Firmware = cloud.BIOS
	bios := tg.qemuArgs(m, "tcg")
	if slices.Contains(bios, "if=pflash,format=raw,file=OVMF_VARS.fd") || !slices.Contains(bios, "pc") || !slices.Contains(bios, "max") {
		t.Errorf("BIOS/TCG args: %v", bios)
	}
	if macFor("web01", 0) != macFor("web01", 0) || macFor("web01", 0) == macFor("web01", 1) || macFor("web01", 0) == macFor("web02", 0) {
		t.Error("MACs are not stable per VM and NIC")
	}
}

// An isolated NIC is the same user network with restrict=on: the first
// NIC keeps its forwards, and a NIC not isolated gets no restriction.
func TestQEMUArgsIsolatedNIC(t *testing.T) {
	tg, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m := vmMeta{
		Spec:  cloud.VMSpec{Name: "test-web01", OSDisk: "os", NICs: []cloud.NICSpec{{Isolated: true}, {}, {Isolated: true}}}.Normalize(),
		Ports: map[string]int{"ssh": 2222},
	}
	args := tg.qemuArgs(m, "tcg")
	var netdevs []string
	for i, a := range args {
		if a == "-netdev" && i+1 < len(args) {
			netdevs = append(netdevs, args[i+1])
		}
	}
	want := []string{
		"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22",
		"user,id=net1",
		"user,id=net2,restrict=on",
	}
	if !slices.Equal(netdevs, want) {
		t.Errorf("netdevs:\n got %q\nwant %q", netdevs, want)
	}
}

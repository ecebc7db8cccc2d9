package cloud

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a", "web01", "web01-os_disk.0", "A_", strings.Repeat("x", MaxNameLen)} {
		if err := CheckName("disk", name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "-a", ".a", "_a", "a-", "a.", "a b", "a/b", "é", strings.Repeat("x", MaxNameLen+1)} {
		err := CheckName("disk", name)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "disk name") {
			t.Errorf("CheckName(%q) = %v, want ErrInvalid naming the disk", name, err)
		}
	}
}

func TestRoundSize(t *testing.T) {
	for in, want := range map[int64]int64{1: SizeUnit, SizeUnit: SizeUnit, SizeUnit + 512: 2 * SizeUnit, 0: 0} {
		if got := RoundSize(in); got != want {
			t.Errorf("RoundSize(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCheckRange(t *testing.T) {
	if err := CheckRange("d", 512, 1024, 2048); err != nil {
		t.Error(err)
	}
	for _, r := range [][3]int64{{1, 512, 2048}, {0, 100, 2048}, {1536, 1024, 2048}, {-512, 512, 2048}} {
		if err := CheckRange("d", r[0], r[1], r[2]); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckRange%v = %v, want ErrInvalid", r, err)
		}
	}
}

func TestVMSpecEqual(t *testing.T) {
	a := VMSpec{Name: "vm", OSDisk: "os"}
	b := VMSpec{Name: "vm", OSDisk: "os", CPUs: 1, MemoryMiB: 1024, Firmware: BIOS, NICs: []NICSpec{{}}, DataDisks: []string{}, Tags: map[string]string{}}
	if !a.Equal(b) {
		t.Error("a spec and its normalized form differ")
	}
	for _, c := range []VMSpec{
		{Name: "vm", OSDisk: "os", CPUs: 2},
		{Name: "vm", OSDisk: "os", Firmware: UEFI},
		{Name: "vm", OSDisk: "os", DataDisks: []string{"d"}},
		{Name: "vm", OSDisk: "os", NICs: []NICSpec{{StaticIP: "10.0.0.5"}}},
		{Name: "vm", OSDisk: "os", Tags: map[string]string{"k": "v"}},
	} {
		if a.Equal(c) {
			t.Errorf("%+v equals %+v", a, c)
		}
	}
	if err := CheckVMSpec(VMSpec{Name: "vm", OSDisk: "os", DataDisks: []string{"os"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("OS disk named again as data disk: %v", err)
	}
}

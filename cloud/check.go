package cloud

import (
	"fmt"
	"maps"
	"slices"
)

// MaxNameLen is the longest name CheckName accepts.
const MaxNameLen = 64

// CheckName checks a disk or VM name against the rules every target
// shares: 1 to 64 characters, ASCII letters, digits, '.', '_' and '-',
// starting with a letter or digit and not ending with '.' or '-'. Targets
// may add their own rules. kind ("disk", "VM") goes into the error, which
// wraps ErrInvalid.
func CheckName(kind, name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%s name %q: %s: %w", kind, name, why, ErrInvalid)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > MaxNameLen {
		return bad(fmt.Sprintf("longer than %d characters", MaxNameLen))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return bad("must start with a letter or digit")
			}
		default:
			return bad(fmt.Sprintf("character %q not allowed (use letters, digits, '.', '_', '-')", c))
		}
	}
	if last := name[len(name)-1]; last == '.' || last == '-' {
		return bad("must not end with '.' or '-'")
	}
	return nil
}

// CheckDiskSpec checks a disk spec's name and size; the error wraps
// ErrInvalid.
func CheckDiskSpec(s DiskSpec) error {
	if err := CheckName("disk", s.Name); err != nil {
		return err
	}
	if s.SizeBytes <= 0 || s.SizeBytes%SizeUnit != 0 {
		return fmt.Errorf("disk %s: size %d: must be a positive multiple of %d bytes (use cloud.RoundSize): %w",
			s.Name, s.SizeBytes, SizeUnit, ErrInvalid)
	}
	return nil
}

// CheckRange checks a write of n bytes at off into a disk of size bytes;
// the error wraps ErrInvalid.
func CheckRange(name string, off, n, size int64) error {
	switch {
	case off < 0 || n < 0:
		return fmt.Errorf("disk %s: write of %d bytes at %d: negative: %w", name, n, off, ErrInvalid)
	case off%SectorSize != 0 || n%SectorSize != 0:
		return fmt.Errorf("disk %s: write of %d bytes at %d: not aligned to %d bytes: %w", name, n, off, SectorSize, ErrInvalid)
	case off+n > size:
		return fmt.Errorf("disk %s: write of %d bytes at %d: past the end (%d bytes): %w", name, n, off, size, ErrInvalid)
	}
	return nil
}

// Normalize returns the spec with its defaults filled in (1 CPU, 1024 MiB,
// BIOS, one dynamic NIC), the form targets store and compare.
func (s VMSpec) Normalize() VMSpec {
	if s.CPUs == 0 {
		s.CPUs = 1
	}
	if s.MemoryMiB == 0 {
		s.MemoryMiB = 1024
	}
	if s.Firmware == "" {
		s.Firmware = BIOS
	}
	if len(s.NICs) == 0 {
		s.NICs = []NICSpec{{}}
	}
	if len(s.DataDisks) == 0 {
		s.DataDisks = nil
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	return s
}

// Equal reports whether two specs describe the same VM once normalized.
func (s VMSpec) Equal(o VMSpec) bool {
	a, b := s.Normalize(), o.Normalize()
	return a.Name == b.Name && a.CPUs == b.CPUs && a.MemoryMiB == b.MemoryMiB && a.Size == b.Size &&
		a.Firmware == b.Firmware && a.OSDisk == b.OSDisk && slices.Equal(a.DataDisks, b.DataDisks) &&
		slices.Equal(a.NICs, b.NICs) && maps.Equal(a.Tags, b.Tags)
}

// Disks returns the OS disk followed by the data disks.
func (s VMSpec) Disks() []string {
	return append([]string{s.OSDisk}, s.DataDisks...)
}

// CheckVMSpec checks a VM spec before any call: names, an OS disk, no disk
// named twice, CPUs and memory not negative, a known firmware. The error
// wraps ErrInvalid.
func CheckVMSpec(s VMSpec) error {
	if err := CheckName("VM", s.Name); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("VM %s: %s: %w", s.Name, fmt.Sprintf(format, a...), ErrInvalid)
	}
	if s.OSDisk == "" {
		return bad("no OS disk")
	}
	seen := map[string]bool{}
	for _, d := range s.Disks() {
		if err := CheckName("disk", d); err != nil {
			return fmt.Errorf("VM %s: %w", s.Name, err)
		}
		if seen[d] {
			return bad("disk %s named twice", d)
		}
		seen[d] = true
	}
	if s.CPUs < 0 {
		return bad("%d CPUs", s.CPUs)
	}
	if s.MemoryMiB < 0 {
		return bad("%d MiB of memory", s.MemoryMiB)
	}
	switch s.Firmware {
	case "", BIOS, UEFI:
	default:
		return bad("firmware %q: use %q or %q", s.Firmware, BIOS, UEFI)
	}
	return nil
}

// CheckClone checks the names of a clone of disk from onto disk to, and
// that they differ. The error wraps ErrInvalid and names what is wrong.
func CheckClone(from, to string) error {
	if err := CheckName("disk", from); err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	if err := CheckName("disk", to); err != nil {
		return fmt.Errorf("clone of disk %s: %w", from, err)
	}
	if from == to {
		return fmt.Errorf("clone disk %s onto itself: %w", from, ErrInvalid)
	}
	return nil
}

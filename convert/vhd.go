package convert

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// VHD footer constants (Microsoft's "Virtual Hard Disk Image Format
// Specification", version 1.0).
const (
	// VHDFooterSize is the size of the footer at the end of a VHD.
	VHDFooterSize = 512
	// VHDCreatorApp is the creator application shift writes. "win " is
	// what Hyper-V writes; qemu-img and Azure then take the disk's size
	// from the footer's current size, not from its CHS geometry.
	VHDCreatorApp = "win "
	// VHDCreatorVersion is written as the creator version (10.0, as
	// Hyper-V on Windows Server 2016 and later writes).
	VHDCreatorVersion = 0x000A0000
	// VHDCreatorHostOS is "Wi2k", the Windows host OS code.
	VHDCreatorHostOS = 0x5769326B

	vhdCookie        = "conectix"
	vhdFeatures      = 2 // the reserved bit, always set
	vhdFormatVersion = 0x00010000
	vhdFixedOffset   = ^uint64(0)
	// VHDTypeFixed, VHDTypeDynamic and VHDTypeDifferencing are the disk
	// types of the footer.
	VHDTypeFixed        = 2
	VHDTypeDynamic      = 3
	VHDTypeDifferencing = 4
)

// vhdEpoch is the footer timestamp's zero: 2000-01-01 00:00:00 UTC.
var vhdEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// VHDFooter is the 512-byte footer of a VHD file.
type VHDFooter struct {
	Features       uint32
	FormatVersion  uint32
	DataOffset     uint64 // all ones for a fixed disk
	Timestamp      time.Time
	CreatorApp     string // four characters
	CreatorVersion uint32
	CreatorHostOS  uint32
	OriginalSize   uint64
	CurrentSize    uint64
	Cylinders      uint16
	Heads          uint8
	SectorsPerCyl  uint8 // sectors per track
	DiskType       uint32
	Checksum       uint32 // as stored; MarshalBinary computes it anew
	UniqueID       [16]byte
	SavedState     bool
}

// NewVHDFooter returns the footer of a fixed VHD whose data part is size
// bytes (a whole number of sectors), as Azure accepts it.
func NewVHDFooter(size int64, now time.Time, id [16]byte) VHDFooter {
	c, h, s := VHDGeometry(size)
	return VHDFooter{
		Features:       vhdFeatures,
		FormatVersion:  vhdFormatVersion,
		DataOffset:     vhdFixedOffset,
		Timestamp:      now.UTC().Truncate(time.Second),
		CreatorApp:     VHDCreatorApp,
		CreatorVersion: VHDCreatorVersion,
		CreatorHostOS:  VHDCreatorHostOS,
		OriginalSize:   uint64(size),
		CurrentSize:    uint64(size),
		Cylinders:      c,
		Heads:          h,
		SectorsPerCyl:  s,
		DiskType:       VHDTypeFixed,
		UniqueID:       id,
	}
}

// VHDGeometry computes the CHS geometry of a disk of size bytes with the
// algorithm of the VHD specification's appendix.
func VHDGeometry(size int64) (cylinders uint16, heads, sectorsPerTrack uint8) {
	total := size / 512
	if total > 65535*16*255 {
		total = 65535 * 16 * 255
	}
	var spt, hd, cth int64
	if total >= 65535*16*63 {
		spt, hd = 255, 16
		cth = total / spt
	} else {
		spt = 17
		cth = total / spt
		hd = max((cth+1023)/1024, 4)
		if cth >= hd*1024 || hd > 16 {
			spt, hd = 31, 16
			cth = total / spt
		}
		if cth >= hd*1024 {
			spt, hd = 63, 16
			cth = total / spt
		}
	}
	return uint16(cth / hd), uint8(hd), uint8(spt)
}

// MarshalBinary encodes the footer, with its checksum computed.
func (f VHDFooter) MarshalBinary() ([]byte, error) {
	if len(f.CreatorApp) > 4 {
		return nil, fmt.Errorf("vhd footer: creator application %q is longer than 4 bytes", f.CreatorApp)
	}
	b := make([]byte, VHDFooterSize)
	be := binary.BigEndian
	copy(b[0:8], vhdCookie)
	be.PutUint32(b[8:], f.Features)
	be.PutUint32(b[12:], f.FormatVersion)
	be.PutUint64(b[16:], f.DataOffset)
	ts := f.Timestamp.Sub(vhdEpoch) / time.Second
	if f.Timestamp.IsZero() || ts < 0 {
		ts = 0
	}
	be.PutUint32(b[24:], uint32(ts))
	copy(b[28:32], f.CreatorApp+"\x00\x00\x00\x00")
	be.PutUint32(b[32:], f.CreatorVersion)
	be.PutUint32(b[36:], f.CreatorHostOS)
	be.PutUint64(b[40:], f.OriginalSize)
	be.PutUint64(b[48:], f.CurrentSize)
	be.PutUint16(b[56:], f.Cylinders)
	b[58], b[59] = f.Heads, f.SectorsPerCyl
	be.PutUint32(b[60:], f.DiskType)
	copy(b[68:84], f.UniqueID[:])
	if f.SavedState {
		b[84] = 1
	}
	be.PutUint32(b[64:], vhdChecksum(b))
	return b, nil
}

// vhdChecksum is the one's complement of the sum of the footer's bytes,
// the checksum field counted as zero.
func vhdChecksum(b []byte) uint32 {
	var sum uint32
	for i, c := range b[:VHDFooterSize] {
		if i >= 64 && i < 68 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

// ErrNotVHD is returned by ParseVHDFooter for bytes without the "conectix"
// cookie.
var ErrNotVHD = errors.New("not a VHD footer: no conectix cookie")

// ParseVHDFooter decodes a 512-byte VHD footer and checks what every VHD
// reader checks: the cookie, the checksum, the format version and a known
// disk type. Validate checks what Azure demands on top.
func ParseVHDFooter(b []byte) (*VHDFooter, error) {
	if len(b) < VHDFooterSize {
		return nil, fmt.Errorf("vhd footer: %d bytes, want %d", len(b), VHDFooterSize)
	}
	b = b[:VHDFooterSize]
	if string(b[0:8]) != vhdCookie {
		return nil, ErrNotVHD
	}
	be := binary.BigEndian
	f := &VHDFooter{
		Features:       be.Uint32(b[8:]),
		FormatVersion:  be.Uint32(b[12:]),
		DataOffset:     be.Uint64(b[16:]),
		Timestamp:      vhdEpoch.Add(time.Duration(be.Uint32(b[24:])) * time.Second),
		CreatorApp:     string(b[28:32]),
		CreatorVersion: be.Uint32(b[32:]),
		CreatorHostOS:  be.Uint32(b[36:]),
		OriginalSize:   be.Uint64(b[40:]),
		CurrentSize:    be.Uint64(b[48:]),
		Cylinders:      be.Uint16(b[56:]),
		Heads:          b[58],
		SectorsPerCyl:  b[59],
		DiskType:       be.Uint32(b[60:]),
		Checksum:       be.Uint32(b[64:]),
		SavedState:     b[84] != 0,
	}
	copy(f.UniqueID[:], b[68:84])
	if got := vhdChecksum(b); got != f.Checksum {
		return f, fmt.Errorf("vhd footer: checksum %08x, the bytes sum to %08x", f.Checksum, got)
	}
	if f.FormatVersion>>16 != 1 {
		return f, fmt.Errorf("vhd footer: format version %08x, want 0001xxxx", f.FormatVersion)
	}
	switch f.DiskType {
	case VHDTypeFixed, VHDTypeDynamic, VHDTypeDifferencing:
	default:
		return f, fmt.Errorf("vhd footer: disk type %d is none of fixed (2), dynamic (3), differencing (4)", f.DiskType)
	}
	return f, nil
}

// Validate checks the footer of a file of fileSize bytes against what Azure
// accepts for upload: a fixed disk, data offset all ones, a virtual size of
// a whole number of MiB, the file exactly that size plus the footer, and no
// saved state. It lists every problem it finds.
func (f *VHDFooter) Validate(fileSize int64) error {
	var errs []string
	if f.DiskType != VHDTypeFixed {
		errs = append(errs, fmt.Sprintf("disk type %d: Azure takes only fixed (2) VHDs", f.DiskType))
	}
	if f.DataOffset != vhdFixedOffset {
		errs = append(errs, fmt.Sprintf("data offset %#x: a fixed VHD has all ones", f.DataOffset))
	}
	if f.CurrentSize == 0 || f.CurrentSize%(1<<20) != 0 {
		errs = append(errs, fmt.Sprintf("virtual size %d is not a whole number of MiB", f.CurrentSize))
	}
	if fileSize >= 0 && uint64(fileSize) != f.CurrentSize+VHDFooterSize {
		errs = append(errs, fmt.Sprintf("file is %d bytes, want the virtual size %d plus the %d-byte footer", fileSize, f.CurrentSize, VHDFooterSize))
	}
	if f.SavedState {
		errs = append(errs, "saved state is set")
	}
	if f.Features&vhdFeatures == 0 {
		errs = append(errs, fmt.Sprintf("features %#x: the reserved bit 2 must be set", f.Features))
	}
	if len(errs) > 0 {
		return errors.New("vhd: " + strings.Join(errs, "; "))
	}
	return nil
}

// vhdSize rounds a disk size up to the whole MiB Azure demands.
func vhdSize(size int64) int64 { return (size + (1 << 20) - 1) &^ ((1 << 20) - 1) }

// isZero reports whether b holds only zero bytes. Comparing b with itself
// shifted by one byte lets bytes.Equal's vectorised memcmp do the work.
func isZero(b []byte) bool {
	return len(b) == 0 || (b[0] == 0 && bytes.Equal(b[1:], b[:len(b)-1]))
}

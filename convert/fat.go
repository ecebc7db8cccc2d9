package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/shift-migrate/shift/disk"
)

// bpb is the BIOS parameter block of a FAT boot sector, resolved.
type bpb struct {
	bytesPerSector int64
	sectorsPerClus int64
	reserved       int64 // sectors before the first FAT
	fats           int64
	fatSectors     int64
	rootDirSectors int64
	totalSectors   int64
	dataStart      int64 // first sector of cluster 2
	clusters       int64
	bits           int // 12, 16 or 32
	label, serial  string
}

// parseBPB checks a boot sector for a plausible FAT BPB, with the same
// sanity rules as the kernel's and blkid's: a jump instruction, a power of
// two for the sector and cluster sizes, one or two FATs, and a layout that
// fits the volume.
func parseBPB(b []byte) (*bpb, bool) {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xAA || (b[0] != 0xEB && b[0] != 0xE9) {
		return nil, false
	}
	le16 := func(o int) int64 { return int64(binary.LittleEndian.Uint16(b[o:])) }
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(b[o:])) }
	p := &bpb{
		bytesPerSector: le16(11),
		sectorsPerClus: int64(b[13]),
		reserved:       le16(14),
		fats:           int64(b[16]),
		totalSectors:   le16(19),
		fatSectors:     le16(22),
	}
	rootEntries := le16(17)
	if p.totalSectors == 0 {
		p.totalSectors = le32(32)
	}
	fat32 := p.fatSectors == 0
	if fat32 {
		p.fatSectors = le32(36)
	}
	pow2 := func(n int64) bool { return n > 0 && n&(n-1) == 0 }
	if !pow2(p.bytesPerSector) || p.bytesPerSector < 512 || p.bytesPerSector > 4096 ||
		!pow2(p.sectorsPerClus) || p.reserved == 0 || p.fats < 1 || p.fats > 2 ||
		p.fatSectors == 0 || p.totalSectors == 0 || (b[21] != 0xF0 && b[21] < 0xF8) {
		return nil, false
	}
	p.rootDirSectors = (rootEntries*32 + p.bytesPerSector - 1) / p.bytesPerSector
	p.dataStart = p.reserved + p.fats*p.fatSectors + p.rootDirSectors
	if p.dataStart >= p.totalSectors {
		return nil, false
	}
	p.clusters = (p.totalSectors - p.dataStart) / p.sectorsPerClus
	// As the kernel does: FAT32 when the 16-bit FAT size is zero (small
	// FAT32 volumes exist), else FAT12 or FAT16 by the cluster count.
	switch {
	case fat32:
		p.bits = 32
	case p.clusters < 4085:
		p.bits = 12
	default:
		p.bits = 16
	}
	// The FAT must have room for every cluster.
	if p.fatSectors*p.bytesPerSector*8 < (p.clusters+2)*int64(p.bits) {
		return nil, false
	}
	ext := 36 // extended BPB of FAT12/16
	if fat32 {
		ext = 64
	}
	if b[ext+2] == 0x29 {
		p.serial = fmt.Sprintf("%04X-%04X", binary.LittleEndian.Uint16(b[ext+5:]), binary.LittleEndian.Uint16(b[ext+3:]))
		p.label = cstr(b[ext+7 : ext+18])
		if p.label == "NO NAME" {
			p.label = ""
		}
	}
	return p, true
}

func (p *bpb) filesystem() Filesystem {
	t := map[int]string{12: FSFAT12, 16: FSFAT16, 32: FSFAT32}[p.bits]
	return Filesystem{
		Type:      t,
		Label:     p.label,
		UUID:      p.serial,
		BlockSize: p.bytesPerSector * p.sectorsPerClus,
		Size:      p.totalSectors * p.bytesPerSector,
	}
}

// maxFATBytes bounds the memory fatFree uses: 64 MiB of FAT32 describes
// 16 Mi clusters, a 512 GiB volume with 32 KiB clusters.
const maxFATBytes = 64 << 20

// fatFree reads every copy of the FAT and returns the clusters free in all
// of them as byte ranges relative to the volume's start. The reserved
// sectors, the FATs, the FAT12/16 root directory and any sectors after the
// last whole cluster always count as data.
func fatFree(ctx context.Context, r io.ReaderAt, size int64) ([]disk.Extent, error) {
	boot := make([]byte, 512)
	if _, err := r.ReadAt(boot, 0); err != nil {
		return nil, fmt.Errorf("read boot sector: %w", err)
	}
	p, ok := parseBPB(boot)
	if !ok {
		return nil, untrusted("the boot sector's BPB does not check out")
	}
	if p.totalSectors*p.bytesPerSector > size {
		return nil, untrusted(fmt.Sprintf("the BPB says %d bytes, more than the %d-byte partition", p.totalSectors*p.bytesPerSector, size))
	}
	fatBytes := (p.clusters + 2) * int64(p.bits) / 8
	if p.bits == 12 {
		fatBytes = ((p.clusters+2)*3 + 1) / 2
	}
	if fatBytes > maxFATBytes {
		return nil, untrusted(fmt.Sprintf("a %d-byte FAT is more than shift reads into memory (%d)", fatBytes, maxFATBytes))
	}
	// Clusters are free only if free in every copy: a FAT that differs
	// from its mirror is read the safe way.
	used := make([]bool, p.clusters+2)
	fat := make([]byte, fatBytes+1)
	for i := range p.fats {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		off := (p.reserved + i*p.fatSectors) * p.bytesPerSector
		if _, err := r.ReadAt(fat[:fatBytes], off); err != nil {
			return nil, fmt.Errorf("read FAT %d at byte %d: %w", i+1, off, err)
		}
		for c := int64(2); c < p.clusters+2; c++ {
			if fatEntry(fat, p.bits, c) != 0 {
				used[c] = true
			}
		}
	}
	clus := p.sectorsPerClus * p.bytesPerSector
	out := newRuns(p.dataStart*p.bytesPerSector-2*clus, clus)
	for c := int64(2); c < p.clusters+2; c++ {
		out.add(c, !used[c])
	}
	return out.done(), nil
}

// fatEntry returns entry c of a FAT with the given entry width.
func fatEntry(fat []byte, bits int, c int64) uint32 {
	switch bits {
	case 12:
		o := c * 3 / 2
		v := uint32(fat[o]) | uint32(fat[o+1])<<8
		if c&1 == 1 {
			return v >> 4
		}
		return v & 0xFFF
	case 16:
		return uint32(binary.LittleEndian.Uint16(fat[c*2:]))
	default:
		return binary.LittleEndian.Uint32(fat[c*4:]) & 0x0FFFFFFF
	}
}

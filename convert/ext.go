package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/shift-migrate/shift/disk"
)

// ext2/3/4 feature bits shift looks at.
const (
	extCompatJournal      = 0x4
	extCompatSparseSuper2 = 0x200

	extIncompatFiletype   = 0x2
	extIncompatRecover    = 0x4
	extIncompatJournalDev = 0x8
	extIncompatMetaBG     = 0x10
	extIncompat64bit      = 0x80
	extIncompatCsumSeed   = 0x2000

	extROSparseSuper  = 0x1
	extROLargeFile    = 0x2
	extROBtreeDir     = 0x4
	extROGDTCsum      = 0x10
	extROBigalloc     = 0x200
	extROMetadataCsum = 0x400

	extBGBlockUninit = 0x2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cRaw is the kernel's crc32c(seed, data): no inversion before or
// after, which is how ext4 chains its checksums.
func crc32cRaw(seed uint32, b []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, b)
}

// extSuper holds the superblock fields the allocation map needs.
type extSuper struct {
	blockSize      int64
	blocks         int64
	firstDataBlock int64
	blocksPerGroup int64
	groups         int64
	descSize       int64
	reservedGDT    int64
	firstMetaBG    int64
	compat         uint32
	incompat       uint32
	ro             uint32
	backupBGs      [2]uint32
	csumSeed       uint32
}

func parseExtSuper(sb []byte) (*extSuper, error) {
	if len(sb) < 1024 || binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		return nil, untrusted("no ext superblock")
	}
	le32 := func(o int) uint32 { return binary.LittleEndian.Uint32(sb[o:]) }
	s := &extSuper{
		compat:         le32(0x5C),
		incompat:       le32(0x60),
		ro:             le32(0x64),
		firstDataBlock: int64(le32(0x14)),
		blocksPerGroup: int64(le32(0x20)),
		reservedGDT:    int64(binary.LittleEndian.Uint16(sb[0xCE:])),
		firstMetaBG:    int64(le32(0x104)),
		backupBGs:      [2]uint32{le32(0x24C), le32(0x250)},
		descSize:       32,
	}
	logBS := le32(0x18)
	if logBS > 6 {
		return nil, untrusted(fmt.Sprintf("block size 2^(10+%d) is not a real ext block size", logBS))
	}
	s.blockSize = 1024 << logBS
	s.blocks = int64(le32(0x4))
	if s.incompat&extIncompat64bit != 0 {
		s.blocks |= int64(le32(0x150)) << 32
		s.descSize = int64(binary.LittleEndian.Uint16(sb[0xFE:]))
		if s.descSize < 64 || s.descSize > 1024 || s.descSize&(s.descSize-1) != 0 {
			return nil, untrusted(fmt.Sprintf("group descriptor size %d is invalid", s.descSize))
		}
	}
	switch {
	case s.incompat&extIncompatJournalDev != 0:
		return nil, untrusted("this is an external journal device, not a filesystem")
	case s.incompat&extIncompatRecover != 0:
		return nil, untrusted("the journal needs recovery (the filesystem is mounted or was not unmounted cleanly), so the block bitmaps may be behind it; freeze the filesystem (fsfreeze) to map it")
	case s.ro&extROBigalloc != 0:
		return nil, untrusted("bigalloc (cluster) bitmaps are not read by shift")
	case s.blocksPerGroup == 0 || s.blocksPerGroup > 8*s.blockSize:
		return nil, untrusted(fmt.Sprintf("%d blocks per group cannot be described by a %d-byte bitmap", s.blocksPerGroup, s.blockSize))
	case s.firstDataBlock >= s.blocks:
		return nil, untrusted("the first data block lies past the end of the filesystem")
	}
	s.groups = (s.blocks - s.firstDataBlock + s.blocksPerGroup - 1) / s.blocksPerGroup
	if s.ro&extROMetadataCsum != 0 {
		if s.incompat&extIncompatCsumSeed != 0 {
			s.csumSeed = le32(0x270)
		} else {
			s.csumSeed = crc32cRaw(^uint32(0), sb[0x68:0x78])
		}
		if got, want := crc32cRaw(^uint32(0), sb[:0x3FC]), le32(0x3FC); got != want {
			return nil, untrusted(fmt.Sprintf("superblock checksum %08x does not match %08x", got, want))
		}
	}
	return s, nil
}

// hasSuper reports whether group g holds a superblock backup (and with it a
// copy of the group descriptors and the reserved GDT blocks).
func (s *extSuper) hasSuper(g int64) bool {
	if g == 0 {
		return true
	}
	if s.compat&extCompatSparseSuper2 != 0 {
		return g == int64(s.backupBGs[0]) || g == int64(s.backupBGs[1])
	}
	if g == 1 || s.ro&extROSparseSuper == 0 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	for _, base := range []int64{3, 5, 7} {
		n := base
		for n < g {
			n *= base
		}
		if n == g {
			return true
		}
	}
	return false
}

func (s *extSuper) groupStart(g int64) int64 { return s.firstDataBlock + g*s.blocksPerGroup }

// descBlock returns the block holding group descriptor block i (the kernel's
// descriptor_loc).
func (s *extSuper) descBlock(i int64) int64 {
	perBlock := s.blockSize / s.descSize
	if s.incompat&extIncompatMetaBG == 0 || i < s.firstMetaBG {
		return s.firstDataBlock + 1 + i
	}
	g := i * perBlock
	b := s.groupStart(g)
	if s.hasSuper(g) {
		b++
	}
	return b
}

// extFree reads an ext2/3/4 filesystem's block bitmaps and returns its free
// blocks as byte ranges relative to the filesystem's start. Every group
// whose descriptor or bitmap does not check out counts as fully used.
func extFree(ctx context.Context, r io.ReaderAt, size int64) ([]disk.Extent, error) {
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, 1024); err != nil {
		return nil, fmt.Errorf("read superblock: %w", err)
	}
	s, err := parseExtSuper(sb)
	if err != nil {
		return nil, err
	}
	if s.blocks*s.blockSize > size {
		return nil, untrusted(fmt.Sprintf("the superblock says %d bytes, more than the %d-byte partition", s.blocks*s.blockSize, size))
	}
	perBlock := s.blockSize / s.descSize
	gdtBlocks := (s.groups + perBlock - 1) / perBlock

	// Read every group descriptor.
	descs := make([]byte, gdtBlocks*s.blockSize)
	for i := range gdtBlocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := s.descBlock(i)
		if b >= s.blocks {
			return nil, untrusted(fmt.Sprintf("group descriptor block %d lies outside the filesystem", b))
		}
		if _, err := r.ReadAt(descs[i*s.blockSize:(i+1)*s.blockSize], b*s.blockSize); err != nil {
			return nil, fmt.Errorf("read group descriptors at block %d: %w", b, err)
		}
	}
	type group struct {
		bitmap, inodeBitmap, inodeTable int64
		flags                           uint16
		ok                              bool // descriptor checks out
	}
	inodeTableBlocks := int64(0)
	{
		ipg := int64(binary.LittleEndian.Uint32(sb[0x28:]))
		isz := int64(128)
		if binary.LittleEndian.Uint32(sb[0x4C:]) >= 1 {
			isz = int64(binary.LittleEndian.Uint16(sb[0x58:]))
		}
		inodeTableBlocks = (ipg*isz + s.blockSize - 1) / s.blockSize
	}
	groups := make([]group, s.groups)
	for g := range s.groups {
		d := descs[g*s.descSize : (g+1)*s.descSize]
		lo := func(o int) int64 { return int64(binary.LittleEndian.Uint32(d[o:])) }
		hi := func(o int) int64 {
			if s.descSize >= 64 {
				return int64(binary.LittleEndian.Uint32(d[o:])) << 32
			}
			return 0
		}
		gr := group{
			bitmap:      lo(0x0) | hi(0x20),
			inodeBitmap: lo(0x4) | hi(0x24),
			inodeTable:  lo(0x8) | hi(0x28),
			flags:       binary.LittleEndian.Uint16(d[0x12:]),
			ok:          true,
		}
		if s.ro&extROMetadataCsum != 0 {
			var le [4]byte
			binary.LittleEndian.PutUint32(le[:], uint32(g))
			c := crc32cRaw(s.csumSeed, le[:])
			c = crc32cRaw(c, d[:0x1E])
			c = crc32cRaw(c, []byte{0, 0})
			c = crc32cRaw(c, d[0x20:])
			if uint16(c) != binary.LittleEndian.Uint16(d[0x1E:]) {
				gr.ok = false
			}
		}
		if gr.bitmap < s.firstDataBlock || gr.bitmap >= s.blocks {
			gr.ok = false
		}
		groups[g] = gr
	}

	// Blocks a group descriptor points at are in use whatever a bitmap
	// says; they are sorted into the groups they lie in.
	meta := make([][][2]int64, s.groups) // per group: [start, end) in blocks
	addMeta := func(start, count int64) {
		end := min(start+count, s.blocks)
		for start = max(start, s.firstDataBlock); start < end; {
			g := (start - s.firstDataBlock) / s.blocksPerGroup
			stop := min(end, s.groupStart(g+1))
			meta[g] = append(meta[g], [2]int64{start, stop})
			start = stop
		}
	}
	for _, gr := range groups {
		addMeta(gr.bitmap, 1)
		addMeta(gr.inodeBitmap, 1)
		addMeta(gr.inodeTable, inodeTableBlocks)
	}

	out := newRuns(0, s.blockSize)
	bitmap := make([]byte, s.blockSize)
	for g := range s.groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gr := groups[g]
		first := s.groupStart(g)
		n := min(s.blocksPerGroup, s.blocks-first)
		free := make([]bool, n) // free[i] for block first+i
		switch {
		case !gr.ok:
			// All in use.
		case gr.flags&extBGBlockUninit != 0:
			if s.incompat&extIncompatMetaBG != 0 {
				break // descriptor placement too varied to reconstruct: all in use
			}
			// The bitmap was never written: everything but the group's own
			// superblock copy and GDT is free, less the metadata marked below.
			reserved := int64(0)
			if s.hasSuper(g) {
				reserved = 1 + gdtBlocks + s.reservedGDT
			}
			for i := reserved; i < n; i++ {
				free[i] = true
			}
		default:
			if _, err := r.ReadAt(bitmap, gr.bitmap*s.blockSize); err != nil {
				return nil, fmt.Errorf("read block bitmap of group %d at block %d: %w", g, gr.bitmap, err)
			}
			if s.ro&extROMetadataCsum != 0 && !extBitmapCsumOK(s, descs[g*s.descSize:(g+1)*s.descSize], bitmap) {
				break // all in use
			}
			for i := range n {
				free[i] = bitmap[i/8]&(1<<(i%8)) == 0
			}
		}
		// Metadata wins over any bitmap.
		for _, m := range meta[g] {
			for b := m[0]; b < m[1]; b++ {
				free[b-first] = false
			}
		}
		if s.hasSuper(g) {
			for b := first; b < min(first+1+gdtBlocks+s.reservedGDT, first+n); b++ {
				free[b-first] = false
			}
		}
		for i, f := range free {
			out.add(first+int64(i), f)
		}
	}
	ext := out.done()
	// Block 0 of a 1 KiB-block filesystem (boot sector) lies before group
	// 0; the superblock's own kilobyte is covered by group 0 either way.
	return ext, nil
}

// extBitmapCsumOK checks a block bitmap against its descriptor's checksum.
func extBitmapCsumOK(s *extSuper, d, bitmap []byte) bool {
	c := crc32cRaw(s.csumSeed, bitmap[:s.blocksPerGroup/8])
	want := uint32(binary.LittleEndian.Uint16(d[0x18:]))
	if s.descSize >= 0x3C {
		want |= uint32(binary.LittleEndian.Uint16(d[0x38:])) << 16
		return c == want
	}
	return c&0xFFFF == want
}

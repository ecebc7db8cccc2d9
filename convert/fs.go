package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shift-migrate/shift/disk"
)

// Filesystem types, as Filesystem.Type reports them.
const (
	FSExt2      = "ext2"
	FSExt3      = "ext3"
	FSExt4      = "ext4"
	FSXFS       = "xfs"
	FSFAT12     = "fat12"
	FSFAT16     = "fat16"
	FSFAT32     = "fat32"
	FSNTFS      = "ntfs"
	FSSwap      = "swap"
	FSLVM       = "lvm2_member"
	FSLUKS      = "crypto_luks"
	FSBitLocker = "bitlocker"
)

// Filesystem is what a partition (or a whole disk) holds, as its superblock
// says.
type Filesystem struct {
	// Type is one of the FS constants; empty when nothing was recognised.
	Type string `json:"type,omitempty"`
	// Label is the volume label; empty when there is none.
	Label string `json:"label,omitempty"`
	// UUID is the filesystem's UUID or serial number; empty when it has
	// none.
	UUID string `json:"uuid,omitempty"`
	// BlockSize is the filesystem's allocation unit (block or cluster) in
	// bytes; zero when not known.
	BlockSize int64 `json:"block_size,omitempty"`
	// Size is the filesystem's own size in bytes, which may be less than
	// its partition's; zero when not known.
	Size int64 `json:"size,omitempty"`
	// Mapped is true when the allocation map was read and trusted: the
	// filesystem's free space counts as zero.
	Mapped bool `json:"mapped"`
	// UsedBytes is what the allocation map marks in use (metadata
	// included); zero unless Mapped.
	UsedBytes int64 `json:"used_bytes,omitempty"`
	// MapNote says why the allocation map was not used; empty when Mapped
	// or when the type has no map shift reads.
	MapNote string `json:"map_note,omitempty"`
}

// probeSize covers every signature probe looks at: a swap signature sits at
// the end of the first page, which is at most 64 KiB.
const probeSize = 64 << 10

// probe recognises a filesystem by its magic numbers. It reads the first
// 64 KiB once; a short or failing read just means "not recognised".
func probe(r io.ReaderAt, size int64) Filesystem {
	b := make([]byte, min(probeSize, size))
	n, _ := r.ReadAt(b, 0)
	b = b[:n]
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "LUKS\xba\xbe"):
		fs := Filesystem{Type: FSLUKS}
		if len(b) >= 208 {
			fs.UUID = cstr(b[168:208])
		}
		return fs
	case has(3, "-FVE-FS-"):
		return Filesystem{Type: FSBitLocker}
	case has(3, "NTFS    ") && has(510, "\x55\xaa"):
		bps := int64(binary.LittleEndian.Uint16(b[11:13]))
		spc := clusterSectors(b[13])
		return Filesystem{
			Type:      FSNTFS,
			UUID:      fmt.Sprintf("%016X", binary.LittleEndian.Uint64(b[72:80])),
			BlockSize: bps * spc,
			Size:      int64(binary.LittleEndian.Uint64(b[40:48])) * bps,
		}
	case has(0, "XFSB") && len(b) >= 120:
		bs := int64(binary.BigEndian.Uint32(b[4:8]))
		return Filesystem{
			Type:      FSXFS,
			BlockSize: bs,
			Size:      int64(binary.BigEndian.Uint64(b[8:16])) * bs,
			UUID:      uuidString(b[32:48]),
			Label:     cstr(b[108:120]),
		}
	case has(1080, "\x53\xef"):
		return probeExt(b[1024:])
	}
	for s := 0; s < 4; s++ {
		if has(s*512, "LABELONE") && has(s*512+24, "LVM2 001") {
			fs := Filesystem{Type: FSLVM}
			if len(b) >= s*512+64 {
				fs.UUID = string(b[s*512+32 : s*512+64])
			}
			return fs
		}
	}
	for page := 4096; page <= probeSize; page *= 2 {
		if has(page-10, "SWAPSPACE2") || has(page-10, "SWAP-SPACE") {
			fs := Filesystem{Type: FSSwap, BlockSize: int64(page)}
			if len(b) >= 1024+16+16+16 {
				last := int64(binary.LittleEndian.Uint32(b[1024+4 : 1024+8]))
				fs.Size = (last + 1) * int64(page)
				fs.UUID = uuidString(b[1024+12 : 1024+28])
				fs.Label = cstr(b[1024+28 : 1024+44])
			}
			return fs
		}
	}
	if fat, ok := parseBPB(b); ok {
		return fat.filesystem()
	}
	return Filesystem{}
}

// probeExt names ext2, ext3 or ext4 the way blkid does: ext4 when it has
// features ext3 lacks, ext3 when it has a journal.
func probeExt(sb []byte) Filesystem {
	if len(sb) < 0x100 {
		return Filesystem{Type: FSExt2}
	}
	compat := binary.LittleEndian.Uint32(sb[0x5C:])
	incompat := binary.LittleEndian.Uint32(sb[0x60:])
	ro := binary.LittleEndian.Uint32(sb[0x64:])
	t := FSExt2
	switch {
	case incompat&^(extIncompatFiletype|extIncompatRecover|extIncompatMetaBG) != 0 || ro&^(extROSparseSuper|extROLargeFile|extROBtreeDir) != 0:
		t = FSExt4
	case compat&extCompatJournal != 0:
		t = FSExt3
	}
	fs := Filesystem{Type: t, UUID: uuidString(sb[0x68:0x78]), Label: cstr(sb[0x78:0x88])}
	if log := binary.LittleEndian.Uint32(sb[0x18:]); log <= 6 {
		fs.BlockSize = 1024 << log
		blocks := int64(binary.LittleEndian.Uint32(sb[0x4:]))
		if incompat&extIncompat64bit != 0 && len(sb) >= 0x154 {
			blocks |= int64(binary.LittleEndian.Uint32(sb[0x150:])) << 32
		}
		fs.Size = blocks * fs.BlockSize
	}
	return fs
}

// allocationMap returns the byte ranges (relative to the filesystem's
// start) that the filesystem's allocation map marks free, and sets
// fs.Mapped and fs.UsedBytes. A filesystem whose map shift cannot trust
// returns no ranges and a note saying why; only I/O errors and a canceled
// context are errors.
func allocationMap(ctx context.Context, r io.ReaderAt, size int64, fs *Filesystem) ([]disk.Extent, string, error) {
	var (
		free []disk.Extent
		err  error
	)
	switch fs.Type {
	case FSExt2, FSExt3, FSExt4:
		free, err = extFree(ctx, r, size)
	case FSFAT12, FSFAT16, FSFAT32:
		free, err = fatFree(ctx, r, size)
	case FSNTFS:
		free, err = ntfsFree(ctx, r, size, fs)
	case FSSwap:
		return nil, "", nil // swap has no map; its contents move as they are
	default:
		return nil, "", nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		var u untrusted
		if errors.As(err, &u) {
			return nil, string(u) + "; the whole filesystem is copied", nil
		}
		return nil, "", err
	}
	fs.Mapped = true
	var freeBytes int64
	for _, e := range free {
		freeBytes += e.Length
	}
	limit := size
	if fs.Size > 0 && fs.Size < size {
		limit = fs.Size
	}
	fs.UsedBytes = max(0, limit-freeBytes)
	return free, "", nil
}

// untrusted is the error of an allocation map that was read but is not to
// be trusted (a journal to replay, a checksum that does not match, a
// feature shift does not know).
type untrusted string

func (u untrusted) Error() string { return string(u) }

// runs turns a free/used bitmap walk into byte ranges: add(i, free) is
// called for units in order, and the ranges of free units come back merged.
type runs struct {
	unit, base int64
	out        []disk.Extent
	start      int64 // first free unit of the open run, or -1
	count      int64
}

func newRuns(base, unit int64) *runs { return &runs{unit: unit, base: base, start: -1} }

func (r *runs) add(i int64, free bool) {
	switch {
	case free && r.start >= 0 && r.start+r.count == i:
		r.count++
	case free:
		r.flush()
		r.start, r.count = i, 1
	default:
		r.flush()
	}
}

func (r *runs) flush() {
	if r.start >= 0 && r.count > 0 {
		r.out = append(r.out, disk.Extent{Offset: r.base + r.start*r.unit, Length: r.count * r.unit})
	}
	r.start, r.count = -1, 0
}

func (r *runs) done() []disk.Extent { r.flush(); return r.out }

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " ")
}

func uuidString(b []byte) string {
	if len(b) != 16 || bytes.Count(b, []byte{0}) == 16 {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

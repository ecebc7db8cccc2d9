package convert

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"

	"github.com/shift-migrate/shift/disk"
)

// readTable fills l.Table, l.DiskID, l.SectorSize and l.Partitions.
func readTable(ctx context.Context, r *cachedReader, size int64, l *Layout) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, ss := range []int{512, 4096} {
		if size < int64(ss)*3 {
			continue
		}
		// go-diskfs checks the GPT header's and the entry array's CRC and
		// falls back to the backup GPT at the end of the disk.
		hdr := make([]byte, 8)
		if _, err := r.ReadAt(hdr, int64(ss)); err != nil {
			return fmt.Errorf("read GPT header: %w", err)
		}
		if string(hdr) != "EFI PART" {
			continue
		}
		t, err := gpt.Read(r.file(), ss, ss)
		if err != nil {
			l.Notes = append(l.Notes, fmt.Sprintf("a GPT signature at sector 1 (%d-byte sectors) but the table does not read: %v", ss, err))
			continue
		}
		l.Table, l.SectorSize, l.DiskID = TableGPT, int64(ss), strings.ToUpper(t.GUID)
		if t.RecoveredFromBackup {
			l.Notes = append(l.Notes, "the primary GPT is damaged; the table was read from the backup GPT at the end of the disk")
		}
		if !t.ProtectiveMBR {
			l.Notes = append(l.Notes, "the GPT has no protective MBR")
		}
		for _, p := range t.Partitions {
			if p.Type == gpt.Unused {
				continue
			}
			typ := strings.ToUpper(string(p.Type))
			l.Partitions = append(l.Partitions, Partition{
				Number:     p.Index,
				Offset:     int64(p.Start) * int64(ss),
				Length:     int64(p.Size),
				Type:       typ,
				TypeName:   gptTypeNames[typ],
				Name:       p.Name,
				GUID:       strings.ToUpper(p.GUID),
				Attributes: p.Attributes,
			})
		}
		return nil
	}

	sector := make([]byte, 512)
	if _, err := r.ReadAt(sector, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read MBR: %w", err)
	}
	parts, id, ok := parseMBR(sector, size)
	if ok {
		logical, notes, err := readEBRChain(r, parts, size)
		if err != nil {
			return err
		}
		l.Notes = append(l.Notes, notes...)
		l.Table, l.DiskID = TableMBR, id
		for _, p := range parts {
			if !isExtended(p.typ) {
				l.Partitions = append(l.Partitions, p.partition())
			}
		}
		for _, p := range logical {
			l.Partitions = append(l.Partitions, p.partition())
		}
		l.Notes = append(l.Notes, crossCheckMBR(r, parts)...)
		return nil
	}
	l.Table = TableNone
	return nil
}

// mbrEntry is one 16-byte MBR (or EBR) partition entry, with its LBA fields
// resolved to absolute 512-byte sectors.
type mbrEntry struct {
	number   int
	status   byte
	typ      byte
	start    uint64 // absolute first sector
	sectors  uint64
	entryRel uint32 // the raw LBA field, relative to its table
}

func (e mbrEntry) partition() Partition {
	t := fmt.Sprintf("0x%02x", e.typ)
	return Partition{
		Number:   e.number,
		Offset:   int64(e.start) * 512,
		Length:   int64(e.sectors) * 512,
		Type:     t,
		TypeName: mbrTypeNames[e.typ],
		Bootable: e.status == 0x80,
	}
}

func isExtended(t byte) bool { return t == 0x05 || t == 0x0f || t == 0x85 }

// parseMBR reads the four primary entries of a DOS partition table. It is
// our own parser, not go-diskfs's: the entries' LBA start and size are
// 32-bit sector numbers, which become bytes only as 64-bit values. ok is
// false when the sector is no partition table: no 55 AA signature, a status
// byte other than 0x00 or 0x80 (a filesystem's boot sector has code there),
// entries outside a 2 TiB-sector range, or overlapping primaries.
func parseMBR(b []byte, size int64) (parts []mbrEntry, diskID string, ok bool) {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xAA {
		return nil, "", false
	}
	for i := range 4 {
		e := b[446+16*i : 446+16*(i+1)]
		status, typ := e[0], e[4]
		start := binary.LittleEndian.Uint32(e[8:12])
		n := binary.LittleEndian.Uint32(e[12:16])
		if status != 0 && status != 0x80 {
			return nil, "", false
		}
		if typ == 0 || n == 0 {
			continue
		}
		if typ == 0xEE {
			// A protective MBR whose GPT did not read: not a DOS table.
			return nil, "", false
		}
		if start == 0 {
			return nil, "", false
		}
		parts = append(parts, mbrEntry{number: i + 1, status: status, typ: typ, start: uint64(start), sectors: uint64(n), entryRel: start})
	}
	if len(parts) == 0 {
		return nil, "", false
	}
	s := append([]mbrEntry(nil), parts...)
	sort.Slice(s, func(i, j int) bool { return s[i].start < s[j].start })
	for i := 1; i < len(s); i++ {
		if s[i].start < s[i-1].start+s[i-1].sectors {
			return nil, "", false
		}
	}
	return parts, fmt.Sprintf("0x%08x", binary.LittleEndian.Uint32(b[440:444])), true
}

// maxLogical bounds the EBR chain: a loop in a damaged chain must end.
const maxLogical = 128

// readEBRChain follows the extended partition's chain of EBRs and returns
// the logical partitions, numbered from 5.
func readEBRChain(r io.ReaderAt, primaries []mbrEntry, size int64) ([]mbrEntry, []string, error) {
	var ext *mbrEntry
	for i := range primaries {
		if isExtended(primaries[i].typ) {
			ext = &primaries[i]
			break
		}
	}
	if ext == nil {
		return nil, nil, nil
	}
	var out []mbrEntry
	var notes []string
	seen := map[uint64]bool{}
	b := make([]byte, 512)
	ebr := ext.start
	for n := 5; ; n++ {
		if n-5 >= maxLogical || seen[ebr] {
			notes = append(notes, fmt.Sprintf("the extended partition's EBR chain loops or exceeds %d entries; stopped at partition %d", maxLogical, n-1))
			break
		}
		seen[ebr] = true
		if int64(ebr)*512+512 > size {
			notes = append(notes, fmt.Sprintf("an EBR at sector %d lies past the end of the disk", ebr))
			break
		}
		if _, err := r.ReadAt(b, int64(ebr)*512); err != nil {
			return nil, nil, fmt.Errorf("read EBR at sector %d: %w", ebr, err)
		}
		if b[510] != 0x55 || b[511] != 0xAA {
			notes = append(notes, fmt.Sprintf("the EBR at sector %d has no 55 AA signature; logical partitions after it are not read", ebr))
			break
		}
		first, second := b[446:462], b[462:478]
		if typ, cnt := first[4], binary.LittleEndian.Uint32(first[12:16]); typ != 0 && cnt != 0 {
			rel := binary.LittleEndian.Uint32(first[8:12])
			out = append(out, mbrEntry{number: n, status: first[0], typ: typ, start: ebr + uint64(rel), sectors: uint64(cnt), entryRel: rel})
		}
		next := binary.LittleEndian.Uint32(second[8:12])
		if second[4] == 0 || next == 0 {
			break
		}
		ebr = ext.start + uint64(next)
	}
	return out, notes, nil
}

// crossCheckMBR compares our primary entries with go-diskfs's reading of the
// same sector. A difference is reported, and ours is used: go-diskfs
// computes some byte offsets in 32 bits, which wraps past 4 GiB.
func crossCheckMBR(r *cachedReader, ours []mbrEntry) []string {
	t, err := mbr.Read(r.file(), 512, 512)
	if err != nil {
		return []string{fmt.Sprintf("go-diskfs does not read this MBR (%v); shift's own reading is used", err)}
	}
	var notes []string
	for _, e := range ours {
		for _, p := range t.Partitions {
			if p.Index != e.number {
				continue
			}
			if p.GetStart() != int64(e.start)*512 || p.GetSize() != int64(e.sectors)*512 {
				notes = append(notes, fmt.Sprintf("partition %d: go-diskfs reads start %d size %d, the table says %d and %d; the table's values are used", e.number, p.GetStart(), p.GetSize(), e.start*512, e.sectors*512))
			}
		}
	}
	return notes
}

// cachedReader reads a source in 1 MiB blocks and keeps the last few:
// go-diskfs reads partition tables 512 bytes at a time, which over a slow
// source (an agent stream) would cost a round trip each.
type cachedReader struct {
	src  io.ReaderAt
	size int64

	mu     sync.Mutex
	blocks map[int64][]byte
	order  []int64
}

const (
	cacheBlock  = 1 << 20
	cacheBlocks = 8
)

func newCachedReader(src io.ReaderAt, size int64) *cachedReader {
	return &cachedReader{src: src, size: size, blocks: map[int64][]byte{}}
}

// ReadAt reads through the cache for small reads and directly for big ones.
func (c *cachedReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: negative offset", off)
	}
	if off >= c.size {
		return 0, io.EOF
	}
	if len(p) >= cacheBlock {
		n, err := c.src.ReadAt(p[:min(int64(len(p)), c.size-off)], off)
		if err == nil && n < len(p) {
			err = io.EOF
		}
		return n, err
	}
	done := 0
	for done < len(p) && off+int64(done) < c.size {
		pos := off + int64(done)
		blk, err := c.block(pos / cacheBlock * cacheBlock)
		if err != nil {
			return done, err
		}
		done += copy(p[done:], blk[pos%cacheBlock:])
	}
	if done < len(p) {
		return done, io.EOF
	}
	return done, nil
}

func (c *cachedReader) block(start int64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.blocks[start]; ok {
		return b, nil
	}
	b := make([]byte, min(cacheBlock, c.size-start))
	n, err := c.src.ReadAt(b, start)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return nil, fmt.Errorf("read at %d: %w", start, err)
	}
	if len(c.order) >= cacheBlocks {
		delete(c.blocks, c.order[0])
		c.order = c.order[1:]
	}
	c.blocks[start] = b
	c.order = append(c.order, start)
	return b, nil
}

// file adapts the reader to go-diskfs's backend.File (read-only).
func (c *cachedReader) file() *tableFile { return &tableFile{r: c} }

type tableFile struct {
	r   *cachedReader
	pos int64
}

func (f *tableFile) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }
func (f *tableFile) Read(p []byte) (int, error) {
	n, err := f.r.ReadAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}
func (f *tableFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += f.pos
	case io.SeekEnd:
		off += f.r.size
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if off < 0 {
		return 0, fmt.Errorf("seek to %d: negative offset", off)
	}
	f.pos = off
	return off, nil
}
func (f *tableFile) Close() error               { return nil }
func (f *tableFile) Stat() (fs.FileInfo, error) { return tableInfo{size: f.r.size}, nil }

type tableInfo struct{ size int64 }

func (i tableInfo) Name() string       { return "disk" }
func (i tableInfo) Size() int64        { return i.size }
func (i tableInfo) Mode() fs.FileMode  { return 0o444 }
func (i tableInfo) ModTime() time.Time { return time.Time{} }
func (i tableInfo) IsDir() bool        { return false }
func (i tableInfo) Sys() any           { return nil }

func sortExtents(e []disk.Extent) {
	sort.Slice(e, func(i, j int) bool { return e[i].Offset < e[j].Offset })
}

// Well-known partition types, for people reading the layout.
var gptTypeNames = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": "Linux RAID",
	"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "Linux root (x86-64)",
	"BC13C2FF-59E6-4262-A352-B275FD6F7172": "Linux extended boot",
	"CA7D7CCB-63ED-4C53-861C-1742536059CC": "Linux LUKS",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
	"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC": "Windows recovery",
	"5808C8AA-7E8F-42E0-85D2-E1E90434CFB3": "Windows LDM metadata",
	"AF9B60A0-1431-4F62-BC68-3311714A69AD": "Windows LDM data",
	"E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D": "Windows storage spaces",
}

var mbrTypeNames = map[byte]string{
	0x01: "FAT12", 0x04: "FAT16 <32M", 0x05: "Extended", 0x06: "FAT16",
	0x07: "HPFS/NTFS/exFAT", 0x0b: "W95 FAT32", 0x0c: "W95 FAT32 (LBA)",
	0x0e: "W95 FAT16 (LBA)", 0x0f: "W95 Extended (LBA)", 0x27: "Hidden NTFS WinRE",
	0x82: "Linux swap", 0x83: "Linux", 0x85: "Linux extended", 0x8e: "Linux LVM",
	0xef: "EFI (FAT-12/16/32)", 0xfd: "Linux raid autodetect",
}

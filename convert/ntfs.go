package convert

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"

	"github.com/shift-migrate/shift/disk"
)

// clusterSectors decodes the boot sector's sectors-per-cluster byte: values
// above 0x80 mean 2^(256-v) (clusters of 64 KiB and more).
func clusterSectors(v byte) int64 {
	if v > 0x80 {
		return 1 << (256 - int(v))
	}
	return int64(v)
}

// NTFS metadata file records and attributes shift reads.
const (
	ntfsMFTVolume       = 3
	ntfsMFTBitmap       = 6
	ntfsAttrVolumeName  = 0x60
	ntfsAttrVolumeInfo  = 0x70
	ntfsAttrData        = 0x80
	ntfsVolumeDirty     = 0x0001
	ntfsBitmapChunk     = 1 << 20
	ntfsPagedReaderPage = 4096
	ntfsPagedReaderSize = 1024
)

// ntfsFree reads the volume's $Bitmap (MFT record 6) with go-ntfs and
// returns the free clusters as byte ranges relative to the volume's start.
// It also sets fs.Label from $Volume's name. A volume marked dirty is not mapped: its log may hold allocations the
// bitmap does not show yet.
func ntfsFree(ctx context.Context, r io.ReaderAt, size int64, fs *Filesystem) (free []disk.Extent, err error) {
	defer func() {
		// go-ntfs parses with panics on some malformed input; a volume it
		// cannot parse is copied whole.
		if p := recover(); p != nil {
			free, err = nil, untrusted(fmt.Sprintf("go-ntfs could not parse the volume (%v)", p))
		}
	}()
	boot := make([]byte, 512)
	if _, err := r.ReadAt(boot, 0); err != nil {
		return nil, fmt.Errorf("read boot sector: %w", err)
	}
	bps := int64(binary.LittleEndian.Uint16(boot[11:]))
	cs := bps * clusterSectors(boot[13])
	if bps < 256 || bps > 4096 || bps&(bps-1) != 0 || cs <= 0 || cs > 2<<20 {
		return nil, untrusted(fmt.Sprintf("boot sector: %d-byte sectors and %d-byte clusters are not a real NTFS layout", bps, cs))
	}
	volBytes := int64(binary.LittleEndian.Uint64(boot[40:])) * bps
	if volBytes <= 0 || volBytes > size {
		return nil, untrusted(fmt.Sprintf("the boot sector says %d bytes, the partition has %d", volBytes, size))
	}
	clusters := volBytes / cs
	mftCluster := int64(binary.LittleEndian.Uint64(boot[48:]))

	paged, err := ntfs.NewPagedReader(r, ntfsPagedReaderPage, ntfsPagedReaderSize)
	if err != nil {
		return nil, err
	}
	nc, err := ntfs.GetNTFSContext(paged, 0)
	if err != nil {
		return nil, untrusted(fmt.Sprintf("go-ntfs: %v", err))
	}
	defer nc.Close()

	vol, err := nc.GetMFT(ntfsMFTVolume)
	if err != nil {
		return nil, untrusted(fmt.Sprintf("read $Volume: %v", err))
	}
	if name, err := ntfs.OpenStream(nc, vol, ntfsAttrVolumeName, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME); err == nil {
		b := make([]byte, 256)
		n, _ := name.ReadAt(b, 0)
		fs.Label = utf16String(b[:n])
	}
	info, err := ntfs.OpenStream(nc, vol, ntfsAttrVolumeInfo, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME)
	if err != nil {
		return nil, untrusted(fmt.Sprintf("read $Volume's information: %v", err))
	}
	vi := make([]byte, 12)
	if n, _ := info.ReadAt(vi, 0); n < len(vi) {
		return nil, untrusted("$Volume's information is too short")
	}
	if binary.LittleEndian.Uint16(vi[10:])&ntfsVolumeDirty != 0 {
		return nil, untrusted("the volume is marked dirty (chkdsk pending, or not shut down cleanly), so $Bitmap may be behind its log; run chkdsk, or copy from a VSS snapshot")
	}

	bm, err := nc.GetMFT(ntfsMFTBitmap)
	if err != nil {
		return nil, untrusted(fmt.Sprintf("read $Bitmap's file record: %v", err))
	}
	stream, err := ntfs.OpenStream(nc, bm, ntfsAttrData, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME)
	if err != nil {
		return nil, untrusted(fmt.Sprintf("open $Bitmap: %v", err))
	}
	out := newRuns(0, cs)
	buf := make([]byte, ntfsBitmapChunk)
	need := (clusters + 7) / 8
	for off := int64(0); off < need; off += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := buf[:min(int64(len(buf)), need-off)]
		n, err := stream.ReadAt(chunk, off)
		if n < len(chunk) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, untrusted(fmt.Sprintf("$Bitmap: read %d of %d bytes at %d: %v", n, len(chunk), off, err))
		}
		for i := range int64(len(chunk)) * 8 {
			c := off*8 + i
			if c >= clusters {
				break
			}
			out.add(c, chunk[i/8]&(1<<(i%8)) == 0)
		}
		if off == 0 && (chunk[0]&1 == 0 || mftCluster >= clusters || !bitSet(stream, chunk, mftCluster)) {
			return nil, untrusted("$Bitmap marks the boot sector or the MFT free, so it cannot be right")
		}
	}
	return out.done(), nil
}

// bitSet reports whether cluster c is marked used, reading the bitmap byte
// from first (the first chunk) or from the stream.
func bitSet(stream io.ReaderAt, first []byte, c int64) bool {
	var b byte
	if c/8 < int64(len(first)) {
		b = first[c/8]
	} else {
		one := []byte{0}
		if n, _ := stream.ReadAt(one, c/8); n != 1 {
			return false
		}
		b = one[0]
	}
	return b&(1<<(c%8)) != 0
}

// utf16String decodes little-endian UTF-16, as NTFS stores names.
func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

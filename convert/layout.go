package convert

import (
	"context"
	"fmt"
	"io"

	"github.com/shift-migrate/shift/disk"
)

// Table kinds, as Layout.Table reports them.
const (
	TableGPT  = "gpt"  // GUID partition table (with its protective MBR)
	TableMBR  = "mbr"  // DOS partition table, logical partitions included
	TableNone = "none" // no partition table: a filesystem on the whole disk, or nothing
)

// Layout is what Inspect found on a disk.
type Layout struct {
	// Size is the disk's size in bytes.
	Size int64 `json:"size"`
	// SectorSize is the logical sector size the table was found with (512
	// or 4096).
	SectorSize int64 `json:"sector_size"`
	// Table is TableGPT, TableMBR or TableNone.
	Table string `json:"table"`
	// DiskID is the GPT disk GUID or the MBR disk signature (hex); empty
	// without a table.
	DiskID string `json:"disk_id,omitempty"`
	// Partitions in table order; logical MBR partitions are numbered from 5
	// as Linux does.
	Partitions []Partition `json:"partitions,omitempty"`
	// Whole is the filesystem on the whole disk when Table is TableNone;
	// nil when the disk holds none that Inspect recognises (an empty disk).
	Whole *Filesystem `json:"whole_disk_filesystem,omitempty"`
	// Extents cover the disk in order: data, or known to be zero (a hole in
	// the image, or space a filesystem's allocation map marks free).
	Extents []disk.Extent `json:"extents"`
	// DataBytes is the sum of the data extents: what a copy must read.
	DataBytes int64 `json:"data_bytes"`
	// Notes are things a migration engineer should know: a GPT recovered
	// from its backup, a filesystem whose map was not trusted, and why.
	Notes []string `json:"notes,omitempty"`
}

// Partition is one entry of the partition table.
type Partition struct {
	// Number is the partition's number as Linux names it: 1-128 for GPT,
	// 1-4 for primary and 5 up for logical MBR partitions.
	Number int `json:"number"`
	// Offset and Length are the partition's byte range on the disk.
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	// Type is the GPT type GUID (upper case) or the MBR type byte ("0x83").
	Type string `json:"type"`
	// TypeName names well-known types ("EFI System", "Linux swap"); empty
	// when the type is not known.
	TypeName string `json:"type_name,omitempty"`
	// Name is the GPT partition name; empty for MBR.
	Name string `json:"name,omitempty"`
	// GUID is the GPT partition GUID; empty for MBR.
	GUID string `json:"guid,omitempty"`
	// Attributes are the GPT attribute bits; zero for MBR.
	Attributes uint64 `json:"attributes,omitempty"`
	// Bootable is the MBR active flag.
	Bootable bool `json:"bootable,omitempty"`
	// Filesystem is what the partition holds; its Type is empty when
	// Inspect does not recognise it.
	Filesystem Filesystem `json:"filesystem"`
}

// End returns the offset just past the partition.
func (p Partition) End() int64 { return p.Offset + p.Length }

// Inspect reads the partition table and the filesystems of src and builds
// its extent map. It only reads. What it cannot read with certainty counts
// as data: a wrong "zero" would lose data, a wrong "data" only costs time.
func Inspect(ctx context.Context, src disk.Source) (*Layout, error) {
	size := src.Size()
	l := &Layout{Size: size, SectorSize: 512}
	if size == 0 {
		l.Table = TableNone
		l.Extents = []disk.Extent{}
		return l, nil
	}
	r := newCachedReader(src, size)
	if err := readTable(ctx, r, size, l); err != nil {
		return nil, err
	}
	// The map starts from the source's own: holes in an image are zero.
	base, err := src.Extents(ctx)
	if err != nil {
		return nil, err
	}
	zero := []disk.Extent{}
	for _, e := range base {
		if !e.Data {
			zero = append(zero, e)
		}
	}
	probeOne := func(off, length int64, where string) (Filesystem, error) {
		sec := io.NewSectionReader(r, off, length)
		fs := probe(sec, length)
		if fs.Type == "" {
			return fs, nil
		}
		free, note, err := allocationMap(ctx, sec, length, &fs)
		if err != nil {
			return fs, fmt.Errorf("%s: %s: %w", where, fs.Type, err)
		}
		if note != "" {
			fs.MapNote = note
			l.Notes = append(l.Notes, fmt.Sprintf("%s (%s): %s", where, fs.Type, note))
		}
		for _, e := range free {
			zero = append(zero, disk.Extent{Offset: off + e.Offset, Length: e.Length})
		}
		return fs, nil
	}
	for i := range l.Partitions {
		p := &l.Partitions[i]
		if p.Offset >= size || p.Length <= 0 {
			continue
		}
		if p.End() > size {
			l.Notes = append(l.Notes, fmt.Sprintf("partition %d ends %d bytes past the end of the disk; only the part on the disk is read", p.Number, p.End()-size))
		}
		fs, err := probeOne(p.Offset, min(p.Length, size-p.Offset), fmt.Sprintf("partition %d", p.Number))
		if err != nil {
			return nil, err
		}
		p.Filesystem = fs
	}
	if l.Table == TableNone {
		fs, err := probeOne(0, size, "whole disk")
		if err != nil {
			return nil, err
		}
		if fs.Type != "" {
			l.Whole = &fs
		}
	}
	l.Extents = overlayZero(size, zero)
	l.DataBytes = disk.DataBytes(l.Extents)
	return l, nil
}

// overlayZero returns extents covering [0, size): zero where any of the
// zero ranges says so, data elsewhere.
func overlayZero(size int64, zero []disk.Extent) []disk.Extent {
	in := make([]disk.Extent, 0, len(zero))
	for _, z := range zero {
		z.Data = false
		in = append(in, z)
	}
	// Normalize fills gaps with data; overlapping zero ranges merge.
	sortExtents(in)
	merged := in[:0]
	for _, z := range in {
		if n := len(merged); n > 0 && z.Offset <= merged[n-1].End() {
			if z.End() > merged[n-1].End() {
				merged[n-1].Length = z.End() - merged[n-1].Offset
			}
			continue
		}
		merged = append(merged, z)
	}
	return disk.Normalize(merged, size)
}

package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/shift-migrate/shift/disk"
)

func mbrSector(entries ...[4]uint32) []byte {
	b := make([]byte, 512)
	for i, e := range entries {
		o := 446 + 16*i
		b[o] = byte(e[0])
		b[o+4] = byte(e[1])
		binary.LittleEndian.PutUint32(b[o+8:], e[2])
		binary.LittleEndian.PutUint32(b[o+12:], e[3])
	}
	b[510], b[511] = 0x55, 0xAA
	return b
}

// TestParseMBRPast4GiB: sector numbers whose byte offsets need more than 32
// bits, up to the format's 2 TiB limit.
func TestParseMBRPast4GiB(t *testing.T) {
	b := mbrSector([4]uint32{0x80, 0x83, 2048, 8388608}, [4]uint32{0, 0x07, 0xF0000000, 0x0FFFFFFF})
	parts, _, ok := parseMBR(b, 1<<42)
	if !ok || len(parts) != 2 {
		t.Fatalf("parseMBR: %v %v", parts, ok)
	}
	p := parts[1].partition()
	if p.Offset != 0xF0000000*512 || p.Length != 0x0FFFFFFF*512 || p.Type != "0x07" || p.TypeName != "HPFS/NTFS/exFAT" {
		t.Fatalf("partition 2: %+v", p)
	}
	if !parts[0].partition().Bootable {
		t.Fatal("active flag lost")
	}
}

func TestParseMBRRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"no signature": func() []byte { b := mbrSector([4]uint32{0, 0x83, 2048, 100}); b[511] = 0; return b }(),
		"bad status":   mbrSector([4]uint32{0x12, 0x83, 2048, 100}),
		"overlap":      mbrSector([4]uint32{0, 0x83, 2048, 100}, [4]uint32{0, 0x83, 2100, 100}),
		"protective":   mbrSector([4]uint32{0, 0xEE, 1, 0xFFFFFFFF}),
		"empty":        mbrSector(),
		"start zero":   mbrSector([4]uint32{0, 0x83, 0, 100}),
	} {
		if _, _, ok := parseMBR(b, 1<<30); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestVHDGeometry checks the CHS algorithm against values worked by hand
// from the specification's appendix.
func TestVHDGeometry(t *testing.T) {
	for _, c := range []struct {
		size   int64
		c      uint16
		h, spt uint8
	}{
		{1 << 20, 30, 4, 17},        // 2048 sectors
		{127 << 20, 1019, 15, 17},   // 260096 sectors
		{1 << 30, 2080, 16, 63},     // 2097152 sectors
		{127 << 30, 65278, 16, 255}, // 266338304 sectors
		{3 << 40, 65535, 16, 255},   // past the cap
		{32 << 30, 16448, 16, 255},  // 67108864 sectors
	} {
		cyl, h, s := VHDGeometry(c.size)
		if cyl != c.c || h != c.h || s != c.spt {
			t.Errorf("VHDGeometry(%d) = %d/%d/%d, want %d/%d/%d", c.size, cyl, h, s, c.c, c.h, c.spt)
		}
	}
}

func TestVHDFooterRoundTrip(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f := NewVHDFooter(10<<20, now, [16]byte{1, 2, 3})
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[28:32]) != "win " || string(b[36:40]) != "Wi2k" || binary.BigEndian.Uint32(b[60:]) != 2 {
		t.Fatalf("footer bytes: %q", b[:96])
	}
	g, err := ParseVHDFooter(b)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Timestamp.Equal(now) || g.CurrentSize != 10<<20 || g.UniqueID != f.UniqueID {
		t.Fatalf("round trip: %+v", g)
	}
	if err := g.Validate(10<<20 + 512); err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(10 << 20); err == nil {
		t.Fatal("Validate accepted a file without room for the footer")
	}
	b[100] ^= 1
	if _, err := ParseVHDFooter(b); err == nil {
		t.Fatal("a changed byte passed the checksum")
	}
	odd := NewVHDFooter(10<<20+512, now, [16]byte{})
	if err := odd.Validate(10<<20 + 1024); err == nil {
		t.Fatal("Validate accepted a size that is not whole MiB")
	}
}

func FuzzParseVHDFooter(f *testing.F) {
	good, _ := NewVHDFooter(64<<20, time.Unix(1e9, 0), [16]byte{9}).MarshalBinary()
	f.Add(good)
	f.Add(make([]byte, 512))
	f.Add([]byte("conectix"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ft, err := ParseVHDFooter(b)
		if err != nil {
			return
		}
		_ = ft.Validate(int64(ft.CurrentSize) + VHDFooterSize)
		// A footer that parses re-encodes to the same meaningful bytes (the
		// checksum differs when the reserved bytes were not zero).
		again, err := ft.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed footer does not marshal: %v", err)
		}
		if (!bytes.Equal(again[:64], b[:64]) || !bytes.Equal(again[68:84], b[68:84])) || (again[84] != 0) != (b[84] != 0) {
			t.Fatalf("round trip changed the footer:\n%x\n%x", b[:85], again[:85])
		}
	})
}

func FuzzParseMBR(f *testing.F) {
	f.Add(mbrSector([4]uint32{0x80, 0x83, 2048, 8388608}, [4]uint32{0, 0x05, 8390656, 100000}))
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, _, ok := parseMBR(b, 1<<40)
		if !ok {
			return
		}
		for _, p := range parts {
			if p.partition().Offset <= 0 || p.partition().Length <= 0 {
				t.Fatalf("accepted an empty or zero-start entry: %+v", p)
			}
		}
	})
}

// memDisk is a disk.Source over a byte slice, for fuzzing Inspect.
type memDisk struct{ b []byte }

func (m memDisk) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.b).ReadAt(p, off)
}
func (m memDisk) Size() int64 { return int64(len(m.b)) }
func (m memDisk) Extents(context.Context) ([]disk.Extent, error) {
	return []disk.Extent{{Offset: 0, Length: int64(len(m.b)), Data: true}}, nil
}

// FuzzInspect feeds arbitrary disks to Inspect: it must not panic, and
// whatever it finds, the extents must tile the disk. Coverage-guided
// fuzzing is slow here once the fuzzer finds the NTFS signature (go-ntfs
// loads its profile per volume); -parallel 1 without coverage runs at about
// 40,000 inputs a second.
func FuzzInspect(f *testing.F) {
	ext := make([]byte, 8192)
	binary.LittleEndian.PutUint16(ext[1024+0x38:], 0xEF53)
	binary.LittleEndian.PutUint32(ext[1024+0x4:], 8)
	binary.LittleEndian.PutUint32(ext[1024+0x20:], 8192)
	f.Add(ext)
	fat := make([]byte, 4096)
	copy(fat, []byte{0xEB, 0x3C, 0x90})
	binary.LittleEndian.PutUint16(fat[11:], 512)
	fat[13], fat[14], fat[16], fat[21] = 1, 1, 2, 0xF8
	binary.LittleEndian.PutUint16(fat[19:], 8)
	binary.LittleEndian.PutUint16(fat[22:], 1)
	fat[510], fat[511] = 0x55, 0xAA
	f.Add(fat)
	f.Add(mbrSector([4]uint32{0, 0x83, 1, 6}, [4]uint32{0, 0x05, 7, 8}))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Inspect(context.Background(), memDisk{b})
		if err != nil {
			return
		}
		var pos int64
		for _, e := range l.Extents {
			if e.Offset != pos || e.Length <= 0 {
				t.Fatalf("extents do not tile: %v", l.Extents)
			}
			pos = e.End()
		}
		if pos != int64(len(b)) {
			t.Fatalf("extents end at %d of %d", pos, len(b))
		}
	})
}

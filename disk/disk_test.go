package disk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []Extent
		size int64
		want []Extent
	}{
		{"empty means all data", nil, 100, []Extent{{0, 100, true}}},
		{"gap filled with data", []Extent{{0, 10, false}, {50, 50, false}}, 100,
			[]Extent{{0, 10, false}, {10, 40, true}, {50, 50, false}}},
		{"neighbours merged", []Extent{{0, 10, true}, {10, 10, true}, {20, 80, false}}, 100,
			[]Extent{{0, 20, true}, {20, 80, false}}},
		{"clipped and sorted", []Extent{{90, 50, false}, {-5, 20, false}}, 100,
			[]Extent{{0, 15, false}, {15, 75, true}, {90, 10, false}}},
		{"overlap keeps the first", []Extent{{0, 60, true}, {50, 50, false}}, 100,
			[]Extent{{0, 60, true}, {60, 40, false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Normalize(c.in, c.size)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Normalize = %v, want %v", got, c.want)
			}
			var pos int64
			for _, e := range got {
				if e.Offset != pos {
					t.Fatalf("gap or overlap at %d: %v", pos, got)
				}
				pos = e.End()
			}
			if pos != c.size {
				t.Fatalf("covers %d of %d", pos, c.size)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add(int64(0), int64(10), false, int64(5), int64(20), true, int64(30))
	f.Fuzz(func(t *testing.T, o1, l1 int64, d1 bool, o2, l2 int64, d2 bool, size int64) {
		if size < 0 || size > 1<<40 || l1 > 1<<40 || l2 > 1<<40 || o1 > 1<<40 || o2 > 1<<40 || o1 < -(1<<40) || o2 < -(1<<40) {
			return
		}
		got := Normalize([]Extent{{o1, l1, d1}, {o2, l2, d2}}, size)
		var pos int64
		for _, e := range got {
			if e.Offset != pos || e.Length <= 0 {
				t.Fatalf("bad extents %v", got)
			}
			pos = e.End()
		}
		if pos != size {
			t.Fatalf("covers %d of %d: %v", pos, size, got)
		}
	})
}

// TestFileExtents makes a real sparse file and checks the map finds its data.
func TestFileExtents(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	if err := f.Truncate(64 * mib); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0xAB}, mib)
	for _, off := range []int64{0, 10 * mib, 63 * mib} {
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	d, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ext, err := d.Extents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != 64*mib {
		t.Fatalf("size %d", d.Size())
	}
	// Filesystems may round data up to their block size, never down: every
	// written MiB must be inside a data extent, and most of the file must be
	// a hole (tmpfs and ext4 both keep holes).
	for _, off := range []int64{0, 10 * mib, 63 * mib} {
		if !covered(ext, off, mib) {
			t.Errorf("written range at %d MiB not in a data extent: %v", off/mib, ext)
		}
	}
	if n := DataBytes(ext); n > 16*mib {
		t.Errorf("data bytes %d: holes not found: %v", n, ext)
	}
	buf := make([]byte, 4)
	if _, err := d.ReadAt(buf, 10*mib); err != nil || buf[0] != 0xAB {
		t.Fatalf("ReadAt = %v %x", err, buf)
	}
}

func covered(ext []Extent, off, n int64) bool {
	for _, e := range ext {
		if e.Data && e.Offset <= off && off+n <= e.End() {
			return true
		}
	}
	return false
}

package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
)

const benchDisk = 256 << 20

// BenchmarkDiskWrite writes 256 MiB in 4 MiB ranges into a local disk
// through cloud.Disk; BenchmarkFileWrite is the baseline, the same writes
// straight into a sparse file. The Disk's checks should cost nothing
// measurable.
func BenchmarkDiskWrite(b *testing.B) {
	tg, err := local.New(local.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	buf := chunk()
	b.SetBytes(benchDisk)
	for i := 0; b.Loop(); i++ {
		d, err := tg.CreateDisk(context.Background(), cloud.DiskSpec{Name: "bench", SizeBytes: benchDisk})
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < benchDisk; off += int64(len(buf)) {
			if _, err := d.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		if err := tg.DeleteDisk(context.Background(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.raw")
	buf := chunk()
	b.SetBytes(benchDisk)
	for b.Loop() {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Truncate(benchDisk); err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < benchDisk; off += int64(len(buf)) {
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		os.Remove(path)
	}
}

func chunk() []byte {
	buf := make([]byte, 4<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	return buf
}

package azure_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/azure"
	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/fixtures/azurite"
)

var benchRun atomic.Int32

const (
	benchSize = 4 << 30 // the VHD's data part
	benchData = 1 << 30 // of which allocated, non-zero
)

// benchVHD writes a sparse fixed VHD of benchSize bytes plus the footer
// whose data part holds benchData bytes of random data in 256 extents of
// 4 MiB spread over the disk, as a used filesystem leaves them.
func benchVHD(b *testing.B) string {
	p := filepath.Join(b.TempDir(), "bench.vhd")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := rand.NewChaCha8([32]byte{'s', 'h', 'i', 'f', 't'})
	buf := make([]byte, 4<<20)
	extents := benchData / len(buf)
	for i := range extents {
		r.Read(buf)
		if _, err := f.WriteAt(buf, int64(i)*(benchSize/int64(extents))); err != nil {
			b.Fatal(err)
		}
	}
	footer, _ := convert.NewVHDFooter(benchSize, time.Now(), [16]byte{1}).MarshalBinary()
	if _, err := f.WriteAt(footer, benchSize); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkUploadVHD uploads a fixed VHD of 4 GiB with 1 GiB of data to
// Azurite two ways in one run: "sequential-azblob", the plain azblob
// upload (one Put Page per 4 MiB range, zeros included, one after the
// other), and "shift-direct", cloud/azure's direct upload (allocated
// non-zero ranges only, Put Pages in parallel with MD5, footer at
// Finalize, grant and revoke through the ARM fakes). Target: shift-direct
// at least 3× faster.
func BenchmarkUploadVHD(b *testing.B) {
	az := azurite.Start(b)
	path := benchVHD(b)
	ctx := context.Background()

	b.Run("sequential-azblob", func(b *testing.B) {
		run := benchRun.Add(1) // -count runs this function again on the same Azurite
		c := az.Container(b, fmt.Sprintf("plain%d", run))
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 4<<20)
		b.SetBytes(benchSize)
		n := 0
		for b.Loop() {
			n++
			pb := c.NewPageBlobClient(fmt.Sprintf("plain%d.vhd", n))
			if _, err := pb.Create(ctx, benchSize+convert.VHDFooterSize, nil); err != nil {
				b.Fatal(err)
			}
			for off := int64(0); off < benchSize+convert.VHDFooterSize; off += int64(len(buf)) {
				m := min(int64(len(buf)), benchSize+convert.VHDFooterSize-off)
				if _, err := f.ReadAt(buf[:m], off); err != nil {
					b.Fatal(err)
				}
				if _, err := pb.UploadPages(ctx, nopCloser(buf[:m]), blob.HTTPRange{Offset: off, Count: m}, &pageblob.UploadPagesOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if _, err := pb.Delete(ctx, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})

	b.Run("shift-direct", func(b *testing.B) {
		f := newFakeARM(b, az, fmt.Sprintf("disks%d", benchRun.Add(1)), az.URL)
		tg := newTarget(b, f, func(o *azure.Options) { o.Logger = nil })
		src, err := disk.OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		b.SetBytes(benchSize)
		n := 0
		for b.Loop() {
			n++
			name := fmt.Sprintf("bench%d", n)
			d, err := tg.CreateDisk(ctx, cloud.DiskSpec{Name: name, SizeBytes: benchSize})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := copyDisk(ctx, d, src, benchSize, 8); err != nil {
				b.Fatal(err)
			}
			if err := d.Finalize(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := tg.DeleteDisk(ctx, name); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

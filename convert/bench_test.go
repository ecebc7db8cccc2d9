package convert_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/fixtures/diskimg"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchImg  string
	benchErr  error
)

// benchImage is a 4 GiB sparse GPT disk whose ext4 root holds 1 GiB of
// incompressible files (16 × 64 MiB) made by mkfs.ext4 -d: about a quarter
// data, zeros elsewhere. Built once per process.
func benchImage(b *testing.B) string {
	b.Helper()
	diskimg.Need(b, "mkfs.ext4", "sfdisk", "qemu-img")
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "convert-bench-")
		if benchErr != nil {
			return
		}
		files := map[string][]byte{}
		for i := range 16 {
			files[fmt.Sprintf("data/f%02d.bin", i)] = diskimg.Content(fmt.Sprint("bench", i), 64<<20)
		}
		spec := diskimg.Spec{Size: 4 * diskimg.GiB, Table: diskimg.GPT, Partitions: []diskimg.Part{
			{Size: 100 * diskimg.MiB, Type: diskimg.TypeESP, FS: "vfat", FATBits: 32},
			{Type: diskimg.TypeLinux, FS: "ext4", Files: files},
		}}
		benchImg = diskimg.Build(&onceTB{TB: b, dir: benchDir}, spec)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchImg
}

// onceTB keeps the bench image beyond the first benchmark's TempDir.
type onceTB struct {
	testing.TB
	dir string
	n   int
}

func (o *onceTB) TempDir() string {
	o.n++
	d := filepath.Join(o.dir, fmt.Sprint(o.n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		o.Fatal(err)
	}
	return d
}

// settle writes back what earlier iterations left dirty, outside the timer,
// so that no iteration pays for another's writeback.
func settle(b *testing.B) {
	b.StopTimer()
	if err := exec.Command("sync").Run(); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// BenchmarkConvert measures shift convert (inspect + write) of the bench
// disk to raw and to fixed VHD, and the baseline the issue names,
// qemu-img convert -O vpc -o subformat=fixed,force_size=on, on the same
// image in the same run. disk-MB/s is the 4 GiB disk size over the time.
// raw and vhd fsync their output before the rename; vhd-nosync does not,
// like qemu-img's default cache=unsafe: that pair is the like-for-like
// comparison.
func BenchmarkConvert(b *testing.B) {
	img := benchImage(b)
	st, err := os.Stat(img)
	if err != nil {
		b.Fatal(err)
	}
	size := st.Size()
	report := func(b *testing.B) {
		b.ReportMetric(float64(size)/1e6/(b.Elapsed().Seconds()/float64(b.N)), "disk-MB/s")
	}
	for _, c := range []struct {
		name string
		opts convert.WriteOptions
	}{
		{"raw", convert.WriteOptions{Format: convert.FormatRaw}},
		{"vhd", convert.WriteOptions{Format: convert.FormatVHD}},
		{"vhd-nosync", convert.WriteOptions{Format: convert.FormatVHD, NoSync: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "out")
			for range b.N {
				settle(b)
				src, err := disk.OpenFile(img)
				if err != nil {
					b.Fatal(err)
				}
				l, err := convert.Inspect(context.Background(), src)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := convert.WriteFile(context.Background(), src, l.Extents, out, true, c.opts); err != nil {
					b.Fatal(err)
				}
				src.Close()
				os.Remove(out)
			}
			report(b)
		})
	}
	b.Run("qemu-img-vpc-fixed", func(b *testing.B) {
		out := filepath.Join(b.TempDir(), "out.vhd")
		for range b.N {
			settle(b)
			if o, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", img, out).CombinedOutput(); err != nil {
				b.Fatalf("qemu-img convert: %v: %s", err, o)
			}
			os.Remove(out)
		}
		report(b)
	})
}

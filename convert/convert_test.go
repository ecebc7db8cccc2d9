package convert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
	"github.com/shift-migrate/shift/fixtures/diskimg"
)

// recipe is a test disk and what Inspect must find on it.
type recipe struct {
	name  string
	spec  diskimg.Spec
	table string
	fs    map[int]string // partition number -> filesystem type
}

func recipes() []recipe {
	return []recipe{
		{"LinuxGPT", diskimg.LinuxGPTSpec(), convert.TableGPT, map[int]string{1: convert.FSFAT32, 2: convert.FSExt4, 3: convert.FSSwap}},
		{"LinuxMBR", diskimg.LinuxMBRSpec(), convert.TableMBR, map[int]string{1: convert.FSExt4, 5: convert.FSSwap, 6: convert.FSExt4}},
		{"WindowsGPT", diskimg.WindowsGPTSpec(), convert.TableGPT, map[int]string{1: convert.FSFAT32, 2: "", 3: convert.FSNTFS, 4: convert.FSNTFS}},
		{"MBRPast4GiB", diskimg.MBRPast4GiBSpec(), convert.TableMBR, map[int]string{1: convert.FSExt4, 2: convert.FSExt4, 3: convert.FSFAT16}},
	}
}

func inspect(t *testing.T, img string) (*disk.File, *convert.Layout) {
	t.Helper()
	src, err := disk.OpenFile(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	l, err := convert.Inspect(context.Background(), src)
	if err != nil {
		t.Fatalf("Inspect %s: %v", img, err)
	}
	return src, l
}

// TestRecipes inspects every recipe disk, checks the layout against the
// spec, checks the extent map against the image's contents and the
// filesystems' own checkers, and converts to raw and VHD, checked by
// qemu-img.
func TestRecipes(t *testing.T) {
	diskimg.Need(t, "qemu-img", "e2fsck", "debugfs", "fsck.vfat", "mtype", "ntfsfix", "ntfscat")
	for _, rc := range recipes() {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			img := diskimg.Build(t, rc.spec)
			src, l := inspect(t, img)
			checkLayout(t, rc, l)
			checkZeroOutsideData(t, src, l)

			dir := t.TempDir()
			raw := filepath.Join(dir, "out.raw")
			vhd := filepath.Join(dir, "out.vhd")
			res, err := convert.WriteFile(context.Background(), src, l.Extents, raw, false, convert.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.ReadBytes != l.DataBytes || res.FileSize != rc.spec.Size {
				t.Errorf("raw: read %d (map says %d), size %d", res.ReadBytes, l.DataBytes, res.FileSize)
			}
			qemuCompare(t, img, "raw", raw, "raw")
			checkFilesystems(t, raw, rc.spec)

			res, err = convert.WriteFile(context.Background(), src, l.Extents, vhd, false, convert.WriteOptions{Format: convert.FormatVHD})
			if err != nil {
				t.Fatal(err)
			}
			checkVHD(t, vhd, rc.spec.Size, res)
			qemuCompare(t, img, "raw", vhd, "vpc")
		})
	}
}

func checkLayout(t *testing.T, rc recipe, l *convert.Layout) {
	t.Helper()
	if l.Table != rc.table {
		t.Errorf("table %q, want %q", l.Table, rc.table)
	}
	if l.Size != rc.spec.Size {
		t.Errorf("size %d, want %d", l.Size, rc.spec.Size)
	}
	placed, err := diskimg.Layout(rc.spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Partitions) != len(placed) {
		t.Fatalf("%d partitions, want %d: %+v", len(l.Partitions), len(placed), l.Partitions)
	}
	for i, p := range l.Partitions {
		want := placed[i]
		if p.Number != want.Number || p.Offset != want.Offset || p.Length != want.Length {
			t.Errorf("partition %d at %d+%d, want %d at %d+%d", p.Number, p.Offset, p.Length, want.Number, want.Offset, want.Length)
		}
		if p.Filesystem.Type != rc.fs[p.Number] {
			t.Errorf("partition %d: filesystem %q, want %q", p.Number, p.Filesystem.Type, rc.fs[p.Number])
		}
		if want.Label != "" && !strings.EqualFold(p.Filesystem.Label, want.Label) {
			t.Errorf("partition %d: label %q, want %q", p.Number, p.Filesystem.Label, want.Label)
		}
		switch p.Filesystem.Type {
		case convert.FSExt4, convert.FSFAT16, convert.FSFAT32, convert.FSNTFS:
			if !p.Filesystem.Mapped || p.Filesystem.UsedBytes <= 0 || p.Filesystem.UsedBytes >= p.Length {
				t.Errorf("partition %d (%s): mapped %v, used %d of %d: %s", p.Number, p.Filesystem.Type, p.Filesystem.Mapped, p.Filesystem.UsedBytes, p.Length, p.Filesystem.MapNote)
			}
		}
		if want.Name != "" && p.Name != want.Name {
			t.Errorf("partition %d: name %q, want %q", p.Number, p.Name, want.Name)
		}
	}
	if len(l.Notes) > 0 {
		t.Errorf("notes on a clean disk: %q", l.Notes)
	}
	// The files add up to a few MiB; the filesystems' metadata (inode
	// tables, journals) to some more. Whole partitions would be GiBs.
	if l.DataBytes <= 0 || l.DataBytes > l.Size/8 {
		t.Errorf("data bytes %d of %d: the allocation maps did not work", l.DataBytes, l.Size)
	}
	var pos int64
	for _, e := range l.Extents {
		if e.Offset != pos || e.Length <= 0 {
			t.Fatalf("extents do not tile the disk at %d: %v", pos, e)
		}
		pos = e.End()
	}
	if pos != l.Size {
		t.Fatalf("extents end at %d, disk at %d", pos, l.Size)
	}
}

// checkZeroOutsideData reads every range the map calls zero where the image
// file has data, and fails on a non-zero byte: on these freshly made disks
// nothing outside the data extents may hold anything.
func checkZeroOutsideData(t *testing.T, src *disk.File, l *convert.Layout) {
	t.Helper()
	fileExt, err := src.Extents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for _, z := range l.Extents {
		if z.Data {
			continue
		}
		for _, f := range fileExt {
			lo, hi := max(z.Offset, f.Offset), min(z.End(), f.End())
			if !f.Data || lo >= hi {
				continue
			}
			for off := lo; off < hi; off += int64(len(buf)) {
				b := buf[:min(int64(len(buf)), hi-off)]
				if _, err := src.ReadAt(b, off); err != nil {
					t.Fatal(err)
				}
				if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
					t.Fatalf("byte %d is in a zero extent but holds data", off+int64(i))
				}
			}
		}
	}
}

func qemuCompare(t *testing.T, a, fa, b, fb string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "compare", "-f", fa, "-F", fb, a, b).CombinedOutput()
	if err != nil {
		t.Errorf("qemu-img compare %s %s: %v: %s", a, b, err, out)
	}
}

// qemuCheck runs qemu-img check. qemu has no consistency check for raw and
// vpc images and says so with exit status 63; anything else is a failure.
func qemuCheck(t *testing.T, img, format string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "check", "-f", format, img).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(asExit(err, &ee) && ee.ExitCode() == 63 && strings.Contains(string(out), "does not support checks")) {
		t.Errorf("qemu-img check %s: %v: %s", img, err, out)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// checkVHD checks a VHD the ways Azure and qemu read it: qemu-img info must
// see a vpc image of the rounded size, and the footer must parse and
// validate.
func checkVHD(t *testing.T, path string, size int64, res convert.WriteResult) {
	t.Helper()
	qemuCheck(t, path, "vpc")
	out, err := exec.Command("qemu-img", "info", "-f", "vpc", "--output=json", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info: %v", err)
	}
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	want := (size + 1<<20 - 1) / (1 << 20) * (1 << 20)
	if info.Format != "vpc" || info.VirtualSize != want || res.VirtualSize != want {
		t.Errorf("qemu-img info: format %s, virtual size %d; result %d; want vpc, %d", info.Format, info.VirtualSize, res.VirtualSize, want)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	footer := make([]byte, convert.VHDFooterSize)
	if _, err := f.ReadAt(footer, st.Size()-convert.VHDFooterSize); err != nil {
		t.Fatal(err)
	}
	ft, err := convert.ParseVHDFooter(footer)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Validate(st.Size()); err != nil {
		t.Error(err)
	}
	if ft.CreatorApp != "win " || ft.CurrentSize != uint64(want) {
		t.Errorf("footer creator %q size %d", ft.CreatorApp, ft.CurrentSize)
	}
}

// checkFilesystems runs each filesystem's own checker on its partition of
// the converted image and reads every file back.
func checkFilesystems(t *testing.T, img string, spec diskimg.Spec) {
	t.Helper()
	placed, err := diskimg.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range placed {
		if p.FS == "" || p.FS == "swap" {
			continue
		}
		part := extractPartition(t, img, p.Offset, p.Length)
		switch p.FS {
		case "ext4", "ext2":
			run(t, "e2fsck", "-fn", part)
			for name, want := range p.Files {
				out := filepath.Join(t.TempDir(), "dump")
				run(t, "debugfs", "-R", "dump /"+name+" "+out, part)
				compareFile(t, out, want, name)
			}
		case "vfat":
			run(t, "fsck.vfat", "-n", part)
			for name, want := range p.Files {
				got, err := exec.Command("mtype", "-i", part, "::/"+name).Output()
				if err != nil {
					t.Errorf("mtype %s: %v", name, err)
				} else if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes read back differ from the %d written", name, len(got), len(want))
				}
			}
		case "ntfs":
			run(t, "ntfsfix", "-n", part)
			for name, want := range p.Files {
				got, err := exec.Command("ntfscat", part, "/"+name).Output()
				if err != nil {
					t.Errorf("ntfscat %s: %v", name, err)
				} else if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes read back differ from the %d written", name, len(got), len(want))
				}
			}
		}
	}
}

func compareFile(t *testing.T, path string, want []byte, name string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes read back differ from the %d written", name, len(got), len(want))
	}
}

// extractPartition copies a partition of an image into a sparse file of its
// own, for tools that take no offset.
func extractPartition(t *testing.T, img string, off, n int64) string {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "part.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := convert.Write(context.Background(), io.NewSectionReader(f, off, n), n, []disk.Extent{{Offset: 0, Length: n, Data: true}}, out, convert.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return out.Name()
}

func run(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// TestUsedDisk is a disk that has been in use: deleted files left their
// data in the filesystems' free space. The map must call that space zero
// (it is what makes a copy small), and the copy, which then differs from
// the source in exactly those blocks, must still pass e2fsck and fsck.vfat
// with every live file intact.
func TestUsedDisk(t *testing.T) {
	diskimg.Need(t, "qemu-img", "e2fsck", "debugfs", "fsck.vfat", "mtype")
	stale := diskimg.Content("stale", 6<<20)
	spec := diskimg.Spec{Size: 512 * diskimg.MiB, Table: diskimg.GPT, Partitions: []diskimg.Part{
		{Size: 64 * diskimg.MiB, Type: diskimg.TypeESP, FS: "vfat", FATBits: 16,
			Files:   map[string][]byte{"KEEP.BIN": diskimg.Content("keep-fat", 300<<10)},
			Deleted: map[string][]byte{"OLD.BIN": stale[:2<<20]}},
		{Type: diskimg.TypeLinux, FS: "ext4",
			Files:   map[string][]byte{"keep/data.bin": diskimg.Content("keep-ext", 3<<20)},
			Deleted: map[string][]byte{"old.bin": stale}},
	}}
	img := diskimg.Build(t, spec)
	src, l := inspect(t, img)
	// The stale data must lie in zero extents: find where its first MiB
	// sits in the image and check the map.
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, probe := range [][]byte{stale[:64<<10], stale[3<<20 : 3<<20+64<<10]} {
		i := bytes.Index(raw, probe)
		if i < 0 {
			t.Fatal("stale data not found in the image: the fixture did not write it")
		}
		for _, e := range l.Extents {
			if e.Offset <= int64(i) && int64(i) < e.End() && e.Data {
				t.Errorf("stale data at byte %d lies in data extent %+v: free space not mapped", i, e)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "out.raw")
	if _, err := convert.WriteFile(context.Background(), src, l.Extents, out, false, convert.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(copied, stale[:64<<10]) {
		t.Error("the copy still holds deleted data")
	}
	checkFilesystems(t, out, spec)
}

// TestJournalNeedsRecovery marks an ext4 journal as needing recovery (as a
// mounted filesystem's is): its bitmaps may be behind, so the whole
// filesystem must count as data.
func TestJournalNeedsRecovery(t *testing.T) {
	diskimg.Need(t, "debugfs")
	spec := diskimg.Spec{Size: 128 * diskimg.MiB, Partitions: []diskimg.Part{{FS: "ext4"}}}
	img := diskimg.Build(t, spec)
	_, clean := inspect(t, img)
	if clean.Table != convert.TableNone || clean.Whole == nil || clean.Whole.Type != convert.FSExt4 || !clean.Whole.Mapped {
		t.Fatalf("whole-disk ext4 not found or not mapped: %+v", clean.Whole)
	}
	run(t, "debugfs", "-w", "-R", "feature needs_recovery", img)
	_, dirty := inspect(t, img)
	if dirty.Whole == nil || dirty.Whole.Mapped || !strings.Contains(dirty.Whole.MapNote, "journal needs recovery") {
		t.Fatalf("needs_recovery: %+v", dirty.Whole)
	}
	if dirty.DataBytes <= clean.DataBytes {
		t.Errorf("data bytes %d with an untrusted map, %d with a trusted one", dirty.DataBytes, clean.DataBytes)
	}
}

// TestEmptyDisk: no table, no filesystem, nothing written.
func TestEmptyDisk(t *testing.T) {
	img := diskimg.Build(t, diskimg.Spec{Size: 64 * diskimg.MiB})
	_, l := inspect(t, img)
	if l.Table != convert.TableNone || l.Whole != nil || len(l.Partitions) != 0 || l.DataBytes != 0 {
		t.Fatalf("empty disk: %+v", l)
	}
}

// TestMBRPast4GiBAgainstGoDiskfs: the partition past 4 GiB is where it is,
// and reading it through the layout's offset finds its files' filesystem.
func TestMBRPast4GiB(t *testing.T) {
	img := diskimg.MBRPast4GiB(t)
	src, l := inspect(t, img)
	p := l.Partitions[1]
	if p.Offset != 4*diskimg.GiB+512*diskimg.MiB || p.Filesystem.Label != "high" {
		t.Fatalf("partition 2: %+v", p)
	}
	// The ext superblock magic, read at the 64-bit offset.
	b := make([]byte, 2)
	if _, err := src.ReadAt(b, p.Offset+1024+56); err != nil || b[0] != 0x53 || b[1] != 0xEF {
		t.Fatalf("no ext magic at partition 2's offset: %x %v", b, err)
	}
}

func TestWriteFileRefusesOverwrite(t *testing.T) {
	img := diskimg.Build(t, diskimg.Spec{Size: 4 * diskimg.MiB})
	src, l := inspect(t, img)
	out := filepath.Join(t.TempDir(), "out.vhd")
	if err := os.WriteFile(out, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := convert.WriteFile(context.Background(), src, l.Extents, out, false, convert.WriteOptions{Format: convert.FormatVHD})
	if err == nil || !strings.Contains(err.Error(), "output exists") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatal("existing output changed")
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
	res, err := convert.WriteFile(context.Background(), src, l.Extents, out, true, convert.WriteOptions{Format: convert.FormatVHD, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(out); st.Size() != 4<<20+512 || res.Footer.Timestamp.Year() != 2026 {
		t.Fatalf("forced write: size %d, footer %+v", st.Size(), res.Footer)
	}
}

// TestXFSWholeDisk: xfs is recognised (label, size) and copied whole: shift
// reads no xfs allocation map.
func TestXFSWholeDisk(t *testing.T) {
	diskimg.Need(t, "mkfs.xfs")
	img := diskimg.Build(t, diskimg.Spec{Size: 320 * diskimg.MiB, Partitions: []diskimg.Part{{FS: "xfs", Label: "data"}}})
	_, l := inspect(t, img)
	if l.Whole == nil || l.Whole.Type != convert.FSXFS || l.Whole.Label != "data" || l.Whole.Mapped || l.Whole.Size != 320*diskimg.MiB {
		t.Fatalf("xfs: %+v", l.Whole)
	}
}

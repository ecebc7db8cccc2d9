package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/disk"
)

func init() { commands = append(commands, newConvertCmd) }

type convertFlags struct {
	to      string
	output  string
	inspect bool
	json    bool
	force   bool
	workers int
}

func newConvertCmd() *cobra.Command {
	var f convertFlags
	cmd := &cobra.Command{
		Use:   "convert SRC (--to raw|vhd -o OUT | --inspect)",
		Short: "Inspect a disk image or block device and write it as raw or fixed VHD",
		Long: `Convert reads a disk (an image file or a block device) without changing it:
its partition table (GPT or MBR, logical partitions included), the
filesystems in it (ext2/3/4, xfs, FAT, NTFS, swap, LVM, LUKS, BitLocker), and
which ranges hold data. Free space that an ext4, FAT or NTFS allocation map
marks unused counts as zero and is not copied; everything else is.

--to raw writes a sparse raw image. --to vhd writes a fixed VHD as Azure
takes it for upload: the size rounded up to a whole MiB and a 512-byte
footer. The output is written to OUT.tmp and renamed when complete; an
existing OUT is replaced only with --force.

--inspect prints the layout and the extent summary and writes nothing.
What was found goes to stdout (JSON with --json), progress to stderr.`,
		Example: `  shift convert disk.img --inspect
  shift convert /dev/sdb --to vhd -o server01.vhd
  shift convert disk.img --to raw -o copy.raw --json | jq .result`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return usageError(errors.New("convert needs SRC: a disk image file or a block device"), "e.g. 'shift convert disk.img --inspect'")
			case 1:
				return nil
			}
			return usageError(fmt.Errorf("convert takes one SRC, got %d: %s", len(args), strings.Join(args, " ")), "convert one disk at a time")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.to, "to", "", "output format: raw (sparse) or vhd (fixed, as Azure takes it)")
	fl.StringVarP(&f.output, "output", "o", "", "output file (written as OUT.tmp, then renamed)")
	fl.BoolVar(&f.inspect, "inspect", false, "print the layout and the extent map summary; write nothing")
	fl.BoolVar(&f.json, "json", false, "print the layout (and the write's result) as one JSON object on stdout")
	fl.BoolVar(&f.force, "force", false, "replace OUT if it exists")
	fl.IntVar(&f.workers, "workers", convert.DefaultWorkers, "chunks read and written at once")
	return cmd
}

func runConvert(cmd *cobra.Command, f convertFlags, srcPath string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var format convert.Format
	if !f.inspect {
		switch {
		case f.to == "" && f.output == "":
			return usageError(errors.New("convert needs --to raw|vhd and -o OUT, or --inspect"), "e.g. 'shift convert "+srcPath+" --to vhd -o disk.vhd'")
		case f.to == "":
			return usageError(errors.New("convert needs --to raw or --to vhd"), "")
		case f.output == "":
			return usageError(fmt.Errorf("convert --to %s needs -o OUT", f.to), "")
		}
		var err error
		if format, err = convert.ParseFormat(f.to); err != nil {
			return usageError(fmt.Errorf("--to: %w", err), "raw writes a sparse raw image, vhd a fixed VHD for Azure")
		}
		if err := checkWritable(f.output); err != nil {
			return usageError(err, "create the directory, or choose another -o path")
		}
		if same, _ := sameFile(srcPath, f.output); same {
			return usageError(fmt.Errorf("-o %s is SRC itself", f.output), "write the output elsewhere")
		}
		if _, err := os.Lstat(f.output); err == nil && !f.force {
			return usageError(fmt.Errorf("-o %s exists", f.output), "add --force to replace it, or choose another -o path")
		}
	} else if f.to != "" || f.output != "" {
		return usageError(errors.New("--inspect writes nothing: it takes neither --to nor -o"), "drop --inspect to convert")
	}
	if f.workers < 1 {
		return usageError(fmt.Errorf("--workers %d: must be at least 1", f.workers), "")
	}

	src, err := openConvertSource(srcPath)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := cmd.Context()
	layout, err := convert.Inspect(ctx, src)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", srcPath, err)
	}
	if f.inspect {
		if f.json {
			return writeJSON(stdout, convertReport{Source: srcPath, Layout: layout})
		}
		printLayout(stdout, srcPath, layout)
		return nil
	}
	if !f.json {
		printLayout(stdout, srcPath, layout)
	}
	rep := &convertProgress{w: stderr, start: time.Now()}
	res, err := convert.WriteFile(ctx, src, layout.Extents, f.output, f.force, convert.WriteOptions{
		Format:   format,
		Reporter: rep,
		Workers:  f.workers,
	})
	if err != nil {
		if errors.Is(err, convert.ErrExists) {
			return usageError(err, "add --force to replace it")
		}
		return fmt.Errorf("convert %s to %s: %w (%s is untouched)", srcPath, f.output, err, f.output)
	}
	rep.finish(res)
	if f.json {
		return writeJSON(stdout, convertReport{Source: srcPath, Output: f.output, Layout: layout, Result: &res})
	}
	extra := ""
	if res.Footer != nil {
		extra = fmt.Sprintf(" + %d-byte footer (creator %q, checksum %08x)", convert.VHDFooterSize, res.Footer.CreatorApp, res.Footer.Checksum)
	}
	fmt.Fprintf(stdout, "wrote %s: %s, virtual size %s (%d bytes)%s; read %s, wrote %s in %s\n",
		f.output, res.Format, convSize(res.VirtualSize), res.VirtualSize, extra,
		convSize(res.ReadBytes), convSize(res.WrittenBytes), res.Duration.Round(time.Millisecond))
	return nil
}

// openConvertSource opens SRC and turns the usual mistakes into usage
// errors that say what SRC is instead.
func openConvertSource(p string) (*disk.File, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, usageError(fmt.Errorf("SRC %s: %w", p, err), "give the path of a disk image file or a block device")
	}
	if st.IsDir() {
		return nil, usageError(fmt.Errorf("SRC %s is a directory, not a disk image", p), "give the path of a disk image file or a block device")
	}
	src, err := disk.OpenFile(p)
	if err != nil {
		return nil, usageError(fmt.Errorf("SRC %s: %w", p, err), "")
	}
	fail := func(err error, hint string) (*disk.File, error) {
		src.Close()
		return nil, usageError(err, hint)
	}
	head := make([]byte, 8)
	if _, err := src.ReadAt(head, 0); err == nil {
		for magic, name := range map[string]string{"QFI\xfb": "qcow2", "KDMV": "VMDK", "vhdxfile": "VHDX", "conectix": "dynamic VHD"} {
			if strings.HasPrefix(string(head), magic) {
				return fail(fmt.Errorf("SRC %s is a %s image, not a raw disk", p, name), "make it raw first: qemu-img convert -O raw "+p+" disk.raw")
			}
		}
	}
	if src.Size() == 0 {
		return fail(fmt.Errorf("SRC %s is empty (0 bytes): not a disk image", p), "")
	}
	if src.Size()%512 != 0 {
		return fail(fmt.Errorf("SRC %s is %d bytes, not a whole number of 512-byte sectors: not a raw disk image", p, src.Size()), "convert takes raw images and block devices")
	}
	return src, nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// convertReport is the --json output: stable field names.
type convertReport struct {
	Source string               `json:"source"`
	Output string               `json:"output,omitempty"`
	Layout *convert.Layout      `json:"layout"`
	Result *convert.WriteResult `json:"result,omitempty"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printLayout(w io.Writer, src string, l *convert.Layout) {
	table := l.Table
	if l.DiskID != "" {
		table += " " + l.DiskID
	}
	fmt.Fprintf(w, "%s: %s (%d bytes), partition table %s, %d partitions\n", src, convSize(l.Size), l.Size, table, len(l.Partitions))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fsCols := func(fs convert.Filesystem) string {
		t := fs.Type
		if t == "" {
			t = "-"
		}
		label := fs.Label
		if label == "" {
			label = "-"
		}
		used := "whole"
		if fs.Mapped {
			used = convSize(fs.UsedBytes) + " used"
		} else if fs.Type == "" {
			used = "-"
		}
		return fmt.Sprintf("%s\t%s\t%s", t, label, used)
	}
	if len(l.Partitions) > 0 {
		fmt.Fprintln(tw, "  #\tSTART\tSIZE\tTYPE\tFILESYSTEM\tLABEL\tCOPIED")
		for _, p := range l.Partitions {
			typ := p.TypeName
			if typ == "" {
				typ = p.Type
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", p.Number, convSize(p.Offset), convSize(p.Length), typ, fsCols(p.Filesystem))
		}
	}
	if l.Whole != nil {
		fmt.Fprintf(tw, "  whole disk\t%s\n", fsCols(*l.Whole))
	}
	tw.Flush()
	zero := l.Size - l.DataBytes
	pct := 0.0
	if l.Size > 0 {
		pct = 100 * float64(zero) / float64(l.Size)
	}
	fmt.Fprintf(w, "data %s (%d bytes), zero %s (%.1f%%), %d extents\n", convSize(l.DataBytes), l.DataBytes, convSize(zero), pct, len(l.Extents))
	for _, n := range l.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func convSize(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// convertProgress prints progress on stderr at most once a second: bytes
// done of the total, the rate, and the time left.
type convertProgress struct {
	w     io.Writer
	start time.Time

	mu   sync.Mutex
	last time.Time
}

func (p *convertProgress) Progress(pr convert.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < time.Second || pr.Total == 0 {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(pr.Done) / max(el, 1e-9)
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(pr.Total-pr.Done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "converting: %s of %s (%.0f%%), %s/s, %s left\n", convSize(pr.Done), convSize(pr.Total), 100*float64(pr.Done)/float64(pr.Total), convSize(int64(rate)), eta)
}

func (p *convertProgress) finish(r convert.WriteResult) {
	secs := max(r.Duration.Seconds(), 1e-9)
	fmt.Fprintf(p.w, "converted: %s read in %s (%s/s)\n", convSize(r.ReadBytes), r.Duration.Round(time.Millisecond), convSize(int64(float64(r.ReadBytes)/secs)))
}

var _ convert.Reporter = (*convertProgress)(nil)

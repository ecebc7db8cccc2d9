package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/convert"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/transfer"
)

func init() { commands = append(commands, newReplicateCmd) }

type replicateFlags struct {
	hosts      string
	disk       string
	to         string
	bwlimit    string
	workers    int
	json       bool
	tofu       bool
	knownHosts string
	agentDir   string
	format     string
	readBack   bool
	wire       string
}

func newReplicateCmd() *cobra.Command {
	var f replicateFlags
	cmd := &cobra.Command{
		Use:   "replicate --hosts FILE HOST --to DIR [--disk DEV]",
		Short: "Copy a server's disk block by block (Linux over SSH, Windows over WinRM) into a raw image or a fixed VHD",
		Long: `Replicate copies one disk of a Linux host into DIR/<host>-<disk>.raw (or, with
--format vhd, a fixed VHD as Azure takes it: DIR/<host>-<disk>.vhd) while the
host keeps running. shift uploads itself to the host over SFTP, runs
"shift agent" there over SSH (through sudo when the login user is not root)
and removes it afterwards.

The first run copies everything that is not zero. A later run is a delta
pass: it moves only the 4 MiB chunks whose content changed, and writes zeros
where data became zero. A run that was killed or failed (a full target disk,
a lost connection) resumes without copying finished chunks again. The state
lives next to the image, in DIR/<host>-<disk>.journal (.vhd.journal for a
VHD). Every pass ends by comparing a whole-disk digest of the image with the
source's; a VHD's footer is written then, identical on every pass. The
image's digest counts each chunk the pass wrote with the hash of the bytes
written (checked against the source's hash before the write) and reads every
other chunk back; --read-back reads the chunks just written back too.

The agent skips space that the filesystems' allocation maps (ext4, FAT,
NTFS) mark free: the image reads as zeros there, and the digest counts it so
on both sides.

Progress goes to stderr; a summary of the pass goes to stdout.`,
		Example: `  shift replicate --hosts hosts.yaml web01 --disk /dev/sda --to /var/lib/shift/disks
  shift replicate --hosts hosts.yaml web01 --to disks --bwlimit 50M   # again later: delta pass
  shift replicate --hosts hosts.yaml web01 --to disks --format vhd    # for an Azure upload`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplicate(cmd, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.hosts, "hosts", "", "hosts file (YAML) with the host and its credential references (required)")
	fl.StringVar(&f.disk, "disk", "", "block device or image file on the host to copy (default: the disk holding /)")
	fl.StringVar(&f.format, "format", "raw", "image format: raw (sparse) or vhd (fixed VHD: raw data, padded to a whole MiB, and a footer)")
	fl.StringVar(&f.to, "to", "", "directory for the image and its journal (required; created when missing)")
	fl.StringVar(&f.bwlimit, "bwlimit", "", "limit on the wire, bytes per second, with an optional K, M or G suffix (\"50M\")")
	fl.IntVar(&f.workers, "workers", 0, "chunks handled at once on each side (default: CPUs, at most 8)")
	fl.BoolVar(&f.json, "json", false, "print the pass's result as one JSON object on stdout")
	fl.StringVar(&f.wire, "wire", "auto", "compression on the wire: s2 (fast, for LANs), zstd (smaller, for slow links) or auto (zstd under a --bwlimit below 64M or when the first chunks arrive slower than 16 MiB/s, else s2)")
	fl.BoolVar(&f.readBack, "read-back", false, "check the image by reading back every chunk, also those the pass just wrote (slower)")
	fl.StringVar(&f.agentDir, "agent-dir", "", "directory on the host for the uploaded agent, removed afterwards (default /tmp; must not be noexec)")
	fl.BoolVar(&f.tofu, "trust-on-first-use", false, "record an unknown SSH host key in known_hosts instead of failing")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file (default: the hosts file's, else ~/.ssh/known_hosts)")
	return cmd
}

func runReplicate(cmd *cobra.Command, f replicateFlags, host string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	switch {
	case f.hosts == "":
		return usageError(errors.New("replicate needs --hosts FILE"), "write a hosts file (see 'shift discover --help'), or run 'shift lab --write-hosts lab.yaml'")
	case f.to == "":
		return usageError(errors.New("replicate needs --to DIR, the directory for the image"), "add --to disks")
	case f.workers < 0:
		return usageError(fmt.Errorf("--workers %d: must not be negative", f.workers), "")
	}
	format, err := convert.ParseFormat(f.format)
	if err != nil {
		return usageError(fmt.Errorf("--format: %w", err), "use --format raw or --format vhd")
	}
	limit, err := parseRate(f.bwlimit)
	if err != nil {
		return usageError(fmt.Errorf("--bwlimit %q: %w", f.bwlimit, err), "write a byte rate such as 50M or 1G")
	}
	wire, err := transfer.ParseCodec(f.wire)
	if err != nil {
		return usageError(fmt.Errorf("--wire: %w", err), "use --wire auto, --wire s2 or --wire zstd")
	}
	hf, err := remote.LoadHosts(f.hosts)
	if err != nil {
		return usageError(err, "fix the hosts file; 'shift discover --help' shows the format")
	}
	if hf.Entry(host) == nil {
		return usageError(fmt.Errorf("host %s is not in %s", host, f.hosts), "hosts in the file: "+strings.Join(hf.Names(), ", "))
	}
	t, err := hf.Resolve(host, remote.Overrides{TrustOnFirstUse: f.tofu, KnownHosts: f.knownHosts})
	if err != nil {
		return usageError(err, "")
	}
	if t.WinRM != nil && format != convert.FormatRaw {
		return usageError(fmt.Errorf("host %s: --format %s is not available for Windows hosts yet", host, f.format),
			"copy as raw, then 'shift convert IMAGE --to vhd -o OUT'")
	}
	if err := os.MkdirAll(f.to, 0o755); err != nil {
		return usageError(fmt.Errorf("--to %s: %w", f.to, err), "choose a directory you can write")
	}

	if os.Getenv("GOGC") == "" {
		// A pass holds a few dozen chunk buffers and makes little garbage
		// that holds pointers: a tighter target than the default doubling
		// keeps the appliance's memory near what it holds, for a few more
		// collections that cost milliseconds.
		debug.SetGCPercent(50)
	}
	stopProfile, err := transfer.StartProfile()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer stopProfile()

	ctx := cmd.Context()
	every := time.Second
	if isTTY(stderr) {
		every = 100 * time.Millisecond
	}
	if t.WinRM != nil {
		res, img, err := replicateWinRM(ctx, stderr, t, winrmReplication{Disk: f.disk, Dir: f.to}, transfer.Options{
			Workers:        f.workers,
			BandwidthLimit: limit,
			Wire:           wire,
			Reporter:       transfer.Throttle(&replicateProgress{w: stderr, host: host}, every),
			ReadBack:       f.readBack,
		})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return &exitError{code: exitFailure, err: err, hint: "run the same command again to resume; finished chunks are kept"}
		}
		if f.json {
			return json.NewEncoder(stdout).Encode(replicateJSON(host, img, res))
		}
		printReplicateSummary(stdout, host, img, res)
		return nil
	}
	c, err := remote.DialSSH(ctx, *t.SSH)
	if err != nil {
		return hinted(err)
	}
	defer c.Close()
	agent, err := transfer.DeployAgent(ctx, c, transfer.DeployOptions{Binary: agentBinary, Disk: f.disk, Workers: f.workers, Dir: f.agentDir})
	if err != nil {
		return hinted(err)
	}
	defer agent.Close(ctx)
	d := agent.Disk()

	base := filepath.Join(f.to, host+"-"+diskLabel(d.Name))
	img, jpath := base+".raw", base+".journal"
	if format == convert.FormatVHD {
		img, jpath = base+".vhd", base+".vhd.journal"
	}
	fresh := false
	if _, err := os.Stat(jpath); errors.Is(err, os.ErrNotExist) {
		// No state: whatever image is there is not trusted.
		fresh = true
	} else if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "%s: %s is missing: starting over with a full copy\n", host, img)
		if err := os.Remove(jpath); err != nil {
			return err
		}
		fresh = true
	}
	j, err := transfer.OpenJournal(jpath, d.Size)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer j.Close()
	shape := transfer.ImageOptions{Fresh: fresh}
	if format == convert.FormatVHD {
		if shape, err = vhdShape(img, d.Size, fresh); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	sink, err := transfer.OpenImageSink(img, d.Size, shape)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer sink.Close()

	res, err := agent.Pass(ctx, sink, j, transfer.Options{
		Workers:        f.workers,
		BandwidthLimit: limit,
		Wire:           wire,
		Reporter:       transfer.Throttle(&replicateProgress{w: stderr, host: host}, every),
		ReadBack:       f.readBack,
	})
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return &exitError{code: exitFailure, err: err,
				hint: fmt.Sprintf("the disk holding %s is full: free space (it needs up to %s) and run the same command again; finished chunks are kept", f.to, sizeLabel(d.Size))}
		}
		if ctx.Err() != nil {
			return err
		}
		return &exitError{code: exitFailure, err: err, hint: "run the same command again to resume; finished chunks are kept"}
	}
	if err := agent.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", host, err)
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(replicateJSON(host, img, res))
	}
	printReplicateSummary(stdout, host, img, res)
	return nil
}

// vhdShape returns the shape of a fixed VHD for a disk of size bytes: the
// data area rounded up to a whole MiB, then the footer. A kept image's
// footer is reused as it is, so that every pass writes the same footer
// (same timestamp and unique ID); a new one is made otherwise.
func vhdShape(img string, size int64, fresh bool) (transfer.ImageOptions, error) {
	area := (size + 1<<20 - 1) &^ (1<<20 - 1)
	shape := transfer.ImageOptions{Fresh: fresh, Area: area}
	if !fresh {
		if b, ok := readFooter(img, area); ok {
			shape.Trailer = b
			return shape, nil
		}
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return shape, err
	}
	b, err := convert.NewVHDFooter(area, time.Now(), id).MarshalBinary()
	if err != nil {
		return shape, err
	}
	shape.Trailer = b
	return shape, nil
}

// readFooter returns the footer of the fixed VHD img when it has one for a
// data area of area bytes.
func readFooter(img string, area int64) ([]byte, bool) {
	f, err := os.Open(img)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b := make([]byte, convert.VHDFooterSize)
	if _, err := f.ReadAt(b, area); err != nil {
		return nil, false
	}
	ft, err := convert.ParseVHDFooter(b)
	if err != nil || ft.Validate(area+convert.VHDFooterSize) != nil {
		return nil, false
	}
	return b, true
}

// agentBinary finds the shift binary to run on a source of architecture
// goarch: this very binary when it matches, else bin/shift-linux-<arch> next
// to it.
func agentBinary(goarch string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if goarch == runtime.GOARCH && runtime.GOOS == "linux" {
		return self, nil
	}
	p := filepath.Join(filepath.Dir(self), "shift-linux-"+goarch)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the source runs linux/%s and no agent binary for it is at %s: build it with GOOS=linux GOARCH=%s go build -o %s ./cmd/shift", goarch, p, goarch, p)
	}
	return p, nil
}

// hinted keeps a remote error's hint for the exit message.
func hinted(err error) error {
	var re *remote.Error
	if errors.As(err, &re) {
		return &exitError{code: exitFailure, err: err, hint: re.Hint}
	}
	return &exitError{code: exitFailure, err: err}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// diskLabel turns the agent's disk name into a file name part:
// /dev/sda → sda, /srv/images/disk.img → disk.img.
func diskLabel(name string) string {
	s := unsafeName.ReplaceAllString(filepath.Base(name), "_")
	if s == "" || s == "." || s == ".." {
		return "disk"
	}
	return s
}

// parseRate reads "50M", "1.5G", "800K" or a plain number of bytes/s; ""
// means no limit.
func parseRate(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := 1.0
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, errors.New("not a positive byte rate")
	}
	return int64(v * mult), nil
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func sizeLabel(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}

// replicateProgress prints one line per report on stderr.
type replicateProgress struct {
	w    io.Writer
	host string
}

func (p *replicateProgress) Progress(pr transfer.Progress) {
	fmt.Fprintf(p.w, "%s %s pass %d: %s, %s on the wire%s\n", p.host, pr.Disk, pr.Pass,
		passShare(pr.Done, pr.Total, pr.DiskSize), sizeLabel(pr.Wire), rateETA(pr.Rate, pr.ETA, pr.Final))
}

// passShare says how far a pass is through the disk's space in use:
// "412.0 MiB of 1.1 GiB in use (37%) on a 4.0 GiB disk".
func passShare(done, total, disk int64) string {
	if total == 0 {
		return fmt.Sprintf("nothing in use on a %s disk", sizeLabel(disk))
	}
	return fmt.Sprintf("%s of %s in use (%.0f%%) on a %s disk", sizeLabel(done), sizeLabel(total),
		float64(done)*100/float64(total), sizeLabel(disk))
}

// rateETA is ", 350.0 MiB/s, ETA 2m10s" while the rate is known, else "".
func rateETA(rate float64, eta time.Duration, final bool) string {
	if rate <= 0 || final {
		return ""
	}
	return fmt.Sprintf(", %s/s, ETA %s", sizeLabel(int64(rate)), eta.Round(time.Second))
}

func printReplicateSummary(w io.Writer, host, img string, r *transfer.Result) {
	kind := "full copy"
	if r.Pass > 1 {
		kind = "delta pass"
	}
	if r.Resumed {
		kind += ", resumed"
	}
	fmt.Fprintf(w, "%s %s: pass %d (%s) into %s in %s\n", host, r.Disk, r.Pass, kind, img, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  chunks: %d: %d sent, %d unchanged, %d zero, %d zeroed, %d already done\n",
		r.Chunks, r.Sent, r.Unchanged, r.Zero, r.ZeroWritten, r.Skipped)
	fmt.Fprintf(w, "  disk %s, data sent %s, on the wire %s (%s)\n", sizeLabel(r.Size), sizeLabel(r.DataBytes), sizeLabel(r.WireBytes), wireLabel(r))
	verified := "from the written chunks' hashes"
	if r.Verified {
		verified = fmt.Sprintf("image checked, %d chunk(s) read back", r.ReadBack)
	}
	fmt.Fprintf(w, "  digest blake3:%s (source = image, %s)\n", r.Digest, verified)
}

// wireLabel says how the chunks sent crossed the wire.
func wireLabel(r *transfer.Result) string {
	var parts []string
	for _, c := range []struct {
		n    int64
		name string
	}{{r.SentS2, "s2"}, {r.SentZstd, "zstd"}, {r.SentRaw, "uncompressed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "codec " + r.Codec.String()
	}
	s := strings.Join(parts, ", ")
	if r.LinkRate > 0 {
		s += fmt.Sprintf("; link measured at %s/s", sizeLabel(int64(r.LinkRate)))
	}
	return s
}

type replicateResult struct {
	Host        string  `json:"host"`
	Disk        string  `json:"disk"`
	Image       string  `json:"image"`
	Size        int64   `json:"size"`
	Pass        int     `json:"pass"`
	Resumed     bool    `json:"resumed"`
	Chunks      int64   `json:"chunks"`
	Sent        int64   `json:"sent"`
	Unchanged   int64   `json:"unchanged"`
	Zero        int64   `json:"zero"`
	ZeroWritten int64   `json:"zeroWritten"`
	Skipped     int64   `json:"skipped"`
	Retried     int64   `json:"retried"`
	DataBytes   int64   `json:"dataBytes"`
	WireBytes   int64   `json:"wireBytes"`
	Codec       string  `json:"codec"`
	SentS2      int64   `json:"sentS2"`
	SentZstd    int64   `json:"sentZstd"`
	SentRaw     int64   `json:"sentRaw"`
	LinkRate    float64 `json:"linkRate,omitempty"`
	Digest      string  `json:"digest"`
	Verified    bool    `json:"verified"`
	ReadBack    int64   `json:"readBack"`
	Seconds     float64 `json:"seconds"`
}

func replicateJSON(host, img string, r *transfer.Result) replicateResult {
	return replicateResult{Host: host, Disk: r.Disk, Image: img, Size: r.Size, Pass: r.Pass, Resumed: r.Resumed,
		Chunks: r.Chunks, Sent: r.Sent, Unchanged: r.Unchanged, Zero: r.Zero, ZeroWritten: r.ZeroWritten,
		Skipped: r.Skipped, Retried: r.Retried, DataBytes: r.DataBytes, WireBytes: r.WireBytes,
		Codec: r.Codec.String(), SentS2: r.SentS2, SentZstd: r.SentZstd, SentRaw: r.SentRaw, LinkRate: r.LinkRate,
		Digest: "blake3:" + r.Digest.String(), Verified: r.Verified, ReadBack: r.ReadBack, Seconds: r.Elapsed.Seconds()}
}

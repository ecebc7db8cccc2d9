package migrate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/transfer"
)

// discover takes the server's inventory.
func (sr *serverRun) discover(ctx context.Context) (face.Phase, string, error) {
	h := discover.Host(ctx, sr.Hosts, sr.s.Name, discover.Options{Overrides: sr.Overrides, Logger: sr.Logger, Now: sr.Now})
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if fatal := firstFatal(h.Errors); fatal != nil {
		return "", "", sr.stepErr(face.Pending, "discover "+fatal.Step, errors.New(fatal.Message), fatal.Hint)
	}
	if err := sr.putJSON(ctx, keyInventory, h); err != nil {
		return "", "", err
	}
	detail := fmt.Sprintf("%s, %d disk(s)", orDash(h.OS.Name), len(h.Disks))
	sr.stepDone(face.Pending, "discover", detail)
	return face.Discovered, detail, nil
}

// firstFatal is the first error that leaves nothing to move: the host could
// not be reached or logged in to. Partial probe errors are findings of the
// assessment, not failures.
func firstFatal(errs []inventory.Error) *inventory.Error {
	for i, e := range errs {
		switch e.Kind {
		case inventory.ErrUnreachable, inventory.ErrAuth, inventory.ErrHostKey, inventory.ErrConfig, inventory.ErrTimeout, inventory.ErrCanceled, inventory.ErrTLS:
			return &errs[i]
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// assess judges the server. Blockers stop a move to Azure; the local cloud
// runs whatever boots on x86, so there they are reported and the move goes on.
func (sr *serverRun) assess(ctx context.Context) (face.Phase, string, error) {
	var h inventory.Host
	if ok, err := sr.getJSON(ctx, keyInventory, &h); err != nil || !ok {
		return "", "", errors.Join(err, fmt.Errorf("%s: no inventory in the ledger", sr.s.Name))
	}
	res, err := assess.Assess(&inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Hosts: []inventory.Host{h}}, assess.Options{})
	if err != nil {
		return "", "", err
	}
	hr := res.Hosts[0]
	var ids, fixes []string
	for _, f := range hr.Blockers() {
		ids = append(ids, f.Rule)
		if f.Fix != "" {
			fixes = append(fixes, f.Rule+": "+f.Fix)
		}
	}
	detail := "verdict " + hr.Verdict.Label()
	if len(ids) > 0 {
		detail += " (" + strings.Join(ids, ", ") + ")"
	}
	if len(ids) > 0 && sr.Target.Kind() != "local" {
		return "", "", sr.stepErr(face.Discovered, "assess", fmt.Errorf("not ready for %s: %s", sr.Target.Kind(), strings.Join(ids, ", ")),
			"fix the blockers on the source, then run again: "+strings.Join(fixes, "; "))
	}
	if len(ids) > 0 {
		detail += "; the local cloud takes it as it is"
	}
	sr.stepDone(face.Discovered, "assess", detail)
	return face.Assessed, detail, nil
}

// diskRecord is one source disk and its target disk, kept in the ledger so
// that every later pass writes the same target disk.
type diskRecord struct {
	// Device is what the agent reads ("" for its default); Source its name
	// for the disk; Size the source disk's size.
	Device string `json:"device"`
	Source string `json:"source"`
	Size   int64  `json:"size"`
	// Target is the target disk's name.
	Target string `json:"target"`
}

// prepare opens an agent on each source disk and creates its target disk.
func (sr *serverRun) prepare(ctx context.Context) (face.Phase, string, error) {
	devices := sr.s.Disks
	if len(devices) == 0 {
		devices = []string{""}
	}
	var disks []diskRecord
	for i, dev := range devices {
		src, err := sr.openSource(ctx, dev, false)
		if err != nil {
			return "", "", sr.stepErr(face.Assessed, "start agent", err, "")
		}
		hello := src.Disk()
		src.Close(ctx)
		name := diskName(sr.s.Name, hello.Name, i)
		d, err := sr.Target.CreateDisk(ctx, cloud.DiskSpec{Name: name, SizeBytes: cloud.RoundSize(hello.Size), Tags: map[string]string{"shift-host": sr.s.Name, "shift-source": hello.Name}})
		if err != nil {
			return "", "", sr.stepErr(face.Assessed, "create disk "+name, err, "")
		}
		d.Close()
		disks = append(disks, diskRecord{Device: dev, Source: hello.Name, Size: hello.Size, Target: name})
		sr.stepDone(face.Assessed, "create disk", fmt.Sprintf("%s (%s) for %s", name, sizeLabel(hello.Size), hello.Name))
	}
	if err := sr.putJSON(ctx, keyDisks, disks); err != nil {
		return "", "", err
	}
	return face.Prepared, fmt.Sprintf("%d target disk(s) on %s", len(disks), sr.Target.Kind()), nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// diskName names the target disk of a source disk: host-vda.
func diskName(host, source string, i int) string {
	label := unsafeName.ReplaceAllString(strings.ToLower(filepath.Base(source)), "-")
	label = strings.Trim(label, "-")
	if label == "" {
		label = fmt.Sprintf("disk%d", i)
	}
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(host), "-"), "-") + "-" + label
	if len(name) > cloud.MaxNameLen {
		name = name[:cloud.MaxNameLen]
	}
	return name
}

// replicate copies every disk until a pass moves little enough.
func (sr *serverRun) replicate(ctx context.Context) (face.Phase, string, error) {
	disks, err := sr.disks(ctx)
	if err != nil {
		return "", "", err
	}
	var last int64
	for pass := 0; ; pass++ {
		last = 0
		for _, d := range disks {
			res, err := sr.pass(ctx, d, false)
			if err != nil {
				return "", "", sr.stepErr(face.Replicating, "copy "+d.Source, err, "run again to resume: finished chunks are kept")
			}
			last += res.DataBytes
		}
		if last <= sr.s.inSyncBytes() || pass+1 >= sr.s.maxPasses() {
			break
		}
	}
	detail := fmt.Sprintf("%d pass(es) this run, %s moved by the last", sr.passes, sizeLabel(last))
	return face.InSync, detail, nil
}

func (sr *serverRun) disks(ctx context.Context) ([]diskRecord, error) {
	var disks []diskRecord
	if ok, err := sr.getJSON(ctx, keyDisks, &disks); err != nil || !ok {
		return nil, errors.Join(err, fmt.Errorf("%s: no disks in the ledger", sr.s.Name))
	}
	return disks, nil
}

// pass runs one copy pass of d into its target disk; final finalizes the
// target disk after it.
func (sr *serverRun) pass(ctx context.Context, d diskRecord, final bool) (*transfer.Result, error) {
	src, err := sr.openSource(ctx, d.Device, final)
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	if h := src.Disk(); h.Size != d.Size {
		return nil, fmt.Errorf("source disk %s is now %s, was %s when the target disk was made: the disk changed size; "+
			"start this server over (delete its target disk %s and its ledger entry)", d.Source, sizeLabel(h.Size), sizeLabel(d.Size), d.Target)
	}
	td, err := sr.Target.OpenDisk(ctx, d.Target)
	if err != nil {
		return nil, fmt.Errorf("open target disk %s: %w", d.Target, err)
	}
	defer td.Close()
	j, err := sr.Ledger.Journal(ctx, sr.s.Name, d.Target, d.Size)
	if err != nil {
		return nil, err
	}
	if c, ok := j.(interface{ Close() error }); ok {
		defer c.Close()
	}
	res, err := src.Pass(ctx, sizedSink{td, d.Size}, j, transfer.Options{
		BandwidthLimit: sr.s.Bandwidth,
		Reporter:       transfer.Throttle(progressEvents{sr}, progressEvery),
	})
	if err != nil {
		return nil, err
	}
	sr.passes++
	sr.bytes += res.DataBytes
	kind := "delta pass"
	if res.Pass == 1 {
		kind = "full copy"
	}
	if final {
		kind = "final pass"
		if err := td.Finalize(ctx); err != nil {
			return nil, fmt.Errorf("finalize target disk %s: %w", d.Target, err)
		}
	}
	detail := fmt.Sprintf("%s pass %d: %d chunks sent, %d unchanged, %d zero, %s moved, %s on the wire, in %s",
		d.Source, res.Pass, res.Sent, res.Unchanged, res.Zero+res.ZeroWritten, sizeLabel(res.DataBytes), sizeLabel(res.WireBytes), res.Elapsed.Round(1e6))
	if res.Resumed {
		detail += fmt.Sprintf("; resumed: %d chunks were already done", res.Skipped)
	}
	ph := face.Replicating
	if final {
		ph = face.CuttingOver
	}
	sr.stepDone(ph, kind, detail)
	return res, nil
}

// sizedSink is a target disk seen at the source disk's size: the target is
// rounded up to a whole MiB, and the rest reads as zeros.
type sizedSink struct {
	cloud.Disk
	size int64
}

func (s sizedSink) Size() int64 { return s.size }

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

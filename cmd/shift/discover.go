package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

type discoverFlags struct {
	hosts       string
	output      string
	json        bool
	concurrency int
	timeout     time.Duration
	tofu        bool
	knownHosts  string
	sample      time.Duration
	interval    time.Duration
}

func newDiscoverCmd() *cobra.Command {
	var f discoverFlags
	cmd := &cobra.Command{
		Use:   "discover --hosts FILE [HOST...]",
		Short: "Discover servers over SSH and WinRM and write an inventory",
		Long: `Discover connects to every host of a hosts file (or only the HOSTs named),
reads what runs there, and writes an inventory: to stdout, or to the file
given with -o. A summary table goes to stderr.

One failing host never stops the others: its error, with a hint, goes into
the inventory and the summary, and shift exits with status 3.

SSH host keys are checked against known_hosts. An unknown key fails unless
--trust-on-first-use is given, which records it; a changed key always fails.

With --sample DURATION, every host that was reached is then watched for that
long: CPU busy share, memory in use, disk IOPS and throughput (physical disks)
and network throughput, one point per --sample-interval (default: a sixtieth
of the window, at least 5s). Linux hosts are read from /proc by one shell loop;
Windows hosts through Get-Counter. All hosts are sampled at the same time, and
the samples go into the inventory, where 'shift assess' sizes from them.
Ctrl-C during sampling stops it and writes the inventory with the points
collected so far (exit status 130).`,
		Example: `  shift discover --hosts hosts.yaml -o inventory.json
  shift discover --hosts hosts.yaml db01 web01 > inventory.json
  shift discover --hosts hosts.yaml -o inv.json --json | jq .
  shift discover --hosts hosts.yaml --sample 10m -o inv.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiscover(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.hosts, "hosts", "", "hosts file (YAML) listing the servers and their credential references (required)")
	fl.StringVarP(&f.output, "output", "o", "", "write the inventory to this file instead of stdout")
	fl.BoolVar(&f.json, "json", false, "print one JSON event per line on stdout (host started, host done); needs -o")
	fl.IntVar(&f.concurrency, "concurrency", discover.DefaultConcurrency, "how many hosts to probe at once")
	fl.DurationVar(&f.timeout, "timeout", discover.DefaultTimeout, "time limit for one host (a host's timeout in the hosts file wins)")
	fl.BoolVar(&f.tofu, "trust-on-first-use", false, "record unknown SSH host keys in known_hosts instead of failing (a changed key still fails)")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for every SSH host (default: the hosts file's, else ~/.ssh/known_hosts)")
	fl.DurationVar(&f.sample, "sample", 0, "after the probe, collect performance samples for this long (e.g. 10m, 24h) for performance-based sizing")
	fl.DurationVar(&f.interval, "sample-interval", 0, "time between two samples, whole seconds (default: --sample/60, at least 5s)")
	return cmd
}

func runDiscover(cmd *cobra.Command, f discoverFlags, names []string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	switch {
	case f.hosts == "":
		return usageError(errors.New("discover needs --hosts FILE"), "write a hosts file (see 'shift discover --help'), or run 'shift lab --write-hosts lab.yaml' for the built-in lab")
	case f.json && f.output == "":
		return usageError(errors.New("--json prints events on stdout, so the inventory needs -o FILE"), "add -o inventory.json")
	case f.concurrency < 1:
		return usageError(fmt.Errorf("--concurrency %d: must be at least 1", f.concurrency), "")
	case f.timeout <= 0:
		return usageError(fmt.Errorf("--timeout %s: must be positive", f.timeout), "")
	case f.sample < 0:
		return usageError(fmt.Errorf("--sample %s: must be positive", f.sample), "")
	case f.interval != 0 && f.sample == 0:
		return usageError(errors.New("--sample-interval needs --sample"), "add --sample 10m (how long to sample)")
	case f.interval != 0 && f.interval < time.Second:
		return usageError(fmt.Errorf("--sample-interval %s: must be at least 1s", f.interval), "")
	case f.sample > 0 && f.sample < max(f.interval, time.Second):
		return usageError(fmt.Errorf("--sample %s is shorter than one interval (%s)", f.sample, max(f.interval, time.Second)), "sample for longer, or with a shorter --sample-interval")
	}
	hf, err := remote.LoadHosts(f.hosts)
	if err != nil {
		return usageError(err, "fix the hosts file; 'shift discover --help' shows the format")
	}
	for _, n := range names {
		if hf.Entry(n) == nil {
			return usageError(fmt.Errorf("host %s is not in %s", n, f.hosts), "hosts in the file: "+strings.Join(hf.Names(), ", "))
		}
	}
	if f.output != "" {
		// Fail before a long run, not after it, when the output cannot be written.
		if err := checkWritable(f.output); err != nil {
			return usageError(err, "choose another -o path")
		}
	}
	total := len(names)
	if total == 0 {
		total = len(hf.Hosts)
	}
	width := 0
	for _, n := range hf.Names() {
		width = max(width, len(n))
	}
	text := &textProgress{w: stderr, total: total, width: width, sample: f.sample}
	var rep discover.Reporter = text
	if f.json {
		rep = &jsonProgress{enc: json.NewEncoder(stdout), total: total}
	}
	ctx := cmd.Context()
	start := time.Now()
	inv, err := discover.Run(ctx, hf, names, discover.Options{
		Concurrency:    f.concurrency,
		Timeout:        f.timeout,
		Overrides:      remote.Overrides{TrustOnFirstUse: f.tofu, KnownHosts: f.knownHosts},
		Reporter:       rep,
		Generator:      "shift " + versionString(),
		Sample:         f.sample,
		SampleInterval: f.interval,
	})
	text.stop()
	if err != nil {
		return usageError(err, "")
	}
	if f.sample > 0 && ctx.Err() != nil {
		fmt.Fprintln(stderr, sampledNote(inv, "sampling stopped early (interrupted): the inventory keeps"))
	}
	if err := writeInventory(inv, f.output, stdout); err != nil {
		return err
	}
	failed := printSummary(stderr, inv, time.Since(start), f.sample > 0)
	if f.output != "" {
		fmt.Fprintf(stderr, "inventory written to %s\n", f.output)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return &exitError{code: exitPartial, silent: true}
	}
	return nil
}

func checkWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("-o %s: %s is not a directory", path, dir)
	}
	return nil
}

// writeInventory writes atomically: a half-written inventory never replaces a
// good one.
func writeInventory(inv *inventory.Inventory, path string, stdout io.Writer) error {
	if path == "" {
		return inv.Write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".inventory-*.json")
	if err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := inv.Write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	return nil
}

// printSummary writes the table of hosts and then each host's errors with
// their hints. It returns the number of hosts with errors.
func printSummary(w io.Writer, inv *inventory.Inventory, took time.Duration, sampled bool) int {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	samplesCol := ""
	if sampled {
		samplesCol = "SAMPLES\t"
	}
	fmt.Fprintln(tw, "HOST\tTRANSPORT\tOS\tCPU\tMEMORY\tDISKS\tSQL\tSHAREPOINT\t"+samplesCol+"STATUS")
	failed := 0
	for _, h := range inv.Hosts {
		status := "ok"
		switch {
		case !h.Reachable():
			failed++
			status = "FAILED: " + h.Errors[0].Kind
		case h.Failed():
			failed++
			status = fmt.Sprintf("incomplete: %d error(s)", len(h.Errors))
		case !h.OK():
			status = fmt.Sprintf("ok, %d note(s)", len(h.Errors))
		}
		if sampled {
			status = samplesLabel(h.Samples) + "\t" + status
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, dash(h.Transport), dash(osLabel(h.OS)),
			count(h.CPU.Logical), bytesLabel(h.Memory.TotalBytes), disksLabel(h.Disks), sqlLabel(h), spLabel(h), status)
	}
	tw.Flush()
	for _, h := range inv.Hosts {
		for _, e := range h.Errors {
			label := e.Kind
			if e.Kind == inventory.ErrUnsupported {
				label = "note"
			}
			fmt.Fprintf(w, "\n%s: %s (%s): %s\n", h.Name, e.Step, label, e.Message)
			if e.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", e.Hint)
			}
		}
	}
	fmt.Fprintf(w, "\n%d host(s), %d ok, %d failed or incomplete, in %s\n", len(inv.Hosts), len(inv.Hosts)-failed, failed, took.Round(time.Millisecond))
	return failed
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func osLabel(o inventory.OS) string {
	if o.Name != "" {
		return o.Name
	}
	if o.Version == "" {
		return ""
	}
	return strings.TrimSpace(o.ID + " " + o.Version)
}

func bytesLabel(b uint64) string {
	const gib = 1 << 30
	switch {
	case b == 0:
		return "-"
	case b >= gib:
		return fmt.Sprintf("%.1f GiB", float64(b)/gib)
	default:
		return fmt.Sprintf("%d MiB", b>>20)
	}
}

func disksLabel(ds []inventory.Disk) string {
	if len(ds) == 0 {
		return "-"
	}
	var total uint64
	for _, d := range ds {
		total += d.SizeBytes
	}
	return fmt.Sprintf("%d (%s)", len(ds), bytesLabel(total))
}

func sqlLabel(h inventory.Host) string {
	if len(h.SQLServer) == 0 {
		return "-"
	}
	n := 0
	for _, in := range h.SQLServer {
		n += len(in.Databases)
	}
	return fmt.Sprintf("%d inst, %d db", len(h.SQLServer), n)
}

func spLabel(h inventory.Host) string {
	if h.SharePoint == nil {
		return "-"
	}
	return fmt.Sprintf("%d sites", len(h.SharePoint.SiteCollections))
}

// textProgress prints a line per finished host on stderr; with sampling, a
// line when a host starts sampling and, while any samples, how long is left.
type textProgress struct {
	mu     sync.Mutex
	w      io.Writer
	total  int
	width  int // of the longest host name
	done   int
	sample time.Duration // the sampling window; 0 when not sampling

	sampling int       // hosts sampling now
	eta      time.Time // when the last sampling host should be done
	ticker   *time.Ticker
	quit     chan struct{}
}

func (p *textProgress) HostStarted(string) {}

// HostSampling says that a host's probe is done and its sampling started,
// and starts the periodic line with the time left.
func (p *textProgress) HostSampling(name string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sampling++
	p.eta = later(p.eta, until)
	fmt.Fprintf(p.w, "[%*s] %-*s sampling for %s, until %s (all hosts done at about %s)\n", 2*len(fmt.Sprint(p.total))+1, "…", p.width, name,
		p.sample, until.Format(time.TimeOnly), p.eta.Format(time.TimeOnly))
	if p.ticker == nil {
		p.ticker = time.NewTicker(max(10*time.Second, p.sample/10))
		p.quit = make(chan struct{})
		go p.tick(p.ticker, p.quit)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (p *textProgress) tick(t *time.Ticker, quit chan struct{}) {
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			p.mu.Lock()
			if p.sampling > 0 {
				left := max(0, p.eta.Sub(now)).Round(time.Second)
				fmt.Fprintf(p.w, "sampling %d host(s): %s left, done at about %s (Ctrl-C stops sampling and keeps the samples so far)\n",
					p.sampling, left, p.eta.Format(time.TimeOnly))
			}
			p.mu.Unlock()
		}
	}
}

// stop ends the periodic line. It is safe to call when sampling never began.
func (p *textProgress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ticker != nil {
		p.ticker.Stop()
		close(p.quit)
		p.ticker = nil
	}
}

func (p *textProgress) HostDone(h *inventory.Host) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	status := "ok"
	if h.Failed() {
		e := h.Errors[0]
		status = fmt.Sprintf("%s: %s", e.Kind, e.Step)
		if len(h.Errors) > 1 {
			status += fmt.Sprintf(" (+%d more)", len(h.Errors)-1)
		}
	}
	if !h.OK() && !h.Failed() {
		status = fmt.Sprintf("ok, %d note(s)", len(h.Errors))
	}
	if h.Samples != nil {
		p.sampling--
		status += ", " + samplesLabel(h.Samples)
	}
	fmt.Fprintf(p.w, "[%*d/%d] %-*s %-6s %5.1fs  %s\n", len(fmt.Sprint(p.total)), p.done, p.total, p.width, h.Name, h.Transport, h.ProbeSeconds, status)
}

// samplesLabel says how many samples a host has and over how long.
func samplesLabel(s *inventory.Samples) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d samples over %s", len(s.Points), s.End.Sub(s.Start).Round(time.Second))
}

// sampledNote counts the samples an inventory holds, after prefix.
func sampledNote(inv *inventory.Inventory, prefix string) string {
	hosts, points, windows := 0, 0, false
	for _, h := range inv.Hosts {
		if h.Samples != nil {
			hosts++
			points += len(h.Samples.Points)
		}
		windows = windows || h.Transport == "winrm" && h.Reachable()
	}
	note := fmt.Sprintf("%s %d sample(s) from %d host(s)", prefix, points, hosts)
	if windows {
		note += "; Windows hosts lose the samples of the Get-Counter run in flight (up to 2 minutes)"
	}
	return note
}

// jsonProgress prints NDJSON events on stdout. The event schema is stable:
// {"event":"host-started","host":NAME},
// {"event":"host-sampling","host":NAME,"until":RFC3339} (with --sample: the
// probe is done, sampling runs until then) and
// {"event":"host-done","host":NAME,"ok":BOOL,"done":N,"total":N,"seconds":F,"samples":N,"errors":[...]},
// where ok is false when the host failed or its inventory is incomplete
// (errors of kind "unsupported" are notes and leave ok true).
type jsonProgress struct {
	mu    sync.Mutex
	enc   *json.Encoder
	total int
	done  int
}

var (
	_ discover.SampleReporter = (*textProgress)(nil)
	_ discover.SampleReporter = (*jsonProgress)(nil)
)

type progressEvent struct {
	Event   string            `json:"event"`
	Host    string            `json:"host"`
	OK      *bool             `json:"ok,omitempty"`
	Done    int               `json:"done,omitempty"`
	Total   int               `json:"total,omitempty"`
	Seconds float64           `json:"seconds,omitempty"`
	Until   *time.Time        `json:"until,omitempty"`
	Samples int               `json:"samples,omitempty"`
	Errors  []inventory.Error `json:"errors,omitempty"`
}

func (p *jsonProgress) HostSampling(name string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := until.UTC()
	p.enc.Encode(progressEvent{Event: "host-sampling", Host: name, Total: p.total, Until: &u})
}

func (p *jsonProgress) HostStarted(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enc.Encode(progressEvent{Event: "host-started", Host: name, Total: p.total})
}

func (p *jsonProgress) HostDone(h *inventory.Host) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	ok := !h.Failed()
	n := 0
	if h.Samples != nil {
		n = len(h.Samples.Points)
	}
	p.enc.Encode(progressEvent{Event: "host-done", Host: h.Name, OK: &ok, Done: p.done, Total: p.total, Seconds: h.ProbeSeconds, Samples: n, Errors: h.Errors})
}

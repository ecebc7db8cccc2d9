package validate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteReport renders a readable text report: a summary of after (and of
// before when given), then findings worst first, each naming the object with
// the expected and actual values, and a verdict line. findings are
// Compare's; nil with before nil reports the fingerprint alone.
func WriteReport(w io.Writer, before, after *Fingerprint, findings []Finding) error {
	ew := &errWriter{w: w}
	writeSummary(ew, after)
	if before != nil {
		fmt.Fprintf(ew, "compared with the fingerprint taken %s\n", before.Taken.Format(time.RFC3339))
	}
	fmt.Fprintln(ew)
	counts := map[Severity]int{}
	for _, f := range findings {
		counts[f.Severity]++
	}
	if len(findings) == 0 {
		fmt.Fprintln(ew, "no findings")
	} else {
		fmt.Fprintln(ew, "findings:")
		for _, f := range findings {
			fmt.Fprintf(ew, "  %-8s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Object, f.Message)
			if f.Expected != "" || f.Actual != "" {
				fmt.Fprintf(ew, "           expected %s, found %s   [%s]\n", orDefault(f.Expected, "-"), orDefault(f.Actual, "-"), f.Check)
			}
		}
	}
	fmt.Fprintln(ew)
	verdict := "PASS"
	if counts[Blocking] > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(ew, "%s: %d blocking, %d warnings, %d info\n", verdict, counts[Blocking], counts[Warning], counts[Info])
	return ew.err
}

func writeSummary(w io.Writer, fp *Fingerprint) {
	g := fp.Generic
	fmt.Fprintf(w, "host %s (%s), fingerprint taken %s\n", fp.Host, orDefault(g.Transport, "?"), fp.Taken.Format(time.RFC3339))
	if !g.Reachable {
		fmt.Fprintln(w, "  not reachable")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  hostname\t%s\n", orDefault(g.Hostname, "-"))
	if !g.BootTime.IsZero() {
		fmt.Fprintf(tw, "  booted\t%s\n", g.BootTime.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "  clock skew\t%s\n", g.ClockSkew)
	for _, v := range g.Volumes {
		fmt.Fprintf(tw, "  volume %s\t%s free of %s\n", v.Mount, byteLabel(v.FreeBytes), byteLabel(v.SizeBytes))
	}
	if l := fp.Linux; l != nil {
		if l.Systemd {
			fmt.Fprintf(tw, "  systemd\t%s, %d active units\n", orDefault(l.SystemState, "?"), len(l.Units))
		} else {
			fmt.Fprintf(tw, "  systemd\tnot running\n")
		}
		fmt.Fprintf(tw, "  listening\t%d sockets\n", len(l.Ports))
		mounted := 0
		for _, m := range l.Mounts {
			if m.Mounted {
				mounted++
			}
		}
		fmt.Fprintf(tw, "  fstab\t%d entries, %d mounted\n", len(l.Mounts), mounted)
		fmt.Fprintf(tw, "  filesystems\t%d\n", len(l.Filesystems))
		for _, d := range l.Databases {
			modes := map[string]int{}
			var rows int64
			for _, t := range d.Tables {
				modes[t.Mode]++
				rows += t.Rows
			}
			fmt.Fprintf(tw, "  %s %s\t%d tables, %d rows read%s\n", d.Engine, dbLabel(d), len(d.Tables), rows, modeNote(modes))
		}
	}
	for _, h := range fp.HTTP {
		state := fmt.Sprintf("status %d", h.Status)
		if h.Error != "" {
			state = "no answer: " + h.Error
		}
		fmt.Fprintf(tw, "  http %s\t%s %s\n", h.Name, h.URL, state)
	}
	for _, c := range fp.Commands {
		fmt.Fprintf(tw, "  command %s\texit %d\n", c.Name, c.ExitCode)
	}
	for _, a := range fp.Absent {
		fmt.Fprintf(tw, "  not found\t%s\n", a)
	}
	for _, e := range fp.Errors {
		fmt.Fprintf(tw, "  not read: %s\t%s\n", e.Section, e.Message)
	}
	tw.Flush()
}

// modeNote says how many tables were not read in full.
func modeNote(modes map[string]int) string {
	var parts []string
	for _, m := range []string{TableSampled, TableSkipped, TableError} {
		if modes[m] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", modes[m], m))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

package validate

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Generic is what every host has: it booted, answers its transport, keeps
// time, and has room on its filesystems.
type Generic struct {
	// Transport is how the probe reached the host: "ssh" or "winrm".
	Transport string `json:"transport"`
	// Reachable is false when the host did not answer its transport (see
	// Unreachable); the rest of the fingerprint is then empty.
	Reachable bool `json:"reachable"`
	// Hostname is the name the host gives itself.
	Hostname string `json:"hostname"`
	// BootTime is when the host last booted, by its own clock.
	BootTime time.Time `json:"bootTime"`
	// ClockSkew is the host's clock minus the appliance's, measured around
	// one round trip.
	ClockSkew time.Duration `json:"clockSkew"`
	// Volumes are the mounted filesystems (Linux) or drive letters (Windows)
	// with their free space.
	Volumes []VolumeSpace `json:"volumes,omitempty"`
}

// VolumeSpace is one filesystem's size and free space.
type VolumeSpace struct {
	// Mount is the mount point or drive letter ("/", "C:").
	Mount     string `json:"mount"`
	SizeBytes uint64 `json:"sizeBytes"`
	FreeBytes uint64 `json:"freeBytes"`
}

// HTTPResult is the answer to one HTTPCheck.
type HTTPResult struct {
	Name string `json:"name"`
	// URL is the check's URL without user info and with query values
	// replaced (see RedactURL).
	URL    string `json:"url"`
	Status int    `json:"status"`
	// Expected is the status the check asked for; 0 means the one recorded
	// before, else 200.
	Expected int `json:"expected,omitempty"`
	// Contains reports whether the check's Contains text was in the body;
	// nil when the check named none.
	Contains *bool `json:"contains,omitempty"`
	// Error says why there was no answer (refused, timeout, TLS).
	Error string `json:"error,omitempty"`
}

// CommandResult is the result of one CommandCheck.
type CommandResult struct {
	Name     string `json:"name"`
	ExitCode int    `json:"exitCode"`
	// Compare makes a change of output against before a blocking finding.
	Compare bool `json:"compare,omitempty"`
	// OutputSHA256 identifies the command's standard output, so that a
	// change is seen without storing output that may hold secrets.
	OutputSHA256 string `json:"outputSha256"`
	// Error says why the command could not run.
	Error string `json:"error,omitempty"`
}

// Unreachable is the fingerprint of a host that could not be reached over
// transport: Compare turns it into a blocking finding.
func Unreachable(host, transport string, err error) *Fingerprint {
	fp := &Fingerprint{Version: FormatVersion, Host: host, Taken: time.Now().UTC()}
	fp.Generic.Transport = transport
	fp.addError("connect", err.Error(), "check that the host booted and answers "+transport)
	return fp
}

// Thresholds of the generic rules.
const (
	// MaxClockSkew is the clock difference past which a host warns.
	MaxClockSkew = 5 * time.Minute
	// MinFreeRatio and MinFreeBytes: a volume with less free space warns
	// (MinFreeBytes only on volumes larger than SmallVolume, where 1 GiB
	// is not a reasonable expectation).
	MinFreeRatio = 0.05
	MinFreeBytes = 1 << 30
	SmallVolume  = 4 << 30
)

func compareGeneric(before, after *Fingerprint) []Finding {
	g := after.Generic
	if !g.Reachable {
		msg := "the host did not answer"
		if len(after.Errors) > 0 {
			msg = after.Errors[0].Message
		}
		return []Finding{{Severity: Blocking, Check: "generic/reachable", Object: "host " + after.Host,
			Expected: "reachable over " + orDefault(g.Transport, "its transport"), Actual: "unreachable", Message: msg}}
	}
	var out []Finding
	if before != nil && before.Generic.Hostname != "" && g.Hostname != before.Generic.Hostname {
		out = append(out, Finding{Severity: Blocking, Check: "generic/hostname", Object: "hostname",
			Expected: before.Generic.Hostname, Actual: orDefault(g.Hostname, "(unknown)"),
			Message: "the host calls itself by another name: services, certificates and cluster membership that use the name break"})
	}
	if skew := g.ClockSkew.Abs(); skew > MaxClockSkew {
		out = append(out, Finding{Severity: Warning, Check: "generic/clock", Object: "clock",
			Expected: "within " + MaxClockSkew.String() + " of the appliance", Actual: g.ClockSkew.Round(time.Second).String(),
			Message: "the clock is off: Kerberos, TLS and replication fail past a few minutes; check NTP (timedatectl, w32tm)"})
	}
	for _, v := range g.Volumes {
		if f := lowSpace(v); f != "" {
			out = append(out, Finding{Severity: Warning, Check: "generic/free-space", Object: "volume " + v.Mount,
				Expected: f, Actual: fmt.Sprintf("%s free of %s", byteLabel(v.FreeBytes), byteLabel(v.SizeBytes)),
				Message: "little free space left: services may fail to write once they take load"})
		}
	}
	for _, e := range after.Errors {
		msg := e.Message
		if e.Hint != "" {
			msg += " (" + e.Hint + ")"
		}
		out = append(out, Finding{Severity: Warning, Check: "probe/" + e.Section, Object: e.Section,
			Expected: "read", Actual: "not read", Message: msg})
	}
	return out
}

// lowSpace returns the expectation v misses, or "" when it has room.
func lowSpace(v VolumeSpace) string {
	switch {
	case float64(v.FreeBytes) < MinFreeRatio*float64(v.SizeBytes):
		return fmt.Sprintf("at least %.0f%% free", MinFreeRatio*100)
	case v.SizeBytes > SmallVolume && v.FreeBytes < MinFreeBytes:
		return "at least " + byteLabel(MinFreeBytes) + " free"
	}
	return ""
}

func byteLabel(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}

func compareChecks(before, after *Fingerprint) []Finding {
	var out []Finding
	prevHTTP := map[string]HTTPResult{}
	prevCmd := map[string]CommandResult{}
	if before != nil {
		for _, h := range before.HTTP {
			prevHTTP[h.Name] = h
		}
		for _, c := range before.Commands {
			prevCmd[c.Name] = c
		}
	}
	for _, h := range after.HTTP {
		out = append(out, compareHTTP(prevHTTP, h)...)
		delete(prevHTTP, h.Name)
	}
	for _, c := range after.Commands {
		out = append(out, compareCommand(prevCmd, c)...)
		delete(prevCmd, c.Name)
	}
	for name := range prevHTTP {
		out = append(out, Finding{Severity: Warning, Check: "http/missing", Object: "HTTP check " + name,
			Expected: "requested", Actual: "not requested", Message: "the check ran before but not now: give the same --http checks to both runs"})
	}
	for name := range prevCmd {
		out = append(out, Finding{Severity: Warning, Check: "command/missing", Object: "command " + name,
			Expected: "run", Actual: "not run", Message: "the command ran before but not now: give the same --command checks to both runs"})
	}
	return out
}

func compareHTTP(prev map[string]HTTPResult, h HTTPResult) []Finding {
	obj := "HTTP " + h.Name + " (" + h.URL + ")"
	want, from := h.Expected, "the check's status"
	if b, ok := prev[h.Name]; want == 0 && ok && b.Error == "" {
		want, from = b.Status, "the status before"
	}
	if want == 0 {
		want, from = 200, "200"
	}
	var out []Finding
	switch {
	case h.Error != "":
		out = append(out, Finding{Severity: Blocking, Check: "http/status", Object: obj,
			Expected: fmt.Sprintf("status %d", want), Actual: "no answer: " + h.Error, Message: "the endpoint does not answer"})
	case h.Status != want:
		out = append(out, Finding{Severity: Blocking, Check: "http/status", Object: obj,
			Expected: fmt.Sprintf("status %d", want), Actual: fmt.Sprintf("status %d", h.Status), Message: "the endpoint answers differently than " + from})
	}
	if h.Contains != nil && !*h.Contains {
		out = append(out, Finding{Severity: Blocking, Check: "http/contains", Object: obj,
			Expected: "body holds the expected text", Actual: "text missing", Message: "the page does not hold the text the check names"})
	}
	return out
}

func compareCommand(prev map[string]CommandResult, c CommandResult) []Finding {
	obj := "command " + c.Name
	if c.ExitCode != 0 {
		return []Finding{{Severity: Blocking, Check: "command/exit", Object: obj, Expected: "exit status 0",
			Actual: fmt.Sprintf("exit status %d", c.ExitCode), Message: orDefault(c.Error, "the command failed")}}
	}
	if b, ok := prev[c.Name]; ok && c.Compare && b.ExitCode == 0 && b.OutputSHA256 != c.OutputSHA256 {
		return []Finding{{Severity: Blocking, Check: "command/output", Object: obj, Expected: "output sha256 " + short(b.OutputSHA256),
			Actual: "output sha256 " + short(c.OutputSHA256), Message: "the command prints something else than before"}}
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// RedactURL returns u without user info and with every query value
// replaced by "redacted", so that a token in a URL is never recorded. A URL
// that does not parse becomes "(unparsable URL)".
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	p.Fragment, p.RawFragment = "", ""
	if p.RawQuery != "" {
		q := p.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// scrub replaces secret URL u (and its parts that may hold a token) in s
// by its redacted form.
func scrub(s, u string) string {
	if u == "" {
		return s
	}
	s = strings.ReplaceAll(s, u, RedactURL(u))
	if p, err := url.Parse(u); err == nil {
		if pw, ok := p.User.Password(); ok && pw != "" {
			s = strings.ReplaceAll(s, pw, "[redacted]")
		}
		for _, vs := range p.Query() {
			for _, v := range vs {
				if len(v) >= 4 {
					s = strings.ReplaceAll(s, v, "[redacted]")
				}
			}
		}
	}
	return s
}

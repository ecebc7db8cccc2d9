package validate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/remote"
)

// serveWindows starts a simulated Windows host (a preset or
// "<preset>@<variant>") behind the fixture WinRM server on loopback and
// dials it with the real WinRM client.
func serveWindows(t *testing.T, name string, password string) (*remote.WinRMClient, *windows.Host) {
	t.Helper()
	fx, err := windows.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := winrmserver.Listen("127.0.0.1:0", fx, winrmserver.Options{ComputerName: fx.Hostname(), Domain: fx.Domain(), Auth: winrmserver.AuthNTLM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if password == "" {
		password = fx.LabPassword()
	}
	c, err := remote.DialWinRM(t.Context(), remote.WinRMConfig{Host: name, Address: "127.0.0.1", Port: srv.Port(), Auth: "ntlm",
		User: fx.LabUser(), Password: remote.NewSecret(password), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fx
}

func probe(t *testing.T, name string, opts Options) *Fingerprint {
	t.Helper()
	c, _ := serveWindows(t, name, "")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	fp, err := ProbeWinRM(ctx, c, name, opts)
	if err != nil {
		t.Fatalf("ProbeWinRM %s: %v", name, err)
	}
	return fp
}

func blocking(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Blocking {
			out = append(out, f)
		}
	}
	return out
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n  %s %s %q expected %q actual %q: %s", f.Severity, f.Check, f.Object, f.Expected, f.Actual, f.Message)
	}
	return b.String()
}

// TestProbeWinRMHealthy fingerprints each healthy preset twice over real
// WinRM: the sections match what the host runs, and neither the comparison
// nor the after fingerprint on its own has a blocking finding.
func TestProbeWinRMHealthy(t *testing.T) {
	for _, tc := range []struct {
		preset, hostname  string
		sql, sharePoint   bool
		volumes           int
		skew              time.Duration
		databases, tables int
	}{
		{"ws2019-sql2019-sp2019", "SP19-APP01", true, true, 3, 0, 13, 57},
		{"ws2012r2-sql2014", "FIN-SQL01", true, false, 3, 1800 * time.Millisecond, 8, 13},
		{"ws2022-bitlocker", "WEB22-01", false, false, 2, -400 * time.Millisecond, 0, 0},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			before := probe(t, tc.preset, Options{})
			after := probe(t, tc.preset, Options{})
			if len(after.Errors) != 0 {
				t.Fatalf("probe errors: %+v", after.Errors)
			}
			g := after.Generic
			if g.Transport != "winrm" || g.Hostname != tc.hostname || len(g.Volumes) != tc.volumes || g.BootTime.IsZero() ||
				g.Volumes[0].SizeBytes == 0 || g.Volumes[0].FreeBytes == 0 || g.Volumes[0].FreeBytes > g.Volumes[0].SizeBytes {
				t.Errorf("generic = %+v", g)
			}
			if d := g.ClockSkew - tc.skew; d < -time.Second || d > time.Second {
				t.Errorf("clock skew %s, want about %s", g.ClockSkew, tc.skew)
			}
			if (after.SQLServer != nil) != tc.sql || (after.SharePoint != nil) != tc.sharePoint {
				t.Fatalf("SQL Server %v, SharePoint %v; want %v, %v", after.SQLServer != nil, after.SharePoint != nil, tc.sql, tc.sharePoint)
			}
			if tc.sql {
				in := after.SQLServer.Instances[0]
				tables := 0
				for _, d := range in.Databases {
					tables += len(d.Tables)
				}
				if len(in.Databases) != tc.databases || tables != tc.tables || in.Version == "" || len(in.TCPPorts) == 0 || len(in.Logins) == 0 {
					t.Errorf("instance %s: %d databases, %d tables, version %q, ports %v, %d logins", in.Name, len(in.Databases), tables, in.Version, in.TCPPorts, len(in.Logins))
				}
			}
			if fs := Compare(before, after); Blocks(fs) {
				t.Errorf("healthy before and after: %s", findingsText(blocking(fs)))
			}
			if fs := append(compareSQLServer(before.SQLServer, after.SQLServer), compareSharePoint(before.SharePoint, after.SharePoint)...); len(fs) != 0 {
				t.Errorf("identical hosts, findings: %s", findingsText(fs))
			}
			if fs := Compare(nil, after); Blocks(fs) {
				t.Errorf("healthy after on its own: %s", findingsText(blocking(fs)))
			}
		})
	}
}

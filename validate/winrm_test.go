package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
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
			if fs := append(compareSQLServer(before.SQLServer, after.SQLServer, ""), compareSharePoint(before.SharePoint, after.SharePoint, "")...); len(fs) != 0 {
				t.Errorf("identical hosts, findings: %s", findingsText(fs))
			}
			if fs := Compare(nil, after); Blocks(fs) {
				t.Errorf("healthy after on its own: %s", findingsText(blocking(fs)))
			}
		})
	}
}

// TestProbeWinRMBrokenVariants fingerprints the healthy preset, then each
// broken variant, over real WinRM: each yields exactly the one blocking
// finding it should, naming the object, and no other finding from the SQL
// Server and SharePoint rules.
func TestProbeWinRMBrokenVariants(t *testing.T) {
	const preset = "ws2019-sql2019-sp2019"
	opts := Options{CheckDB: true}
	before := probe(t, preset, opts)
	for _, tc := range []struct {
		variant, check, object, actual string
	}{
		{"recovery-pending", "sql/database-state", "database HRPayroll (MSSQLSERVER)", "RECOVERY_PENDING"},
		{"agent-stopped", "sql/service", "service SQLSERVERAGENT", "Stopped"},
		{"content-db-detached", "sharepoint/content-database", "content database WSS_Content_Projects", "not attached"},
		{"site-503", "sharepoint/site-http", "site collection http://sp19-app01/sites/hr", "503"},
		{"row-missing", "sql/table-data", "table AdventureWorks2019.Sales.SalesOrderHeader (MSSQLSERVER)", "31464 rows, checksum 1593807312"},
		{"login-missing", "sql/login", `login CONTOSO\svc-reports (MSSQLSERVER)`, "missing"},
		{"checkdb-corrupt", "sql/checkdb", "database SalesDW (MSSQLSERVER)", "errors"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			after := probe(t, preset+"@"+tc.variant, opts)
			if len(after.Errors) != 0 {
				t.Fatalf("probe errors: %+v", after.Errors)
			}
			own := append(compareSQLServer(before.SQLServer, after.SQLServer, ""), compareSharePoint(before.SharePoint, after.SharePoint, "")...)
			all := blocking(Compare(before, after))
			if len(own) != 1 || len(all) != 1 {
				t.Fatalf("want exactly one finding, got %d from the workload rules, %d blocking in all: %s", len(own), len(all), findingsText(Compare(before, after)))
			}
			f := all[0]
			if f.Check != tc.check || f.Object != tc.object || f.Actual != tc.actual || f.Expected == "" || f.Message == "" {
				t.Errorf("finding %s", findingsText(all))
			}
		})
	}
	// On its own (no before), a database in RECOVERY_PENDING and a stopped
	// SQL Agent still block.
	for _, v := range []string{"recovery-pending", "agent-stopped", "site-503", "checkdb-corrupt"} {
		after := probe(t, preset+"@"+v, opts)
		if fs := blocking(Compare(nil, after)); len(fs) != 1 {
			t.Errorf("%s without a before: %s", v, findingsText(fs))
		}
	}
}

// TestProbeWinRMProbeError: a probe script that ends with a PowerShell
// error (CLIXML on stderr) is recorded with the host, the probe, the error
// and a hint; the other sections are still read.
func TestProbeWinRMProbeError(t *testing.T) {
	const name = "ws2019-sql2019-sp2019@farm-access-denied"
	fp := probe(t, name, Options{})
	if fp.SharePoint != nil || fp.SQLServer == nil || !fp.Generic.Reachable || len(fp.Errors) != 1 || len(fp.Absent) != 0 {
		t.Fatalf("SharePoint %v, SQL Server %v, errors %+v, absent %q", fp.SharePoint, fp.SQLServer, fp.Errors, fp.Absent)
	}
	e := fp.Errors[0]
	if e.Section != "sharepoint" || !strings.Contains(e.Message, "host "+name) || !strings.Contains(e.Message, "probe sharepoint") ||
		!strings.Contains(e.Message, "Cannot access the local farm") || strings.Contains(e.Message, "CLIXML") || !strings.Contains(e.Hint, "Add-SPShellAdmin") {
		t.Errorf("error = %+v", e)
	}
	if !Blocks(Compare(probe(t, "ws2019-sql2019-sp2019", Options{}), fp)) {
		t.Error("a SharePoint farm that could not be read after the move does not block")
	}
}

// TestProbeWinRMAbsent: a host without SQL Server or SharePoint has neither
// section, records both as absent with the probes' reasons, and that is not
// an error.
func TestProbeWinRMAbsent(t *testing.T) {
	fp := probe(t, "ws2022-bitlocker", Options{})
	if fp.SQLServer != nil || fp.SharePoint != nil || len(fp.Errors) != 0 {
		t.Fatalf("SQL Server %v, SharePoint %v, errors %+v", fp.SQLServer, fp.SharePoint, fp.Errors)
	}
	if why, ok := fp.AbsentReason(WorkloadSQLServer); !ok || !strings.HasPrefix(why, "SQL Server is not installed: no instance is registered") {
		t.Errorf("absent %q: no SQL Server reason", fp.Absent)
	}
	if why, ok := fp.AbsentReason(WorkloadSharePoint); !ok || !strings.HasPrefix(why, "SharePoint is not installed") {
		t.Errorf("absent %q: no SharePoint reason", fp.Absent)
	}
	if len(fp.Absent) != 2 {
		t.Errorf("absent %q, want SQL Server and SharePoint", fp.Absent)
	}
	var report strings.Builder
	if err := WriteReport(&report, nil, fp, Compare(nil, fp)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`not found +sqlserver: SQL Server is not installed`).MatchString(report.String()) ||
		!regexp.MustCompile(`not found +sharepoint: SharePoint is not installed`).MatchString(report.String()) {
		t.Errorf("the report does not say what is absent:\n%s", report.String())
	}
	// A host that has both, then not: one blocking finding for each
	// workload, naming why, and nothing else from the SQL Server and
	// SharePoint rules.
	before := probe(t, "ws2019-sql2019-sp2019", Options{})
	if len(before.Absent) != 0 {
		t.Errorf("absent on a host that has both: %q", before.Absent)
	}
	var workload []Finding
	for _, f := range Compare(before, fp) {
		if strings.HasPrefix(f.Check, "sql/") || strings.HasPrefix(f.Check, "sharepoint/") {
			workload = append(workload, f)
		}
	}
	if len(workload) != 2 {
		t.Fatalf("want one finding each for SQL Server and SharePoint: %s", findingsText(workload))
	}
	for _, f := range workload {
		if f.Severity != Blocking || f.Actual != "absent" || !strings.Contains(f.Message, "is not installed") ||
			(f.Check != "sql/present" && f.Check != "sharepoint/present") {
			t.Errorf("finding %s", findingsText([]Finding{f}))
		}
	}
	for _, s := range []struct{ probe, out, want string }{
		{probeSQLServer, `{"Absent": "SQL Server is not installed: no instance is registered under HKLM:\\SOFTWARE\\..."}`, "sqlserver: SQL Server is not installed"},
		{probeSharePoint, `{"Absent": "SharePoint is not installed: the Microsoft.SharePoint.PowerShell snap-in is not registered"}`, "sharepoint: SharePoint is not installed"},
	} {
		fp := &Fingerprint{}
		if perr := readWinProbe(fp, s.probe, &remote.Result{Stdout: []byte("\xef\xbb\xbf" + s.out + "\r\n")}, time.Now(), time.Now(), Options{}); perr != nil || fp.SQLServer != nil || fp.SharePoint != nil ||
			len(fp.Absent) != 1 || !strings.HasPrefix(fp.Absent[0], s.want) {
			t.Errorf("%s absent: %+v, absent %q", s.probe, perr, fp.Absent)
		}
	}
}

// TestProbeWinRMSecrets: the SQL password and the WinRM password appear in
// neither the fingerprint nor the findings, whether the login works or not;
// a URL's token is not recorded either.
func TestProbeWinRMSecrets(t *testing.T) {
	const (
		preset  = "ws2019-sql2019-sp2019"
		good    = "Shift-Lab-Sql-1!"
		wrong   = "Wr0ng-But-Secret-Pw"
		token   = "s3cr3t-t0ken-value"
		winrmPw = "Shift-Lab-Passw0rd!"
	)
	http := []HTTPCheck{{Name: "start", URL: "http://sp19-app01/_layouts/15/start.aspx?access_token=" + token, Contains: "Intranet"}}
	before := probe(t, preset, Options{SQL: SQLCredentials{User: "shift_validate", Password: remote.NewSecret(good)}, HTTP: http})
	after := probe(t, preset, Options{SQL: SQLCredentials{User: "shift_validate", Password: remote.NewSecret(wrong)}, HTTP: http})
	if in := before.SQLServer.Instances[0]; in.Error != "" || len(in.Databases) != 13 {
		t.Fatalf("SQL authentication with the right password: %q", in.Error)
	}
	if in := after.SQLServer.Instances[0]; in.Error != "Login failed for user 'shift_validate'." {
		t.Fatalf("SQL authentication with a wrong password: %q", in.Error)
	}
	if h := before.HTTP; len(h) != 1 || h[0].Status != 200 || h[0].Contains == nil || !*h[0].Contains {
		t.Errorf("HTTP check: %+v", h)
	}
	findings := Compare(before, after)
	if fs := blocking(findings); len(fs) != 1 || fs[0].Check != "sql/instance" || !strings.Contains(fs[0].Message, "Login failed") {
		t.Errorf("findings: %s", findingsText(fs))
	}
	for _, v := range []any{before, after, findings} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b) + findingsText(findings) + fmt.Sprintf("%+v %+v", *before, *after)
		for _, secret := range []string{good, wrong, token, winrmPw} {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q appears in %.200s", secret, text)
			}
		}
	}
	if _, err := ProbeWinRM(t.Context(), nil, "h", Options{SQL: SQLCredentials{Password: remote.NewSecret(good)}}); err == nil ||
		!strings.Contains(err.Error(), "host h") || strings.Contains(err.Error(), good) {
		t.Errorf("a SQL password without a user: %v", err)
	}
}

// TestProbeWinRMBudget: with a small budget the probe reads what fits,
// samples the tables over 1 GiB, lists the rest as skipped, and a
// comparison of two such fingerprints says what it did not compare without
// blocking.
func TestProbeWinRMBudget(t *testing.T) {
	opts := Options{Budget: 2 * time.Second}
	before := probe(t, "ws2012r2-sql2014", opts)
	after := probe(t, "ws2012r2-sql2014", opts)
	modes := map[string]int{}
	for _, d := range after.SQLServer.Instances[0].Databases {
		for _, tb := range d.Tables {
			modes[tb.Mode]++
		}
	}
	if modes[TableFull] == 0 || modes[TableSampled] == 0 || modes[TableSkipped]+modes[TableError] == 0 || after.SQLServer.Budget != 2*time.Second {
		t.Errorf("table modes %v, budget %s", modes, after.SQLServer.Budget)
	}
	fs := Compare(before, after)
	if Blocks(fs) {
		t.Errorf("blocking: %s", findingsText(blocking(fs)))
	}
	unread := 0
	for _, f := range fs {
		if f.Check == "sql/tables-unread" && f.Severity == Info {
			unread++
		}
	}
	if unread == 0 {
		t.Errorf("no finding says which tables were not compared: %s", findingsText(fs))
	}
}

// TestProbeWinRMRefused: a host that refuses the login is an error naming
// the host, not a fingerprint.
func TestProbeWinRMRefused(t *testing.T) {
	c, _ := serveWindows(t, "ws2016-badpass", "")
	fp, err := ProbeWinRM(t.Context(), c, "hr-app02", Options{})
	if fp != nil || err == nil || !strings.Contains(err.Error(), "host hr-app02") || remote.KindOf(err) != "auth" {
		t.Fatalf("fingerprint %v, error %v", fp, err)
	}
}

package assess

import (
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// Rules and summaries for SQL Server and SharePoint.

func sqlEndOfSupport(s *inventory.SQLInstance) (release, end string) {
	release, end = s.Release, s.EndOfSupport
	r, e := inventory.SQLServerRelease(s.Version)
	if release == "" {
		release = r
	}
	if end == "" {
		end = e
	}
	return release, end
}

func sharePointEndOfSupport(f *inventory.SharePointFarm) (release, end string) {
	release, end = f.Release, f.EndOfSupport
	r, e := inventory.SharePointRelease(f.Build)
	if release == "" {
		release = r
	}
	if end == "" {
		end = e
	}
	return release, end
}

func checkSQLFCI(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for _, s := range h.SQLServer {
		if !s.Clustered {
			continue
		}
		fs = append(fs, blocker(
			fmt.Sprintf("SQL Server instance %s is a failover cluster instance (sqlServer[%s].clustered = true): its data lives on shared cluster disks that one VM's copy cannot carry.", s.Name, s.Name),
			"Move the databases instead of the node: build an Always On availability group with a replica on an Azure VM and fail over (or log shipping / backup-restore for Standard Edition); or rebuild the FCI on Azure shared disks or Storage Spaces Direct. Migrate the node itself only after its role has moved.",
			ev("sqlServer["+s.Name+"].clustered", true)))
	}
	return fs
}

func checkSQLSupport(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for i := range h.SQLServer {
		s := &h.SQLServer[i]
		release, end := sqlEndOfSupport(s)
		ended, known := env.ended(end)
		field := "sqlServer[" + s.Name + "].version"
		switch {
		case !known:
			fs = append(fs, unchecked(fmt.Sprintf("when support for SQL Server instance %s, version %q, ends (%s)", s.Name, s.Version, field),
				"`SELECT SERVERPROPERTY('ProductVersion')` and Microsoft's SQL Server lifecycle page.", ev(field, s.Version)))
		case ended:
			level := strings.TrimSpace(s.Level + " " + s.UpdateLevel)
			fs = append(fs, condition(
				fmt.Sprintf("SQL Server instance %s is %s %s (%s = %s), out of support since %s: it moves, but receives no security fixes.", s.Name, release, level, field, s.Version, end),
				"Upgrade to a supported release (SQL Server 2019 or 2022; check the OS supports it) — on the source before the move or on the Azure VM after it — or buy Extended Security Updates (for SQL Server on Azure VMs they are enabled through the SQL IaaS Agent extension). Test the application against the new compatibility level.",
				ev(field, s.Version), ev("sqlServer["+s.Name+"].endOfSupport", end)))
		}
	}
	return fs
}

func checkSQLDatabases(h *inventory.Host, env *Env) []Finding {
	var fs []Finding
	for _, s := range h.SQLServer {
		for _, d := range s.Databases {
			if d.State == "" || strings.EqualFold(d.State, "ONLINE") {
				continue
			}
			field := fmt.Sprintf("sqlServer[%s].databases[%s].state", s.Name, d.Name)
			fs = append(fs, condition(
				fmt.Sprintf("Database %s on instance %s is %s (%s): its files are copied, but shift cannot fingerprint it before and after, so the move cannot prove it intact.", d.Name, s.Name, d.State, field),
				fmt.Sprintf("Decide before the move: bring it online (`ALTER DATABASE [%s] SET ONLINE`) so it is validated, or detach/drop it deliberately and record that it is not validated.", d.Name),
				ev(field, d.State)))
		}
	}
	return fs
}

func checkSharePointSupport(h *inventory.Host, env *Env) []Finding {
	f := h.SharePoint
	if f == nil {
		return nil
	}
	release, end := sharePointEndOfSupport(f)
	if release == "SharePoint Server Subscription Edition" {
		return nil // Modern Lifecycle: supported while updated
	}
	ended, known := env.ended(end)
	switch {
	case !known:
		return []Finding{unchecked(fmt.Sprintf("when support for SharePoint build %q ends (sharePoint.build)", f.Build),
			"`(Get-SPFarm).BuildVersion` and Microsoft's SharePoint lifecycle page.", ev("sharePoint.build", f.Build))}
	case ended:
		return []Finding{condition(
			fmt.Sprintf("%s (sharePoint.build = %s) is out of support since %s: it moves, but receives no security fixes.", release, f.Build, end),
			"Plan the upgrade to SharePoint Server Subscription Edition (database-attach upgrade; 2013 goes through 2016 or 2019 first), or a move to SharePoint Online with the SharePoint Migration Tool.",
			ev("sharePoint.build", f.Build), ev("sharePoint.endOfSupport", end))}
	}
	return nil
}

func checkColocated(h *inventory.Host, env *Env) []Finding {
	if h.SharePoint == nil || len(h.SQLServer) == 0 {
		return nil
	}
	var names []string
	for _, s := range h.SQLServer {
		names = append(names, s.Name)
	}
	release, _ := sharePointEndOfSupport(h.SharePoint)
	return []Finding{condition(
		fmt.Sprintf("SQL Server (%s, sqlServer) and the %s farm (sharePoint.build = %s) run on the same host: they move as one VM and must cut over together, and the VM is sized for both.", strings.Join(names, ", "), orUnknown(release), h.SharePoint.Build),
		"Cut over in order: stop the SharePoint services (SPTimerV4, SPAdminV4, OSearch16, W3SVC) before the final sync, start SQL Server first on Azure and SharePoint after it. Cap SQL Server's memory so SharePoint keeps its share (`EXEC sp_configure 'max server memory (MB)', <N>; RECONFIGURE`). A single-server farm is supported but not for production load: plan to split SQL Server onto its own VM after the move (then update the SQL alias with cliconfg, not the farm).",
		ev("sqlServer", strings.Join(names, ", ")), ev("sharePoint.build", h.SharePoint.Build))}
}

// workloads summarises SQL Server and SharePoint for the reports.
func workloads(h *inventory.Host, env *Env) ([]SQLSummary, *SharePointSummary) {
	var sqls []SQLSummary
	for i := range h.SQLServer {
		s := &h.SQLServer[i]
		release, end := sqlEndOfSupport(s)
		sum := SQLSummary{Instance: s.Name, Release: release, Version: s.Version, Level: s.Level,
			UpdateLevel: s.UpdateLevel, Edition: s.Edition, EndOfSupport: end, Clustered: s.Clustered}
		if ended, known := env.ended(end); known {
			sum.Supported = inventory.Bool(!ended)
		}
		var bytes uint64
		for _, d := range s.Databases {
			sum.Databases++
			bytes += d.SizeBytes
			if d.State != "" && !strings.EqualFold(d.State, "ONLINE") {
				sum.NotOnline = append(sum.NotOnline, d.Name+" ("+d.State+")")
			}
		}
		for _, j := range s.AgentJobs {
			if j.Enabled && j.LastOutcome == "failed" {
				sum.FailedJobs = append(sum.FailedJobs, j.Name)
			}
		}
		sum.DataGiB = round2(float64(bytes) / gib)
		sqls = append(sqls, sum)
	}
	f := h.SharePoint
	if f == nil {
		return sqls, nil
	}
	release, end := sharePointEndOfSupport(f)
	sp := &SharePointSummary{Release: release, Build: f.Build, EndOfSupport: end,
		Servers: len(f.Servers), WebApplications: len(f.WebApplications),
		SiteCollections: len(f.SiteCollections), ContentDatabases: len(f.ContentDatabases)}
	if ended, known := env.ended(end); known {
		sp.Supported = inventory.Bool(!ended)
	} else if release == "SharePoint Server Subscription Edition" {
		sp.Supported = inventory.Bool(true)
	}
	var bytes uint64
	for _, c := range f.ContentDatabases {
		bytes += c.SizeBytes
	}
	sp.ContentGiB = round2(float64(bytes) / gib)
	return sqls, sp
}

package report

import (
	"fmt"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

// table is a sheet of cells shared by CSV and XLSX, so both agree.
type table struct {
	name   string
	header []string
	rows   [][]any
}

func serversTable(res *assess.Result) table {
	t := table{name: "Servers", header: []string{"host", "hostname", "os", "os_end_of_support", "verdict", "wave",
		"blockers", "conditions", "unchecked", "vm_size", "vcpus", "memory_gib", "sizing_basis", "confidence",
		"compute_per_month", "storage_per_month", "monthly_cost", "currency", "disks", "sql_server", "sharepoint", "discovery_errors"}}
	for i := range res.Hosts {
		h := &res.Hosts[i]
		unchecked := 0
		for _, f := range h.Findings {
			if f.Unchecked {
				unchecked++
			}
		}
		var vcpus, mem any = "", ""
		var compute, storage, basis, conf = 0.0, 0.0, "", ""
		var disks []string
		if s := h.Sizing; s != nil {
			if s.VMSize != "" {
				vcpus, mem = s.VCPUs, s.MemoryGiB
			}
			compute, storage, basis, conf = s.ComputePerMonth, s.StoragePerMonth, s.Basis, s.Confidence.Label()
			for _, d := range s.Disks {
				disks = append(disks, fmt.Sprintf("%s:%s", d.Source, orDash(d.SKU)))
			}
		}
		var sqls []string
		for _, s := range h.SQLServer {
			sqls = append(sqls, s.Instance+" ("+s.Release+")")
		}
		sp := ""
		if h.SharePoint != nil {
			sp = h.SharePoint.Release
		}
		var errs []string
		for _, e := range h.DiscoveryErrors {
			errs = append(errs, fmt.Sprintf("%s (%s): %s", e.Step, e.Kind, e.Message))
		}
		t.rows = append(t.rows, []any{h.Name, h.Hostname, h.OS, h.EndOfSupport, string(h.Verdict), h.Wave,
			ruleIDs(h.Blockers()), ruleIDs(h.Conditions()), unchecked, sizeLabelCell(h), vcpus, mem, basis, conf,
			compute, storage, h.MonthlyCost(), res.Catalog.Currency, strings.Join(disks, " "),
			strings.Join(sqls, "; "), sp, strings.Join(errs, "; ")})
	}
	return t
}

func sizeLabelCell(h *assess.HostResult) string {
	if h.Sizing == nil {
		return ""
	}
	return h.Sizing.VMSize
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func findingsTable(res *assess.Result) table {
	t := table{name: "Findings", header: []string{"host", "rule", "title", "verdict", "unchecked", "message", "evidence", "fix"}}
	for _, h := range res.Hosts {
		for _, f := range h.Findings {
			var ev []string
			for _, e := range f.Evidence {
				ev = append(ev, e.Field+" = "+e.Value)
			}
			t.rows = append(t.rows, []any{h.Name, f.Rule, f.Title, string(f.Verdict), f.Unchecked, f.Message, strings.Join(ev, "; "), f.Fix})
		}
	}
	return t
}

func disksTable(res *assess.Result) table {
	t := table{name: "Disks", header: []string{"host", "source", "source_gib", "os_disk", "tier", "sku", "size_gib", "iops", "mbps", "price_per_month"}}
	for _, h := range res.Hosts {
		if h.Sizing == nil {
			continue
		}
		for _, d := range h.Sizing.Disks {
			t.rows = append(t.rows, []any{h.Name, d.Source, d.SourceGiB, d.OS, d.Tier, d.SKU, d.SizeGiB, d.IOPS, d.MBps, d.PricePerMonth})
		}
	}
	return t
}

func sqlTable(res *assess.Result) table {
	t := table{name: "SQL Server", header: []string{"host", "instance", "release", "version", "level", "update_level", "edition", "end_of_support", "supported", "clustered", "databases", "data_gib", "not_online", "failed_jobs"}}
	for _, h := range res.Hosts {
		for _, s := range h.SQLServer {
			t.rows = append(t.rows, []any{h.Name, s.Instance, s.Release, s.Version, s.Level, s.UpdateLevel, s.Edition, s.EndOfSupport,
				triState(s.Supported), s.Clustered, s.Databases, s.DataGiB, strings.Join(s.NotOnline, "; "), strings.Join(s.FailedJobs, "; ")})
		}
	}
	return t
}

func sharePointTable(res *assess.Result) table {
	t := table{name: "SharePoint", header: []string{"host", "release", "build", "end_of_support", "supported", "servers", "web_applications", "site_collections", "content_databases", "content_gib"}}
	for _, h := range res.Hosts {
		if sp := h.SharePoint; sp != nil {
			t.rows = append(t.rows, []any{h.Name, sp.Release, sp.Build, sp.EndOfSupport, triState(sp.Supported), sp.Servers, sp.WebApplications, sp.SiteCollections, sp.ContentDatabases, sp.ContentGiB})
		}
	}
	return t
}

func wavesTable(res *assess.Result) table {
	t := table{name: "Waves", header: []string{"wave", "hosts", "ready", "ready_with_conditions", "not_ready", "not_assessed", "monthly_cost", "currency"}}
	for _, w := range res.Waves {
		t.rows = append(t.rows, []any{w.Name, len(w.Hosts), w.Verdicts[assess.Ready], w.Verdicts[assess.Conditional],
			w.Verdicts[assess.NotReady], w.Verdicts[assess.NotAssessed], w.MonthlyCost, res.Catalog.Currency})
	}
	return t
}

func summaryTable(res *assess.Result) table {
	s := res.Summary
	t := table{name: "Summary", header: []string{"item", "value"}}
	add := func(k string, v any) { t.rows = append(t.rows, []any{k, v}) }
	add("schema_version", res.SchemaVersion)
	add("as_of", res.AsOf)
	add("generator", res.Generator)
	add("inventory_generated_at", res.InventoryGeneratedAt.UTC().Format("2006-01-02T15:04:05Z"))
	add("hosts", s.Hosts)
	for _, v := range assess.Verdicts {
		add(string(v), s.Verdicts[v])
	}
	add("monthly_cost", s.MonthlyCost)
	add("currency", res.Catalog.Currency)
	add("catalog", res.Catalog.Name)
	add("region", res.Catalog.Region)
	add("prices_as_of", res.Catalog.PricesAsOf)
	add("price_source", res.Catalog.Source)
	add("sizing_percentile", res.SizingOptions.Percentile)
	add("sizing_comfort_factor", res.SizingOptions.Comfort)
	add("disk_tier", res.SizingOptions.DiskTier)
	return t
}

func triState(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "yes"
	}
	return "no"
}

func cellText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.2f", x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v)
}

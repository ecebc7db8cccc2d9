package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func writeMarkdown(w io.Writer, res *assess.Result) error {
	b := &strings.Builder{}
	cur := res.Catalog.Currency
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# Migration assessment\n\n")
	p("Assessed as of %s for Azure region %s. Inventory from %s. Prices: %s (%s, as of %s) — %s\n\n",
		res.AsOf, res.Catalog.Region, res.InventoryGeneratedAt.UTC().Format("2006-01-02 15:04 UTC"),
		res.Catalog.Name, cur, res.Catalog.PricesAsOf, res.Catalog.Source)

	s := res.Summary
	p("## Summary\n\n| verdict | hosts |\n|---|---:|\n")
	for _, v := range assess.Verdicts {
		p("| %s | %d |\n", v.Label(), s.Verdicts[v])
	}
	p("| **total** | **%d** |\n\nEstimated monthly cost: **%s** (pay-as-you-go, compute and managed disks).\n\n", s.Hosts, money(cur, s.MonthlyCost))
	if len(s.Blockers) > 0 {
		p("Blockers by rule:\n\n| rule | hosts |\n|---|---:|\n")
		for _, r := range assess.Rules() {
			if n := s.Blockers[r.ID]; n > 0 {
				p("| `%s` %s | %d |\n", r.ID, mdCell(r.Title), n)
			}
		}
		p("\n")
	}

	p("## Waves\n\n| wave | hosts | ready | conditions | not ready | not assessed | monthly cost |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, wv := range res.Waves {
		p("| %s | %d | %d | %d | %d | %d | %s |\n", mdCell(wv.Name), len(wv.Hosts), wv.Verdicts[assess.Ready], wv.Verdicts[assess.Conditional],
			wv.Verdicts[assess.NotReady], wv.Verdicts[assess.NotAssessed], money(cur, wv.MonthlyCost))
	}

	p("\n## Servers\n\n| host | OS | verdict | blockers | VM size | monthly cost | confidence |\n|---|---|---|---|---|---:|---|\n")
	for i := range res.Hosts {
		h := &res.Hosts[i]
		conf := "-"
		if h.Sizing != nil {
			conf = h.Sizing.Confidence.Label()
		}
		p("| [%s](#%s) | %s | %s | %s | %s | %s | %s |\n", mdCell(h.Name), anchor(h.Name), mdCell(orDash(h.OS)), h.Verdict.Label(),
			mdCell(orDash(ruleIDs(h.Blockers()))), sizeLabel(h), money(cur, h.MonthlyCost()), conf)
	}

	if t := sqlTable(res); len(t.rows) > 0 {
		p("\n## SQL Server\n\n| host | instance | release | level | edition | end of support | supported | databases | data GiB | not online | failed jobs |\n|---|---|---|---|---|---|---|---:|---:|---|---|\n")
		for _, h := range res.Hosts {
			for _, q := range h.SQLServer {
				p("| %s | %s | %s | %s | %s | %s | %s | %d | %.2f | %s | %s |\n", mdCell(h.Name), mdCell(q.Instance), mdCell(q.Release),
					mdCell(strings.TrimSpace(q.Level+" "+q.UpdateLevel)), mdCell(q.Edition), orDash(q.EndOfSupport), triState(q.Supported),
					q.Databases, q.DataGiB, mdCell(orDash(strings.Join(q.NotOnline, ", "))), mdCell(orDash(strings.Join(q.FailedJobs, ", "))))
			}
		}
	}
	if t := sharePointTable(res); len(t.rows) > 0 {
		p("\n## SharePoint\n\n| host | release | build | end of support | supported | web apps | site collections | content DBs | content GiB |\n|---|---|---|---|---|---:|---:|---:|---:|\n")
		for _, h := range res.Hosts {
			if sp := h.SharePoint; sp != nil {
				p("| %s | %s | %s | %s | %s | %d | %d | %d | %.2f |\n", mdCell(h.Name), mdCell(sp.Release), sp.Build, orDash(sp.EndOfSupport),
					triState(sp.Supported), sp.WebApplications, sp.SiteCollections, sp.ContentDatabases, sp.ContentGiB)
			}
		}
	}

	for i := range res.Hosts {
		h := &res.Hosts[i]
		p("\n<a id=\"%s\"></a>\n\n## %s\n\n", anchor(h.Name), h.Name)
		p("- Verdict: **%s**\n- OS: %s (end of support: %s)\n- Wave: %s\n", h.Verdict.Label(), orDash(h.OS), orDash(h.EndOfSupport), h.Wave)
		if h.Verdict == assess.NotAssessed {
			p("\nNot assessed: discovery did not read this host.\n\n")
		}
		for _, e := range h.DiscoveryErrors {
			p("- Discovery %s (%s): %s", e.Step, e.Kind, e.Message)
			if e.Hint != "" {
				p(" — hint: %s", e.Hint)
			}
			p("\n")
		}
		if sz := h.Sizing; sz != nil {
			p("- Size (%s): %s, %d vCPUs, %.0f GiB — needs %d vCPUs, %.2f GiB, %d data disks, %d NICs\n", sz.Basis, orDash(sz.VMSize), sz.VCPUs, sz.MemoryGiB,
				sz.Required.VCPUs, sz.Required.MemoryGiB, sz.Required.DataDisks, sz.Required.NICs)
			var disks []string
			for _, d := range sz.Disks {
				disks = append(disks, fmt.Sprintf("%s %.0f GiB → %s %s", d.Source, d.SourceGiB, d.Tier, orDash(d.SKU)))
			}
			p("- Disks: %s\n", mdCell(strings.Join(disks, "; ")))
			p("- Monthly cost: %s (compute %s, storage %s); confidence: %s — %s\n", money(cur, sz.MonthlyCost), money(cur, sz.ComputePerMonth),
				money(cur, sz.StoragePerMonth), stars(sz.Confidence), sz.Confidence.Note)
			for _, n := range sz.Notes {
				p("- Note: %s\n", n)
			}
		}
		for _, group := range []struct {
			title string
			fs    []assess.Finding
		}{{"Blockers", h.Blockers()}, {"Conditions", h.Conditions()}} {
			if len(group.fs) == 0 {
				continue
			}
			p("\n### %s\n\n", group.title)
			for _, f := range group.fs {
				p("- **`%s`** (%s): %s\n  - Fix: %s\n", f.Rule, verdictNote(f), f.Message, f.Fix)
			}
		}
		if len(h.Passed) > 0 {
			p("\nPassed: %s\n", "`"+strings.Join(h.Passed, "`, `")+"`")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// anchor is the id of a host's section, shared by the HTML and Markdown reports.
func anchor(name string) string {
	var b strings.Builder
	b.WriteString("host-")
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

package report

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

// Charts are inline SVG built here: no script, no external resource.

var verdictColor = map[assess.Verdict]string{
	assess.Ready:       "#2e7d32",
	assess.Conditional: "#f9a825",
	assess.NotReady:    "#c62828",
	assess.NotAssessed: "#757575",
}

// maxChartRows bounds the rows of a chart; the rest is summed as "others".
const maxChartRows = 15

type bar struct {
	label string
	parts []float64 // one per segment
}

// stackedBars draws horizontal bars of segments, with a legend.
func stackedBars(id, title string, bars []bar, segLabels []string, colors []string, format func(float64) string) template.HTML {
	const width, labelW, rowH, top = 640.0, 170.0, 24.0, 30.0
	maxTotal := 0.0
	for _, b := range bars {
		t := 0.0
		for _, v := range b.parts {
			t += v
		}
		maxTotal = max(maxTotal, t)
	}
	if maxTotal == 0 {
		maxTotal = 1
	}
	height := top + rowH*float64(len(bars)) + 34
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" id="%s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`,
		id, html.EscapeString(title), width, height, width, height)
	fmt.Fprintf(&s, `<title>%s</title><text x="0" y="16" class="ct">%s</text>`, html.EscapeString(title), html.EscapeString(title))
	plotW := width - labelW - 90
	for i, b := range bars {
		y := top + rowH*float64(i)
		fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" text-anchor="end" class="cl">%s</text>`, labelW-6, y+15, html.EscapeString(truncate(b.label, 26)))
		x, total := labelW, 0.0
		for j, v := range b.parts {
			if v <= 0 {
				continue
			}
			w := v / maxTotal * plotW
			fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s: %s</title></rect>`,
				x, y+3, max(w, 0.5), rowH-6, colors[j], html.EscapeString(b.label+" — "+segLabels[j]), format(v))
			x += w
			total += v
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" class="cv">%s</text>`, x+4, y+15, html.EscapeString(format(total)))
	}
	if len(segLabels) > 1 {
		lx, ly := labelW, height-12
		for j, l := range segLabels {
			fmt.Fprintf(&s, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="cl">%s</text>`, lx, ly-9, colors[j], lx+14, ly, html.EscapeString(l))
			lx += 14 + float64(len(l))*6.5 + 14
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func readinessChart(res *assess.Result) template.HTML {
	var labels, colors []string
	for _, v := range assess.Verdicts {
		labels = append(labels, v.Label())
		colors = append(colors, verdictColor[v])
	}
	bars := []bar{{label: "all hosts", parts: verdictParts(res.Summary.Verdicts)}}
	waves := res.Waves
	if len(waves) > 1 {
		if len(waves) > maxChartRows {
			waves = waves[:maxChartRows]
		}
		for _, w := range waves {
			bars = append(bars, bar{label: "wave " + w.Name, parts: verdictParts(w.Verdicts)})
		}
	}
	return stackedBars("chart-readiness", "Readiness (hosts)", bars, labels, colors, func(f float64) string { return fmt.Sprintf("%.0f", f) })
}

func verdictParts(m map[assess.Verdict]int) []float64 {
	var out []float64
	for _, v := range assess.Verdicts {
		out = append(out, float64(m[v]))
	}
	return out
}

// costChart shows compute and storage per host, the most expensive first.
func costChart(res *assess.Result) template.HTML {
	cur := res.Catalog.Currency
	hosts := make([]*assess.HostResult, 0, len(res.Hosts))
	for i := range res.Hosts {
		if res.Hosts[i].Sizing != nil {
			hosts = append(hosts, &res.Hosts[i])
		}
	}
	slices.SortStableFunc(hosts, func(a, b *assess.HostResult) int { return cmp.Compare(b.MonthlyCost(), a.MonthlyCost()) })
	var bars []bar
	var rest bar
	for i, h := range hosts {
		parts := []float64{h.Sizing.ComputePerMonth, h.Sizing.StoragePerMonth}
		if i < maxChartRows {
			bars = append(bars, bar{label: h.Name, parts: parts})
			continue
		}
		rest.label = fmt.Sprintf("%d others", len(hosts)-maxChartRows)
		if rest.parts == nil {
			rest.parts = make([]float64, 2)
		}
		rest.parts[0] += parts[0]
		rest.parts[1] += parts[1]
	}
	if rest.parts != nil {
		bars = append(bars, rest)
	}
	return stackedBars("chart-cost", "Monthly cost by server ("+cur+")", bars, []string{"compute", "storage"},
		[]string{"#1565c0", "#90caf9"}, func(f float64) string { return money("", f) })
}

func waveCostChart(res *assess.Result) template.HTML {
	var bars []bar
	for i, w := range res.Waves {
		if i == maxChartRows {
			break
		}
		bars = append(bars, bar{label: "wave " + w.Name, parts: []float64{w.MonthlyCost}})
	}
	return stackedBars("chart-wave-cost", "Monthly cost by wave ("+res.Catalog.Currency+")", bars, []string{"monthly cost"},
		[]string{"#1565c0"}, func(f float64) string { return money("", f) })
}

package report

import (
	_ "embed"
	"html/template"
	"io"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

//go:embed report.html.tmpl
var htmlTemplate string

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"money":   money,
	"anchor":  anchor,
	"stars":   stars,
	"orDash":  orDash,
	"ruleIDs": ruleIDs,
	"size":    sizeLabel,
	"note":    verdictNote,
	"tri":     triState,
	"join":    strings.Join,
	"label":   func(v assess.Verdict) string { return v.Label() },
	"class":   func(v assess.Verdict) string { return string(v) },
	"count":   func(m map[assess.Verdict]int, v assess.Verdict) int { return m[v] },
	"rules":   assess.Rules,
	"trim":    strings.TrimSpace,
}).Parse(htmlTemplate))

type htmlData struct {
	*assess.Result
	Verdicts                  []assess.Verdict
	Readiness, Cost, WaveCost template.HTML
	HasSQL, HasSharePoint     bool
}

func writeHTML(w io.Writer, res *assess.Result) error {
	d := htmlData{Result: res, Verdicts: assess.Verdicts,
		Readiness: readinessChart(res), Cost: costChart(res), WaveCost: waveCostChart(res)}
	for _, h := range res.Hosts {
		d.HasSQL = d.HasSQL || len(h.SQLServer) > 0
		d.HasSharePoint = d.HasSharePoint || h.SharePoint != nil
	}
	return htmlTmpl.Execute(w, d)
}

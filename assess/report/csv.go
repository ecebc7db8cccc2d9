package report

import (
	"encoding/csv"
	"io"

	"github.com/shift-migrate/shift/assess"
)

// writeCSV writes one row per host (the Servers table of the XLSX report).
func writeCSV(w io.Writer, res *assess.Result) error {
	t := serversTable(res)
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header); err != nil {
		return err
	}
	rec := make([]string, len(t.header))
	for _, row := range t.rows {
		for i, v := range row {
			rec[i] = cellText(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

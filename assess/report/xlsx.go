package report

import (
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/shift-migrate/shift/assess"
)

// writeXLSX writes a workbook with one sheet per table. Strings are redacted
// cell by cell.
func writeXLSX(w io.Writer, res *assess.Result) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tables := []table{summaryTable(res), serversTable(res), findingsTable(res), wavesTable(res),
		disksTable(res), sqlTable(res), sharePointTable(res)}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(t.name)
		if err != nil {
			return err
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		header := make([]any, len(t.header))
		for j, hd := range t.header {
			header[j] = excelize.Cell{StyleID: bold, Value: hd}
		}
		if err := sw.SetRow("A1", header); err != nil {
			return err
		}
		for r, row := range t.rows {
			cells := make([]any, len(row))
			for j, v := range row {
				if s, ok := v.(string); ok {
					v = assess.RedactString(s)
				}
				cells[j] = v
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+2)
			if err := sw.SetRow(cell, cells); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}

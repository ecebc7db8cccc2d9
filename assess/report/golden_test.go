package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shift-migrate/shift/assess/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

// TestGolden renders the lab's assessment in every format and compares it
// with the files in testdata. XLSX is compared by its cell values read back
// with excelize, not by the zip bytes.
func TestGolden(t *testing.T) {
	res := labResult(t)
	for _, f := range report.Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, f, res); err != nil {
				t.Fatal(err)
			}
			if f == report.XLSX {
				golden(t, "lab.xlsx.txt", xlsxDump(t, buf.Bytes()))
				return
			}
			golden(t, "lab."+string(f), buf.Bytes())
		})
	}
}

// xlsxDump lists every sheet and its rows, cells separated by " | ".
func xlsxDump(t testing.TB, data []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("excelize cannot read the workbook: %v", err)
	}
	defer f.Close()
	var b bytes.Buffer
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "== %s\n", sheet)
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			b.WriteString(strings.Join(r, " | "))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

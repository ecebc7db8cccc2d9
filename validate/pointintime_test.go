package validate

import "testing"

func TestPointInTimeKeepsStructure(t *testing.T) {
	fs := []Finding{
		{Severity: Blocking, Check: "linux/table-rows", Object: "table app.orders", Message: "rows"},
		{Severity: Blocking, Check: "sql/table-data", Object: "table Sales.dbo.Orders", Message: "data"},
		{Severity: Warning, Check: "sql/database-size", Object: "database Sales", Message: "size"},
		{Severity: Blocking, Check: "linux/table", Object: "table app.gone", Message: "missing"},
		{Severity: Blocking, Check: "linux/unit", Object: "unit nginx.service", Message: "inactive"},
	}
	got := PointInTime(fs)
	want := []Severity{Info, Info, Info, Blocking, Blocking}
	for i, f := range got {
		if f.Severity != want[i] {
			t.Errorf("%s: %s, want %s", f.Check, f.Severity, want[i])
		}
	}
	if fs[0].Severity != Blocking {
		t.Error("PointInTime changed its argument")
	}
	if !Blocks(got) {
		t.Error("a missing table and an inactive unit must still block")
	}
}

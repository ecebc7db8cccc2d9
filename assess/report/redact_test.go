package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/assess/report"
	"github.com/shift-migrate/shift/inventory"
)

// TestNoSecretsInReports puts a BitLocker recovery password where host text
// reaches the reports (a volume label, an OS name, a discovery error) and
// checks no format carries it.
func TestNoSecretsInReports(t *testing.T) {
	const recovery = "123456-234567-345678-456789-567890-678901-789012-890123"
	inv := inventory.New("test", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	inv.Hosts = []inventory.Host{
		{Name: "leaky", Transport: "winrm",
			OS:  inventory.OS{Family: "windows", Name: "Windows Server 2019 " + recovery, Build: "17763", Architecture: "x86_64"},
			CPU: inventory.CPU{Logical: 2}, Memory: inventory.Memory{TotalBytes: 4 << 30},
			Firmware: inventory.Firmware{Type: "uefi", SecureBoot: inventory.Bool(false)},
			Disks:    []inventory.Disk{{Name: "Disk 0", SizeBytes: 64 << 30, System: true, PartitionTable: "gpt"}},
			Volumes: []inventory.Volume{{Device: "v", DriveLetter: "C", FSType: "ntfs", Label: recovery, System: true,
				Encrypted: true, Encryption: "bitlocker:FullyEncrypted " + recovery}},
			Errors: []inventory.Error{{Step: "sqlserver", Kind: inventory.ErrProbe, Message: "output: " + recovery}}},
	}
	res, err := assess.Assess(inv, assess.Options{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// The assessment itself quotes the value (it is evidence); the renderers must not.
	if h := res.Host("leaky"); h == nil || len(h.Blockers()) == 0 {
		t.Fatalf("the BitLocker volume made no blocker: %+v", h)
	}
	for _, f := range report.Formats {
		var buf bytes.Buffer
		if err := report.Write(&buf, f, res); err != nil {
			t.Fatal(err)
		}
		text := buf.String()
		if f == report.XLSX {
			text = string(xlsxDump(t, buf.Bytes()))
		}
		if strings.Contains(text, recovery) || strings.Contains(text, "234567-345678") {
			t.Errorf("%s report contains the recovery password", f)
		}
		if !strings.Contains(text, "[redacted: BitLocker recovery password]") {
			t.Errorf("%s report does not say what it redacted", f)
		}
	}
}

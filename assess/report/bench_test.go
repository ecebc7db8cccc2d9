package report_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/assess/report"
	"github.com/shift-migrate/shift/inventory"
)

// fleet generates an inventory of n hosts: Windows and Linux, some with SQL
// Server and SharePoint, some with blockers, one in 50 undiscovered.
func fleet(n int) *inventory.Inventory {
	inv := inventory.New("bench", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	for i := 0; i < n; i++ {
		h := inventory.Host{Name: fmt.Sprintf("%s-%04d", []string{"web", "app", "db", "file"}[i%4], i), Transport: "winrm"}
		if i%50 == 49 {
			h.Errors = []inventory.Error{{Step: "connect", Kind: inventory.ErrUnreachable, Message: "connection refused"}}
			inv.Hosts = append(inv.Hosts, h)
			continue
		}
		h.Identity = inventory.Identity{Hostname: h.Name, Virtualization: []string{"vmware", "microsoft", "none"}[i%3]}
		h.CPU = inventory.CPU{Cores: 2 << (i % 4), Logical: 2 << (i % 4)}
		h.Memory = inventory.Memory{TotalBytes: uint64(4<<(i%5)) << 30}
		h.Firmware = inventory.Firmware{Type: []string{"uefi", "bios"}[i%2], SecureBoot: inventory.Bool(i%7 == 0)}
		h.PendingReboot = inventory.Bool(i%11 == 0)
		h.Disks = []inventory.Disk{{Name: "Disk 0", SizeBytes: 127 << 30, System: true, Boot: true, PartitionTable: []string{"gpt", "mbr"}[i%2]}}
		for d := 1; d <= i%4; d++ {
			h.Disks = append(h.Disks, inventory.Disk{Name: fmt.Sprintf("Disk %d", d), SizeBytes: uint64(256*d) << 30, Dynamic: i%13 == 0})
		}
		h.NICs = []inventory.NIC{{Name: "Ethernet", DHCP: inventory.Bool(i%3 != 0), Team: i%17 == 0,
			Addresses: []inventory.IPAddress{{Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256), Prefix: 24, Family: "ipv4"}}}}
		if i%2 == 0 {
			h.OS = inventory.OS{Family: "windows", ID: "windows", Name: "Microsoft Windows Server 2019 Standard", Build: "17763", Architecture: "x86_64"}
			if i%5 == 0 {
				h.OS.Name, h.OS.Build = "Microsoft Windows Server 2012 R2 Standard", "9600"
			}
			h.Power = inventory.Power{Hibernation: inventory.Bool(false), FastStartup: inventory.Bool(false)}
			h.Volumes = []inventory.Volume{{Device: "v0", Disk: "Disk 0", DriveLetter: "C", FSType: "ntfs", System: true, Dirty: inventory.Bool(false),
				Encrypted: i%9 == 0, Encryption: map[bool]string{true: "bitlocker:FullyEncrypted", false: ""}[i%9 == 0]}}
			h.Ports = []inventory.Port{{Protocol: "tcp", Port: 3389}}
			if i%4 == 2 {
				dbs := make([]inventory.SQLDatabase, 20)
				for d := range dbs {
					dbs[d] = inventory.SQLDatabase{Name: fmt.Sprintf("db%d", d), State: "ONLINE", SizeBytes: 1 << 30}
				}
				h.SQLServer = []inventory.SQLInstance{{Name: "MSSQLSERVER", Version: []string{"15.0.4355.3", "12.0.6329.1"}[i%8/4], Databases: dbs}}
			}
			if i%20 == 6 {
				h.SharePoint = &inventory.SharePointFarm{Build: "16.0.10337.12109"}
			}
		} else {
			h.Transport = "ssh"
			h.OS = inventory.OS{Family: "linux", ID: "rhel", Name: "Red Hat Enterprise Linux 8.6", Version: "8.6", Kernel: "4.18.0-372.el8.x86_64", Architecture: "x86_64"}
			h.Disks[0].Name = "/dev/sda"
			h.Volumes = []inventory.Volume{{Device: "/dev/sda2", Disk: "/dev/sda", FSType: "xfs", MountPoints: []string{"/"}, System: true, SizeBytes: 100 << 30, UsedBytes: inventory.Uint64(20 << 30)}}
			h.Services = []inventory.Service{{Name: "sshd", StartMode: "auto", State: "running"}}
		}
		inv.Hosts = append(inv.Hosts, h)
	}
	return inv
}

// BenchmarkAssess1000 assesses a generated 1,000-host inventory and renders
// it to HTML and XLSX: the target is under 5 s. ratio-to-5s is the
// time per operation divided by that target (below 1 meets it).
func BenchmarkAssess1000(b *testing.B) {
	inv := fleet(1000)
	opts := assess.Options{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		res, err := assess.Assess(inv, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Hosts) != 1000 {
			b.Fatalf("hosts = %d", len(res.Hosts))
		}
		for _, f := range []report.Format{report.HTML, report.XLSX} {
			if err := report.Write(io.Discard, f, res); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/5, "ratio-to-5s")
}

// BenchmarkAssessOnly1000 is the assessment without rendering, to show where
// the time goes.
func BenchmarkAssessOnly1000(b *testing.B) {
	inv := fleet(1000)
	opts := assess.Options{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := assess.Assess(inv, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFleetAssesses keeps the benchmark's generator honest: the generated
// fleet yields every verdict.
func TestFleetAssesses(t *testing.T) {
	res, err := assess.Assess(fleet(200), assess.Options{AsOf: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range assess.Verdicts {
		if v != assess.Ready && res.Summary.Verdicts[v] == 0 {
			t.Errorf("no host is %s: %+v", v, res.Summary.Verdicts)
		}
	}
}

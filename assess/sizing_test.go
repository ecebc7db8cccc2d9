package assess

import (
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

func bundled(t *testing.T) *Catalog {
	t.Helper()
	c, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBundledCatalogIsDatedAndHonest(t *testing.T) {
	c := bundled(t)
	if c.Region == "" || c.PricesAsOf == "" || !strings.Contains(c.Source, "approximation") || !strings.Contains(c.Source, "--catalog") {
		t.Fatalf("catalog must name region, date, that it is approximate and how to override: %+v", c.Ref())
	}
	fams := map[string]bool{}
	for _, s := range c.VMSizes {
		fams[s.Family] = true
		if s.PricePerHour.Windows <= s.PricePerHour.Linux {
			t.Errorf("%s: Windows price %.4f not above Linux %.4f", s.Name, s.PricePerHour.Windows, s.PricePerHour.Linux)
		}
	}
	for _, f := range []string{"B", "Dsv5", "Esv5", "Fsv2"} {
		if !fams[f] {
			t.Errorf("family %s missing", f)
		}
	}
	for _, sku := range []string{"P4", "P80", "E4", "E80", "S4", "S80"} {
		found := false
		for _, d := range c.Disks {
			found = found || d.Name == sku
		}
		if !found {
			t.Errorf("disk %s missing", sku)
		}
	}
}

func TestReadCatalogRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"no version":    `{"region":"x","currency":"USD","pricesAsOf":"2025-01-01","vmSizes":[{"name":"a","vcpus":1,"memoryGiB":1,"pricePerHour":{"linux":1,"windows":2}}]}`,
		"no date":       `{"schemaVersion":1,"region":"x","currency":"USD","vmSizes":[{"name":"a","vcpus":1,"memoryGiB":1,"pricePerHour":{"linux":1,"windows":2}}]}`,
		"unknown field": `{"schemaVersion":1,"regoin":"x"}`,
		"bad tier":      `{"schemaVersion":1,"region":"x","currency":"USD","pricesAsOf":"2025-01-01","vmSizes":[{"name":"a","vcpus":1,"memoryGiB":1,"pricePerHour":{"linux":1,"windows":2}}],"disks":[{"tier":"gold","name":"G","sizeGiB":1,"pricePerMonth":1}]}`,
	} {
		if _, err := ReadCatalog(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSizeAsIs(t *testing.T) {
	c := bundled(t)
	so, _ := SizingOptions{}.normalize()
	for _, tc := range []struct {
		name   string
		mutate func(h *inventory.Host)
		want   string
	}{
		{"4 vCPU 16 GiB windows", nil, "Standard_D4s_v5"},
		{"memory-heavy", func(h *inventory.Host) { h.Memory.TotalBytes = 64 << 30 }, "Standard_E8s_v5"},
		{"32 GiB reported a little short", func(h *inventory.Host) { h.Memory.TotalBytes = 34359267328; h.CPU.Logical = 8 }, "Standard_D8s_v5"},
		{"many data disks", func(h *inventory.Host) {
			for i := 0; i < 10; i++ {
				h.Disks = append(h.Disks, inventory.Disk{Name: "d", SizeBytes: 10 << 30})
			}
		}, "Standard_F8s_v2"}, // 11 data disks need 16 slots: the cheapest 8-vCPU size with them
		{"cpu-heavy", func(h *inventory.Host) { h.CPU.Logical, h.Memory.TotalBytes = 16, 32<<30 }, "Standard_F16s_v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := windowsHost()
			if tc.mutate != nil {
				tc.mutate(h)
			}
			sz, f := size(h, c, so, nil)
			if f != nil {
				t.Fatalf("finding %+v", f)
			}
			if sz.VMSize != tc.want || sz.Basis != "as-is" || sz.Confidence.Rating != 0 {
				t.Fatalf("got %s (%s, confidence %d), want %s", sz.VMSize, sz.Basis, sz.Confidence.Rating, tc.want)
			}
			if sz.MonthlyCost <= 0 || sz.MonthlyCost != round2(sz.ComputePerMonth+sz.StoragePerMonth) {
				t.Fatalf("cost %+v", sz)
			}
		})
	}
}

func TestSizeNothingFits(t *testing.T) {
	h := windowsHost()
	h.CPU.Logical, h.Memory.TotalBytes = 256, 4<<40
	so, _ := SizingOptions{}.normalize()
	sz, f := size(h, bundled(t), so, nil)
	if f == nil || f.Verdict != NotReady || !strings.Contains(f.Message, "256 vCPUs") || sz.VMSize != "" {
		t.Fatalf("want blocker, got %+v %+v", f, sz)
	}
	h.CPU = inventory.CPU{}
	if _, f := size(h, bundled(t), so, nil); f == nil || !f.Unchecked {
		t.Fatalf("unknown CPU must be unchecked, got %+v", f)
	}
}

func TestDiskTiers(t *testing.T) {
	c := bundled(t)
	h := windowsHost() // 127 GiB and 200 GiB
	for tier, want := range map[string][]string{"premium-ssd": {"P10", "P15"}, "standard-ssd": {"E10", "E15"}, "standard-hdd": {"S10", "S15"}} {
		so, err := SizingOptions{DiskTier: tier}.normalize()
		if err != nil {
			t.Fatal(err)
		}
		sz, _ := size(h, c, so, nil)
		if len(sz.Disks) != 2 || sz.Disks[0].SKU != want[0] || sz.Disks[1].SKU != want[1] || !sz.Disks[0].OS {
			t.Errorf("%s: %+v", tier, sz.Disks)
		}
	}
	if _, err := (SizingOptions{DiskTier: "ultra"}).normalize(); err == nil {
		t.Error("unknown tier accepted")
	}
}

func samplesOf(n int, window time.Duration, cpu, mem float64, iops float64) *inventory.Samples {
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	s := &inventory.Samples{Start: start, End: start.Add(window), IntervalSeconds: window.Seconds() / float64(n-1)}
	for i := 0; i < n; i++ {
		s.Points = append(s.Points, inventory.Sample{At: start.Add(time.Duration(i) * window / time.Duration(n-1)),
			CPUPercent: cpu, MemoryUsedBytes: mem, DiskReadIOPS: iops, DiskWriteIOPS: 0,
			DiskReadBytesPerSec: 1e6, DiskWriteBytesPerSec: 0, NetInBytesPerSec: -1, NetOutBytesPerSec: -1})
	}
	return s
}

func TestSizeFromSamples(t *testing.T) {
	c := bundled(t)
	so, _ := SizingOptions{}.normalize()
	h := windowsHost()
	h.CPU.Logical, h.Memory.TotalBytes = 16, 64<<30
	// 10 % of 16 vCPUs busy, 6 GiB used, over a week: 1.6 × 1.3 → 3 vCPUs, 7.8 GiB.
	s := samplesOf(7*24*6+1, 7*24*time.Hour, 10, 6<<30, 200)
	sz, f := size(h, c, so, s)
	if f != nil {
		t.Fatal(f)
	}
	if sz.Basis != "performance" || sz.Required.VCPUs != 3 || sz.Required.MemoryGiB != 7.8 || sz.Required.IOPS != 260 {
		t.Fatalf("required %+v basis %s", sz.Required, sz.Basis)
	}
	// 1.6 busy vCPUs is over the baseline of a 4-vCPU B size (0.9): the cheapest
	// size with 4 vCPUs and 7.8 GiB is F4s_v2.
	if sz.VMSize != "Standard_F4s_v2" {
		t.Fatalf("size %s", sz.VMSize)
	}
	if sz.Confidence.Rating != 5 || sz.Confidence.Label() != "high" {
		t.Fatalf("full week: confidence %+v", sz.Confidence)
	}

	// An idle server may go burstable.
	idle := samplesOf(7*24*6+1, 7*24*time.Hour, 2, 2<<30, 50)
	sz, _ = size(h, c, so, idle)
	if sz.Family != "B" {
		t.Fatalf("idle server sized %s, want a B size", sz.VMSize)
	}

	// Ten minutes, half the points: low confidence.
	short := samplesOf(11, 10*time.Minute, 10, 6<<30, 200)
	short.Points = short.Points[:5]
	sz, _ = size(h, c, so, short)
	if sz.Confidence.Rating > 2 || !strings.Contains(sz.Confidence.Note, "shorter than a day") {
		t.Fatalf("short window: %+v", sz.Confidence)
	}

	// High IOPS moves a cheap tier up.
	hdd, _ := SizingOptions{DiskTier: "standard-hdd"}.normalize()
	busy := samplesOf(100, 7*24*time.Hour, 10, 6<<30, 3000)
	sz, _ = size(h, c, hdd, busy)
	if sz.Disks[0].Tier != "premium-ssd" || len(sz.Notes) == 0 {
		t.Fatalf("3900 IOPS on HDD: %+v %v", sz.Disks, sz.Notes)
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3, -1, 10, 9, 8, 7, 6}
	for p, want := range map[float64]float64{50: 5, 95: 10, 100: 10, 10: 1} {
		if got, ok := percentile(v, p); !ok || got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if _, ok := percentile([]float64{-1, -1}, 95); ok {
		t.Error("missing readings gave a percentile")
	}
}

package assess

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shift-migrate/shift/inventory"
)

// Sizing defaults.
const (
	DefaultPercentile = 95
	DefaultComfort    = 1.3
	DefaultDiskTier   = "premium-ssd"
)

// memorySlack lets a size with slightly less memory than the OS reports
// still fit: firmware and the hypervisor keep a little of the installed
// memory, so a 32 GiB server reports 31.99 GiB.
const memorySlack = 1.02

// SizingOptions tune sizing. The zero value means the defaults.
type SizingOptions struct {
	// Percentile of the samples used for performance-based sizing, 1–100; 0
	// means 95.
	Percentile float64 `json:"percentile"`
	// Comfort multiplies the measured need to leave headroom, ≥ 1; 0 means 1.3.
	Comfort float64 `json:"comfortFactor"`
	// DiskTier is the managed-disk tier for every disk; "" means premium-ssd.
	DiskTier string `json:"diskTier"`
	// Families limits the VM size families ("Dsv5", "Esv5", "Fsv2", "B"); nil
	// means all of the catalog.
	Families []string `json:"families,omitempty"`
}

func (o SizingOptions) normalize() (SizingOptions, error) {
	if o.Percentile == 0 {
		o.Percentile = DefaultPercentile
	}
	if o.Comfort == 0 {
		o.Comfort = DefaultComfort
	}
	if o.DiskTier == "" {
		o.DiskTier = DefaultDiskTier
	}
	switch {
	case o.Percentile < 1 || o.Percentile > 100:
		return o, fmt.Errorf("assess: percentile %g: must be between 1 and 100", o.Percentile)
	case o.Comfort < 1 || o.Comfort > 10:
		return o, fmt.Errorf("assess: comfort factor %g: must be between 1 and 10", o.Comfort)
	case !slices.Contains(DiskTiers, o.DiskTier):
		return o, fmt.Errorf("assess: disk tier %q: use one of %s", o.DiskTier, strings.Join(DiskTiers, ", "))
	}
	return o, nil
}

// Sizing is the Azure VM and disks chosen for one host, and their cost.
type Sizing struct {
	// Basis is "as-is" (the server's configured cores and memory) or
	// "performance" (percentile of samples times the comfort factor).
	Basis    string      `json:"basis"`
	Required Requirement `json:"required"`
	// VMSize is the chosen size; empty when none fits (see the azure.vm-size finding).
	VMSize    string  `json:"vmSize,omitempty"`
	Family    string  `json:"family,omitempty"`
	VCPUs     int     `json:"vcpus,omitempty"`
	MemoryGiB float64 `json:"memoryGiB,omitempty"`
	// Generation is the Hyper-V generation, "V1" or "V2"; empty when unknown.
	Generation      string     `json:"generation,omitempty"`
	ComputePerMonth float64    `json:"computePerMonth"`
	Disks           []DiskPlan `json:"disks"`
	StoragePerMonth float64    `json:"storagePerMonth"`
	MonthlyCost     float64    `json:"monthlyCost"`
	Confidence      Confidence `json:"confidence"`
	Notes           []string   `json:"notes,omitempty"`
}

// Requirement is what the VM must provide.
type Requirement struct {
	VCPUs     int     `json:"vcpus"`
	MemoryGiB float64 `json:"memoryGiB"`
	DataDisks int     `json:"dataDisks"`
	NICs      int     `json:"nics"`
	// IOPS and MBps are set only by performance-based sizing.
	IOPS float64 `json:"iops,omitempty"`
	MBps float64 `json:"mbps,omitempty"`
	// BusyVCPUs is the measured CPU load in whole vCPUs (performance only);
	// it decides whether a burstable size can carry the host.
	BusyVCPUs float64 `json:"busyVCPUs,omitempty"`
}

// DiskPlan is the managed disk chosen for one source disk.
type DiskPlan struct {
	Source    string  `json:"source"`
	SourceGiB float64 `json:"sourceGiB"`
	OS        bool    `json:"os,omitempty"`
	// SKU is empty when no SKU of the tier is large enough.
	Tier          string  `json:"tier"`
	SKU           string  `json:"sku,omitempty"`
	SizeGiB       float64 `json:"sizeGiB,omitempty"`
	IOPS          float64 `json:"iops,omitempty"`
	MBps          float64 `json:"mbps,omitempty"`
	PricePerMonth float64 `json:"pricePerMonth"`
}

// Confidence rates how far the sizing can be trusted, from sample coverage.
type Confidence struct {
	// Rating is 0 (sized as is, no samples) or 1–5 stars.
	Rating int `json:"rating"`
	// Coverage is the share of expected sample points that arrived, 0–1.
	Coverage float64 `json:"coverage"`
	// Window is the length of the sampled window ("10m0s"); empty without samples.
	Window string `json:"window,omitempty"`
	Note   string `json:"note"`
}

// Label is the rating in a word: "none", "low", "medium" or "high".
func (c Confidence) Label() string {
	switch {
	case c.Rating == 0:
		return "none"
	case c.Rating <= 2:
		return "low"
	case c.Rating == 3:
		return "medium"
	}
	return "high"
}

func confidence(s *inventory.Samples) Confidence {
	if s == nil || len(s.Points) == 0 {
		return Confidence{Note: "sized as is (no performance samples): the cost is an upper bound; collect samples with `shift discover --sample` for performance-based sizing"}
	}
	cov := s.Coverage()
	stars := 1 + min(4, int(cov*5-1e-9))
	if cov == 0 {
		stars = 1
	}
	window := s.End.Sub(s.Start)
	note := fmt.Sprintf("%.0f%% of the expected samples over %s", cov*100, window)
	switch {
	case window < 24*time.Hour:
		stars = min(stars, 2)
		note += "; a window shorter than a day misses daily peaks"
	case window < 7*24*time.Hour:
		stars = min(stars, 4)
		note += "; a window shorter than a week misses weekly peaks"
	}
	return Confidence{Rating: stars, Coverage: round2(cov), Window: window.String(), Note: note}
}

// percentile returns the p-th percentile (nearest rank) of the non-negative
// values; ok is false when there are none.
func percentile(vals []float64, p float64) (float64, bool) {
	var v []float64
	for _, x := range vals {
		if x >= 0 && !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	rank := int(math.Ceil(p / 100 * float64(len(v))))
	return v[max(0, min(len(v)-1, rank-1))], true
}

func series(s *inventory.Samples, f func(p inventory.Sample) float64) []float64 {
	out := make([]float64, len(s.Points))
	for i, p := range s.Points {
		out[i] = f(p)
	}
	return out
}

// sum2 adds two readings; a missing one (negative) makes the sum missing.
func sum2(a, b float64) float64 {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// nicCount is the number of vNICs the host needs: real interfaces, a team
// counting once, its members not at all.
func nicCount(h *inventory.Host) int {
	members := map[string]bool{}
	for _, n := range h.NICs {
		for _, m := range n.Members {
			members[m] = true
		}
	}
	c := 0
	for _, n := range h.NICs {
		if n.Virtual || members[n.Name] {
			continue
		}
		c++
	}
	return max(1, c)
}

// size chooses the VM size and disks for h and prices them. The finding is
// nil when a size fits.
func size(h *inventory.Host, cat *Catalog, so SizingOptions, samples *inventory.Samples) (*Sizing, *Finding) {
	sz := &Sizing{Basis: "as-is", Generation: generation(h), Disks: []DiskPlan{}, Confidence: confidence(samples)}
	cpus := h.CPU.Logical
	if cpus == 0 {
		cpus = h.CPU.Cores
	}
	memGiB := float64(h.Memory.TotalBytes) / gib
	req := Requirement{VCPUs: cpus, MemoryGiB: round2(memGiB), DataDisks: len(dataDisks(h)), NICs: nicCount(h)}
	if samples != nil && len(samples.Points) > 0 && cpus > 0 {
		p := so.Percentile
		perf := false
		if cpu, ok := percentile(series(samples, func(x inventory.Sample) float64 { return x.CPUPercent }), p); ok {
			busy := cpu / 100 * float64(cpus)
			req.BusyVCPUs = round2(busy)
			req.VCPUs = max(1, int(math.Ceil(busy*so.Comfort-1e-9)))
			perf = true
		}
		if mem, ok := percentile(series(samples, func(x inventory.Sample) float64 { return x.MemoryUsedBytes }), p); ok {
			req.MemoryGiB = round2(max(0.5, mem*so.Comfort/gib))
			perf = true
		}
		if iops, ok := percentile(series(samples, func(x inventory.Sample) float64 { return sum2(x.DiskReadIOPS, x.DiskWriteIOPS) }), p); ok {
			req.IOPS = math.Ceil(iops * so.Comfort)
		}
		if bps, ok := percentile(series(samples, func(x inventory.Sample) float64 { return sum2(x.DiskReadBytesPerSec, x.DiskWriteBytesPerSec) }), p); ok {
			req.MBps = math.Ceil(bps * so.Comfort / 1e6)
		}
		if perf {
			sz.Basis = "performance"
		}
	}
	sz.Required = req

	sz.Disks, sz.StoragePerMonth = planDisks(h, cat, so.DiskTier, req, sz)
	if req.VCPUs == 0 || h.Memory.TotalBytes == 0 && sz.Basis == "as-is" {
		return sz, &Finding{Verdict: Conditional, Unchecked: true,
			Message:  fmt.Sprintf("Could not be checked: the server's processors or memory are unknown (cpu.logical = %d, memory.totalBytes = %d), so no VM size was chosen.", h.CPU.Logical, h.Memory.TotalBytes),
			Fix:      "Discover the host again; if the counts stay empty, read them by hand (Windows: `Get-CimInstance Win32_ComputerSystem`; Linux: `nproc`, `free -b`) and size it by hand.",
			Evidence: []Evidence{ev("cpu.logical", h.CPU.Logical), ev("memory.totalBytes", h.Memory.TotalBytes)}}
	}

	windows := h.OS.Family == "windows"
	var best *VMSize
	var bestPrice float64
	for i := range cat.VMSizes {
		s := &cat.VMSizes[i]
		if len(so.Families) > 0 && !slices.Contains(so.Families, s.Family) {
			continue
		}
		if !fits(s, req, sz.Generation, sz.Basis) {
			continue
		}
		price := s.PricePerHour.Linux
		if windows {
			price = s.PricePerHour.Windows
		}
		if best == nil || price < bestPrice || (price == bestPrice && s.Name < best.Name) {
			best, bestPrice = s, price
		}
	}
	if sz.Basis == "as-is" {
		sz.Notes = append(sz.Notes, "burstable B sizes are considered only with performance samples that show a low CPU load")
	}
	if best == nil {
		largest := slices.MaxFunc(cat.VMSizes, func(a, b VMSize) int {
			return cmp.Or(cmp.Compare(a.VCPUs, b.VCPUs), cmp.Compare(a.MemoryGiB, b.MemoryGiB))
		})
		need := fmt.Sprintf("%d vCPUs, %.1f GiB memory, %d data disks, %d NICs", req.VCPUs, req.MemoryGiB, req.DataDisks, req.NICs)
		if req.IOPS > 0 {
			need += fmt.Sprintf(", %.0f IOPS, %.0f MB/s", req.IOPS, req.MBps)
		}
		sz.MonthlyCost = round2(sz.StoragePerMonth)
		return sz, &Finding{Verdict: NotReady,
			Message:  fmt.Sprintf("No VM size in the catalog (%s) offers %s (cpu.logical, memory.totalBytes, disks, nics); the largest is %s with %d vCPUs and %.0f GiB.", cat.Name, need, largest.Name, largest.VCPUs, largest.MemoryGiB),
			Fix:      "Check whether the server needs that much: collect samples (`shift discover --sample`) and size by performance (--percentile, --comfort); or add larger families (M-series, Ebsv5 for more data disks) to a catalog file and pass it with --catalog FILE; or consolidate disks/NICs.",
			Evidence: []Evidence{ev("cpu.logical", h.CPU.Logical), ev("memory.totalBytes", h.Memory.TotalBytes), ev("disks.data", req.DataDisks), ev("nics.count", req.NICs)}}
	}
	sz.VMSize, sz.Family, sz.VCPUs, sz.MemoryGiB = best.Name, best.Family, best.VCPUs, best.MemoryGiB
	sz.ComputePerMonth = round2(bestPrice * cat.hours())
	sz.MonthlyCost = round2(sz.ComputePerMonth + sz.StoragePerMonth)
	return sz, nil
}

func fits(s *VMSize, req Requirement, gen, basis string) bool {
	switch {
	case s.VCPUs < req.VCPUs, s.MemoryGiB*memorySlack < req.MemoryGiB,
		s.MaxDataDisks < req.DataDisks, s.MaxNICs < req.NICs:
		return false
	case gen != "" && len(s.HyperVGenerations) > 0 && !slices.Contains(s.HyperVGenerations, gen):
		return false
	case req.IOPS > 0 && s.MaxDiskIOPS > 0 && s.MaxDiskIOPS < req.IOPS:
		return false
	case req.MBps > 0 && s.MaxDiskMBps > 0 && s.MaxDiskMBps < req.MBps:
		return false
	case s.CPUBaselinePercent > 0:
		// A burstable size only when measured load stays under its baseline.
		return basis == "performance" && req.BusyVCPUs <= s.CPUBaselinePercent/100*float64(s.VCPUs)
	}
	return true
}

// planDisks gives every disk the smallest SKU of the tier that holds it. With
// a measured IOPS or throughput need that the tier's disks cannot meet
// together, it moves up a tier and says so.
func planDisks(h *inventory.Host, cat *Catalog, tier string, req Requirement, sz *Sizing) ([]DiskPlan, float64) {
	var plan []DiskPlan
	var total float64
	start := slices.Index(DiskTiers, tier)
	for t := start; t < len(DiskTiers); t++ {
		plan, total = plan[:0], 0
		var iops, mbps float64
		for i := range h.Disks {
			d := &h.Disks[i]
			if d.Removable || d.SizeBytes == 0 {
				continue
			}
			p := DiskPlan{Source: d.Name, SourceGiB: round2(float64(d.SizeBytes) / gib), OS: d.System || d.Boot, Tier: DiskTiers[t]}
			if sku := smallestSKU(cat, DiskTiers[t], float64(d.SizeBytes)/gib); sku != nil {
				p.SKU, p.SizeGiB, p.IOPS, p.MBps, p.PricePerMonth = sku.Name, sku.SizeGiB, sku.IOPS, sku.MBps, sku.PricePerMonth
				total += sku.PricePerMonth
				iops += sku.IOPS
				mbps += sku.MBps
			}
			plan = append(plan, p)
		}
		if (req.IOPS == 0 || iops >= req.IOPS) && (req.MBps == 0 || mbps >= req.MBps) {
			if t != start {
				sz.Notes = append(sz.Notes, fmt.Sprintf("disks moved up from %s to %s to meet %.0f IOPS / %.0f MB/s", tier, DiskTiers[t], req.IOPS, req.MBps))
			}
			return plan, round2(total)
		}
		if t == len(DiskTiers)-1 {
			sz.Notes = append(sz.Notes, fmt.Sprintf("the disks give %.0f IOPS / %.0f MB/s, less than the measured %.0f IOPS / %.0f MB/s: consider larger disks, striping, or Premium SSD v2 / Ultra Disk", iops, mbps, req.IOPS, req.MBps))
		}
	}
	return plan, round2(total)
}

func smallestSKU(cat *Catalog, tier string, gibNeeded float64) *DiskSKU {
	var best *DiskSKU
	for i := range cat.Disks {
		d := &cat.Disks[i]
		if d.Tier != tier || d.SizeGiB < gibNeeded {
			continue
		}
		if best == nil || d.SizeGiB < best.SizeGiB || (d.SizeGiB == best.SizeGiB && d.PricePerMonth < best.PricePerMonth) {
			best = d
		}
	}
	return best
}

package assess

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

//go:embed data/azure-catalog.json
var bundledCatalog []byte

// CatalogSchemaVersion is the version of the catalog file format.
const CatalogSchemaVersion = 1

// Catalog is a dated list of Azure VM sizes and managed-disk SKUs with prices
// in one region and currency. The bundled one is an approximation (see its
// Source); a file in the same format replaces it.
type Catalog struct {
	SchemaVersion int    `json:"schemaVersion"`
	Name          string `json:"name"`
	Region        string `json:"region"`
	Currency      string `json:"currency"`
	// PricesAsOf is the date the prices were taken, "YYYY-MM-DD".
	PricesAsOf string `json:"pricesAsOf"`
	// Source says where the numbers come from and how far to trust them.
	Source string `json:"source"`
	// HoursPerMonth turns hourly prices into monthly ones; 0 means 730.
	HoursPerMonth float64   `json:"hoursPerMonth"`
	VMSizes       []VMSize  `json:"vmSizes"`
	Disks         []DiskSKU `json:"disks"`
}

// VMSize is one Azure VM size.
type VMSize struct {
	Name         string  `json:"name"`
	Family       string  `json:"family"`
	VCPUs        int     `json:"vcpus"`
	MemoryGiB    float64 `json:"memoryGiB"`
	MaxDataDisks int     `json:"maxDataDisks"`
	MaxNICs      int     `json:"maxNICs"`
	// TempDiskGiB is the local temporary disk; 0 means none.
	TempDiskGiB float64 `json:"tempDiskGiB"`
	// MaxDiskIOPS and MaxDiskMBps are the VM's uncached disk limits.
	MaxDiskIOPS float64 `json:"maxDiskIOPS"`
	MaxDiskMBps float64 `json:"maxDiskMBps"`
	// NetworkMbps is the expected network bandwidth; 0 means unknown.
	NetworkMbps float64 `json:"networkMbps,omitempty"`
	// HyperVGenerations lists "V1" and/or "V2".
	HyperVGenerations []string `json:"hyperVGenerations"`
	PremiumStorage    bool     `json:"premiumStorage"`
	PricePerHour      Price    `json:"pricePerHour"`
	// CPUBaselinePercent is a burstable size's sustained CPU as a share of the
	// whole VM; 0 for sizes that are not burstable.
	CPUBaselinePercent float64 `json:"cpuBaselinePercent,omitempty"`
}

// Price is a price per OS licence.
type Price struct {
	Linux   float64 `json:"linux"`
	Windows float64 `json:"windows"`
}

// DiskSKU is one managed-disk size of a tier.
type DiskSKU struct {
	// Tier is "premium-ssd", "standard-ssd" or "standard-hdd".
	Tier          string  `json:"tier"`
	Name          string  `json:"name"`
	SizeGiB       float64 `json:"sizeGiB"`
	IOPS          float64 `json:"iops"`
	MBps          float64 `json:"mbps"`
	PricePerMonth float64 `json:"pricePerMonth"`
}

// Disk tiers, cheapest first.
var DiskTiers = []string{"standard-hdd", "standard-ssd", "premium-ssd"}

// CatalogRef identifies the catalog a result was priced with.
type CatalogRef struct {
	Name       string `json:"name"`
	Region     string `json:"region"`
	Currency   string `json:"currency"`
	PricesAsOf string `json:"pricesAsOf"`
	Source     string `json:"source"`
}

// Ref returns the identifying part of c.
func (c *Catalog) Ref() CatalogRef {
	return CatalogRef{Name: c.Name, Region: c.Region, Currency: c.Currency, PricesAsOf: c.PricesAsOf, Source: c.Source}
}

func (c *Catalog) hours() float64 {
	if c.HoursPerMonth > 0 {
		return c.HoursPerMonth
	}
	return 730
}

// Bundled returns the catalog compiled into shift.
func Bundled() (*Catalog, error) {
	c, err := ReadCatalog(bytes.NewReader(bundledCatalog))
	if err != nil {
		return nil, fmt.Errorf("bundled catalog: %w", err)
	}
	return c, nil
}

// LoadCatalog reads a catalog file.
func LoadCatalog(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer f.Close()
	c, err := ReadCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// ReadCatalog decodes and checks a catalog.
func ReadCatalog(r io.Reader) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &c, c.validate()
}

func (c *Catalog) validate() error {
	var errs []error
	switch {
	case c.SchemaVersion == 0:
		errs = append(errs, errors.New("no schemaVersion"))
	case c.SchemaVersion > CatalogSchemaVersion:
		errs = append(errs, fmt.Errorf("schema version %d is newer than this shift understands (%d)", c.SchemaVersion, CatalogSchemaVersion))
	}
	if c.Region == "" || c.Currency == "" || c.PricesAsOf == "" {
		errs = append(errs, errors.New("region, currency and pricesAsOf are required: a price means nothing without them"))
	}
	if len(c.VMSizes) == 0 {
		errs = append(errs, errors.New("no vmSizes"))
	}
	for i, s := range c.VMSizes {
		if s.Name == "" || s.VCPUs <= 0 || s.MemoryGiB <= 0 || s.PricePerHour.Linux <= 0 || s.PricePerHour.Windows <= 0 {
			errs = append(errs, fmt.Errorf("vmSizes[%d] %q: name, vcpus, memoryGiB and both prices must be set", i, s.Name))
		}
	}
	for i, d := range c.Disks {
		if !slices.Contains(DiskTiers, d.Tier) || d.SizeGiB <= 0 || d.PricePerMonth <= 0 {
			errs = append(errs, fmt.Errorf("disks[%d] %q: tier must be one of %v, sizeGiB and pricePerMonth set", i, d.Name, DiskTiers))
		}
	}
	return errors.Join(errs...)
}

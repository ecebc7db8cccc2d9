package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// SamplesSchemaVersion is the version of the JSON written by [SampleSet.Write].
// Like [SchemaVersion], it grows only when a field changes meaning or goes.
const SamplesSchemaVersion = 1

// SampleSet holds performance samples of several hosts as a document of its
// own (shift assess --samples FILE), for samples collected outside shift.
// Samples that shift discover --sample collects travel inside the inventory,
// in [Host.Samples]; a SampleSet entry wins over them for its host.
type SampleSet struct {
	// SchemaVersion is the version of the model this document follows.
	SchemaVersion int `json:"schemaVersion"`
	// Hosts maps a host's Name (as in the inventory) to its series.
	Hosts map[string]*Samples `json:"hosts"`
}

// Samples is the performance series of one host.
type Samples struct {
	// Start and End bound the window the collector was asked to cover; End is
	// zero while collection runs.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// IntervalSeconds is the time between two points the collector aimed for;
	// with Start and End it says how many points there should be.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// Points are in time order. Missing points (the host did not answer) are
	// simply absent.
	Points []Sample `json:"points"`
}

// Sample is one point of a host's series. A field that the collector could
// not read is negative (-1); zero is a real reading.
type Sample struct {
	At time.Time `json:"at"`
	// CPUPercent is the busy share of all logical processors, 0–100.
	CPUPercent float64 `json:"cpuPercent"`
	// MemoryUsedBytes is memory in use, excluding file cache that the OS
	// can drop.
	MemoryUsedBytes float64 `json:"memoryUsedBytes"`
	// DiskReadIOPS … DiskWriteBytesPerSec are summed over all disks.
	DiskReadIOPS         float64 `json:"diskReadIOPS"`
	DiskWriteIOPS        float64 `json:"diskWriteIOPS"`
	DiskReadBytesPerSec  float64 `json:"diskReadBytesPerSec"`
	DiskWriteBytesPerSec float64 `json:"diskWriteBytesPerSec"`
	// NetInBytesPerSec and NetOutBytesPerSec are summed over all NICs.
	NetInBytesPerSec  float64 `json:"netInBytesPerSec"`
	NetOutBytesPerSec float64 `json:"netOutBytesPerSec"`
}

// Expected returns how many points the window should hold; 0 when the window
// or the interval is unknown.
func (s *Samples) Expected() int {
	if s == nil || s.IntervalSeconds <= 0 || s.End.IsZero() || !s.End.After(s.Start) {
		return 0
	}
	return int(s.End.Sub(s.Start).Seconds()/s.IntervalSeconds) + 1
}

// Coverage is the share of expected points that arrived, 0–1; 0 when the
// window is unknown.
func (s *Samples) Coverage() float64 {
	n := s.Expected()
	if n == 0 {
		return 0
	}
	return min(1, float64(len(s.Points))/float64(n))
}

// Write encodes the set as indented JSON.
func (s *SampleSet) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// ReadSamples decodes a sample set and checks its schema version.
func ReadSamples(r io.Reader) (*SampleSet, error) {
	var s SampleSet
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("samples: decode: %w", err)
	}
	switch {
	case s.SchemaVersion == 0:
		return nil, fmt.Errorf("samples: no schemaVersion: not a shift sample file")
	case s.SchemaVersion > SamplesSchemaVersion:
		return nil, fmt.Errorf("samples: schema version %d is newer than this shift understands (%d): upgrade shift", s.SchemaVersion, SamplesSchemaVersion)
	}
	return &s, nil
}

// ReadSamplesFile reads a sample set from a file.
func ReadSamplesFile(path string) (*SampleSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadSamples(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

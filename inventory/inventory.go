package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// SchemaVersion is the version of the JSON written by [Inventory.Write]. It grows
// by one whenever a field changes meaning or is removed; added fields do not
// change it.
const SchemaVersion = 1

// Inventory is the result of one discovery run.
type Inventory struct {
	// SchemaVersion is the version of the model this document follows.
	SchemaVersion int `json:"schemaVersion"`
	// GeneratedAt is when discovery finished, in UTC.
	GeneratedAt time.Time `json:"generatedAt"`
	// Generator names the program and version that wrote the document.
	Generator string `json:"generator,omitempty"`
	// Hosts are sorted by Name.
	Hosts []Host `json:"hosts"`
}

// New returns an empty inventory stamped with the current schema version.
func New(generator string, at time.Time) *Inventory {
	return &Inventory{SchemaVersion: SchemaVersion, GeneratedAt: at.UTC(), Generator: generator, Hosts: []Host{}}
}

// Sort orders the hosts by name so that output is stable.
func (inv *Inventory) Sort() {
	sort.SliceStable(inv.Hosts, func(i, j int) bool { return inv.Hosts[i].Name < inv.Hosts[j].Name })
}

// Host returns the host with the given name, or nil.
func (inv *Inventory) Host(name string) *Host {
	for i := range inv.Hosts {
		if inv.Hosts[i].Name == name {
			return &inv.Hosts[i]
		}
	}
	return nil
}

// Write encodes the inventory as indented JSON.
func (inv *Inventory) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(inv)
}

// Read decodes an inventory and checks its schema version.
func Read(r io.Reader) (*Inventory, error) {
	var inv Inventory
	dec := json.NewDecoder(r)
	if err := dec.Decode(&inv); err != nil {
		return nil, fmt.Errorf("inventory: decode: %w", err)
	}
	switch {
	case inv.SchemaVersion == 0:
		return nil, fmt.Errorf("inventory: no schemaVersion: not a shift inventory")
	case inv.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("inventory: schema version %d is newer than this shift understands (%d): upgrade shift", inv.SchemaVersion, SchemaVersion)
	}
	return &inv, nil
}

// ReadFile reads an inventory from a file.
func ReadFile(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	inv, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return inv, nil
}

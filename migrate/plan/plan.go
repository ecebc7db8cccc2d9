package plan

import (
	"path/filepath"
	"time"

	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/validate"
)

// Version is the plan file format this shift reads and writes.
const Version = 1

// Built-in defaults, used where neither the host, its wave nor the plan's
// defaults: say otherwise.
const (
	DefaultConcurrency = 4
	DefaultApproval    = Manual
	DefaultMaxPasses   = 8
	// DefaultSyncBelow: a delta pass that changed less than this many bytes
	// means the copy is in sync and cutover may begin.
	DefaultSyncBelow ByteSize = 256 << 20
)

// Plan is a parsed migration plan. Its YAML form is documented in SCHEMA.md.
type Plan struct {
	// Version is the format version; it must be 1.
	Version int `yaml:"version" json:"version"`
	// Name names the migration in reports and the ledger; empty means the
	// file name.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Hosts is the hosts file (how to reach each server), relative to the
	// plan's directory.
	Hosts string `yaml:"hosts" json:"hosts"`
	// Target says where the servers move.
	Target Target `yaml:"target" json:"target"`
	// Defaults apply to every wave and host that does not set its own.
	Defaults Defaults `yaml:"defaults,omitempty" json:"defaults"`
	// Blackouts are windows in which nothing may run (no copy, no cutover).
	Blackouts []Blackout `yaml:"blackouts,omitempty" json:"blackouts,omitempty"`
	// Waves run in file order, each after the waves it depends on.
	Waves []Wave `yaml:"waves" json:"waves"`

	// Path is the file the plan was read from; "" for a plan built in memory.
	Path string `yaml:"-" json:"-"`
	// Comment is written above the plan's first line by Marshal.
	Comment string `yaml:"-" json:"-"`

	pos map[string]Pos
}

// Target is where the servers move.
type Target struct {
	// Kind is "local" (QEMU on this machine, the default) or "azure".
	Kind string `yaml:"kind,omitempty" json:"kind"`
	// StateDir is the local cloud's state directory; empty means its
	// default. Local only.
	StateDir string `yaml:"stateDir,omitempty" json:"stateDir,omitempty"`
	// Azure holds the Azure settings; required when Kind is "azure".
	Azure *AzureTarget `yaml:"azure,omitempty" json:"azure,omitempty"`
}

// Target kinds.
const (
	KindLocal = "local"
	KindAzure = "azure"
)

// Upload methods of the Azure target.
const (
	UploadDirect  = "direct"
	UploadStorage = "storage"
)

// AzureTarget says where in Azure the servers move.
type AzureTarget struct {
	Subscription  string `yaml:"subscription" json:"subscription"`
	ResourceGroup string `yaml:"resourceGroup" json:"resourceGroup"`
	Location      string `yaml:"location" json:"location"`
	// Subnet is the ARM ID of the subnet NICs join unless a NIC names its
	// own.
	Subnet string `yaml:"subnet,omitempty" json:"subnet,omitempty"`
	// TestSubnet is the ARM ID of an isolated subnet for test copies
	// (testMigration); it must not reach the production network.
	TestSubnet string `yaml:"testSubnet,omitempty" json:"testSubnet,omitempty"`
	// Tags are put on every disk, NIC and VM shift creates.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Upload is "direct" (into managed disks, the default) or "storage"
	// (page blobs in StorageAccount/Container, imported at finalize).
	Upload string `yaml:"upload,omitempty" json:"upload,omitempty"`
	// StorageAccount is the ARM ID of the staging storage account; required
	// with upload: storage.
	StorageAccount string `yaml:"storageAccount,omitempty" json:"storageAccount,omitempty"`
	// Container is the staging blob container; required with upload: storage.
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
	// DiskType is the managed-disk tier of disks whose host names none:
	// standard-hdd, standard-ssd or premium-ssd; empty means standard-ssd.
	DiskType string `yaml:"diskType,omitempty" json:"diskType,omitempty"`
}

// Policy holds the settings that cascade: a host's own win over its wave's,
// which win over the plan's defaults.
type Policy struct {
	// Approval is "manual" (an operator approves each cutover) or
	// "automatic"; empty means inherit (finally manual).
	Approval Approval `yaml:"approval,omitempty" json:"approval,omitempty"`
	// TestMigration boots a test copy of each VM, validates it and deletes it
	// before cutover; nil means inherit (finally off).
	TestMigration *bool `yaml:"testMigration,omitempty" json:"testMigration,omitempty"`
	// Delta says when repeated delta passes count as in sync.
	Delta *Delta `yaml:"delta,omitempty" json:"delta,omitempty"`
	// Checks are the validations after cutover.
	Checks *Checks `yaml:"checks,omitempty" json:"checks,omitempty"`
	// Cutover says what the cutover does on the source; nil means inherit.
	Cutover *Cutover `yaml:"cutover,omitempty" json:"cutover,omitempty"`
}

// Cutover says what the cutover does on the source before the final pass.
type Cutover struct {
	// StopServices are stopped on the source, in order, before the final
	// copy pass (systemd units on Linux, service names on Windows); a
	// rollback starts them again, and they must be running on the target
	// afterwards. Stop what writes to the disks: the application first,
	// its database last.
	StopServices []string `yaml:"stopServices,omitempty" json:"stopServices,omitempty"`
}

// Defaults are the plan-wide settings.
type Defaults struct {
	// Concurrency is the number of hosts of a wave copied at once; 0 means 4.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// Bandwidth caps the copies of one wave together; 0 means no cap.
	Bandwidth Bandwidth `yaml:"bandwidth,omitempty" json:"bandwidth,omitempty"`
	Policy    `yaml:",inline" json:",inline"`
}

// Wave is a group of hosts that move together.
type Wave struct {
	Name string `yaml:"name" json:"name"`
	// Hold keeps the whole wave from running; it is listed for the record.
	Hold bool `yaml:"hold,omitempty" json:"hold,omitempty"`
	// Window is when the wave's cutovers may start and must be done; nil
	// means any time outside blackouts.
	Window *Window `yaml:"window,omitempty" json:"window,omitempty"`
	// Concurrency overrides the defaults' for this wave; 0 means inherit.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// Bandwidth caps this wave's copies together; 0 means inherit.
	Bandwidth Bandwidth `yaml:"bandwidth,omitempty" json:"bandwidth,omitempty"`
	// DependsOn names waves that must be finished before this one starts.
	DependsOn []string `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	Policy    `yaml:",inline" json:",inline"`
	Hosts     []Host `yaml:"hosts" json:"hosts"`

	// Comment is written above the wave by Marshal; Parse fills it from the
	// comment lines above the wave.
	Comment string `yaml:"-" json:"-"`
	// Pos is where the wave starts in the file; zero for a plan built in
	// memory.
	Pos Pos `yaml:"-" json:"-"`
}

// Host is one server of a wave.
type Host struct {
	// Name is the host's name in the hosts file (and the inventory).
	Name string `yaml:"name" json:"name"`
	// Hold keeps the host from moving while the rest of its wave moves.
	Hold bool `yaml:"hold,omitempty" json:"hold,omitempty"`
	// Size is the target VM size; zero means the target picks one from the
	// source's CPUs and memory.
	Size Size `yaml:"size,omitempty" json:"size,omitzero"`
	// Disks chooses the source disks and their target tiers; zero means every
	// disk at the target's default tier.
	Disks *Disks `yaml:"disks,omitempty" json:"disks,omitempty"`
	// NICs say per source NIC whether its static address is kept; nil means
	// every NIC takes a dynamic address.
	NICs []NIC `yaml:"nics,omitempty" json:"nics,omitempty"`
	// Bandwidth caps this host's copy alone (within its wave's cap); 0 means
	// no cap of its own.
	Bandwidth Bandwidth `yaml:"bandwidth,omitempty" json:"bandwidth,omitempty"`
	// DependsOn names hosts (of any wave) whose cutover must be done before
	// this host's starts.
	DependsOn []string `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	Policy    `yaml:",inline" json:",inline"`

	// Comment is written above the host by Marshal; Parse fills it from the
	// comment lines above the host.
	Comment string `yaml:"-" json:"-"`
	// Pos is where the host starts in the file.
	Pos Pos `yaml:"-" json:"-"`
}

// Disks chooses which source disks move and onto which tier.
type Disks struct {
	// Include lists the source disks to move, by the OS's name ("/dev/sda",
	// "Disk 0"); empty means every disk.
	Include []string `yaml:"include,omitempty" json:"include,omitempty"`
	// Exclude lists source disks left behind.
	Exclude []string `yaml:"exclude,omitempty" json:"exclude,omitempty"`
	// Type is the managed-disk tier of this host's disks (Azure):
	// standard-hdd, standard-ssd or premium-ssd; empty means the target's.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Types sets the tier of single disks, by source disk name.
	Types map[string]string `yaml:"types,omitempty" json:"types,omitempty"`
}

// NIC says what becomes of one source network interface.
type NIC struct {
	// Source is the source NIC's name ("eth0", "Ethernet0").
	Source string `yaml:"source" json:"source"`
	// KeepStaticIP keeps the source's static IPv4 address on the target NIC
	// (the subnet must contain it); false means a dynamic address.
	KeepStaticIP bool `yaml:"keepStaticIP,omitempty" json:"keepStaticIP,omitempty"`
	// Subnet is the ARM ID of the subnet to join (Azure); empty means the
	// target's.
	Subnet string `yaml:"subnet,omitempty" json:"subnet,omitempty"`
}

// Delta says when the delta passes before cutover count as in sync.
type Delta struct {
	// MaxPasses bounds the passes after the first full copy; 0 means inherit
	// (finally 8). Cutover waits for approval if the copy is not in sync
	// after them.
	MaxPasses int `yaml:"maxPasses,omitempty" json:"maxPasses,omitempty"`
	// SyncBelow: a pass that changed fewer bytes than this is in sync; 0
	// means inherit (finally 256M).
	SyncBelow ByteSize `yaml:"syncBelow,omitempty" json:"syncBelow,omitempty"`
	// SyncRateBelow: a pass whose changed bytes per second of elapsed time is
	// below this is in sync too; 0 means inherit (finally unused).
	SyncRateBelow Bandwidth `yaml:"syncRateBelow,omitempty" json:"syncRateBelow,omitempty"`
}

// Checks are the validations after cutover. At each level a section
// (sqlServer, sharePoint, linux) replaces the same section of the level
// above; http and commands add to the lists above, an entry replacing one
// of the same name.
type Checks struct {
	SQLServer  *SQLServerCheck  `yaml:"sqlServer,omitempty" json:"sqlServer,omitempty"`
	SharePoint *SharePointCheck `yaml:"sharePoint,omitempty" json:"sharePoint,omitempty"`
	Linux      *LinuxCheck      `yaml:"linux,omitempty" json:"linux,omitempty"`
	// HTTP are requests made from inside the host after cutover.
	HTTP []validate.HTTPCheck `yaml:"http,omitempty" json:"http,omitempty"`
	// Commands run on the host after cutover; they must exit 0.
	Commands []validate.CommandCheck `yaml:"commands,omitempty" json:"commands,omitempty"`
}

// SQLServerCheck fingerprints every SQL Server instance before and after.
type SQLServerCheck struct {
	// Off turns the section off (to cancel one inherited from above).
	Off bool `yaml:"off,omitempty" json:"off,omitempty"`
	// CheckDB runs DBCC CHECKDB WITH PHYSICAL_ONLY on every database.
	CheckDB bool `yaml:"checkdb,omitempty" json:"checkdb,omitempty"`
	// Budget bounds the row counts and checksums; 0 means 2m.
	Budget Duration `yaml:"budget,omitempty" json:"budget,omitempty"`
	// User logs in with SQL authentication; empty means integrated
	// security (the WinRM user).
	User string `yaml:"user,omitempty" json:"user,omitempty"`
	// Password is a secret reference (env:NAME or file:PATH), required with
	// User.
	Password remote.SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
}

// SharePointCheck fingerprints the SharePoint farm before and after: web
// applications, site collections, content databases.
type SharePointCheck struct {
	Off bool `yaml:"off,omitempty" json:"off,omitempty"`
	// Budget bounds the probe; 0 means 2m.
	Budget Duration `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// LinuxCheck adds to the Linux fingerprint (which records the running
// services, mounts and listening ports on its own).
type LinuxCheck struct {
	Off bool `yaml:"off,omitempty" json:"off,omitempty"`
	// Units are systemd units that must be active after cutover.
	Units []string `yaml:"units,omitempty" json:"units,omitempty"`
	// Databases are PostgreSQL and MySQL servers to fingerprint.
	Databases []validate.DatabaseCheck `yaml:"databases,omitempty" json:"databases,omitempty"`
	// Budget bounds the database checksums; 0 means 2m.
	Budget Duration `yaml:"budget,omitempty" json:"budget,omitempty"`
}

// Approval says who starts a cutover.
type Approval string

// Approvals.
const (
	Manual    Approval = "manual"
	Automatic Approval = "automatic"
)

// Pos is a position in a plan file; Line 0 means unknown.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Blackout is a window in which nothing may run.
type Blackout struct {
	// Start and End bound a one-off blackout (RFC 3339).
	Start Time `yaml:"start,omitempty" json:"start,omitzero"`
	End   Time `yaml:"end,omitempty" json:"end,omitzero"`
	// Every is a recurring blackout ("fri 18:00-mon 06:00 Europe/Berlin").
	Every *Recurrence `yaml:"every,omitempty" json:"every,omitempty"`
	// Reason is shown when a wave waits for the blackout to end.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// HostsPath returns the hosts file's path, resolved against the plan's
// directory.
func (p *Plan) HostsPath() string {
	if p.Hosts == "" || filepath.IsAbs(p.Hosts) || p.Path == "" {
		return p.Hosts
	}
	return filepath.Join(filepath.Dir(p.Path), p.Hosts)
}

// Wave returns the wave with the given name, or nil.
func (p *Plan) Wave(name string) *Wave {
	for i := range p.Waves {
		if p.Waves[i].Name == name {
			return &p.Waves[i]
		}
	}
	return nil
}

// Host returns the host with the given name and its wave, or nils.
func (p *Plan) Host(name string) (*Host, *Wave) {
	for i := range p.Waves {
		w := &p.Waves[i]
		for j := range w.Hosts {
			if w.Hosts[j].Name == name {
				return &w.Hosts[j], w
			}
		}
	}
	return nil, nil
}

// HostNames returns every host of the plan in file order.
func (p *Plan) HostNames() []string {
	var out []string
	for _, w := range p.Waves {
		for _, h := range w.Hosts {
			out = append(out, h.Name)
		}
	}
	return out
}

// Window returns the blackout's span.
func (b Blackout) Window() Window { return Window{Start: b.Start, End: b.End, Every: b.Every} }

func (b Blackout) next(t time.Time) (start, end time.Time, ok bool) { return b.Window().next(t) }

// Label is the plan's name, or its file's name without the extension when
// it has none.
func (p *Plan) Label() string {
	if p.Name != "" || p.Path == "" {
		return p.Name
	}
	base := filepath.Base(p.Path)
	return base[:len(base)-len(filepath.Ext(base))]
}

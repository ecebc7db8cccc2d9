package validate

import (
	"cmp"
	"slices"
	"time"
)

// FormatVersion is the version of the fingerprint JSON; it changes when a
// field changes meaning or is removed, not when one is added.
const FormatVersion = 1

// Fingerprint is what a live host looked like at one moment: enough to prove
// after a move that its workloads came up with the same data. Sections a
// host does not have are nil. A probe that could not read a section records
// why in Errors instead of leaving it silently empty.
type Fingerprint struct {
	Version int       `json:"version"`
	Host    string    `json:"host"`
	Taken   time.Time `json:"taken"`
	// Generic holds what every host has: reachability, clock, free space.
	Generic Generic `json:"generic"`
	// Linux is set for hosts probed over SSH.
	Linux *Linux `json:"linux,omitempty"`
	// SQLServer is set when the host runs SQL Server.
	SQLServer *SQLServer `json:"sqlServer,omitempty"`
	// SharePoint is set when the host belongs to a SharePoint farm.
	SharePoint *SharePoint `json:"sharePoint,omitempty"`
	// HTTP holds the answers of the HTTP checks the caller named.
	HTTP []HTTPResult `json:"http,omitempty"`
	// Commands holds the results of the custom commands the caller named.
	Commands []CommandResult `json:"commands,omitempty"`
	// Errors lists what could not be read, by section.
	Errors []ProbeError `json:"errors,omitempty"`
}

// ProbeError is one part of a fingerprint that could not be taken.
type ProbeError struct {
	// Section names what was being read ("sqlserver", "postgresql/app").
	Section string `json:"section"`
	Message string `json:"message"`
	// Hint says what the user can do; empty when there is nothing to suggest.
	Hint string `json:"hint,omitempty"`
}

// Severity ranks a finding.
type Severity string

// Severities, worst first.
const (
	// Blocking stops a cutover: the target is not what the source was.
	Blocking Severity = "blocking"
	// Warning is worth a look before going live; it does not stop a cutover.
	Warning Severity = "warning"
	// Info is a difference that is expected or harmless.
	Info Severity = "info"
)

func (s Severity) rank() int { return slices.Index([]Severity{Blocking, Warning, Info}, s) }

// Finding is one difference between two fingerprints, or one problem in a
// single fingerprint (a database not ONLINE).
type Finding struct {
	Severity Severity `json:"severity"`
	// Check names the rule ("sql/database-state").
	Check string `json:"check"`
	// Object names what differs ("database Sales", "unit nginx.service").
	Object   string `json:"object"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message"`
}

// Blocks reports whether any finding blocks a cutover.
func Blocks(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Blocking })
}

// Compare returns the findings of after measured against before, worst
// first. before may be nil: then after is checked on its own (every
// database ONLINE, every site answering, no probe errors).
func Compare(before, after *Fingerprint) []Finding {
	var out []Finding
	out = append(out, compareGeneric(before, after)...)
	out = append(out, compareLinux(linuxOf(before), after.Linux)...)
	out = append(out, compareSQLServer(sqlOf(before), after.SQLServer)...)
	out = append(out, compareSharePoint(spOf(before), after.SharePoint)...)
	out = append(out, compareChecks(before, after)...)
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(a.Severity.rank(), b.Severity.rank()) })
	return out
}

func linuxOf(f *Fingerprint) *Linux {
	if f == nil {
		return nil
	}
	return f.Linux
}

func sqlOf(f *Fingerprint) *SQLServer {
	if f == nil {
		return nil
	}
	return f.SQLServer
}

func spOf(f *Fingerprint) *SharePoint {
	if f == nil {
		return nil
	}
	return f.SharePoint
}

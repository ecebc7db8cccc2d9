package validate

import (
	"cmp"
	"slices"
	"strings"
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
	// Absent lists the workloads the probe looked for and did not find,
	// each as "workload: why" ("sqlserver: SQL Server is not installed: …",
	// "postgresql: no server answers on the default socket"). The workloads
	// are sqlserver and sharepoint (WinRM), postgresql and mysql (SSH,
	// auto-detected). A workload that was there before and is absent after
	// is a blocking finding.
	Absent []string `json:"absent,omitempty"`
	// Errors lists what could not be read, by section.
	Errors []ProbeError `json:"errors,omitempty"`
}

// Workloads the probes look for on their own; Absent entries start with
// one of them.
const (
	WorkloadSQLServer  = "sqlserver"
	WorkloadSharePoint = "sharepoint"
	WorkloadPostgreSQL = "postgresql"
	WorkloadMySQL      = "mysql"
)

// AbsentReason says why workload was not found on the host; ok is false
// when the probe did not record it as absent (it was found, not looked
// for, or could not be read: see Errors).
func (f *Fingerprint) AbsentReason(workload string) (why string, ok bool) {
	if f == nil {
		return "", false
	}
	for _, a := range f.Absent {
		if w, why, _ := strings.Cut(a, ": "); w == workload {
			return why, true
		}
	}
	return "", false
}

// addAbsent records that workload was not found, and why.
func (f *Fingerprint) addAbsent(workload, why string) {
	f.Absent = append(f.Absent, workload+": "+orDefault(strings.TrimSpace(why), "not found"))
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
	out = append(out, compareLinux(linuxOf(before), after.Linux, after)...)
	sqlAbsent, _ := after.AbsentReason(WorkloadSQLServer)
	out = append(out, compareSQLServer(sqlOf(before), after.SQLServer, sqlAbsent)...)
	spAbsent, _ := after.AbsentReason(WorkloadSharePoint)
	out = append(out, compareSharePoint(spOf(before), after.SharePoint, spAbsent)...)
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

package face

// Readiness is an assessment's answer for one server.
type Readiness string

// Readiness values.
const (
	Ready      Readiness = "ready"      // can move as is
	Conditions Readiness = "conditions" // can move after the listed fixes
	NotReady   Readiness = "not-ready"  // a blocker has no fix shift can apply
	Unknown    Readiness = "unknown"    // discovery did not read enough to say
)

// Assessment is the result of assessing an inventory: one verdict per server
// and the totals.
type Assessment struct {
	// Servers are in inventory order.
	Servers []Verdict
	// Currency is the ISO code of every cost ("USD"); empty when costs are unknown.
	Currency string
	// MonthlyTotal is the sum of the servers' monthly costs.
	MonthlyTotal float64
	// Report is the engine's own report value, opaque to faces; the engine
	// needs it back to export the report.
	Report any
}

// Verdict is the assessment of one server.
type Verdict struct {
	Host      string
	OS        string
	Readiness Readiness
	// Size is the target VM size ("Standard_D4s_v5"); empty when unknown.
	Size string
	// MonthlyCost is the estimated cost of the target per month; 0 when unknown.
	MonthlyCost float64
	// Findings are the blockers, conditions and notes, worst first.
	Findings []Finding
}

// Severity ranks a finding.
type Severity string

// Severity values.
const (
	Blocker   Severity = "blocker"   // the server cannot move until this is fixed
	Condition Severity = "condition" // the server can move once the fix is applied
	Note      Severity = "note"      // worth knowing; nothing to do
)

// Finding is one rule's result for a server.
type Finding struct {
	Rule     string
	Severity Severity
	Message  string
	// Fix says how to fix it; empty when there is nothing to do or nothing
	// shift knows.
	Fix string
}

// Counts returns the number of servers of each readiness.
func (a *Assessment) Counts() map[Readiness]int {
	out := map[Readiness]int{}
	for _, v := range a.Servers {
		out[v.Readiness]++
	}
	return out
}

package validate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// winFinding builds a finding whose message is formatted from format and args.
func winFinding(sev Severity, check, object, expected, actual, format string, args ...any) Finding {
	return Finding{Severity: sev, Check: check, Object: object, Expected: expected, Actual: actual, Message: fmt.Sprintf(format, args...)}
}

// winByName indexes items by a case-insensitive key, as Windows and SQL
// Server compare names.
func winByName[T any](items []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[strings.ToLower(key(it))] = it
	}
	return m
}

// compareSQLServer measures after against before; before nil judges after
// alone: every instance answers, every database ONLINE, the engines and
// automatic agents running, DBCC CHECKDB clean. absent is why the probe
// found no SQL Server after ("" when it did not say).
func compareSQLServer(before, after *SQLServer, absent string) []Finding {
	switch {
	case before == nil && after == nil:
		return nil
	case after == nil && absent != "":
		return []Finding{winFinding(Blocking, "sql/present", "SQL Server", fmt.Sprintf("%d instance(s)", len(before.Instances)), "absent",
			"SQL Server was fingerprinted before and is not on the target now: %s", absent)}
	case after == nil:
		return []Finding{winFinding(Blocking, "sql/present", "SQL Server", fmt.Sprintf("%d instance(s)", len(before.Instances)), "not read",
			"SQL Server was fingerprinted before but could not be read now (see the probe errors)")}
	}
	var out []Finding
	stopped := map[string]bool{} // services that are the root cause of an instance's other failures
	out = append(out, compareSQLServices(before, after, stopped)...)
	if before == nil {
		for _, in := range after.Instances {
			out = append(out, checkSQLInstance(in, stopped)...)
		}
		return out
	}
	afterInst := winByName(after.Instances, func(i SQLInstance) string { return i.Name })
	for _, b := range before.Instances {
		a, ok := afterInst[strings.ToLower(b.Name)]
		if !ok {
			out = append(out, winFinding(Blocking, "sql/instance", "instance "+b.Name, "present", "missing", "SQL Server instance %s is not registered on the target", b.Name))
			continue
		}
		out = append(out, compareSQLInstance(b, a, stopped)...)
	}
	return out
}

// compareSQLServices compares the SQL Server services. stopped collects the
// services found not running, so that an instance they make unreachable
// is not reported twice.
func compareSQLServices(before, after *SQLServer, stopped map[string]bool) []Finding {
	var out []Finding
	main := map[string]bool{}
	for _, in := range after.Instances {
		main[strings.ToLower(in.ServiceName)] = true
		main[strings.ToLower(in.AgentServiceName)] = true
	}
	afterSvc := winByName(after.Services, func(s WindowsService) string { return s.Name })
	if before == nil {
		for _, s := range after.Services {
			if main[strings.ToLower(s.Name)] && s.StartMode == "Automatic" && s.State != "Running" {
				stopped[strings.ToLower(s.Name)] = true
				out = append(out, winFinding(Blocking, "sql/service", "service "+s.Name, "Running", s.State, "SQL Server service %s starts automatically but is %s", s.Name, s.State))
			}
		}
		return out
	}
	for _, b := range before.Services {
		key := strings.ToLower(b.Name)
		sev := Warning
		if main[key] {
			sev = Blocking
		}
		a, ok := afterSvc[key]
		switch {
		case !ok:
			stopped[key] = true
			out = append(out, winFinding(sev, "sql/service", "service "+b.Name, b.State, "missing", "SQL Server service %s is not installed on the target", b.Name))
		case b.State == "Running" && a.State != "Running":
			stopped[key] = true
			out = append(out, winFinding(sev, "sql/service", "service "+b.Name, "Running", a.State, "SQL Server service %s was running and is %s", b.Name, a.State))
		case b.StartMode != a.StartMode:
			out = append(out, winFinding(Warning, "sql/service-start-mode", "service "+b.Name, b.StartMode, a.StartMode, "SQL Server service %s start mode changed", b.Name))
		}
	}
	return out
}

// checkSQLInstance judges one instance on its own.
func checkSQLInstance(in SQLInstance, stopped map[string]bool) []Finding {
	if in.Error != "" {
		if stopped[strings.ToLower(in.ServiceName)] {
			return nil
		}
		return []Finding{winFinding(Blocking, "sql/instance", "instance "+in.Name, "answering", "error", "SQL Server instance %s could not be queried: %s", in.Name, in.Error)}
	}
	var out []Finding
	for _, d := range in.Databases {
		if d.State != "ONLINE" {
			sev := Blocking
			if d.State == "OFFLINE" {
				sev = Warning // taken offline on purpose, most of the time
			}
			out = append(out, winFinding(sev, "sql/database-state", sqlObject("database", d.Name, in.Name), "ONLINE", d.State, "database %s is %s", d.Name, d.State))
			continue
		}
		out = append(out, sqlCheckDBFindings(in.Name, d)...)
	}
	for _, j := range in.Jobs {
		if j.Enabled && j.LastOutcome == "failed" {
			out = append(out, winFinding(Warning, "sql/job", sqlObject("job", j.Name, in.Name), "succeeded", j.LastOutcome, "SQL Agent job %s last failed", j.Name))
		}
	}
	return out
}

func sqlCheckDBFindings(instance string, d SQLDatabase) []Finding {
	if d.CheckDB == nil || d.CheckDB.OK {
		return nil
	}
	return []Finding{winFinding(Blocking, "sql/checkdb", sqlObject("database", d.Name, instance), "no errors", "errors",
		"DBCC CHECKDB (PHYSICAL_ONLY) found errors in %s: %s", d.Name, d.CheckDB.Message)}
}

// sqlObject names an object of an instance: "database Sales (MSSQLSERVER)".
func sqlObject(kind, name, instance string) string {
	return kind + " " + name + " (" + instance + ")"
}

// compareSQLInstance measures one instance after against before.
func compareSQLInstance(b, a SQLInstance, stopped map[string]bool) []Finding {
	if a.Error != "" {
		return checkSQLInstance(a, stopped)
	}
	if b.Error != "" {
		return []Finding{winFinding(Info, "sql/instance", "instance "+a.Name, "", "answering",
			"SQL Server instance %s could not be queried before (%s): only its state after is checked", a.Name, b.Error)}
	}
	inst := "instance " + a.Name
	var out []Finding
	if b.Version != a.Version {
		out = append(out, winFinding(Warning, "sql/version", inst, b.Version, a.Version, "SQL Server %s runs another build than before", a.Name))
	}
	if b.Edition != a.Edition {
		out = append(out, winFinding(Warning, "sql/edition", inst, b.Edition, a.Edition, "SQL Server %s runs another edition than before", a.Name))
	}
	if !strings.EqualFold(b.Collation, a.Collation) {
		out = append(out, winFinding(Blocking, "sql/collation", inst, b.Collation, a.Collation, "the server collation of %s changed", a.Name))
	}
	for _, p := range b.TCPPorts {
		if !slices.Contains(a.TCPPorts, p) && !stopped[strings.ToLower(a.ServiceName)] {
			out = append(out, winFinding(Blocking, "sql/tcp-port", sqlObject("TCP port", strconv.Itoa(p), a.Name), "listening", sqlPortsText(a.TCPPorts),
				"SQL Server %s no longer listens on TCP port %d: clients that name the port cannot connect", a.Name, p))
		}
	}
	out = append(out, compareSQLDatabases(b, a)...)
	out = append(out, compareSQLLogins(b, a)...)
	out = append(out, compareSQLJobs(b, a)...)
	out = append(out, compareSQLLinked(b, a)...)
	out = append(out, compareSQLEndpoints(b, a)...)
	return out
}

func sqlPortsText(ps []int) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

func compareSQLDatabases(b, a SQLInstance) []Finding {
	var out []Finding
	after := winByName(a.Databases, func(d SQLDatabase) string { return d.Name })
	for _, bd := range b.Databases {
		obj := sqlObject("database", bd.Name, a.Name)
		ad, ok := after[strings.ToLower(bd.Name)]
		if !ok {
			out = append(out, winFinding(Blocking, "sql/database", obj, "present", "missing", "database %s is missing on %s", bd.Name, a.Name))
			continue
		}
		if ad.State != bd.State {
			sev := Blocking
			if ad.State == "ONLINE" {
				sev = Info
			}
			out = append(out, winFinding(sev, "sql/database-state", obj, bd.State, ad.State, "database %s is %s, it was %s", bd.Name, ad.State, bd.State))
		}
		if ad.State != "ONLINE" || bd.State != "ONLINE" {
			continue // settings and data of a database that is not ONLINE cannot be read
		}
		if bd.RecoveryModel != ad.RecoveryModel {
			out = append(out, winFinding(Warning, "sql/recovery-model", obj, bd.RecoveryModel, ad.RecoveryModel, "the recovery model of %s changed", bd.Name))
		}
		if bd.CompatibilityLevel != ad.CompatibilityLevel {
			out = append(out, winFinding(Blocking, "sql/compatibility-level", obj, strconv.Itoa(bd.CompatibilityLevel), strconv.Itoa(ad.CompatibilityLevel),
				"the compatibility level of %s changed: queries may behave differently", bd.Name))
		}
		if !strings.EqualFold(bd.Collation, ad.Collation) {
			out = append(out, winFinding(Blocking, "sql/collation", obj, bd.Collation, ad.Collation, "the collation of %s changed", bd.Name))
		}
		if ad.SizeBytes < bd.SizeBytes {
			out = append(out, winFinding(Warning, "sql/database-size", obj, strconv.FormatUint(bd.SizeBytes, 10), strconv.FormatUint(ad.SizeBytes, 10),
				"the files of %s are smaller than before", bd.Name))
		}
		out = append(out, sqlCheckDBFindings(a.Name, ad)...)
		out = append(out, compareSQLTables(a.Name, bd, ad)...)
	}
	return out
}

// compareSQLTables compares the data checksums of one database. Tables that
// either side did not read fully or by the same sample are counted and
// reported once per database as Info.
func compareSQLTables(instance string, bd, ad SQLDatabase) []Finding {
	if ad.Error != "" {
		return []Finding{winFinding(Warning, "sql/tables", sqlObject("database", ad.Name, instance), "tables read", "error",
			"the tables of %s could not be listed: %s", ad.Name, ad.Error)}
	}
	var out []Finding
	after := winByName(ad.Tables, func(t Table) string { return t.Schema + "." + t.Name })
	unread := 0
	for _, bt := range bd.Tables {
		name := bt.Schema + "." + bt.Name
		obj := sqlObject("table", ad.Name+"."+name, instance)
		at, ok := after[strings.ToLower(name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sql/table", obj, "present", "missing", "table %s is missing from %s", name, ad.Name))
		case bt.Mode != at.Mode || (bt.Mode != TableFull && bt.Mode != TableSampled):
			unread++
		case bt.Rows != at.Rows || bt.Checksum != at.Checksum:
			what := "rows"
			if bt.Mode == TableSampled {
				what = "rows in its 1% sample"
			}
			out = append(out, winFinding(Blocking, "sql/table-data", obj, sqlTableText(bt), sqlTableText(at),
				"table %s holds other data than before (%d → %d %s)", name, bt.Rows, at.Rows, what))
		}
	}
	if unread > 0 {
		out = append(out, winFinding(Info, "sql/tables-unread", sqlObject("database", ad.Name, instance), "", fmt.Sprintf("%d table(s)", unread),
			"%d table(s) of %s were not compared: the time budget ran out or a side could not read them (raise the budget to compare them)", unread, ad.Name))
	}
	return out
}

func sqlTableText(t Table) string {
	if t.Checksum == "" {
		return fmt.Sprintf("%d rows", t.Rows)
	}
	return fmt.Sprintf("%d rows, checksum %s", t.Rows, t.Checksum)
}

func compareSQLLogins(b, a SQLInstance) []Finding {
	var out []Finding
	after := winByName(a.Logins, func(l SQLLogin) string { return l.Name })
	for _, bl := range b.Logins {
		obj := sqlObject("login", bl.Name, a.Name)
		al, ok := after[strings.ToLower(bl.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sql/login", obj, "present", "missing", "login %s is missing on %s: whoever uses it cannot connect", bl.Name, a.Name))
		case !bl.Disabled && al.Disabled:
			out = append(out, winFinding(Warning, "sql/login", obj, "enabled", "disabled", "login %s is disabled on %s", bl.Name, a.Name))
		}
	}
	return out
}

func compareSQLJobs(b, a SQLInstance) []Finding {
	var out []Finding
	after := winByName(a.Jobs, func(j SQLJob) string { return j.Name })
	for _, bj := range b.Jobs {
		obj := sqlObject("job", bj.Name, a.Name)
		aj, ok := after[strings.ToLower(bj.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sql/job", obj, "present", "missing", "SQL Agent job %s is missing on %s", bj.Name, a.Name))
		case bj.Enabled != aj.Enabled:
			out = append(out, winFinding(Warning, "sql/job", obj, sqlEnabledText(bj.Enabled), sqlEnabledText(aj.Enabled), "SQL Agent job %s changed from %s to %s", bj.Name, sqlEnabledText(bj.Enabled), sqlEnabledText(aj.Enabled)))
		case aj.LastOutcome == "failed" && bj.LastOutcome != "failed":
			out = append(out, winFinding(Warning, "sql/job", obj, bj.LastOutcome, aj.LastOutcome, "SQL Agent job %s failed on its last run", bj.Name))
		}
	}
	return out
}

func sqlEnabledText(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func compareSQLLinked(b, a SQLInstance) []Finding {
	var out []Finding
	after := winByName(a.LinkedServers, func(l SQLLinkedServer) string { return l.Name })
	for _, bl := range b.LinkedServers {
		obj := sqlObject("linked server", bl.Name, a.Name)
		al, ok := after[strings.ToLower(bl.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sql/linked-server", obj, "present", "missing", "linked server %s is missing on %s", bl.Name, a.Name))
		case !strings.EqualFold(bl.DataSource, al.DataSource) || !strings.EqualFold(bl.Provider, al.Provider):
			out = append(out, winFinding(Warning, "sql/linked-server", obj, bl.Provider+" "+bl.DataSource, al.Provider+" "+al.DataSource, "linked server %s points elsewhere", bl.Name))
		}
	}
	return out
}

func compareSQLEndpoints(b, a SQLInstance) []Finding {
	var out []Finding
	after := winByName(a.Endpoints, func(e SQLEndpoint) string { return e.Name })
	for _, be := range b.Endpoints {
		obj := sqlObject("endpoint", be.Name, a.Name)
		ae, ok := after[strings.ToLower(be.Name)]
		switch {
		case !ok:
			out = append(out, winFinding(Blocking, "sql/endpoint", obj, "present", "missing", "endpoint %s is missing on %s", be.Name, a.Name))
		case be.State == "STARTED" && ae.State != "STARTED":
			out = append(out, winFinding(Blocking, "sql/endpoint", obj, be.State, ae.State, "endpoint %s is %s", be.Name, ae.State))
		case be.Port != ae.Port:
			out = append(out, winFinding(Blocking, "sql/endpoint", obj, strconv.Itoa(be.Port), strconv.Itoa(ae.Port), "endpoint %s listens on another port", be.Name))
		}
	}
	return out
}

package validate

import (
	"fmt"

	"strings"
)

// compareLinux applies the Linux rules. With before nil, after is checked
// on its own: fstab entries mounted, system state running. fp is the after
// fingerprint, for the workloads it records as absent.
func compareLinux(before, after *Linux, fp *Fingerprint) []Finding {
	if after == nil {
		return nil
	}
	var out []Finding
	out = append(out, compareSystemState(before, after)...)
	out = append(out, compareMounts(before, after)...)
	if before == nil {
		return out
	}
	out = append(out, compareUnits(before, after)...)
	out = append(out, comparePorts(before, after)...)
	out = append(out, compareFilesystems(before, after)...)
	out = append(out, compareDatabases(before, after, fp)...)
	return out
}

func compareSystemState(before, after *Linux) []Finding {
	st := after.SystemState
	if st == "" || st == "running" || before != nil && before.SystemState == st {
		return nil
	}
	want := "running"
	if before != nil && before.SystemState != "" {
		want = before.SystemState
	}
	msg := "systemd has not finished booting or some units failed: see systemctl --failed"
	if st == "starting" || st == "initializing" {
		msg = "systemd is still booting: validate again in a minute"
	}
	return []Finding{{Severity: Warning, Check: "linux/system-state", Object: "systemd", Expected: want, Actual: st, Message: msg}}
}

func compareUnits(before, after *Linux) []Finding {
	if !before.Systemd || !after.Systemd && len(before.Units) == 0 {
		return nil
	}
	now := map[string]Unit{}
	for _, u := range after.Units {
		now[u.Name] = u
	}
	var out []Finding
	for _, u := range before.Units {
		if _, ok := now[u.Name]; ok {
			continue
		}
		if incidentalUnit(u.Name) {
			out = append(out, Finding{Severity: Info, Check: "linux/unit", Object: "unit " + u.Name,
				Expected: "active (" + u.Sub + ")", Actual: "not active",
				Message: "an on-demand unit (a login session, an automounted API filesystem) that was active before is not; it starts again when needed"})
			continue
		}
		out = append(out, Finding{Severity: Blocking, Check: "linux/unit", Object: "unit " + u.Name,
			Expected: "active (" + u.Sub + ")", Actual: "not active",
			Message: "a unit that was active before is not: systemctl status " + u.Name})
	}
	return out
}

// comparePorts blocks on a listener that is gone, matched by protocol and
// port (addresses change with the move). Listeners in the ephemeral range
// warn instead: they are usually short-lived.
func comparePorts(before, after *Linux) []Finding {
	type key struct {
		proto string
		port  int
	}
	now := map[key][]string{}
	for _, p := range after.Ports {
		k := key{p.Proto, p.Port}
		now[k] = append(now[k], p.Address)
	}
	seen := map[key]bool{}
	var out []Finding
	for _, p := range before.Ports {
		k := key{p.Proto, p.Port}
		if seen[k] || len(now[k]) > 0 {
			continue
		}
		seen[k] = true
		sev, msg := Blocking, "nothing listens on the port that listened before: the service behind it is down"
		if r := before.EphemeralPorts; r[0] > 0 && p.Port >= r[0] && p.Port <= r[1] {
			sev, msg = Warning, fmt.Sprintf("nothing listens on a port in the ephemeral range (%d-%d) that listened before: usually a short-lived listener, check if a service used it", r[0], r[1])
		}
		out = append(out, Finding{Severity: sev, Check: "linux/port", Object: "port " + p.String(),
			Expected: "listening on " + p.Address, Actual: "not listening", Message: msg})
	}
	return out
}

// compareMounts blocks on an fstab entry mounted before and not after; on
// its own, warns on an fstab entry (not noauto) that is not mounted.
func compareMounts(before, after *Linux) []Finding {
	var out []Finding
	if before == nil {
		for _, m := range after.Mounts {
			if !m.Mounted && !m.NoAuto {
				out = append(out, Finding{Severity: Warning, Check: "linux/mount", Object: "mount " + m.Target,
					Expected: "mounted from " + m.Source, Actual: "not mounted", Message: "an fstab entry is not mounted: mount " + m.Target})
			}
		}
		return out
	}
	now := map[string]Mount{}
	for _, m := range after.Mounts {
		now[m.Target] = m
	}
	for _, m := range before.Mounts {
		if !m.Mounted {
			continue
		}
		a, ok := now[m.Target]
		switch {
		case !ok:
			out = append(out, Finding{Severity: Blocking, Check: "linux/mount", Object: "mount " + m.Target,
				Expected: "in fstab, mounted from " + m.Source, Actual: "not in fstab",
				Message: "the fstab entry is gone: the filesystem will not mount at boot"})
		case !a.Mounted:
			out = append(out, Finding{Severity: Blocking, Check: "linux/mount", Object: "mount " + m.Target,
				Expected: "mounted from " + m.Source, Actual: "not mounted",
				Message: "a filesystem mounted before is not: its data is not where services look (mount " + m.Target + "; journalctl -b for why)"})
		}
	}
	return out
}

// compareFilesystems warns when a mounted filesystem's UUID changed or a
// UUID is gone: a block copy keeps UUIDs, so a change means the filesystem
// was recreated, and fstab or boot entries naming the old UUID fail.
func compareFilesystems(before, after *Linux) []Finding {
	byMount, byUUID := map[string]Filesystem{}, map[string]bool{}
	for _, f := range after.Filesystems {
		if f.Mountpoint != "" {
			byMount[f.Mountpoint] = f
		}
		if f.UUID != "" {
			byUUID[f.UUID] = true
		}
	}
	var out []Finding
	for _, f := range before.Filesystems {
		if f.UUID == "" || byUUID[f.UUID] {
			continue
		}
		obj := "filesystem " + f.Device
		if f.Mountpoint != "" {
			obj = "filesystem at " + f.Mountpoint
		}
		actual := "no filesystem with that UUID"
		if a, ok := byMount[f.Mountpoint]; ok && f.Mountpoint != "" {
			actual = "UUID " + orDefault(a.UUID, "(none)") + " on " + a.Device
		}
		out = append(out, Finding{Severity: Warning, Check: "linux/fs-uuid", Object: obj,
			Expected: "UUID " + f.UUID, Actual: actual,
			Message: "a block copy keeps filesystem UUIDs, so this one was recreated or is missing: fstab, crypttab and the boot loader entries that name UUID=" + f.UUID + " will not find it"})
	}
	return out
}

// compareDatabases blocks on a table that is missing or whose rows or
// checksum differ; tables not fully compared (budget, sampled vs full,
// errors) are info or warnings, never silent. A default server that was
// read before and that the after probe did not find at all is one blocking
// finding, not one per database.
func compareDatabases(before, after *Linux, fp *Fingerprint) []Finding {
	now := map[string]Table{}
	dbs := map[string]bool{}
	for _, d := range after.Databases {
		dbs[dbKey(d)] = true
		for _, t := range d.Tables {
			now[tableKey(d, t)] = t
		}
	}
	out, gone := compareDBServers(before, fp)
	for _, d := range before.Databases {
		if d.Server == "" && gone[d.Engine] {
			continue
		}
		if !dbs[dbKey(d)] {
			out = append(out, Finding{Severity: Blocking, Check: "linux/database", Object: d.Engine + " database " + dbLabel(d),
				Expected: fmt.Sprintf("present with %d tables", len(d.Tables)), Actual: "missing",
				Message: "a database that was there before is not (or could not be read: see the probe warnings)"})
			continue
		}
		for _, t := range d.Tables {
			out = append(out, compareTable(d, t, now)...)
		}
	}
	return out
}

// compareDBServers finds the engines whose default server held databases
// before and that the after probe records as absent.
func compareDBServers(before *Linux, fp *Fingerprint) (out []Finding, gone map[string]bool) {
	gone = map[string]bool{}
	count := map[string]int{}
	var engines []string
	for _, d := range before.Databases {
		if d.Server != "" {
			continue
		}
		if count[d.Engine] == 0 {
			engines = append(engines, d.Engine)
		}
		count[d.Engine]++
	}
	for _, e := range engines {
		why, ok := fp.AbsentReason(e)
		if !ok {
			continue
		}
		gone[e] = true
		out = append(out, Finding{Severity: Blocking, Check: "linux/database-server", Object: e + " server",
			Expected: fmt.Sprintf("running with %d database(s)", count[e]), Actual: "absent",
			Message: "the " + engineLabel(e) + " server that held the databases before is not found: " + why})
	}
	return out, gone
}

func engineLabel(e string) string {
	switch e {
	case WorkloadPostgreSQL:
		return "PostgreSQL"
	case WorkloadMySQL:
		return "MySQL/MariaDB"
	}
	return e
}

func compareTable(d Database, t Table, now map[string]Table) []Finding {
	obj := "table " + tableLabel(d, t)
	a, ok := now[tableKey(d, t)]
	switch {
	case !ok:
		return []Finding{{Severity: Blocking, Check: "linux/table", Object: obj,
			Expected: fmt.Sprintf("%d rows", t.Rows), Actual: "table missing", Message: "a table that was there before is not"}}
	case t.Mode == TableError || a.Mode == TableError:
		return []Finding{{Severity: Warning, Check: "linux/table", Object: obj, Expected: "read", Actual: "not read: " + orDefault(a.Error, t.Error),
			Message: "the table could not be read, so it was not compared"}}
	case t.Mode != a.Mode:
		return []Finding{{Severity: Info, Check: "linux/table", Object: obj, Expected: t.Mode, Actual: a.Mode,
			Message: "the table was not read the same way before and after (budget or sampling), so it was not compared; raise --budget to compare it"}}
	case t.Mode == TableSkipped:
		return []Finding{{Severity: Info, Check: "linux/table", Object: obj, Expected: t.Mode, Actual: a.Mode,
			Message: "the budget ran out before the table was read, so it was not compared; raise --budget to compare it"}}
	}
	what := ""
	if t.Mode == TableSampled {
		what = " (1% block sample)"
	}
	switch {
	case t.Rows != a.Rows:
		return []Finding{{Severity: Blocking, Check: "linux/table-rows", Object: obj,
			Expected: fmt.Sprintf("%d rows%s, checksum %s", t.Rows, what, t.Checksum),
			Actual:   fmt.Sprintf("%d rows%s, checksum %s", a.Rows, what, a.Checksum),
			Message:  fmt.Sprintf("the row count changed by %+d: rows were lost, or written after the first fingerprint", a.Rows-t.Rows)}}
	case t.Checksum != a.Checksum:
		return []Finding{{Severity: Blocking, Check: "linux/table-checksum", Object: obj,
			Expected: "checksum " + t.Checksum, Actual: "checksum " + a.Checksum,
			Message: fmt.Sprintf("the same %d rows%s hold different content", a.Rows, what)}}
	}
	return nil
}

func dbKey(d Database) string { return d.Engine + "\x00" + d.Server + "\x00" + d.Name }

func tableKey(d Database, t Table) string {
	return dbKey(d) + "\x00" + t.Schema + "\x00" + t.Name
}

// dbLabel names a database for a person: "app" or "app on 127.0.0.1:5433".
func dbLabel(d Database) string {
	if d.Server != "" {
		return d.Name + " on " + d.Server
	}
	return d.Name
}

// tableLabel names a table as db.schema.table (db.table for MySQL).
func tableLabel(d Database, t Table) string {
	parts := []string{d.Name}
	if t.Schema != "" {
		parts = append(parts, t.Schema)
	}
	s := strings.Join(append(parts, t.Name), ".")
	if d.Server != "" {
		s += " on " + d.Server
	}
	return s
}

// incidentalUnit reports whether a unit comes and goes with use rather than
// with the host's configuration: login sessions and their user managers, and
// the automounted API filesystems (binfmt_misc, debugfs, …), which a probe
// or an agent may trigger on the source.
func incidentalUnit(name string) bool {
	switch {
	case strings.HasSuffix(name, ".scope"),
		strings.HasPrefix(name, "user@"), strings.HasPrefix(name, "user-runtime-dir@"),
		strings.HasPrefix(name, "session-"), strings.HasPrefix(name, "run-user-"):
		return true
	case strings.HasSuffix(name, ".mount"):
		for _, p := range []string{"proc-", "sys-", "dev-"} {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	return false
}

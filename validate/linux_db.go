package validate

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/remote"
)

// pgTablesSQL lists the tables of the current database (partitions are
// read through their parent) as JSON lines, then has psql run, table by
// table from the smallest, a statement that sets statement_timeout to what
// is left of the budget (:deadline, seconds since 1970 by the host's clock)
// and the table's row count and checksum. The checksum sums the first 64
// bits of each row's md5: independent of row order, constant memory, and
// one deleted or changed row changes it. Tables above :sample_above bytes
// are read through a repeatable 1% block sample.
const pgTablesSQL = `SELECT json_build_object('k', 'v', 'v', current_setting('server_version'));
SELECT json_build_object('k', 't', 'd', current_database(), 's', n.nspname, 't', c.relname,
       'b', pg_total_relation_size(c.oid), 'e', c.reltuples)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%';
SELECT x.q FROM (
  SELECT n.nspname AS s, c.relname AS t, pg_total_relation_size(c.oid) AS sz,
         :sample_above >= 0 AND pg_total_relation_size(c.oid) > :sample_above AS big
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
) tb, LATERAL unnest(ARRAY[
  format('SELECT set_config(''statement_timeout'', greatest(1, ((%s - extract(epoch FROM clock_timestamp())) * 1000))::bigint::text, false)', :deadline),
  format('SELECT json_build_object(''k'', ''s'', ''d'', current_database(), ''s'', %L, ''t'', %L, ''r'', count(*), ''h'', coalesce(sum((''x'' || left(md5(shift_r::text), 16))::bit(64)::bigint::numeric), 0)::text, ''x'', %L::boolean) FROM %I.%I AS shift_r%s',
         tb.s, tb.t, tb.big, tb.s, tb.t, CASE WHEN tb.big THEN ' TABLESAMPLE SYSTEM (1) REPEATABLE (0)' ELSE '' END)
]) WITH ORDINALITY AS x(q, o)
ORDER BY tb.sz, tb.s, tb.t, x.o
\gexec
`

const pgDatabasesSQL = `SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1;
`

// postgresStep reads every table of the databases d names (all when none)
// as d.User through psql. Exit status 3 means no server is there (only
// when auto-detecting).
func (p *linuxPlan) postgresStep(d DatabaseCheck, auto bool) string {
	user := orDefault(d.User, "postgres")
	var conn []string
	if d.Host != "" {
		conn = append(conn, "-h", d.Host)
	}
	if d.Port != 0 {
		conn = append(conn, "-p", strconv.Itoa(d.Port))
	}
	if d.Login != "" {
		conn = append(conn, "-U", d.Login)
	}
	args := quoteAll(conn)
	pw := `""`
	if !d.Password.IsZero() {
		pw = `"` + p.secret(d.Password.Reveal()) + `"`
	}
	sample := d.SampleAbove
	if sample == 0 {
		sample = DefaultSampleAbove
	}
	var b strings.Builder
	missing := `echo 'psql not found: install postgresql-client on the host' >&2; return 127`
	if auto {
		missing = `echo 'psql is not installed' >&2; return 3`
	}
	fmt.Fprintf(&b, "command -v psql >/dev/null 2>&1 || { %s; }\n", missing)
	fmt.Fprintf(&b, "PGU=%s; pw=%s; deadline=%s\n", remote.ShellQuote(user), pw, `"$DEADLINE"`)
	if auto {
		// Absent unless a server answers on the default socket; the reason
		// goes to stderr for the fingerprint's Absent list.
		b.WriteString(`id "$PGU" >/dev/null 2>&1 || { echo "no $PGU user" >&2; return 3; }` + "\n")
		b.WriteString(`command -v pg_isready >/dev/null 2>&1 || { echo 'pg_isready is not installed' >&2; return 3; }` + "\n")
		b.WriteString(`asuser "$PGU" pg_isready -q >/dev/null 2>&1 || { echo 'no server answers on the default socket (pg_isready)' >&2; return 3; }` + "\n")
	}
	// pgq DB [psql args]: SQL on stdin, after the password line.
	fmt.Fprintf(&b, `pgq() { db=$1; shift; { printf '%%s\n' "$pw"; cat; } | asuser "$PGU" sh -c 'IFS= read -r p; if [ -n "$p" ]; then PGPASSWORD=$p; export PGPASSWORD; fi; db=$1; shift; exec psql -X -q -A -t "$@" -d "$db" -f -' pgq "$db" "$@" %s; }`+"\n", args)
	if len(d.Databases) > 0 {
		b.WriteString("dbs=" + remote.ShellQuote(strings.Join(d.Databases, "\n")) + "\n")
	} else {
		fmt.Fprintf(&b, "dbs=$(pgq postgres -v ON_ERROR_STOP=1 <<'SQL'\n%sSQL\n) || return $?\n", pgDatabasesSQL)
	}
	fmt.Fprintf(&b, "printf '%%s\\n' \"$dbs\" | while IFS= read -r db; do [ -n \"$db\" ] || continue; pgq \"$db\" -v ON_ERROR_STOP=0 -v deadline=\"$deadline\" -v sample_above=%d <<'SQL'\n%sSQL\ndone\n", sample, pgTablesSQL)
	return b.String()
}

// mysqlStep reads every table of the databases d names (all user databases
// when none): the server version, then per table its row count and
// CHECKSUM TABLE, in one client session bounded by what is left of the
// budget with timeout(1), unbuffered so that what was read before the
// timeout is kept. The step succeeds once the tables are listed; its
// last line, "e <status>", is the reading session's exit status (124: the
// budget ran out). Exit status 3 means no server is there (only when
// auto-detecting), with the reason on stderr.
func (p *linuxPlan) mysqlStep(d DatabaseCheck, auto bool) string {
	user := orDefault(d.User, "root")
	var conn []string
	switch {
	case strings.HasPrefix(d.Host, "/"):
		conn = append(conn, "-S", d.Host)
	case d.Host != "":
		conn = append(conn, "-h", d.Host)
	}
	if d.Port != 0 {
		conn = append(conn, "-P", strconv.Itoa(d.Port))
	}
	if d.Login != "" {
		conn = append(conn, "-u", d.Login)
	}
	pw := `""`
	if !d.Password.IsZero() {
		pw = `"` + p.secret(d.Password.Reveal()) + `"`
	}
	filter := "AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
	if len(d.Databases) > 0 {
		var qs []string
		for _, db := range d.Databases {
			qs = append(qs, "'"+strings.ReplaceAll(strings.ReplaceAll(db, `\`, `\\`), "'", "''")+"'")
		}
		filter = "AND table_schema IN (" + strings.Join(qs, ", ") + ")"
	}
	var b strings.Builder
	missing := `echo 'mysql not found: install the MySQL or MariaDB client on the host' >&2; return 127`
	if auto {
		missing = `echo 'the mysql client is not installed' >&2; return 3`
	}
	// mariadb first: newer MariaDB clients warn when called mysql.
	fmt.Fprintf(&b, "MY=$(command -v mariadb 2>/dev/null || command -v mysql 2>/dev/null) || { %s; }\n", missing)
	if auto {
		b.WriteString(`ps -eo comm= 2>/dev/null | grep -Eqx 'mysqld|mariadbd' || { echo 'no mysqld or mariadbd process runs' >&2; return 3; }` + "\n")
	}
	fmt.Fprintf(&b, "MYU=%s; pw=%s; TO=\n", remote.ShellQuote(user), pw)
	// myq [mysql args]: SQL on stdin, after the password line; $TO (unquoted:
	// "" or "timeout N") bounds the session.
	fmt.Fprintf(&b, `myq() { { printf '%%s\n' "$pw"; cat; } | asuser "$MYU" sh -c 'IFS= read -r p; if [ -n "$p" ]; then MYSQL_PWD=$p; export MYSQL_PWD; fi; exec "$@"' myq $TO "$MY" -N -B -r %s "$@"; }`+"\n", quoteAll(conn))
	if auto {
		// A mysqld of another instance (a test server, a container) does not
		// make the default server present: it must answer on the default
		// socket. Any other failure (a refused login) is an error to report.
		b.WriteString(`err=$(echo 'SELECT 1;' | myq 2>&1 >/dev/null) || { case $err in *"ERROR 2002"*|*"ERROR 2003"*) echo "no server answers on the default socket: $err" >&2; return 3;; esac; printf '%s\n' "$err" >&2; return 1; }` + "\n")
	}
	fmt.Fprintf(&b, "tabs=$(myq <<'SQL'\nSELECT 'v', VERSION();\nSELECT 't', table_schema, table_name, IFNULL(data_length + index_length, 0), IFNULL(table_rows, 0) FROM information_schema.tables WHERE table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') %s ORDER BY 4, 2, 3;\nSQL\n) || return $?\n", filter)
	b.WriteString(`printf '%s\n' "$tabs"` + "\n")
	b.WriteString(`left=$(( DEADLINE - $(date +%s) )); [ "$left" -gt 0 ] || left=1
command -v timeout >/dev/null 2>&1 && TO="timeout $left"
tab=$(printf '\t'); bq=$(printf '\140')
printf '%s\n' "$tabs" | while IFS="$tab" read -r k d t rest; do
  [ "$k" = t ] || continue
  ql=$(printf '%s' "$d" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g"); tl=$(printf '%s' "$t" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")
  qi=$(printf '%s' "$d" | sed "s/$bq/$bq$bq/g"); ti=$(printf '%s' "$t" | sed "s/$bq/$bq$bq/g")
  printf "SELECT 'c', '%s', '%s', COUNT(*) FROM $bq%s$bq.$bq%s$bq;\nCHECKSUM TABLE $bq%s$bq.$bq%s$bq;\n" "$ql" "$tl" "$qi" "$ti" "$qi" "$ti"
done | myq --force --unbuffered
rc=$?
printf 'e\t%d\n' "$rc"
`)
	return b.String()
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = remote.ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// databases reads the database steps. An auto-detected engine that is not
// there leaves no section and no error.
func (p *linuxProbe) databases(plan *linuxPlan) {
	for i, d := range plan.dbs {
		engine := engineOf(d.Engine)
		name := engine
		if d.Host != "" || d.Port != 0 {
			name += "/" + serverName(d)
		}
		s, ok := p.secs[fmt.Sprintf("db%d", i)]
		switch {
		case !ok:
			p.fp.addError(name, "not read: the probe script ended early", "")
			continue
		case plan.auto[i] && s.Code == 3:
			p.fp.addAbsent(engine, s.FirstLine())
			continue
		case s.Code != 0:
			p.fp.addError(name, scrubSecrets(s.Problem(), d), dbHint(engine, d))
			continue
		}
		var dbs []Database
		var version string
		if engine == "postgresql" {
			version, dbs = parsePG(s.Stdout, string(s.Stderr))
		} else {
			version, dbs = parseMySQL(s.Stdout, string(s.Stderr))
		}
		for j := range dbs {
			dbs[j].Server, dbs[j].Version = serverName(d), version
			for k := range dbs[j].Tables {
				dbs[j].Tables[k].Error = scrubSecrets(dbs[j].Tables[k].Error, d)
			}
		}
		p.fp.Linux.Databases = append(p.fp.Linux.Databases, dbs...)
		if len(s.Stderr) > 0 && len(dbs) == 0 {
			p.fp.addError(name, scrubSecrets(s.FirstLine(), d), dbHint(engine, d))
		}
	}
}

// serverName names a database server by its connection settings; empty for
// the client's default.
func serverName(d DatabaseCheck) string {
	switch {
	case d.Host == "" && d.Port == 0:
		return ""
	case d.Port == 0:
		return d.Host
	}
	return net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
}

func dbHint(engine string, d DatabaseCheck) string {
	if engine == "postgresql" {
		return fmt.Sprintf("check that PostgreSQL runs and that %s can run psql (sudo -n -u %[1]s psql works for the login user, or give --database with a login and password)", orDefault(d.User, "postgres"))
	}
	return fmt.Sprintf("check that MySQL/MariaDB runs and that %s can log in with the mysql client", orDefault(d.User, "root"))
}

func scrubSecrets(s string, d DatabaseCheck) string {
	if d.Password.IsZero() {
		return s
	}
	return strings.ReplaceAll(s, d.Password.Reveal(), "[redacted]")
}

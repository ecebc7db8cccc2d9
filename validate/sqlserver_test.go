package validate

import (
	"strings"
	"testing"
)

// sqlBase is a small healthy SQL Server fingerprint; each case edits a copy.
func sqlBase() *SQLServer {
	return &SQLServer{
		Services: []WindowsService{
			{Name: "MSSQLSERVER", State: "Running", StartMode: "Automatic"},
			{Name: "SQLSERVERAGENT", State: "Running", StartMode: "Automatic"},
			{Name: "SQLBrowser", State: "Running", StartMode: "Automatic"},
		},
		Instances: []SQLInstance{{
			Name: "MSSQLSERVER", ServiceName: "MSSQLSERVER", AgentServiceName: "SQLSERVERAGENT",
			Version: "15.0.4355.3", Edition: "Standard Edition (64-bit)", Collation: "Latin1_General_CI_AS", TCPPorts: []int{1433},
			Databases: []SQLDatabase{
				{Name: "master", State: "ONLINE", RecoveryModel: "SIMPLE", CompatibilityLevel: 150, Collation: "Latin1_General_CI_AS", SizeBytes: 1 << 22},
				{Name: "Sales", State: "ONLINE", RecoveryModel: "FULL", CompatibilityLevel: 150, Collation: "Latin1_General_CI_AS", SizeBytes: 1 << 30,
					Tables: []Table{
						{Schema: "dbo", Name: "Orders", Mode: TableFull, Rows: 100, Checksum: "42"},
						{Schema: "dbo", Name: "Facts", Mode: TableSampled, Rows: 1000, Checksum: "-7"},
					}},
				{Name: "Old", State: "OFFLINE", RecoveryModel: "SIMPLE", CompatibilityLevel: 100, SizeBytes: 1 << 20},
			},
			Logins:        []SQLLogin{{Name: `CONTOSO\app`, Type: "WINDOWS_LOGIN"}, {Name: "sa", Type: "SQL_LOGIN", Disabled: true}},
			Jobs:          []SQLJob{{Name: "Backup", Enabled: true, LastOutcome: "succeeded"}},
			LinkedServers: []SQLLinkedServer{{Name: "FIN", Provider: "SQLNCLI11", DataSource: "fin01"}},
			Endpoints:     []SQLEndpoint{{Name: "Mirroring", Type: "DATABASE_MIRRORING", State: "STARTED", Port: 5022}},
		}},
	}
}

func TestCompareSQLServer(t *testing.T) {
	type want struct {
		sev           Severity
		check, object string
	}
	inst := func(s *SQLServer) *SQLInstance { return &s.Instances[0] }
	db := func(s *SQLServer, name string) *SQLDatabase {
		for i := range inst(s).Databases {
			if inst(s).Databases[i].Name == name {
				return &inst(s).Databases[i]
			}
		}
		panic(name)
	}
	for _, tc := range []struct {
		name   string
		before bool // false: judge after alone
		edit   func(*SQLServer)
		want   []want
	}{
		{"identical", true, func(*SQLServer) {}, nil},
		{"alone healthy, OFFLINE database warns", false, func(*SQLServer) {}, []want{{Warning, "sql/database-state", "database Old (MSSQLSERVER)"}}},
		{"database missing", true, func(s *SQLServer) { inst(s).Databases = inst(s).Databases[:1] }, []want{
			{Blocking, "sql/database", "database Sales (MSSQLSERVER)"}, {Blocking, "sql/database", "database Old (MSSQLSERVER)"}}},
		{"database not online hides its tables", true, func(s *SQLServer) {
			d := db(s, "Sales")
			d.State, d.Collation, d.Tables = "SUSPECT", "", nil
		}, []want{{Blocking, "sql/database-state", "database Sales (MSSQLSERVER)"}}},
		{"alone: RECOVERY_PENDING blocks", false, func(s *SQLServer) { db(s, "Sales").State = "RECOVERY_PENDING" }, []want{
			{Blocking, "sql/database-state", "database Sales (MSSQLSERVER)"}, {Warning, "sql/database-state", "database Old (MSSQLSERVER)"}}},
		{"settings", true, func(s *SQLServer) {
			d := db(s, "Sales")
			d.RecoveryModel, d.CompatibilityLevel, d.Collation, d.SizeBytes = "SIMPLE", 130, "SQL_Latin1_General_CP1_CI_AS", 1<<29
		}, []want{{Warning, "sql/recovery-model", "database Sales (MSSQLSERVER)"}, {Blocking, "sql/compatibility-level", "database Sales (MSSQLSERVER)"},
			{Blocking, "sql/collation", "database Sales (MSSQLSERVER)"}, {Warning, "sql/database-size", "database Sales (MSSQLSERVER)"}}},
		{"table data", true, func(s *SQLServer) { db(s, "Sales").Tables[0].Checksum = "43" }, []want{{Blocking, "sql/table-data", "table Sales.dbo.Orders (MSSQLSERVER)"}}},
		{"sampled table data", true, func(s *SQLServer) { db(s, "Sales").Tables[1].Rows = 990 }, []want{{Blocking, "sql/table-data", "table Sales.dbo.Facts (MSSQLSERVER)"}}},
		{"table missing", true, func(s *SQLServer) { db(s, "Sales").Tables = db(s, "Sales").Tables[1:] }, []want{{Blocking, "sql/table", "table Sales.dbo.Orders (MSSQLSERVER)"}}},
		{"table not read after", true, func(s *SQLServer) {
			db(s, "Sales").Tables[0] = Table{Schema: "dbo", Name: "Orders", Mode: TableSkipped}
		},
			[]want{{Info, "sql/tables-unread", "database Sales (MSSQLSERVER)"}}},
		{"engine stopped hides the instance error", true, func(s *SQLServer) {
			s.Services[0].State = "Stopped"
			*inst(s) = SQLInstance{Name: "MSSQLSERVER", ServiceName: "MSSQLSERVER", AgentServiceName: "SQLSERVERAGENT", Error: "A network-related error"}
		}, []want{{Blocking, "sql/service", "service MSSQLSERVER"}}},
		{"login refused", true, func(s *SQLServer) {
			*inst(s) = SQLInstance{Name: "MSSQLSERVER", ServiceName: "MSSQLSERVER", AgentServiceName: "SQLSERVERAGENT", TCPPorts: []int{1433}, Error: "Login failed for user 'x'."}
		}, []want{{Blocking, "sql/instance", "instance MSSQLSERVER"}}},
		{"agent stopped, browser stopped, start mode", true, func(s *SQLServer) {
			s.Services[1].State, s.Services[2].State, s.Services[0].StartMode = "Stopped", "Stopped", "Manual"
		}, []want{{Warning, "sql/service-start-mode", "service MSSQLSERVER"}, {Blocking, "sql/service", "service SQLSERVERAGENT"}, {Warning, "sql/service", "service SQLBrowser"}}},
		{"alone: automatic agent stopped", false, func(s *SQLServer) { s.Services[1].State = "Stopped" }, []want{
			{Blocking, "sql/service", "service SQLSERVERAGENT"}, {Warning, "sql/database-state", "database Old (MSSQLSERVER)"}}},
		{"port, version, edition, collation", true, func(s *SQLServer) {
			i := inst(s)
			i.TCPPorts, i.Version, i.Edition, i.Collation = []int{50123}, "15.0.2000.5", "Developer Edition (64-bit)", "Latin1_General_CS_AS"
		}, []want{{Warning, "sql/version", "instance MSSQLSERVER"}, {Warning, "sql/edition", "instance MSSQLSERVER"},
			{Blocking, "sql/collation", "instance MSSQLSERVER"}, {Blocking, "sql/tcp-port", "TCP port 1433 (MSSQLSERVER)"}}},
		{"logins", true, func(s *SQLServer) { inst(s).Logins = []SQLLogin{{Name: "SA", Type: "SQL_LOGIN", Disabled: true}} },
			[]want{{Blocking, "sql/login", `login CONTOSO\app (MSSQLSERVER)`}}},
		{"login disabled", true, func(s *SQLServer) { inst(s).Logins[0].Disabled = true }, []want{{Warning, "sql/login", `login CONTOSO\app (MSSQLSERVER)`}}},
		{"job failed", true, func(s *SQLServer) { inst(s).Jobs[0].LastOutcome = "failed" }, []want{{Warning, "sql/job", "job Backup (MSSQLSERVER)"}}},
		{"job missing", true, func(s *SQLServer) { inst(s).Jobs = nil }, []want{{Blocking, "sql/job", "job Backup (MSSQLSERVER)"}}},
		{"linked server", true, func(s *SQLServer) { inst(s).LinkedServers[0].DataSource = "fin02" }, []want{{Warning, "sql/linked-server", "linked server FIN (MSSQLSERVER)"}}},
		{"endpoint stopped", true, func(s *SQLServer) { inst(s).Endpoints[0].State = "STOPPED" }, []want{{Blocking, "sql/endpoint", "endpoint Mirroring (MSSQLSERVER)"}}},
		{"checkdb", true, func(s *SQLServer) { db(s, "Sales").CheckDB = &CheckDBResult{Message: "Table error: page (1:2840)"} },
			[]want{{Blocking, "sql/checkdb", "database Sales (MSSQLSERVER)"}}},
		{"instance missing", true, func(s *SQLServer) { s.Instances = nil }, []want{{Blocking, "sql/instance", "instance MSSQLSERVER"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := sqlBase()
			tc.edit(after)
			var before *SQLServer
			if tc.before {
				before = sqlBase()
			}
			got := compareSQLServer(before, after, "")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d: %s", len(got), len(tc.want), findingsText(got))
			}
			for i, w := range tc.want {
				if g := got[i]; g.Severity != w.sev || g.Check != w.check || g.Object != w.object || g.Message == "" {
					t.Errorf("finding %d: %s, want %s %s %q", i, findingsText(got[i:i+1]), w.sev, w.check, w.object)
				}
			}
		})
	}
	if fs := compareSQLServer(sqlBase(), nil, ""); len(fs) != 1 || fs[0].Severity != Blocking || fs[0].Check != "sql/present" || fs[0].Actual != "not read" {
		t.Errorf("SQL Server not read: %s", findingsText(fs))
	}
	const why = "SQL Server is not installed: no instance is registered"
	if fs := compareSQLServer(sqlBase(), nil, why); len(fs) != 1 || fs[0].Severity != Blocking || fs[0].Check != "sql/present" ||
		fs[0].Actual != "absent" || !strings.Contains(fs[0].Message, why) {
		t.Errorf("SQL Server gone: %s", findingsText(fs))
	}
	if fs := compareSQLServer(nil, nil, why); fs != nil {
		t.Errorf("no SQL Server either side: %s", findingsText(fs))
	}
}

func TestReadSQLServerShapes(t *testing.T) {
	// One instance, one port as a bare number, a job never run, a single
	// login as a bare object, a DBCC failure, dates and numbers as strings.
	out := "\xef\xbb\xbf" + `{"Absent":null,"BudgetSeconds":"120","ElapsedSeconds":3.4,
"Services":{"Name":"MSSQL$FIN","DisplayName":"SQL Server (FIN)","Status":4,"StartType":2},
"Instances":[{"Name":"FIN","ServiceName":"MSSQL$FIN","AgentServiceName":"SQLAgent$FIN","TcpPorts":49712,"Error":null,
"Server":{"ProductVersion":"12.0.6329.1","ProductLevel":"SP3","ProductUpdateLevel":null,"Edition":"Standard Edition (64-bit)","Collation":"Latin1_General_CI_AS"},
"Databases":[{"Name":"FinanceDB","State":"ONLINE","RecoveryModel":"FULL","CompatibilityLevel":120,"Collation":"Latin1_General_CI_AS","SizeBytes":"50465865728",
 "Tables":{"Schema":"dbo","Name":"Invoices","Mode":"full","Rows":2841300,"Checksum":-1234,"SizeBytes":2040109465,"EstimatedRows":2841300,"Error":null},
 "Error":null,"CheckDB":{"Ok":false,"Message":"Table error"}}],
"Logins":{"name":"sa","type_desc":"SQL_LOGIN","is_disabled":true},
"Jobs":[{"name":"Purge","enabled":0,"run_status":null},{"name":"Close","enabled":1,"run_status":0}],
"LinkedServers":[],"Endpoints":[{"name":"TSQL Default TCP","type_desc":"TSQL","state_desc":"STARTED","port":0}]}]}`
	s, absent, err := readSQLServer([]byte(out))
	if err != nil || absent != "" {
		t.Fatal(err)
	}
	in := s.Instances[0]
	d := in.Databases[0]
	if s.Services[0].State != "Running" || s.Services[0].StartMode != "Automatic" || s.Budget.Seconds() != 120 || s.Elapsed.Seconds() != 3.4 ||
		len(in.TCPPorts) != 1 || in.TCPPorts[0] != 49712 || in.UpdateLevel != "" || d.SizeBytes != 50465865728 ||
		len(d.Tables) != 1 || d.Tables[0].Checksum != "-1234" || d.CheckDB == nil || d.CheckDB.OK ||
		len(in.Logins) != 1 || !in.Logins[0].Disabled || in.Jobs[0].LastOutcome != "never" || in.Jobs[0].Enabled || in.Jobs[1].LastOutcome != "failed" {
		t.Errorf("read %+v", s)
	}
	for _, bad := range []string{``, `[1,2]`, `{"Instances":[{"Name":{"a":1}}]}`, `{"Instances":[{"Databases":"master tempdb"}]}`} {
		if _, _, err := readSQLServer([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		} else if bad != "" && !strings.Contains(err.Error(), "field") && !strings.Contains(err.Error(), "cannot unmarshal") {
			t.Logf("%q: %v", bad, err)
		}
	}
}

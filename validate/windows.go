package validate

// SQLServer is the fingerprint of the SQL Server instances of a host.
// (Owned by the Windows probes; filled in by their author.)
type SQLServer struct{}

// SharePoint is the fingerprint of a SharePoint farm as one server sees it.
// (Owned by the Windows probes; filled in by their author.)
type SharePoint struct{}

func compareSQLServer(before, after *SQLServer) []Finding { return nil }

func compareSharePoint(before, after *SharePoint) []Finding { return nil }

package validate

import (
	"context"
	"time"

	"github.com/shift-migrate/shift/remote"
)

// SQLServer is the fingerprint of the SQL Server instances of a host.
type SQLServer struct {
	// Services are the SQL Server services of the host (engines, agents,
	// browser, writer, full-text launcher).
	Services []WindowsService `json:"services,omitempty"`
	// Instances are the instances the registry lists.
	Instances []SQLInstance `json:"instances"`
	// Budget is the time the data checksums were given; Elapsed what the
	// whole SQL probe took on the host.
	Budget  time.Duration `json:"budget"`
	Elapsed time.Duration `json:"elapsed"`
}

// WindowsService is one Windows service.
type WindowsService struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// State is "Running", "Stopped", ...; StartMode "Automatic", "Manual",
	// "Disabled", ...
	State     string `json:"state"`
	StartMode string `json:"startMode"`
}

// SQLInstance is one SQL Server instance.
type SQLInstance struct {
	// Name is MSSQLSERVER for the default instance.
	Name string `json:"name"`
	// ServiceName and AgentServiceName name the engine and SQL Agent services.
	ServiceName      string `json:"serviceName"`
	AgentServiceName string `json:"agentServiceName"`
	// Version is SERVERPROPERTY('ProductVersion'); empty when the engine
	// could not be queried (see Error).
	Version     string `json:"version,omitempty"`
	Level       string `json:"level,omitempty"`
	UpdateLevel string `json:"updateLevel,omitempty"`
	Edition     string `json:"edition,omitempty"`
	Collation   string `json:"collation,omitempty"`
	// TCPPorts are the TCP ports the engine process listens on; empty when it
	// does not run or listens on none.
	TCPPorts      []int             `json:"tcpPorts,omitempty"`
	Databases     []SQLDatabase     `json:"databases,omitempty"`
	Logins        []SQLLogin        `json:"logins,omitempty"`
	Jobs          []SQLJob          `json:"jobs,omitempty"`
	LinkedServers []SQLLinkedServer `json:"linkedServers,omitempty"`
	Endpoints     []SQLEndpoint     `json:"endpoints,omitempty"`
	// Error says why the engine could not be queried; empty when it could.
	Error string `json:"error,omitempty"`
}

// SQLDatabase is one database of an instance (database snapshots excluded).
type SQLDatabase struct {
	Name string `json:"name"`
	// State is sys.databases.state_desc: ONLINE, RECOVERY_PENDING, ...
	State              string `json:"state"`
	RecoveryModel      string `json:"recoveryModel,omitempty"`
	CompatibilityLevel int    `json:"compatibilityLevel,omitempty"`
	// Collation is empty when the database is not ONLINE.
	Collation string `json:"collation,omitempty"`
	SizeBytes uint64 `json:"sizeBytes"`
	// Tables are the user tables with their row counts and
	// CHECKSUM_AGG(BINARY_CHECKSUM(*)) (as decimal text); empty for system
	// databases and databases that are not ONLINE.
	Tables []Table `json:"tables,omitempty"`
	// Error says why the tables could not be listed.
	Error string `json:"error,omitempty"`
	// CheckDB is the result of DBCC CHECKDB ... PHYSICAL_ONLY; nil when it
	// was not asked for.
	CheckDB *CheckDBResult `json:"checkDB,omitempty"`
}

// SQLLogin is one server principal that can log in.
type SQLLogin struct {
	Name string `json:"name"`
	// Type is SQL_LOGIN, WINDOWS_LOGIN, WINDOWS_GROUP, CERTIFICATE_MAPPED_LOGIN
	// or ASYMMETRIC_KEY_MAPPED_LOGIN.
	Type     string `json:"type"`
	Disabled bool   `json:"disabled,omitempty"`
}

// SQLJob is one SQL Agent job.
type SQLJob struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// LastOutcome is succeeded, failed, retry, canceled, in progress, or
	// never.
	LastOutcome string `json:"lastOutcome"`
}

// SQLLinkedServer is one linked server.
type SQLLinkedServer struct {
	Name       string `json:"name"`
	Product    string `json:"product,omitempty"`
	Provider   string `json:"provider,omitempty"`
	DataSource string `json:"dataSource,omitempty"`
}

// SQLEndpoint is one endpoint (TSQL, mirroring, Service Broker, ...).
type SQLEndpoint struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// State is STARTED, STOPPED or DISABLED.
	State string `json:"state"`
	// Port is the TCP port; 0 for endpoints that have none.
	Port int `json:"port,omitempty"`
}

// CheckDBResult is the outcome of DBCC CHECKDB ... WITH PHYSICAL_ONLY.
type CheckDBResult struct {
	OK bool `json:"ok"`
	// Message is the first error DBCC reported; empty when OK.
	Message string `json:"message,omitempty"`
}

// SharePoint is the fingerprint of a SharePoint farm as one server sees it.
type SharePoint struct {
	Farm             SPFarm              `json:"farm"`
	Servers          []SPServer          `json:"servers,omitempty"`
	WebApplications  []SPWebApplication  `json:"webApplications,omitempty"`
	Sites            []SPSite            `json:"sites,omitempty"`
	ContentDatabases []SPContentDatabase `json:"contentDatabases,omitempty"`
	// AppPools and IISSites are IIS's, with their state (Started, Stopped).
	AppPools []IISItem `json:"appPools,omitempty"`
	IISSites []IISItem `json:"iisSites,omitempty"`
	// TimerService is the SharePoint Timer service (SPTimerV4); nil when the
	// server has none.
	TimerService *WindowsService `json:"timerService,omitempty"`
}

// SPFarm is the farm.
type SPFarm struct {
	Name         string `json:"name"`
	BuildVersion string `json:"buildVersion"`
	// Status is the SPObjectStatus name: Online, Disabled, Offline,
	// Unprovisioning, Provisioning, Upgrading.
	Status string `json:"status"`
}

// SPServer is one server of the farm.
type SPServer struct {
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	Status string `json:"status"`
	// Services are the server's service instances that are not hidden.
	Services []SPServiceInstance `json:"services,omitempty"`
}

// SPServiceInstance is one service instance on a server.
type SPServiceInstance struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// SPWebApplication is one web application, Central Administration included.
type SPWebApplication struct {
	Name          string           `json:"name"`
	URL           string           `json:"url"`
	Status        string           `json:"status"`
	AlternateURLs []SPAlternateURL `json:"alternateUrls,omitempty"`
}

// SPAlternateURL is one alternate access mapping.
type SPAlternateURL struct {
	Zone        string `json:"zone"`
	IncomingURL string `json:"incomingUrl"`
	PublicURL   string `json:"publicUrl"`
}

// SPSite is one site collection and how it answered an HTTP request with
// Windows authentication from inside the server.
type SPSite struct {
	URL             string `json:"url"`
	WebApplication  string `json:"webApplication,omitempty"`
	ContentDatabase string `json:"contentDatabase,omitempty"`
	// HTTPStatus is the answer's status code; 0 when there was none (see
	// HTTPError).
	HTTPStatus int    `json:"httpStatus"`
	HTTPError  string `json:"httpError,omitempty"`
}

// SPContentDatabase is one content database attached to the farm.
type SPContentDatabase struct {
	Name           string `json:"name"`
	Server         string `json:"server,omitempty"`
	WebApplication string `json:"webApplication,omitempty"`
	Status         string `json:"status"`
	Sites          int    `json:"sites"`
}

// IISItem is an IIS application pool or web site.
type IISItem struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// ProbeWinRM takes the fingerprint of a Windows host through c: generic
// facts, SQL Server and SharePoint when present, and opts' HTTP checks. A
// section that could not be read is recorded in the fingerprint's Errors;
// the error return is for a host that could not be probed at all (refused
// login, unreachable, canceled).
func ProbeWinRM(ctx context.Context, c *remote.WinRMClient, host string, opts Options) (*Fingerprint, error) {
	return probeWindows(ctx, c, host, opts)
}

package inventory

// SQLInstance is one SQL Server instance.
type SQLInstance struct {
	// Name is the instance name ("MSSQLSERVER" for the default instance).
	Name        string `json:"name"`
	ServiceName string `json:"serviceName,omitempty"`
	// ServiceState is the state of the engine service ("running", "stopped").
	ServiceState string `json:"serviceState,omitempty"`
	// Version is the product version ("15.0.4355.3").
	Version string `json:"version,omitempty"`
	// Release is the marketing release ("SQL Server 2019").
	Release string `json:"release,omitempty"`
	// Level is the product level ("RTM", "SP3").
	Level string `json:"level,omitempty"`
	// UpdateLevel is the CU ("CU22").
	UpdateLevel string `json:"updateLevel,omitempty"`
	Edition     string `json:"edition,omitempty"`
	Collation   string `json:"collation,omitempty"`
	// TCPPort is the port the instance listens on; 0 when unknown.
	TCPPort int `json:"tcpPort,omitempty"`
	// Clustered is true for a failover cluster instance (FCI).
	Clustered bool `json:"clustered,omitempty"`
	// HADREnabled is true when Always On availability groups are enabled.
	HADREnabled        bool          `json:"hadrEnabled,omitempty"`
	AvailabilityGroups []string      `json:"availabilityGroups,omitempty"`
	Databases          []SQLDatabase `json:"databases,omitempty"`
	Logins             int           `json:"logins"`
	AgentJobs          []SQLAgentJob `json:"agentJobs,omitempty"`
	// AgentState is the SQL Server Agent service state; empty when no agent.
	AgentState string `json:"agentState,omitempty"`
	// EndOfSupport is "YYYY-MM-DD" when known.
	EndOfSupport string `json:"endOfSupport,omitempty"`
}

// SQLDatabase is one database of an instance.
type SQLDatabase struct {
	Name string `json:"name"`
	// State is sys.databases.state_desc ("ONLINE", "RECOVERY_PENDING").
	State string `json:"state"`
	// RecoveryModel is "FULL", "SIMPLE" or "BULK_LOGGED".
	RecoveryModel      string `json:"recoveryModel,omitempty"`
	CompatibilityLevel int    `json:"compatibilityLevel,omitempty"`
	Collation          string `json:"collation,omitempty"`
	SizeBytes          uint64 `json:"sizeBytes,omitempty"`
	// AvailabilityGroup is the AG the database belongs to; empty when none.
	AvailabilityGroup string `json:"availabilityGroup,omitempty"`
	// System marks master, model, msdb and tempdb.
	System bool `json:"system,omitempty"`
}

// SQLAgentJob is a SQL Server Agent job.
type SQLAgentJob struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// LastOutcome is "succeeded", "failed", "canceled", "unknown" or "never".
	LastOutcome string `json:"lastOutcome,omitempty"`
}

// SharePointFarm is the SharePoint farm a host belongs to.
type SharePointFarm struct {
	// Build is the farm build ("16.0.10337.12109").
	Build string `json:"build"`
	// Release is the marketing release ("SharePoint Server 2019").
	Release string `json:"release,omitempty"`
	// Status is the farm's SPObjectStatus ("Online").
	Status           string                `json:"status,omitempty"`
	ConfigDatabase   string                `json:"configDatabase,omitempty"`
	Servers          []SharePointServer    `json:"servers,omitempty"`
	WebApplications  []SharePointWebApp    `json:"webApplications,omitempty"`
	SiteCollections  []SharePointSite      `json:"siteCollections,omitempty"`
	ContentDatabases []SharePointContentDB `json:"contentDatabases,omitempty"`
	EndOfSupport     string                `json:"endOfSupport,omitempty"`
}

// SharePointServer is a server of the farm.
type SharePointServer struct {
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	Status string `json:"status,omitempty"`
}

// SharePointWebApp is a web application.
type SharePointWebApp struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// ApplicationPool is the IIS application pool name.
	ApplicationPool string `json:"applicationPool,omitempty"`
}

// SharePointSite is a site collection.
type SharePointSite struct {
	URL             string `json:"url"`
	WebApplication  string `json:"webApplication,omitempty"`
	ContentDatabase string `json:"contentDatabase,omitempty"`
	Owner           string `json:"owner,omitempty"`
	StorageBytes    uint64 `json:"storageBytes,omitempty"`
}

// SharePointContentDB is a content database.
type SharePointContentDB struct {
	Name           string `json:"name"`
	Server         string `json:"server,omitempty"`
	WebApplication string `json:"webApplication,omitempty"`
	// Status is the SPObjectStatus ("Online", "Disabled", "Offline").
	Status    string `json:"status,omitempty"`
	Sites     int    `json:"sites"`
	SizeBytes uint64 `json:"sizeBytes,omitempty"`
}

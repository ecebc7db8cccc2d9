package winrm

import (
	"slices"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// sqlInstance is one object printed by scripts/sqlserver.ps1. Columns of
// the T-SQL queries keep their snake_case names.
type sqlInstance struct {
	Name            psjson.String
	ServiceName     psjson.String
	ServiceState    psjson.String
	AgentState      psjson.String
	TcpPort         psjson.String // REG_SZ, "" when the port is dynamic
	TcpDynamicPorts psjson.String
	// Error is why the engine could not be queried; empty on success.
	Error  psjson.String
	Server *struct {
		ProductVersion     psjson.String
		ProductLevel       psjson.String
		ProductUpdateLevel psjson.String
		Edition            psjson.String
		Collation          psjson.String
		IsClustered        psjson.Int
		IsHadrEnabled      psjson.Int
	}
	Databases psjson.List[struct {
		Name               psjson.String `json:"name"`
		DatabaseID         psjson.Int    `json:"database_id"`
		State              psjson.String `json:"state_desc"`
		RecoveryModel      psjson.String `json:"recovery_model_desc"`
		CompatibilityLevel psjson.Int    `json:"compatibility_level"`
		Collation          psjson.String `json:"collation_name"`
		SizeBytes          psjson.Uint   `json:"size_bytes"`
	}]
	Logins psjson.Int
	Jobs   psjson.List[struct {
		Name      psjson.String `json:"name"`
		Enabled   psjson.Bool   `json:"enabled"`
		RunStatus psjson.Int    `json:"run_status"`
	}]
	AvailabilityGroups psjson.List[struct {
		Group    psjson.String `json:"availability_group"`
		Database psjson.String `json:"database_name"`
	}]
}

// jobOutcomes maps msdb.dbo.sysjobhistory.run_status.
var jobOutcomes = map[int64]string{0: "failed", 1: "succeeded", 2: "unknown", 3: "canceled", 4: "unknown"}

func parseSQLServer(h *inventory.Host, stdout []byte) ([]problem, error) {
	instances, err := psjson.DecodeList[sqlInstance](stdout)
	if err != nil {
		return nil, err
	}
	h.SQLServer = nil
	if len(instances) == 0 {
		markAbsent(h, "sqlserver")
		return nil, nil
	}
	var problems []problem
	for _, in := range instances {
		inst := inventory.SQLInstance{
			Name:         string(in.Name),
			ServiceName:  string(in.ServiceName),
			ServiceState: strings.ToLower(string(in.ServiceState)),
			AgentState:   strings.ToLower(string(in.AgentState)),
			TCPPort:      sqlPort(string(in.TcpPort), string(in.TcpDynamicPorts)),
			Logins:       in.Logins.Int(),
		}
		if s := in.Server; s != nil {
			inst.Version = string(s.ProductVersion)
			inst.Release, inst.EndOfSupport = inventory.SQLServerRelease(inst.Version)
			inst.Level = string(s.ProductLevel)
			inst.UpdateLevel = string(s.ProductUpdateLevel)
			inst.Edition = string(s.Edition)
			inst.Collation = string(s.Collation)
			inst.Clustered = s.IsClustered.Value == 1
			inst.HADREnabled = s.IsHadrEnabled.Value == 1
		}
		agOf := map[string]string{}
		for _, ag := range in.AvailabilityGroups {
			if !slices.Contains(inst.AvailabilityGroups, string(ag.Group)) {
				inst.AvailabilityGroups = append(inst.AvailabilityGroups, string(ag.Group))
			}
			if ag.Database != "" {
				agOf[string(ag.Database)] = string(ag.Group)
			}
		}
		for _, d := range in.Databases {
			inst.Databases = append(inst.Databases, inventory.SQLDatabase{
				Name:               string(d.Name),
				State:              string(d.State),
				RecoveryModel:      string(d.RecoveryModel),
				CompatibilityLevel: d.CompatibilityLevel.Int(),
				Collation:          string(d.Collation),
				SizeBytes:          d.SizeBytes.Value,
				AvailabilityGroup:  agOf[string(d.Name)],
				System:             d.DatabaseID.Valid && d.DatabaseID.Value <= 4,
			})
		}
		for _, j := range in.Jobs {
			outcome := "never"
			if j.RunStatus.Valid {
				outcome = jobOutcomes[j.RunStatus.Value]
			}
			inst.AgentJobs = append(inst.AgentJobs, inventory.SQLAgentJob{Name: string(j.Name), Enabled: j.Enabled.True(), LastOutcome: outcome})
		}
		if in.Error != "" {
			problems = append(problems, problem{Step: in.Name, Message: psjson.String("instance " + string(in.Name) + ": " + string(in.Error))})
		}
		h.SQLServer = append(h.SQLServer, inst)
	}
	return problems, nil
}

// sqlPort picks the static TCP port, else the first dynamic one.
func sqlPort(static, dynamic string) int {
	for _, s := range []string{static, dynamic} {
		first, _, _ := strings.Cut(s, ",")
		if n, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// markAbsent records that a workload was looked for and is not installed.
func markAbsent(h *inventory.Host, workload string) {
	if !slices.Contains(h.Absent, workload) {
		h.Absent = append(h.Absent, workload)
	}
}

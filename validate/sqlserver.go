package validate

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shift-migrate/shift/remote/psjson"
)

// sqlProbeOutput is what scripts/sqlserver.ps1 prints.
type sqlProbeOutput struct {
	Absent         psjson.String
	BudgetSeconds  psjson.Int
	ElapsedSeconds psjson.String
	Services       psjson.List[winServiceOutput]
	Instances      psjson.List[struct {
		Name             psjson.String
		ServiceName      psjson.String
		AgentServiceName psjson.String
		TcpPorts         psjson.List[psjson.Int]
		Error            psjson.String
		Server           *struct {
			ProductVersion     psjson.String
			ProductLevel       psjson.String
			ProductUpdateLevel psjson.String
			Edition            psjson.String
			Collation          psjson.String
		}
		Databases psjson.List[struct {
			Name               psjson.String
			State              psjson.String
			RecoveryModel      psjson.String
			CompatibilityLevel psjson.Int
			Collation          psjson.String
			SizeBytes          psjson.Int
			Tables             psjson.List[struct {
				Schema        psjson.String
				Name          psjson.String
				Mode          psjson.String
				Rows          psjson.Int
				Checksum      psjson.Int
				SizeBytes     psjson.Int
				EstimatedRows psjson.Int
				Error         psjson.String
			}]
			Error   psjson.String
			CheckDB *struct {
				Ok      psjson.Bool
				Message psjson.String
			}
		}]
		Logins psjson.List[struct {
			Name       psjson.String `json:"name"`
			Type       psjson.String `json:"type_desc"`
			IsDisabled psjson.Bool   `json:"is_disabled"`
		}]
		Jobs psjson.List[struct {
			Name      psjson.String `json:"name"`
			Enabled   psjson.Bool   `json:"enabled"`
			RunStatus psjson.Int    `json:"run_status"`
		}]
		LinkedServers psjson.List[struct {
			Name       psjson.String `json:"name"`
			Product    psjson.String `json:"product"`
			Provider   psjson.String `json:"provider"`
			DataSource psjson.String `json:"data_source"`
		}]
		Endpoints psjson.List[struct {
			Name  psjson.String `json:"name"`
			Type  psjson.String `json:"type_desc"`
			State psjson.String `json:"state_desc"`
			Port  psjson.Int    `json:"port"`
		}]
	}]
}

// winServiceOutput is Get-Service | Select-Object Name, DisplayName, Status,
// StartType: the two enums as numbers.
type winServiceOutput struct {
	Name        psjson.String
	DisplayName psjson.String
	Status      psjson.Int
	StartType   psjson.Int
}

// ServiceControllerStatus and ServiceStartMode names.
var (
	winServiceStates = map[int64]string{1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running", 5: "ContinuePending", 6: "PausePending", 7: "Paused"}
	winStartModes    = map[int64]string{0: "Boot", 1: "System", 2: "Automatic", 3: "Manual", 4: "Disabled"}
)

func (s winServiceOutput) service() WindowsService {
	return WindowsService{Name: string(s.Name), DisplayName: string(s.DisplayName),
		State: winEnumName(s.Status, winServiceStates), StartMode: winEnumName(s.StartType, winStartModes)}
}

func winEnumName(n psjson.Int, names map[int64]string) string {
	if !n.Valid {
		return ""
	}
	if s, ok := names[n.Value]; ok {
		return s
	}
	return fmt.Sprint(n.Value)
}

// sqlJobOutcomes maps msdb.dbo.sysjobhistory.run_status.
var sqlJobOutcomes = map[int64]string{0: "failed", 1: "succeeded", 2: "retry", 3: "canceled", 4: "in progress"}

// readSQLServer reads scripts/sqlserver.ps1's output: nil and why when SQL
// Server is not installed.
func readSQLServer(stdout []byte) (s *SQLServer, absent string, err error) {
	var out sqlProbeOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, "", err
	}
	if out.Absent != "" {
		return nil, string(out.Absent), nil
	}
	s = &SQLServer{Budget: time.Duration(out.BudgetSeconds.Value) * time.Second, Elapsed: psSeconds(string(out.ElapsedSeconds))}
	for _, sv := range out.Services {
		s.Services = append(s.Services, sv.service())
	}
	for _, in := range out.Instances {
		inst := SQLInstance{Name: string(in.Name), ServiceName: string(in.ServiceName), AgentServiceName: string(in.AgentServiceName), Error: string(in.Error)}
		for _, p := range in.TcpPorts {
			if p.Valid {
				inst.TCPPorts = append(inst.TCPPorts, int(p.Value))
			}
		}
		if sv := in.Server; sv != nil {
			inst.Version, inst.Level, inst.UpdateLevel = string(sv.ProductVersion), string(sv.ProductLevel), string(sv.ProductUpdateLevel)
			inst.Edition, inst.Collation = string(sv.Edition), string(sv.Collation)
		}
		for _, d := range in.Databases {
			db := SQLDatabase{Name: string(d.Name), State: string(d.State), RecoveryModel: string(d.RecoveryModel),
				CompatibilityLevel: int(d.CompatibilityLevel.Value), Collation: string(d.Collation),
				SizeBytes: uint64(max(d.SizeBytes.Value, 0)), Error: string(d.Error)}
			for _, t := range d.Tables {
				tb := Table{Schema: string(t.Schema), Name: string(t.Name), Mode: string(t.Mode), Rows: t.Rows.Value,
					SizeBytes: t.SizeBytes.Value, EstimatedRows: t.EstimatedRows.Value, Error: string(t.Error)}
				if t.Checksum.Valid {
					tb.Checksum = strconv.FormatInt(t.Checksum.Value, 10)
				}
				db.Tables = append(db.Tables, tb)
			}
			if c := d.CheckDB; c != nil {
				db.CheckDB = &CheckDBResult{OK: c.Ok.Value, Message: string(c.Message)}
			}
			inst.Databases = append(inst.Databases, db)
		}
		for _, l := range in.Logins {
			inst.Logins = append(inst.Logins, SQLLogin{Name: string(l.Name), Type: string(l.Type), Disabled: l.IsDisabled.Value})
		}
		for _, j := range in.Jobs {
			outcome := "never"
			if j.RunStatus.Valid {
				outcome = sqlJobOutcomes[j.RunStatus.Value]
			}
			inst.Jobs = append(inst.Jobs, SQLJob{Name: string(j.Name), Enabled: j.Enabled.Value, LastOutcome: outcome})
		}
		for _, l := range in.LinkedServers {
			inst.LinkedServers = append(inst.LinkedServers, SQLLinkedServer{Name: string(l.Name), Product: string(l.Product), Provider: string(l.Provider), DataSource: string(l.DataSource)})
		}
		for _, e := range in.Endpoints {
			inst.Endpoints = append(inst.Endpoints, SQLEndpoint{Name: string(e.Name), Type: string(e.Type), State: string(e.State), Port: int(e.Port.Value)})
		}
		s.Instances = append(s.Instances, inst)
	}
	return s, "", nil
}

// seconds reads a number of seconds printed as a number or a string.
func psSeconds(s string) time.Duration {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

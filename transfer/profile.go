package transfer

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// ProfileEnv names the environment variable that, when set to a file path,
// makes StartProfile write a CPU profile there. It is a diagnostic for
// measuring a pass, off unless set. DeployAgent passes AgentProfileEnv on to
// the agent it starts as ProfileEnv, so both ends of a replication can be
// profiled: SHIFT_CPUPROFILE for the appliance, SHIFT_AGENT_CPUPROFILE (a
// path on the source) for the agent.
const (
	ProfileEnv      = "SHIFT_CPUPROFILE"
	AgentProfileEnv = "SHIFT_AGENT_CPUPROFILE"
)

// StartProfile starts a CPU profile into the file that $SHIFT_CPUPROFILE
// names and returns the function that stops it; without the variable it
// does nothing. A profile that cannot start is an error: it was asked for.
func StartProfile() (stop func(), err error) {
	path := os.Getenv(ProfileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

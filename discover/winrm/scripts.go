package winrm

import (
	"embed"
	"strings"
)

//go:embed scripts/*.ps1
var scriptFiles embed.FS

// Script is one embedded probe script. Each is sent to the host as one
// PowerShell run (one WinRM command).
type Script struct {
	// Name is the probe name from the script's "# shift-probe: <name>" header.
	Name string
	// Text is the script as sent on stdin.
	Text string
}

// probeOrder is the order in which Probe runs the scripts.
var probeOrder = []string{"system", "storage", "network", "software", "sqlserver", "sharepoint"}

// Scripts returns the probe scripts in the order Probe runs them.
func Scripts() []Script {
	out := make([]Script, 0, len(probeOrder))
	for _, name := range probeOrder {
		b, err := scriptFiles.ReadFile("scripts/" + name + ".ps1")
		if err != nil {
			panic("winrm: embedded probe script missing: " + name) // the embed pattern guarantees it
		}
		out = append(out, Script{Name: name, Text: string(b)})
	}
	return out
}

// ScriptHeader is the first line every probe script starts with, followed by
// the probe name.
const ScriptHeader = "# shift-probe:"

// ProbeName returns the name in a script's "# shift-probe: <name>" header, or
// "" when the first line is not such a header. A UTF-8 BOM is ignored.
func ProbeName(script string) string {
	script = strings.TrimPrefix(script, "\uFEFF")
	line, _, _ := strings.Cut(script, "\n")
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), ScriptHeader)
	if !ok {
		return ""
	}
	name := strings.TrimSpace(rest)
	if name == "" || strings.ContainsAny(name, " \t") {
		return ""
	}
	return name
}

package tui

import (
	"fmt"
	"os"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/shift-migrate/shift/migrate/face"
)

// checkResume reads the plan file at the wizard's plan path, when there is
// one, so that a migration an earlier wizard left mid-way can be resumed.
func (m *model) checkResume() tea.Cmd {
	path, rd := m.plan.path, m.planReader()
	m.plan.busy = true
	return func() tea.Msg {
		if _, err := os.Stat(path); err != nil {
			return noPlanMsg{}
		}
		msg := rd.read(path)
		msg.what, msg.resume = "", true
		return msg
	}
}

// noPlanMsg says there is no plan file yet.
type noPlanMsg struct{}

// stoppedMidway lists the servers that are past pending and not done.
func stoppedMidway(status []face.ServerResult) []face.ServerResult {
	var out []face.ServerResult
	for _, r := range status {
		if r.Phase != face.Pending && r.Phase != face.Done && r.Phase != "" {
			out = append(out, r)
		}
	}
	return out
}

// offerResume asks whether to resume the plan's servers that stopped
// mid-way; yes goes to the Replication screen and runs the plan on.
func (m *model) offerResume(path string, status []face.ServerResult) {
	mid := stoppedMidway(status)
	if len(mid) == 0 || m.mig.running {
		return
	}
	var lines []string
	for i, r := range mid {
		if i == 6 {
			lines = append(lines, fmt.Sprintf("  … and %d more", len(mid)-i))
			break
		}
		lines = append(lines, fmt.Sprintf("  %-20s %s", r.Host, phaseSaying(r.Phase)))
	}
	text := fmt.Sprintf("%s of %s stopped mid-way:\n%s\n\nResuming continues each where the ledger says it stands: finished chunks are not copied again, a cutover under way goes on. Cutovers not yet started still ask first.",
		plural(len(mid), "server", "servers"), path, strings.Join(lines, "\n"))
	m.dialog = &confirm{title: fmt.Sprintf("Resume the migration of %s (plan %s)?", plural(len(mid), "server", "servers"), lastElem(path)), text: text,
		onYes: func(m *model) tea.Cmd {
			m.screen = replicationScreen
			return m.startReplication()
		}}
}

// phaseSaying says what a phase means for a user deciding to resume.
func phaseSaying(p face.Phase) string {
	switch p {
	case face.InSync, face.TestMigrated:
		return string(p) + ": copy ready, cutover not started"
	case face.CuttingOver:
		return "cutting over: stopped mid-cutover"
	case face.Failed:
		return "failed: resuming retries the step"
	case face.RolledBack:
		return "rolled back: the source serves; resuming copies the changes"
	case face.Validated:
		return "validated: only the last step is left"
	}
	return string(p) + ": copy stopped mid-way"
}

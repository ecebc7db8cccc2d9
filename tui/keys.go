package tui

import "charm.land/bubbles/v2/key"

// keyMap holds every key the wizard answers to, with its help text. The help
// bar is generated from it: each state of the wizard lists the bindings that
// work there (see model.helpKeys).
type keyMap struct {
	// Everywhere outside dialogs.
	Quit, NextScreen, PrevScreen, Up, Down key.Binding
	// Sources.
	AddHost, Import, SaveHosts, DeleteHost, Discover key.Binding
	// Discovery.
	Start, Stop, Retry, SaveInventory, Assess key.Binding
	// Assessment.
	Filter, Export, Plan key.Binding
	// Plan.
	Hold, Wave, Size, Disks, Checks, Services, Bandwidth, Redraft, OpenPlan, Replicate key.Binding
	// Replication and Cutover.
	StartRun, StopRun, Cutover, TestRun key.Binding
	// Dialogs: forms, prompts and confirmations.
	NextField, PrevField, Submit, Cancel, Yes, No key.Binding
}

func defaultKeys() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Quit:       b([]string{"q", "ctrl+c"}, "q", "quit"),
		NextScreen: b([]string{"tab"}, "tab", "next screen"),
		PrevScreen: b([]string{"shift+tab"}, "shift+tab", "previous"),
		Up:         b([]string{"up", "k"}, "↑/k", "up"),
		Down:       b([]string{"down", "j"}, "↓/j", "down"),

		AddHost:    b([]string{"a"}, "a", "add host or range"),
		Import:     b([]string{"i"}, "i", "import hosts file"),
		SaveHosts:  b([]string{"s"}, "s", "save hosts file"),
		DeleteHost: b([]string{"x", "delete"}, "x", "remove added host"),
		Discover:   b([]string{"d"}, "d", "discover"),

		Start:         b([]string{"enter", "s"}, "enter", "start discovery"),
		Stop:          b([]string{"x", "esc"}, "x", "stop"),
		Retry:         b([]string{"r"}, "r", "re-run failed"),
		SaveInventory: b([]string{"w"}, "w", "write inventory"),
		Assess:        b([]string{"a"}, "a", "assess"),

		Filter: b([]string{"f"}, "f", "filter"),
		Export: b([]string{"e"}, "e", "export report"),
		Plan:   b([]string{"p"}, "p", "plan the move"),

		Hold:      b([]string{"space", "h"}, "space", "hold/release"),
		Wave:      b([]string{"w"}, "w", "wave"),
		Size:      b([]string{"z"}, "z", "size"),
		Disks:     b([]string{"d"}, "d", "disks"),
		Checks:    b([]string{"c"}, "c", "checks"),
		Services:  b([]string{"o"}, "o", "stop at cutover"),
		Bandwidth: b([]string{"b"}, "b", "bandwidth"),
		Redraft:   b([]string{"n"}, "n", "draft anew"),
		OpenPlan:  b([]string{"i"}, "i", "open a plan"),
		Replicate: b([]string{"r"}, "r", "replicate"),

		StartRun: b([]string{"r", "enter"}, "r", "replicate"),
		StopRun:  b([]string{"x"}, "x", "stop"),
		Cutover:  b([]string{"enter", "c"}, "enter", "cut over"),
		TestRun:  b([]string{"t"}, "t", "test migration"),

		NextField: b([]string{"tab", "down"}, "tab", "next field"),
		PrevField: b([]string{"shift+tab", "up"}, "shift+tab", "previous field"),
		Submit:    b([]string{"enter"}, "enter", "ok"),
		Cancel:    b([]string{"esc"}, "esc", "cancel"),
		Yes:       b([]string{"y"}, "y", "yes"),
		No:        b([]string{"n", "esc"}, "n", "no"),
	}
}

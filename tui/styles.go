package tui

import (
	"charm.land/lipgloss/v2"
)

// The wizard's styles, by meaning. Colours are the 16 basic ANSI colours so
// that every terminal shows them as the user's theme intends; on a terminal
// without colour they disappear and the text, marks (✓ ✗ !) and layout still
// say everything.
var (
	colorAccent = lipgloss.BrightBlue
	colorOK     = lipgloss.Green
	colorWarn   = lipgloss.Yellow
	colorBad    = lipgloss.Red
	colorMuted  = lipgloss.BrightBlack
)

type styles struct {
	Brand       lipgloss.Style // the product name in the header
	Tab         lipgloss.Style // a screen's name in the header
	TabActive   lipgloss.Style // the current screen's name
	Context     lipgloss.Style // the header's right side: target and hosts file
	Rule        lipgloss.Style // horizontal separators
	Title       lipgloss.Style // a pane's title
	TableHeader lipgloss.Style
	Selected    lipgloss.Style // the selected table row
	Muted       lipgloss.Style // secondary text
	OK          lipgloss.Style // success: a host done, a server ready
	Warn        lipgloss.Style // conditions, notes
	Bad         lipgloss.Style // failures and blockers
	Running     lipgloss.Style // work in progress
	Hint        lipgloss.Style // the next step the user can take
	Error       lipgloss.Style // an inline validation or I/O error
	Label       lipgloss.Style // a form field's label
	LabelActive lipgloss.Style // the focused field's label
	Dialog      lipgloss.Style // a modal box (confirmations, prompts, forms)
	Key         lipgloss.Style // a key in the help bar
	KeyDesc     lipgloss.Style // what the key does
	HelpSep     lipgloss.Style // between help items
}

func defaultStyles() styles {
	s := lipgloss.NewStyle()
	return styles{
		Brand:       s.Bold(true).Foreground(colorAccent),
		Tab:         s.Foreground(colorMuted),
		TabActive:   s.Bold(true).Underline(true),
		Context:     s.Foreground(colorMuted),
		Rule:        s.Foreground(colorMuted),
		Title:       s.Bold(true),
		TableHeader: s.Bold(true).Foreground(colorMuted),
		Selected:    s.Reverse(true),
		Muted:       s.Foreground(colorMuted),
		OK:          s.Foreground(colorOK),
		Warn:        s.Foreground(colorWarn),
		Bad:         s.Foreground(colorBad),
		Running:     s.Foreground(colorAccent),
		Hint:        s.Foreground(colorAccent),
		Error:       s.Foreground(colorBad).Bold(true),
		Label:       s.Foreground(colorMuted),
		LabelActive: s.Bold(true),
		Dialog:      s.Border(lipgloss.RoundedBorder()).BorderForeground(colorAccent).Padding(0, 1),
		Key:         s.Bold(true),
		KeyDesc:     s.Foreground(colorMuted),
		HelpSep:     s.Foreground(colorMuted),
	}
}

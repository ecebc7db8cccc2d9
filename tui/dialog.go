package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// dialog is a modal box: it takes every key until it closes itself by
// setting model.dialog to nil.
type dialog interface {
	update(m *model, msg tea.Msg) tea.Cmd
	view(m *model, width int) string
	keys(k keyMap) []key.Binding
	resize(width int)
}

// dialogWidth is the inner width of a dialog on a terminal width wide.
func dialogWidth(width int) int { return min(72, width-6) }

// confirm asks a yes/no question.
type confirm struct {
	title, text string
	onYes       func(m *model) tea.Cmd
}

func (c *confirm) update(m *model, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Yes):
		m.dialog = nil
		return c.onYes(m)
	case key.Matches(k, m.keys.No):
		m.dialog = nil
	}
	return nil
}

func (c *confirm) view(m *model, width int) string {
	w := dialogWidth(width)
	body := m.st.Title.Render(c.title) + "\n\n" + lipgloss.NewStyle().Width(w).Render(c.text) +
		"\n\n" + m.st.Hint.Render("y yes · n no")
	return m.st.Dialog.Render(body)
}

func (c *confirm) keys(k keyMap) []key.Binding { return []key.Binding{k.Yes, k.No} }
func (c *confirm) resize(int)                  {}

// prompt asks for one value, a path most often. submit runs the action and
// returns the command that does the I/O; the command's result closes the
// prompt, or shows its error in it.
type prompt struct {
	title, text string
	input       textinput.Model
	err         string
	busy        bool
	allowEmpty  bool // an empty value is an answer ("none", "every disk")
	submit      func(m *model, value string) tea.Cmd
}

func newPrompt(title, text, value string, width int, submit func(*model, string) tea.Cmd) *prompt {
	in := textinput.New()
	in.Prompt = "› "
	in.SetValue(value)
	in.CursorEnd()
	in.Focus()
	p := &prompt{title: title, text: text, input: in, submit: submit}
	p.resize(width)
	return p
}

func (p *prompt) resize(width int) { p.input.SetWidth(dialogWidth(width) - 3) }

func (p *prompt) update(m *model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Cancel):
			m.dialog = nil
			return nil
		case key.Matches(k, m.keys.Submit):
			v := strings.TrimSpace(p.input.Value())
			if v == "" && !p.allowEmpty {
				p.err = "type a path first"
				return nil
			}
			p.err, p.busy = "", true
			return p.submit(m, v)
		}
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

func (p *prompt) view(m *model, width int) string {
	w := dialogWidth(width)
	parts := []string{m.st.Title.Render(p.title)}
	if p.text != "" {
		parts = append(parts, lipgloss.NewStyle().Width(w).Render(m.st.Muted.Render(p.text)))
	}
	parts = append(parts, "", p.input.View())
	if p.err != "" {
		parts = append(parts, "", lipgloss.NewStyle().Width(w).Render(m.st.Error.Render(p.err)))
	}
	parts = append(parts, "", m.st.Hint.Render("enter ok · esc cancel"))
	return m.st.Dialog.Width(w + 4).Render(strings.Join(parts, "\n"))
}

func (p *prompt) keys(k keyMap) []key.Binding { return []key.Binding{k.Submit, k.Cancel} }

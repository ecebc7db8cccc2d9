package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"
)

// RunOptions say which terminal the wizard runs in.
type RunOptions struct {
	// Input and Output are the terminal; nil means stdin and stdout.
	Input  io.Reader
	Output io.Writer
}

// Run shows the wizard until the user quits or ctx ends. Runs still under
// way are canceled, and Run returns only after each has ended.
func Run(ctx context.Context, opts Options, term RunOptions) error {
	if opts.Engine == nil {
		return errors.New("tui: no engine")
	}
	b := newBridge()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newModel(runCtx, opts, b)
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if term.Input != nil {
		popts = append(popts, tea.WithInput(term.Input))
	}
	if term.Output != nil {
		popts = append(popts, tea.WithOutput(term.Output))
	}
	p := tea.NewProgram(m, popts...)
	go b.run(p.Send)
	_, err := p.Run()
	cancel() // every run's context derives from runCtx
	b.stop()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

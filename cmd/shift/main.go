// Command shift discovers on-prem servers, assesses them, copies their disks
// into cloud VMs, cuts over and validates the result.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes. They are part of shift's interface: scripts depend on them.
const (
	exitOK          = 0   // everything worked
	exitFailure     = 1   // the command failed
	exitUsage       = 2   // wrong flags, arguments or input files
	exitPartial     = 3   // the command finished, but some hosts failed
	exitWaiting     = 4   // nothing failed, but some hosts wait (approval, window)
	exitInterrupted = 130 // interrupted by Ctrl-C or SIGTERM
)

const exitCodesHelp = `Exit codes:
  0    success
  1    failure: the command could not do its job
  2    usage: wrong flags or arguments, or a malformed input file
  3    partial: finished, but at least one host failed (details in the output)
  4    waiting: nothing failed, but some servers wait for an approval or a window (migrate)
  130  interrupted (Ctrl-C or SIGTERM); state on disk is consistent`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the exit code. The first interrupt cancels
// the root context so that commands stop cleanly; a second one exits at once.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(stderr, "shift: interrupted: stopping cleanly (press Ctrl-C again to quit at once)")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "shift: quitting now")
			os.Exit(exitInterrupted)
		case <-time.After(time.Hour):
		}
	}()

	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(ctx, err, stderr)
}

// exitCode turns an error into a message on stderr and an exit code. It is the
// only place that does so.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.silent:
		return ee.code
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "shift: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "shift: %v\n", err)
	if isCobraUsage(err) {
		fmt.Fprintln(stderr, "hint: see 'shift --help'")
		return exitUsage
	}
	if errors.As(err, &ee) {
		if ee.hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ee.hint)
		}
		return ee.code
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitFailure
}

// exitError carries an exit code (and optionally a hint) up to run.
type exitError struct {
	code   int
	err    error
	hint   string
	silent bool // the command already reported; only the code matters
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error, hint string) error {
	return &exitError{code: exitUsage, err: err, hint: hint}
}

// isCobraUsage reports whether err is one of cobra's own argument errors,
// which carry no type to test for.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "accepts ", "requires at least ", "requires at most ", "accepts between ", "invalid argument "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

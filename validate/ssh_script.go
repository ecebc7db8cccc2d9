package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shift-migrate/shift/remote/shscript"
)

// The Linux probe runs one shscript script: many commands in one round
// trip, each one's stdout, exit code and stderr between marker lines.
// Secrets (database passwords, HTTP URLs with tokens) reach the script on its
// stdin, never on a command line: the script reads them into shell variables
// S0, S1, … before anything else runs.

// asUser defines asuser, which runs a command as another local user:
// directly when already that user, with runuser when root, else through
// sudo -n (never prompting).
const asUser = `asuser() { u=$1; shift; ( cd / && if [ "$(id -un)" = "$u" ]; then "$@"; elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then runuser -u "$u" -- "$@"; else sudo -n -u "$u" -- "$@"; fi ); }
`

// streamer starts a command with stdin and stdout connected;
// *remote.SSHClient satisfies it.
type streamer interface {
	StartStream(ctx context.Context, cmd string) (io.WriteCloser, io.Reader, func() error, error)
}

// runScript runs steps as one script through c, handing secrets over stdin
// and running pre (shell lines that set variables the steps share) first,
// and returns the sections by step name, their stdout as fingerprints hold
// it (see fingerprintStdout).
func runScript(ctx context.Context, c streamer, secrets []string, pre string, steps []shscript.Step) (map[string]shscript.Section, error) {
	for i, s := range secrets {
		if strings.ContainsAny(s, "\n\r") {
			return nil, fmt.Errorf("secret %d holds a line break, which the probe cannot pass", i)
		}
	}
	marker := shscript.NewMarker()
	script := shscript.Script{Steps: steps, Secrets: len(secrets), Prelude: asUser + pre}
	stdin, stdout, wait, err := c.StartStream(ctx, shscript.Build(marker, script))
	if err != nil {
		return nil, err
	}
	go func() {
		for _, s := range secrets {
			io.WriteString(stdin, s+"\n")
		}
		stdin.Close()
	}()
	out, rerr := io.ReadAll(stdout)
	werr := wait()
	if err := errors.Join(werr, rerr); err != nil && werr != nil {
		return nil, werr
	}
	secs, complete := shscript.Split(out, marker)
	for k, s := range secs {
		s.Stdout = fingerprintStdout(s)
		secs[k] = s
	}
	if !complete {
		return secs, errors.New("the probe script ended early; its output was cut short")
	}
	return secs, nil
}

// fingerprintStdout returns a section's stdout as Linux fingerprints have
// always read it: without the final newline of a step that finished, and
// ending in a newline when the output was cut short. A command check's
// OutputSHA256 is the hash of this, so fingerprints taken before and after a
// cutover compare whichever version of shift took them.
func fingerprintStdout(s shscript.Section) []byte {
	if s.Code != -1 {
		return bytes.TrimSuffix(s.Stdout, []byte("\n"))
	}
	if len(s.Stdout) > 0 && !bytes.HasSuffix(s.Stdout, []byte("\n")) {
		return append(s.Stdout, '\n')
	}
	return s.Stdout
}

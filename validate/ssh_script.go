package validate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/remote"
)

// The Linux probe runs one POSIX sh script that runs many commands and
// prints each one's stdout, exit code and stderr between marker lines. The
// marker carries a random token, so a command's output cannot fake a section
// boundary. Secrets (database passwords, HTTP URLs with tokens) reach the
// script on its stdin, never on a command line: the script reads them into
// shell variables S0, S1, … before anything else runs.

// step is one command of a probe script.
type step struct {
	// name identifies the section in the output: [a-z0-9_]+.
	name string
	// cmd is a POSIX sh function body. It may "return N" but never "exit".
	cmd string
}

// section is the captured result of one step.
type section struct {
	Stdout []byte
	Stderr []byte
	// Code is the exit status; 127 means a command was not found, -1 that
	// the output was cut short.
	Code int
}

// firstLine returns the first non-empty line of stderr, for messages.
func (s section) firstLine() string {
	for _, l := range strings.Split(string(s.Stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// problem says why a step failed, or "" when it exited 0.
func (s section) problem() string {
	switch {
	case s.Code == 0:
		return ""
	case s.Code == -1:
		return "output cut short"
	case s.firstLine() != "":
		return fmt.Sprintf("exit status %d: %s", s.Code, s.firstLine())
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

func newMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "@@shift-" + hex.EncodeToString(b[:]) + "@@"
}

// scriptPrelude sets a predictable environment and defines asuser, which
// runs a command as another local user: directly when already that user,
// with runuser when root, else through sudo -n (never prompting).
const scriptPrelude = `PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; LC_ALL=C; export LC_ALL
asuser() { u=$1; shift; ( cd / && if [ "$(id -un)" = "$u" ]; then "$@"; elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then runuser -u "$u" -- "$@"; else sudo -n -u "$u" -- "$@"; fi ); }
`

// buildScript returns the command line that runs steps under sh with marker
// lines around each step's output, after reading nsecrets lines of stdin
// into S0 … S(n-1) and running pre (shell lines that set variables the steps
// share).
func buildScript(marker string, nsecrets int, pre string, steps []step) string {
	var b strings.Builder
	b.WriteString(scriptPrelude)
	for i := range nsecrets {
		fmt.Fprintf(&b, "IFS= read -r S%d\n", i)
	}
	b.WriteString(pre)
	b.WriteString("M='" + marker + "'\n")
	b.WriteString("exec 3>&1\n")
	b.WriteString(`run() { printf '%s out %s\n' "$M" "$1"; e=$( { "s_$1" </dev/null; } 2>&1 >&3 3>&- ); c=$?; printf '\n%s err %s %d\n' "$M" "$1" "$c"; [ -n "$e" ] && printf '%s\n' "$e"; return 0; }` + "\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "s_%s() {\n%s\n}\n", s.name, s.cmd)
	}
	for _, s := range steps {
		fmt.Fprintf(&b, "run %s\n", s.name)
	}
	b.WriteString(`printf '%s done\n' "$M"` + "\n")
	return "sh -c " + remote.ShellQuote(b.String())
}

// splitSections parses the output of a script built with marker. complete is
// false when the final marker is missing (the script was cut short).
func splitSections(out []byte, marker string) (secs map[string]section, complete bool) {
	secs = map[string]section{}
	mk := []byte(marker + " ")
	var (
		cur     string
		inErr   bool
		body    []byte
		current section
	)
	flush := func() {
		if cur == "" {
			return
		}
		if inErr {
			current.Stderr = bytes.TrimRight(body, "\n")
		} else {
			current.Stdout, current.Code = body, -1
		}
		secs[cur] = current
	}
	for len(out) > 0 {
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		out = rest
		if !bytes.HasPrefix(line, mk) {
			body = append(append(body, line...), '\n')
			continue
		}
		f := strings.Fields(string(line[len(mk):]))
		switch {
		case len(f) == 1 && f[0] == "done":
			flush()
			cur, complete = "", true
		case len(f) == 2 && f[0] == "out":
			flush()
			cur, inErr, body, current = f[1], false, nil, section{}
		case len(f) == 3 && f[0] == "err" && f[1] == cur && !inErr:
			// The script printed one newline before this marker.
			current.Stdout = bytes.TrimSuffix(body, []byte("\n"))
			current.Stdout = bytes.TrimSuffix(current.Stdout, []byte("\n"))
			current.Code, _ = strconv.Atoi(f[2])
			inErr, body = true, nil
		default:
			body = append(append(body, line...), '\n')
		}
	}
	flush()
	return secs, complete
}

// streamer starts a command with stdin and stdout connected;
// *remote.SSHClient satisfies it.
type streamer interface {
	StartStream(ctx context.Context, cmd string) (io.WriteCloser, io.Reader, func() error, error)
}

// runScript runs steps as one script through c, handing secrets over stdin,
// and returns the sections by step name.
func runScript(ctx context.Context, c streamer, secrets []string, pre string, steps []step) (map[string]section, error) {
	for i, s := range secrets {
		if strings.ContainsAny(s, "\n\r") {
			return nil, fmt.Errorf("secret %d holds a line break, which the probe cannot pass", i)
		}
	}
	marker := newMarker()
	stdin, stdout, wait, err := c.StartStream(ctx, buildScript(marker, len(secrets), pre, steps))
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
	secs, complete := splitSections(out, marker)
	if !complete {
		return secs, errors.New("the probe script ended early; its output was cut short")
	}
	return secs, nil
}

package ssh

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/remote"
)

// A probe runs few round trips: each script below is one POSIX sh program
// that runs many commands and prints each one's stdout, exit code and stderr
// between marker lines. The marker carries a random token, so a command's
// output cannot fake a section boundary by accident.

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
	// Code is the exit status; 127 means a command was not found.
	Code int
}

// missing reports whether the step failed because a command does not exist.
func (s section) missing() bool { return s.Code == 127 }

// firstLine returns the first non-empty line of stderr, for error messages.
func (s section) firstLine() string {
	for _, l := range strings.Split(string(s.Stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// newMarker returns a fresh marker for one script run.
func newMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "@@shift-" + hex.EncodeToString(b[:]) + "@@"
}

// buildScript returns the command line that runs steps under sh, with marker
// lines around each step's output. The command does not depend on the login
// shell of the user.
func buildScript(marker string, steps []step) string {
	var b strings.Builder
	b.WriteString("PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; LC_ALL=C; export LC_ALL\n")
	b.WriteString("M='" + marker + "'\n")
	b.WriteString("exec 3>&1\n")
	// run NAME: stdout goes straight to fd 3; stderr is captured and printed
	// after the exit code.
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
			// Stdout was cut short: keep what arrived.
			current.Stdout = body
			current.Code = -1
		}
		secs[cur] = current
	}
	for len(out) > 0 {
		line := out
		rest := []byte(nil)
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, rest = out[:i+1], out[i+1:]
		}
		out = rest
		if !bytes.HasPrefix(line, mk) {
			body = append(body, line...)
			continue
		}
		f := strings.Fields(string(line[len(mk):]))
		switch {
		case len(f) == 1 && f[0] == "done":
			flush()
			cur = ""
			complete = true
		case len(f) == 2 && f[0] == "out":
			flush()
			cur, inErr, body, current = f[1], false, nil, section{}
		case len(f) == 3 && f[0] == "err" && f[1] == cur && !inErr:
			// The script printed one newline before this marker.
			current.Stdout = bytes.TrimSuffix(body, []byte("\n"))
			current.Code, _ = strconv.Atoi(f[2])
			inErr, body = true, nil
		default:
			body = append(body, line...)
		}
	}
	flush()
	return secs, complete
}

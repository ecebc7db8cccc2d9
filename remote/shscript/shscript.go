package shscript

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/remote"
)

// Step is one command of a script.
type Step struct {
	// Name identifies the step's section in the output: [a-z0-9_]+, unique
	// within a script.
	Name string
	// Cmd is the body of a POSIX sh function. It may "return N" but never
	// "exit", which would end the whole script.
	Cmd string
}

// Script is the steps of one script and what they share.
type Script struct {
	Steps []Step
	// Secrets is how many lines of stdin the script reads, first of all,
	// into S0 … S(Secrets-1); the caller writes one secret per line. Zero
	// reads nothing.
	Secrets int
	// Prelude is sh text that runs after the secrets are read and before the
	// first step: functions and variables the steps share. Empty adds nothing.
	Prelude string
}

// Section is the captured result of one step.
type Section struct {
	// Stdout is what the step printed, byte for byte.
	Stdout []byte
	// Stderr is what the step printed on stderr, without trailing newlines.
	Stderr []byte
	// Code is the exit status: 127 means a command was not found, -1 that
	// the output was cut short before the step ended.
	Code int
}

// Missing reports whether the step failed because a command does not exist.
func (s Section) Missing() bool { return s.Code == 127 }

// FirstLine returns the first non-empty line of stderr, for messages.
func (s Section) FirstLine() string {
	for _, l := range strings.Split(string(s.Stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// Problem says why the step failed ("exit status 3: first line of stderr",
// "output cut short"), or "" when it exited 0.
func (s Section) Problem() string {
	switch {
	case s.Code == 0:
		return ""
	case s.Code == -1:
		return "output cut short"
	case s.FirstLine() != "":
		return fmt.Sprintf("exit status %d: %s", s.Code, s.FirstLine())
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

// NewMarker returns a fresh marker for one run of a script.
func NewMarker() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "@@shift-" + hex.EncodeToString(b[:]) + "@@"
}

// Build returns the command line that runs s under sh, whatever the login
// shell of the user, with marker lines around each step's output. PATH
// includes the sbin directories and LC_ALL is C.
func Build(marker string, s Script) string {
	var b strings.Builder
	b.WriteString("PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; LC_ALL=C; export LC_ALL\n")
	for i := range s.Secrets {
		fmt.Fprintf(&b, "IFS= read -r S%d\n", i)
	}
	b.WriteString(s.Prelude)
	b.WriteString("M='" + marker + "'\n")
	b.WriteString("exec 3>&1\n")
	// run NAME: stdout goes straight to fd 3; stderr is captured and printed
	// after the exit code. M is not exported, so the steps' commands never
	// see it.
	b.WriteString(`run() { printf '%s out %s\n' "$M" "$1"; e=$( { "s_$1" </dev/null; } 2>&1 >&3 3>&- ); c=$?; printf '\n%s err %s %d\n' "$M" "$1" "$c"; [ -n "$e" ] && printf '%s\n' "$e"; return 0; }` + "\n")
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "s_%s() {\n%s\n}\n", st.Name, st.Cmd)
	}
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "run %s\n", st.Name)
	}
	b.WriteString(`printf '%s done\n' "$M"` + "\n")
	return "sh -c " + remote.ShellQuote(b.String())
}

// Split parses the output of a script built with marker into sections by
// step name. complete is false when the final marker is missing (the script
// was cut short); the sections that arrived are returned all the same, the
// one cut with Code -1. Split never returns a nil map.
func Split(out []byte, marker string) (secs map[string]Section, complete bool) {
	secs = map[string]Section{}
	mk := []byte(marker + " ")
	var (
		cur     string
		inErr   bool
		body    []byte
		current Section
	)
	flush := func() {
		if cur == "" {
			return
		}
		if inErr {
			current.Stderr = bytes.TrimRight(body, "\n")
		} else {
			// Stdout was cut short: keep what arrived.
			current.Stdout, current.Code = body, -1
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
			cur, complete = "", true
		case len(f) == 2 && f[0] == "out":
			flush()
			cur, inErr, body, current = f[1], false, nil, Section{}
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

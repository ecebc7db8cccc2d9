package shscript

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runSh runs cmd with the real sh of this machine, stdin from stdin: the
// same command line a remote host receives, without the SSH transport.
func runSh(t *testing.T, cmd, stdin string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("sh: %v: %s", err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Errorf("the script wrote to its own stderr: %q", stderr.Bytes())
	}
	return out
}

// TestScriptSections runs a script through sh and checks that every
// section's stdout comes back byte for byte, with its exit code and stderr.
func TestScriptSections(t *testing.T) {
	steps := []Step{
		{Name: "nonl", Cmd: `printf 'no newline'`},
		{Name: "blank", Cmd: `printf 'x\n\n'`},
		{Name: "fails", Cmd: `echo out; echo 'it failed' >&2; return 3`},
		{Name: "missing", Cmd: `no-such-command-shift-test`},
		{Name: "fake", Cmd: `echo '@@shift-0000000000000000@@ done'; sh -c 'echo "[$M]"'`},
		{Name: "quotes", Cmd: `printf '%s\n' "it's" '"quoted"'`},
		{Name: "stdin", Cmd: `cat`},
		{Name: "empty", Cmd: `:`},
	}
	marker := NewMarker()
	out := runSh(t, Build(marker, Script{Steps: steps}), "stdin must not reach the steps\n")
	secs, complete := Split(out, marker)
	if !complete {
		t.Fatalf("incomplete: %q", out)
	}
	want := map[string]Section{
		"nonl":    {Stdout: []byte("no newline")},
		"blank":   {Stdout: []byte("x\n\n")},
		"fails":   {Stdout: []byte("out\n"), Stderr: []byte("it failed"), Code: 3},
		"missing": {Code: 127},
		"quotes":  {Stdout: []byte("it's\n\"quoted\"\n")},
		"stdin":   {},
		"empty":   {},
	}
	for name, w := range want {
		g, ok := secs[name]
		if !ok || string(g.Stdout) != string(w.Stdout) || g.Code != w.Code || (w.Stderr != nil && string(g.Stderr) != string(w.Stderr)) {
			t.Errorf("%s = {%q %q %d}, want {%q %q %d}", name, g.Stdout, g.Stderr, g.Code, w.Stdout, w.Stderr, w.Code)
		}
	}
	if m := secs["missing"]; !m.Missing() || m.FirstLine() == "" || !strings.HasPrefix(m.Problem(), "exit status 127: ") {
		t.Errorf("missing command: %+v, problem %q", m, m.Problem())
	}
	// A marker of another run stays in the output, and the commands the
	// script runs cannot see this run's marker.
	if f := secs["fake"]; f.Code != 0 || string(f.Stdout) != "@@shift-0000000000000000@@ done\n[]\n" {
		t.Errorf("fake marker: %+v", f)
	}
	if len(secs) != len(steps) {
		t.Errorf("%d sections for %d steps: %+v", len(secs), len(steps), secs)
	}
	// Output cut in the middle of a step.
	cut := out[:bytes.Index(out, []byte(marker+" err fails"))]
	secs, complete = Split(cut, marker)
	if complete || secs["fails"].Code != -1 || secs["fails"].Problem() != "output cut short" || string(secs["blank"].Stdout) != "x\n\n" {
		t.Errorf("cut output: complete=%v %+v", complete, secs)
	}
	if _, ok := secs["quotes"]; ok {
		t.Errorf("a step after the cut has a section: %+v", secs["quotes"])
	}
}

// TestScriptSecrets: secrets arrive on stdin, one a line, into S0, S1, …
// before the prelude runs; they are not on the command line.
func TestScriptSecrets(t *testing.T) {
	secrets := []string{`pa ss'w"ord\n $HOME`, "https://shop/health?token=t0ken"}
	s := Script{
		Secrets: len(secrets),
		Prelude: "URL=\"$S1\"\nshared() { printf '%s' \"$1\"; }\n",
		Steps: []Step{
			{Name: "pw", Cmd: `printf '%s' "$S0"`},
			{Name: "url", Cmd: `shared "$URL"`},
			{Name: "env", Cmd: `locale 2>/dev/null | grep '^LC_ALL=' || echo "LC_ALL=$LC_ALL"`},
		},
	}
	marker := NewMarker()
	cmd := Build(marker, s)
	for _, v := range secrets {
		if strings.Contains(cmd, v) {
			t.Fatalf("secret %q is on the command line", v)
		}
	}
	out := runSh(t, cmd, strings.Join(secrets, "\n")+"\n")
	secs, complete := Split(out, marker)
	if !complete {
		t.Fatalf("incomplete: %q", out)
	}
	if g := secs["pw"]; g.Code != 0 || string(g.Stdout) != secrets[0] {
		t.Errorf("S0 = %+v, want %q", g, secrets[0])
	}
	if g := secs["url"]; g.Code != 0 || string(g.Stdout) != secrets[1] {
		t.Errorf("prelude's URL = %+v, want %q", g, secrets[1])
	}
	if g := secs["env"]; g.Code != 0 || !strings.Contains(string(g.Stdout), "LC_ALL=C") {
		t.Errorf("environment: %+v", g)
	}
}

func TestProblem(t *testing.T) {
	for _, tt := range []struct {
		s    Section
		want string
	}{
		{Section{Stdout: []byte("fine")}, ""},
		{Section{Code: -1, Stderr: []byte("ignored")}, "output cut short"},
		{Section{Code: 3, Stderr: []byte("\n  no systemd \nmore\n")}, "exit status 3: no systemd"},
		{Section{Code: 2}, "exit status 2"},
	} {
		if got := tt.s.Problem(); got != tt.want {
			t.Errorf("Problem(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestNewMarker(t *testing.T) {
	a, b := NewMarker(), NewMarker()
	if a == b || !strings.HasPrefix(a, "@@shift-") || !strings.HasSuffix(a, "@@") || len(a) != len("@@shift-")+16+2 {
		t.Errorf("markers %q and %q", a, b)
	}
}

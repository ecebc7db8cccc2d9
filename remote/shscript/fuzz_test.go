package shscript

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzSplit feeds Split anything: it never panics and never returns nil.
func FuzzSplit(f *testing.F) {
	const m = "@@shift-0123456789abcdef@@"
	f.Add([]byte(m + " out a\nhello\n\n" + m + " err a 0\n" + m + " out b\n\n" + m + " err b 127\nsh: b: not found\n" + m + " done\n"))
	f.Add([]byte(m + " out a\npartial"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if secs, _ := Split(b, m); secs == nil {
			t.Fatal("nil sections")
		}
	})
}

// FuzzSplitRoundTrip prints one section the way the script's run function
// does (stdout as is, a newline, the exit code, stderr without its trailing
// newlines) and checks that Split gives it back, whole and cut at any byte.
func FuzzSplitRoundTrip(f *testing.F) {
	const m = "@@shift-0123456789abcdef@@"
	f.Add([]byte("x\n\n"), []byte("it failed\n"), uint8(3), uint(10))
	f.Add([]byte("no newline"), []byte(""), uint8(0), uint(0))
	f.Add([]byte(m+" done\n"), []byte("\n\n"), uint8(127), uint(40))
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, code uint8, cut uint) {
		if bytes.Contains(stdout, []byte(m)) || bytes.Contains(stderr, []byte(m)) {
			t.Skip("the random token keeps the marker out of real output")
		}
		var out bytes.Buffer
		fmt.Fprintf(&out, "%s out a\n%s\n%s err a %d\n", m, stdout, m, code)
		if e := bytes.TrimRight(stderr, "\n"); len(e) > 0 {
			fmt.Fprintf(&out, "%s\n", e)
		}
		fmt.Fprintf(&out, "%s done\n", m)
		secs, complete := Split(out.Bytes(), m)
		a := secs["a"]
		if !complete || len(secs) != 1 || !bytes.Equal(a.Stdout, stdout) || a.Code != int(code) || !bytes.Equal(a.Stderr, bytes.TrimRight(stderr, "\n")) {
			t.Fatalf("Split(%q) = %+v, %v", out.Bytes(), secs, complete)
		}
		// Cut short (before the final newline, whose loss does not matter):
		// what arrived of stdout is kept.
		n := int(cut % uint(out.Len()-1))
		secs, complete = Split(out.Bytes()[:n], m)
		if complete {
			t.Fatalf("Split of %d of %d bytes is complete", n, out.Len())
		}
		if head := len(m) + len(" out a\n"); n > head && n <= head+len(stdout) {
			if a := secs["a"]; a.Code != -1 || !bytes.Equal(a.Stdout, stdout[:n-head]) {
				t.Fatalf("cut after %d bytes of stdout: %+v", n-head, a)
			}
		}
	})
}

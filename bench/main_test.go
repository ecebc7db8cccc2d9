package bench

import (
	"fmt"
	"os"
	"testing"
)

// workDir holds what the benchmarks build once per process (the images, the
// shift binary, the sshd); it lives in the system temp directory and is
// removed when the tests end.
var workDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "shift-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = d
	code := m.Run()
	closeSetup()
	os.RemoveAll(d)
	os.Exit(code)
}

package local_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/local"
	"github.com/shift-migrate/shift/cloud/targettest"
)

// missing fails under CI=true and skips otherwise, like sshd.Missing.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a required component is missing: %s", why)
	}
	t.Skip(why)
}

func needQEMU(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		missing(t, "qemu-system-x86_64 not found (make deps installs qemu-system-x86)")
	}
	if _, err := os.Stat("/usr/share/OVMF/OVMF_CODE.fd"); err != nil {
		missing(t, "OVMF not found (make deps installs ovmf)")
	}
}

func newTarget(t *testing.T, dir string) *local.Target {
	t.Helper()
	tg, err := local.New(local.Options{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestConformance(t *testing.T) {
	needQEMU(t)
	targettest.Run(t, func(t *testing.T) cloud.Target {
		tg := newTarget(t, t.TempDir())
		t.Cleanup(func() { stopAll(t, tg) })
		return tg
	})
}

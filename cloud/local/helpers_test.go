package local_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shift-migrate/shift/cloud/local"
)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// stopAll forces off every VM of the target, so no QEMU outlives a test.
func stopAll(t testing.TB, tg *local.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vms, err := tg.ListVMs(ctx)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, vm := range vms {
		if err := tg.StopVM(ctx, vm.Spec.Name, -1); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

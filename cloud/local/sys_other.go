//go:build !linux

package local

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// The local cloud runs QEMU on a Linux appliance. On other systems the
// package builds (the Windows agent is the same binary) but every system
// call it needs reports that it is unsupported.

var errNotLinux = errors.New("the local cloud needs a Linux appliance")

const kvmAPIVersion = 12

func punchHole(f *os.File, off, n int64) error          { return errNotLinux }
func flock(ctx context.Context, f *os.File) error       { return errNotLinux }
func tryFlock(f *os.File, exclusive bool) (bool, error) { return false, errNotLinux }
func reflink(dst, src *os.File) error                   { return errNotLinux }
func kvmAPI() (int, error)                              { return 0, errNotLinux }
func alive(pid int) bool                                { return false }
func setsid() *syscall.SysProcAttr                      { return &syscall.SysProcAttr{} }
func kill(pid int) error                                { return errNotLinux }

package local

import (
	"context"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	fallocKeepSize   = 0x01   // FALLOC_FL_KEEP_SIZE
	fallocPunchHole  = 0x02   // FALLOC_FL_PUNCH_HOLE
	kvmGetAPIVersion = 0xAE00 // KVM_GET_API_VERSION
	kvmAPIVersion    = 12
)

// punchHole deallocates [off, off+n) of f, which then reads as zeros.
func punchHole(f *os.File, off, n int64) error {
	return syscall.Fallocate(int(f.Fd()), fallocPunchHole|fallocKeepSize, off, n)
}

// flock takes an exclusive lock on f, polling so that ctx can end the wait.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tryFlock takes a shared or exclusive flock on f without waiting; false
// means another open file holds a lock that conflicts. Closing f releases
// it.
func tryFlock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// reflink makes dst share all of src's blocks (FICLONE): an instant,
// copy-on-write copy where the filesystem can (XFS, Btrfs); others refuse.
func reflink(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}

// kvmAPI opens /dev/kvm and asks for its API version.
func kvmAPI() (int, error) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), kvmGetAPIVersion, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill(0)
	}
	// Field 3 after "pid (comm) ": the state letter.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}

func setsid() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

func kill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

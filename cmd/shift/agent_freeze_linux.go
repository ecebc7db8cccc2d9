package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The ioctls of linux/fs.h that freeze and thaw a filesystem
// (_IOWR('X', 119, int) and _IOWR('X', 120, int)).
const (
	ioctlFIFREEZE = 0xC0045877
	ioctlFITHAW   = 0xC0045878
)

// freezeDisk freezes every filesystem mounted from disk or one of its
// partitions, so that what the agent reads is one moment of the disk: the
// filesystem flushes everything, its allocation maps are current, and
// writers wait until the thaw. It returns the frozen mount points and the
// function that thaws them. The thaw also runs on its own after max, and on
// SIGHUP, SIGINT and SIGTERM (a dropped SSH session), so that a vanished
// appliance never leaves a server frozen. Filesystems that cannot be frozen
// are reported in skipped and left as they are.
func freezeDisk(diskPath string, max time.Duration) (frozen, skipped []string, thaw func(), err error) {
	st, err := os.Stat(diskPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if st.Mode()&os.ModeDevice == 0 {
		// An image file has no mounted filesystems to freeze.
		return nil, nil, func() {}, nil
	}
	sys, err := sysBlock(uint64(st.Sys().(*syscall.Stat_t).Rdev))
	if err != nil {
		return nil, nil, nil, err
	}
	mounts, err := mountsOf(sys)
	if err != nil {
		return nil, nil, nil, err
	}
	// Freeze the deepest mount points first, so that a parent freezes with
	// its children already quiet.
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	var fds []int
	for _, m := range mounts {
		fd, err := unix.Open(m, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.IoctlSetInt(fd, ioctlFIFREEZE, 0)
			if err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", m, err))
			continue
		}
		fds = append(fds, fd)
		frozen = append(frozen, m)
	}
	// A watchdog outside this process thaws the filesystems after max even
	// if the agent dies without a chance to (SIGKILL, the OOM killer).
	watchdog := startThawWatchdog(frozen, max)
	var once sync.Once
	sigs := make(chan os.Signal, 1)
	thaw = func() {
		once.Do(func() {
			signal.Stop(sigs)
			for i := len(fds) - 1; i >= 0; i-- {
				unix.IoctlSetInt(fds[i], ioctlFITHAW, 0)
				unix.Close(fds[i])
			}
			if watchdog != nil {
				watchdog.Process.Kill()
				watchdog.Wait()
			}
		})
	}
	// SIGPIPE too: a write to the appliance's vanished stdout must thaw,
	// not kill the agent with the filesystems frozen.
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	go func() {
		select {
		case s, ok := <-sigs:
			if !ok {
				return
			}
			thaw()
			fmt.Fprintf(os.Stderr, "agent: %v: filesystems thawed\n", s)
			os.Exit(exitInterrupted)
		case <-time.After(max):
			thaw()
			fmt.Fprintf(os.Stderr, "agent: filesystems thawed after %s: the freeze lasted too long\n", max)
		}
	}()
	return frozen, skipped, thaw, nil
}

// sysBlock returns the sysfs directory of the block device dev.
func sysBlock(dev uint64) (string, error) {
	p, err := filepath.EvalSymlinks(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev)))
	if err != nil {
		return "", fmt.Errorf("sysfs entry of device %d:%d: %w", unix.Major(dev), unix.Minor(dev), err)
	}
	return p, nil
}

// mountsOf lists one mount point per filesystem mounted from the disk whose
// sysfs directory is disk, or from one of its partitions.
func mountsOf(disk string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source super
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || seen[fields[2]] || fields[3] != "/" {
			continue
		}
		var maj, min uint32
		if _, err := fmt.Sscanf(fields[2], "%d:%d", &maj, &min); err != nil || maj == 0 {
			continue
		}
		p, err := sysBlock(unix.Mkdev(maj, min))
		if err != nil || (p != disk && filepath.Dir(p) != disk) {
			continue
		}
		seen[fields[2]] = true
		out = append(out, unescapeMount(fields[4]))
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dropCache evicts a block device's cached pages before the agent reads
// it. A filesystem writes file data to the disk past the device's own page
// cache, so pages an earlier pass cached there can be stale: reading them
// would miss changes. An image file needs nothing.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeDevice == 0 {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// startThawWatchdog starts a process of its own session that thaws the
// mount points after max, for the case where the agent is killed before it
// can thaw them itself; the agent kills it when it thaws. Reading and
// running programs works on a frozen filesystem; only writes wait. nil
// when it cannot start (no sh or fsfreeze): the agent's own timer and
// signal handlers still thaw.
func startThawWatchdog(mounts []string, max time.Duration) *exec.Cmd {
	if len(mounts) == 0 {
		return nil
	}
	if _, err := exec.LookPath("fsfreeze"); err != nil {
		return nil
	}
	script := fmt.Sprintf("sleep %d; for m in \"$@\"; do fsfreeze -u \"$m\" 2>/dev/null; done", int(max.Seconds())+30)
	cmd := exec.Command("sh", append([]string{"-c", script, "thaw-watchdog"}, mounts...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil
	}
	return cmd
}

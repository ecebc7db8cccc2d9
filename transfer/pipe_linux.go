package transfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// GrowPipe enlarges the pipe f writes to, when it is one, to the largest
// size an unprivileged process may set (/proc/sys/fs/pipe-max-size, 1 MiB
// by default). The agent's stdout under sshd is such a pipe: with 64 KiB,
// the kernel's default, a chunk's reply of a few MiB crosses it in dozens
// of rounds of the agent waking to write and sshd waking to read. Failing
// is harmless and silent: the pipe keeps its size.
func GrowPipe(f *os.File) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	size := 1 << 20
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		var n int
		for _, c := range b {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if n > 0 {
			size = min(n, 4<<20)
		}
	}
	rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
}

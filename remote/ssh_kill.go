package remote

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"
)

// OpenSSH does not kill a command when its session is closed, and refuses
// the "signal" request for root logins. So every command first reports its
// process group on stderr (sshd makes each session's shell a session leader,
// so its PID is the group), and a canceled command is killed from a second
// session with "kill -KILL -- -PGID". This assumes a POSIX login shell, as
// the commands themselves do.

// pgidPrefix starts the line a wrapped command writes first on stderr.
const pgidPrefix = "shift-pgid:"

// reportPGID prefixes cmd so that it first prints its process group.
func reportPGID(cmd string) string {
	return "echo " + pgidPrefix + "$$ >&2; " + cmd
}

// pgidWriter passes stderr on to w, minus the process group line that
// reportPGID makes the command write first.
type pgidWriter struct {
	mu    sync.Mutex
	w     io.Writer
	head  []byte // stderr until the first newline
	done  bool
	pgid  int
	known chan struct{} // closed once done
}

func newPGIDWriter(w io.Writer) *pgidWriter {
	return &pgidWriter{w: w, known: make(chan struct{})}
}

func (p *pgidWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	if !p.done {
		p.head = append(p.head, b...)
		i := bytes.IndexByte(p.head, '\n')
		if i < 0 && len(p.head) < 64 {
			return n, nil
		}
		p.done = true
		close(p.known)
		b, p.head = p.head, nil
		if v, ok := bytes.CutPrefix(b[:max(i, 0)], []byte(pgidPrefix)); ok {
			p.pgid, _ = strconv.Atoi(string(v))
			b = b[i+1:]
		}
	}
	_, err := p.w.Write(b)
	return n, err
}

// flush passes on what is held back when stderr ended before a newline.
func (p *pgidWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.done = true
		close(p.known)
		p.w.Write(p.head)
		p.head = nil
	}
}

// group returns the process group, waiting up to 3 s for the line that
// reports it: it may still be on its way when the caller gives up.
func (p *pgidWriter) group() int {
	select {
	case <-p.known:
	case <-time.After(3 * time.Second):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pgid
}

// killGroup kills the process group that errw reports on the host, from a
// new session, in the background and bounded in time: the caller has already
// given up. sudo says whether the group runs as root under a non-root login.
func (c *SSHClient) killGroup(errw *pgidWriter, sudo bool) {
	go func() {
		pgid := errw.group()
		if pgid <= 1 {
			return
		}
		cmd := "kill -KILL -- -" + strconv.Itoa(pgid) + " 2>/dev/null"
		if sudo {
			cmd = "sudo -n " + cmd
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sess, err := c.client.NewSession()
		if err != nil {
			return
		}
		defer sess.Close()
		stop := context.AfterFunc(ctx, func() { sess.Close() })
		defer stop()
		sess.Run(cmd)
	}()
}

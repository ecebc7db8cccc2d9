package local

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// qmp is a connection to a QEMU's QMP socket.
type qmp struct {
	conn net.Conn
	r    *bufio.Reader
}

// maxSunPath is the longest unix socket path the kernel takes, minus one.
const maxSunPath = 107

// dialQMP connects to the socket at path, negotiates capabilities and
// returns the connection. A path too long for a unix socket address is
// reached through its directory opened as /proc/self/fd/N.
func dialQMP(ctx context.Context, path string) (*qmp, error) {
	addr := path
	if len(addr) > maxSunPath {
		dir, err := os.Open(filepath.Dir(path))
		if err != nil {
			return nil, err
		}
		defer dir.Close()
		addr = "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		return nil, err
	}
	q := &qmp{conn: conn, r: bufio.NewReader(conn)}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := q.read(); err != nil { // greeting
		conn.Close()
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := q.exec("qmp_capabilities"); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return q, nil
}

type qmpMsg struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Event  string          `json:"event"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

func (q *qmp) read() (qmpMsg, error) {
	var m qmpMsg
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("qmp: %q: %w", line, err)
	}
	return m, nil
}

// exec runs a command and returns its result, skipping events.
func (q *qmp) exec(cmd string) (json.RawMessage, error) {
	q.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(q.conn, "{\"execute\":%q}\n", cmd); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		m, err := q.read()
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		if m.Error != nil {
			return nil, fmt.Errorf("qmp %s: %s: %s", cmd, m.Error.Class, m.Error.Desc)
		}
		if m.Return != nil {
			return m.Return, nil
		}
	}
}

func (q *qmp) Close() error { return q.conn.Close() }

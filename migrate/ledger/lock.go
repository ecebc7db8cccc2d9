package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockFile is the lock's file name inside the state directory.
const lockFile = "lock"

// LockedError says which process holds a state directory. It matches
// ErrLocked.
type LockedError struct {
	// Dir is the state directory.
	Dir string
	// PID, Host and Since describe the holder; zero when its lock file could
	// not be read.
	PID   int
	Host  string
	Since time.Time
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("state directory %s is in use by another shift process; wait for it to finish or stop it", e.Dir)
	}
	since := e.Since.Local().Format("15:04:05")
	if y, m, d := e.Since.Local().Date(); y != time.Now().Year() || m != time.Now().Month() || d != time.Now().Day() {
		since = e.Since.Local().Format("2006-01-02 15:04:05")
	}
	return fmt.Sprintf("state directory %s is in use by shift (pid %d on host %s, since %s); wait for it to finish or stop it",
		e.Dir, e.PID, e.Host, since)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// holder is what the lock file says about the process holding it.
type holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// dirLock is an exclusive lock on a state directory, held through an open
// file. The operating system drops it when the process dies, however it
// dies, so a lock left by kill -9 never blocks the next run.
type dirLock struct {
	f *os.File
}

// lockDir locks dir for this process, or says who holds it.
func lockDir(dir string, now time.Time) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger: lock state directory: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: lock state directory %s: %w", dir, err)
	}
	if !ok {
		f.Close()
		return nil, lockedBy(dir, path)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(holder{PID: os.Getpid(), Host: host, Since: now.UTC().Truncate(time.Second)})
	if err := writeHolder(f, append(b, '\n')); err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("ledger: lock state directory %s: %w", dir, err)
	}
	return &dirLock{f: f}, nil
}

func writeHolder(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// lockedBy reads the holder from the lock file. The holder writes it just
// after locking, so an empty file is read again for a moment.
func lockedBy(dir, path string) error {
	e := &LockedError{Dir: dir}
	for range 20 {
		b, err := os.ReadFile(path)
		var h holder
		if err == nil && json.Unmarshal(b, &h) == nil && h.PID != 0 {
			e.PID, e.Host, e.Since = h.PID, h.Host, h.Since
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// release unlocks the directory. The lock file stays: removing it would race
// with a process that has just opened it.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Truncate(0), unlock(l.f), l.f.Close())
	l.f = nil
	if err != nil {
		return fmt.Errorf("ledger: unlock state directory: %w", err)
	}
	return nil
}

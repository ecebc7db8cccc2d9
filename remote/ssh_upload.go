package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/pkg/sftp"
	"github.com/shift-migrate/shift/inventory"
)

// Upload copies r to remotePath over SFTP with the permission bits of mode.
// It writes a temporary file next to remotePath and renames it into place,
// so a running program at remotePath (the shift agent) can be replaced and a
// failed upload leaves no partial file. When ctx ends, the transfer stops.
func (c *SSHClient) Upload(ctx context.Context, r io.Reader, remotePath string, mode os.FileMode) error {
	const step = "upload"
	fail := func(kind string, err error, hint string) error {
		if ctx.Err() != nil {
			return ctxError(c.host, step, fmt.Errorf("%s: %w", remotePath, ctx.Err()))
		}
		return &Error{Host: c.host, Step: step, Kind: kind, Err: fmt.Errorf("%s: %w", remotePath, err), Hint: hint}
	}
	if err := ctx.Err(); err != nil {
		return ctxError(c.host, step, err)
	}
	sc, err := sftp.NewClient(c.client)
	if err != nil {
		return fail(inventory.ErrUnsupported, fmt.Errorf("start SFTP: %w", err),
			"enable the SFTP subsystem in the host's sshd_config (Subsystem sftp internal-sftp)")
	}
	defer sc.Close()
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	defer stop()

	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := path.Join(path.Dir(remotePath), "."+path.Base(remotePath)+".shift-"+hex.EncodeToString(suffix[:]))
	err = writeRemote(sc, r, tmp, mode)
	if err == nil {
		err = sc.PosixRename(tmp, remotePath)
	}
	if err != nil {
		sc.Remove(tmp)
		kind, hint := inventory.ErrProbe, ""
		switch {
		case errors.Is(err, os.ErrNotExist):
			hint = "the directory " + path.Dir(remotePath) + " does not exist on the host: create it first"
		case errors.Is(err, os.ErrPermission):
			kind = inventory.ErrPermission
			hint = "user " + c.user + " cannot write there: upload to a directory it owns (such as /tmp) and move the file with a privileged command"
		}
		return fail(kind, err, hint)
	}
	return nil
}

func writeRemote(sc *sftp.Client, r io.Reader, name string, mode os.FileMode) error {
	f, err := sc.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

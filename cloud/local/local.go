package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/shift-migrate/shift/cloud"
)

// Options configure a Target.
type Options struct {
	// Dir is the state directory; it must be set (DefaultDir gives the
	// usual one). It is created when missing.
	Dir string
	// QEMU is the qemu-system-x86_64 binary; empty means the one on PATH.
	QEMU string
	// Accel is "kvm" or "tcg"; empty means KVM when a probe shows that it
	// works, TCG otherwise.
	Accel string
	// OVMFCode and OVMFVars are the UEFI firmware and its variable store
	// template; empty means Debian's ovmf package
	// (/usr/share/OVMF/OVMF_CODE.fd, OVMF_VARS.fd).
	OVMFCode, OVMFVars string
	// Logger receives what the target does; nil means discard.
	Logger *slog.Logger
}

// Target is the local cloud.Target. It is safe for concurrent use, also by
// several processes over the same state directory.
type Target struct {
	opts Options
	log  *slog.Logger
	mu   sync.Mutex // serialises this process's state changes; lock() adds the flock

	accelOnce   sync.Once
	accel       string
	accelReason string

	noReflink bool // tests: CloneDisk copies even where it could reflink
}

var (
	_ cloud.Target              = (*Target)(nil)
	_ cloud.DiskReader          = (*Target)(nil)
	_ cloud.Consoler            = (*Target)(nil)
	_ cloud.Disk                = (*diskHandle)(nil)
	_ io.ReaderAt               = (*diskHandle)(nil)
	_ interface{ Sync() error } = (*diskHandle)(nil)
)

// New opens (creating when missing) the state directory of opts.Dir.
func New(opts Options) (*Target, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("local: no state directory: %w", cloud.ErrInvalid)
	}
	if opts.QEMU == "" {
		opts.QEMU = "qemu-system-x86_64"
	}
	if opts.OVMFCode == "" {
		opts.OVMFCode = "/usr/share/OVMF/OVMF_CODE.fd"
	}
	if opts.OVMFVars == "" {
		opts.OVMFVars = "/usr/share/OVMF/OVMF_VARS.fd"
	}
	switch opts.Accel {
	case "", "kvm", "tcg":
	default:
		return nil, fmt.Errorf("local: accelerator %q: use kvm, tcg or empty for automatic: %w", opts.Accel, cloud.ErrInvalid)
	}
	for _, d := range []string{opts.Dir, filepath.Join(opts.Dir, "disks"), filepath.Join(opts.Dir, "vms")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("local: state directory: %w", err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Target{opts: opts, log: log}, nil
}

// DefaultDir returns the state directory shift uses when none is given:
// $SHIFT_STATE, else $XDG_STATE_HOME/shift, else ~/.local/state/shift.
func DefaultDir() (string, error) {
	if d := os.Getenv("SHIFT_STATE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "shift"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state directory: %w (set SHIFT_STATE or --state)", err)
	}
	return filepath.Join(home, ".local", "state", "shift"), nil
}

// Dir returns the state directory.
func (t *Target) Dir() string { return t.opts.Dir }

// Kind returns "local".
func (t *Target) Kind() string { return "local" }

// lock takes the in-process mutex and the state directory's flock; the
// returned function releases both.
func (t *Target) lock(ctx context.Context) (func(), error) {
	t.mu.Lock()
	f, err := os.OpenFile(filepath.Join(t.opts.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.mu.Unlock()
		return nil, fmt.Errorf("local: state lock: %w", err)
	}
	if err := flock(ctx, f); err != nil {
		f.Close()
		t.mu.Unlock()
		return nil, fmt.Errorf("local: state lock %s: %w", f.Name(), err)
	}
	return func() {
		f.Close() // releases the flock
		t.mu.Unlock()
	}, nil
}

func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: %s: %w", what, err)
	}
	return nil
}

// diskMeta is disks/NAME.json.
type diskMeta struct {
	SizeBytes int64             `json:"size_bytes"`
	Finalized bool              `json:"finalized"`
	VM        string            `json:"vm,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

func (t *Target) diskPath(name string) string {
	return filepath.Join(t.opts.Dir, "disks", name+".raw")
}

func (t *Target) diskMetaPath(name string) string {
	return filepath.Join(t.opts.Dir, "disks", name+".json")
}

// readDisk reads a disk's metadata; ErrNotFound when it has none.
func (t *Target) readDisk(name string) (diskMeta, error) {
	var m diskMeta
	b, err := os.ReadFile(t.diskMetaPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("local: disk %s: %w", name, cloud.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("local: disk %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("local: disk %s: %s: %w (fix or delete the file)", name, t.diskMetaPath(name), err)
	}
	return m, nil
}

func (t *Target) writeDisk(name string, m diskMeta) error {
	if err := writeJSON(t.diskMetaPath(name), m); err != nil {
		return fmt.Errorf("local: disk %s: %w", name, err)
	}
	return nil
}

// writeJSON replaces path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CreateDisk implements cloud.Target: a sparse file of the spec's size.
func (t *Target) CreateDisk(ctx context.Context, spec cloud.DiskSpec) (cloud.Disk, error) {
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "create disk "+spec.Name); err != nil {
		return nil, err
	}
	unlock, err := t.lockIdle(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := t.readDisk(spec.Name)
	switch {
	case err == nil:
		if m.SizeBytes != spec.SizeBytes {
			return nil, fmt.Errorf("local: disk %s: has %d bytes, asked for %d: %w", spec.Name, m.SizeBytes, spec.SizeBytes, cloud.ErrExists)
		}
		return t.openLocked(ctx, spec.Name, m)
	case !errors.Is(err, cloud.ErrNotFound):
		return nil, err
	}
	path := t.diskPath(spec.Name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local: create disk %s: %w", spec.Name, err)
	}
	if err := f.Truncate(spec.SizeBytes); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("local: create disk %s: size %d: %w", spec.Name, spec.SizeBytes, err)
	}
	m = diskMeta{SizeBytes: spec.SizeBytes, Tags: maps.Clone(spec.Tags)}
	if err := t.writeDisk(spec.Name, m); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	t.log.Info("disk created", "disk", spec.Name, "bytes", spec.SizeBytes)
	return &diskHandle{name: spec.Name, size: spec.SizeBytes, f: f, ctx: ctx, t: t}, nil
}

// OpenDisk implements cloud.Target.
func (t *Target) OpenDisk(ctx context.Context, name string) (cloud.Disk, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "open disk "+name); err != nil {
		return nil, err
	}
	unlock, err := t.lockIdle(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := t.readDisk(name)
	if err != nil {
		return nil, err
	}
	return t.openLocked(ctx, name, m)
}

func (t *Target) openLocked(ctx context.Context, name string, m diskMeta) (cloud.Disk, error) {
	if m.VM != "" {
		return nil, fmt.Errorf("local: open disk %s: used by VM %s (delete the VM first): %w", name, m.VM, cloud.ErrInUse)
	}
	f, err := os.OpenFile(t.diskPath(name), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("local: open disk %s: %w", name, err)
	}
	if m.Finalized {
		m.Finalized = false
		if err := t.writeDisk(name, m); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &diskHandle{name: name, size: m.SizeBytes, f: f, ctx: ctx, t: t}, nil
}

// DiskInfo implements cloud.Target.
func (t *Target) DiskInfo(ctx context.Context, name string) (cloud.DiskInfo, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return cloud.DiskInfo{}, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "disk "+name); err != nil {
		return cloud.DiskInfo{}, err
	}
	m, err := t.readDisk(name)
	if err != nil {
		return cloud.DiskInfo{}, err
	}
	return cloud.DiskInfo{Name: name, SizeBytes: m.SizeBytes, Finalized: m.Finalized, VM: m.VM, Tags: m.Tags}, nil
}

// DiskPath returns the file holding a disk's contents, for tools that read
// it directly (qemu-img). Errors: ErrInvalid, ErrNotFound.
func (t *Target) DiskPath(name string) (string, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	if _, err := t.readDisk(name); err != nil {
		return "", err
	}
	return t.diskPath(name), nil
}

// DeleteDisk implements cloud.Target.
func (t *Target) DeleteDisk(ctx context.Context, name string) error {
	if err := cloud.CheckName("disk", name); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "delete disk "+name); err != nil {
		return err
	}
	unlock, err := t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := t.readDisk(name)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.VM != "" {
		return fmt.Errorf("local: delete disk %s: used by VM %s (delete the VM first): %w", name, m.VM, cloud.ErrInUse)
	}
	// Metadata first: a disk without it does not exist, whatever is left.
	if err := os.Remove(t.diskMetaPath(name)); err != nil {
		return fmt.Errorf("local: delete disk %s: %w", name, err)
	}
	if err := os.Remove(t.diskPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: delete disk %s: %w", name, err)
	}
	t.log.Info("disk deleted", "disk", name)
	return nil
}

// ReadDisk implements cloud.DiskReader: the disk's file opened read-only.
func (t *Target) ReadDisk(ctx context.Context, name string) (cloud.DiskContents, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := ctxErr(ctx, "read disk "+name); err != nil {
		return nil, err
	}
	m, err := t.readDisk(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(t.diskPath(name))
	if err != nil {
		return nil, fmt.Errorf("local: read disk %s: %w", name, err)
	}
	return &diskContents{File: f, size: m.SizeBytes}, nil
}

type diskContents struct {
	*os.File
	size int64
}

func (c *diskContents) Size() int64 { return c.size }

// diskHandle is a disk open for writing.
type diskHandle struct {
	name string
	size int64
	f    *os.File
	ctx  context.Context
	t    *Target

	mu   sync.RWMutex // writes hold it shared; Finalize and Close exclusive
	done bool
}

func (h *diskHandle) Name() string { return h.name }
func (h *diskHandle) Size() int64  { return h.size }

func (h *diskHandle) check(off, n int64) error {
	if h.done {
		return fmt.Errorf("local: disk %s: %w", h.name, cloud.ErrFinalized)
	}
	if err := h.ctx.Err(); err != nil {
		return fmt.Errorf("local: disk %s: write: %w", h.name, err)
	}
	if err := cloud.CheckRange(h.name, off, n, h.size); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}

// WriteAt implements cloud.Disk.
func (h *diskHandle) WriteAt(p []byte, off int64) (int, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if err := h.check(off, int64(len(p))); err != nil {
		return 0, err
	}
	n, err := h.f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("local: disk %s: %w", h.name, err)
	}
	return n, nil
}

// WriteZeroes implements cloud.Disk by punching a hole, or writing zeros
// where the filesystem cannot punch.
func (h *diskHandle) WriteZeroes(off, n int64) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if err := h.check(off, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := punchHole(h.f, off, n); err == nil {
		return nil
	}
	zero := make([]byte, min(n, 1<<20))
	for pos := off; pos < off+n; {
		m := min(int64(len(zero)), off+n-pos)
		if _, err := h.f.WriteAt(zero[:m], pos); err != nil {
			return fmt.Errorf("local: disk %s: zero %d bytes at %d: %w", h.name, m, pos, err)
		}
		pos += m
	}
	return nil
}

// Sync makes the writes so far durable (fsync), for a copy journal that
// records a range as done only once the disk holds it.
func (h *diskHandle) Sync() error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.done {
		return fmt.Errorf("local: disk %s: %w", h.name, cloud.ErrFinalized)
	}
	if err := h.f.Sync(); err != nil {
		return fmt.Errorf("local: disk %s: sync: %w", h.name, err)
	}
	return nil
}

// ReadAt reads back what the disk holds, so a copy can digest the disk
// itself rather than what it sent.
func (h *diskHandle) ReadAt(p []byte, off int64) (int, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.done {
		return 0, fmt.Errorf("local: disk %s: %w", h.name, cloud.ErrFinalized)
	}
	return h.f.ReadAt(p, off)
}

// Finalize implements cloud.Disk: fsync, then mark the disk finalized.
func (h *diskHandle) Finalize(ctx context.Context) error {
	if err := ctxErr(ctx, "finalize disk "+h.name); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return nil
	}
	if err := h.f.Sync(); err != nil {
		return fmt.Errorf("local: finalize disk %s: %w", h.name, err)
	}
	unlock, err := h.t.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := h.t.readDisk(h.name)
	if err != nil {
		return fmt.Errorf("local: finalize: %w", err)
	}
	m.Finalized = true
	if err := h.t.writeDisk(h.name, m); err != nil {
		return err
	}
	h.done = true
	return h.f.Close()
}

// Close implements cloud.Disk.
func (h *diskHandle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return nil
	}
	h.done = true
	return h.f.Close()
}

// Console implements cloud.Consoler: the VM's serial log, every boot
// appended.
func (t *Target) Console(ctx context.Context, name string) (io.ReadCloser, error) {
	if _, err := t.vmStatus(ctx, "console of", name); err != nil {
		return nil, err
	}
	f, err := os.Open(t.vmFile(name, "serial.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return io.NopCloser(eofReader{}), nil // never started
	}
	if err != nil {
		return nil, fmt.Errorf("local: console of VM %s: %w", name, err)
	}
	return f, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

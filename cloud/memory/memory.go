package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/shift-migrate/shift/cloud"
)

// chunkSize is the granularity of the sparse disk store.
const chunkSize = 64 << 10

// Target is an in-memory cloud.Target. The zero value is not usable; call
// New. Copies of a *Target share their objects.
type Target struct {
	mu    sync.Mutex
	disks map[string]*diskRec
	vms   map[string]*vmRec
}

var (
	_ cloud.Target     = (*Target)(nil)
	_ cloud.DiskReader = (*Target)(nil)
	_ cloud.Consoler   = (*Target)(nil)
	_ cloud.DiskCloner = (*Target)(nil)
	_ cloud.Disk       = (*handle)(nil)
	_ io.ReaderAt      = (*handle)(nil)
)

type diskRec struct {
	spec      cloud.DiskSpec
	chunks    map[int64][]byte // chunk index → contents; missing means zeros
	finalized bool
	vm        string
	gen       int // bumped on delete, so handles of a deleted disk stop writing
}

type vmRec struct {
	spec    cloud.VMSpec
	state   cloud.State
	console bytes.Buffer
}

// New returns an empty target.
func New() *Target {
	return &Target{disks: map[string]*diskRec{}, vms: map[string]*vmRec{}}
}

// Kind returns "memory".
func (t *Target) Kind() string { return "memory" }

func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %s: %w", what, err)
	}
	return nil
}

func notFound(kind, name string) error {
	return fmt.Errorf("memory: %s %s: %w", kind, name, cloud.ErrNotFound)
}

// CreateDisk implements cloud.Target.
func (t *Target) CreateDisk(ctx context.Context, spec cloud.DiskSpec) (cloud.Disk, error) {
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "create disk "+spec.Name); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.disks[spec.Name]
	if ok {
		if d.spec.SizeBytes != spec.SizeBytes {
			return nil, fmt.Errorf("memory: disk %s: has %d bytes, asked for %d: %w", spec.Name, d.spec.SizeBytes, spec.SizeBytes, cloud.ErrExists)
		}
		return t.openLocked(ctx, d)
	}
	spec.Tags = maps.Clone(spec.Tags)
	d = &diskRec{spec: spec, chunks: map[int64][]byte{}}
	t.disks[spec.Name] = d
	return t.openLocked(ctx, d)
}

// OpenDisk implements cloud.Target.
func (t *Target) OpenDisk(ctx context.Context, name string) (cloud.Disk, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "open disk "+name); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.disks[name]
	if !ok {
		return nil, notFound("disk", name)
	}
	return t.openLocked(ctx, d)
}

func (t *Target) openLocked(ctx context.Context, d *diskRec) (cloud.Disk, error) {
	if d.vm != "" {
		return nil, fmt.Errorf("memory: disk %s: used by VM %s: %w", d.spec.Name, d.vm, cloud.ErrInUse)
	}
	d.finalized = false
	return &handle{t: t, d: d, ctx: ctx, gen: d.gen}, nil
}

// DiskInfo implements cloud.Target.
func (t *Target) DiskInfo(ctx context.Context, name string) (cloud.DiskInfo, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return cloud.DiskInfo{}, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "disk "+name); err != nil {
		return cloud.DiskInfo{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.disks[name]
	if !ok {
		return cloud.DiskInfo{}, notFound("disk", name)
	}
	return cloud.DiskInfo{Name: name, SizeBytes: d.spec.SizeBytes, Finalized: d.finalized, VM: d.vm, Tags: maps.Clone(d.spec.Tags)}, nil
}

// DeleteDisk implements cloud.Target.
func (t *Target) DeleteDisk(ctx context.Context, name string) error {
	if err := cloud.CheckName("disk", name); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "delete disk "+name); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.disks[name]
	if !ok {
		return nil
	}
	if d.vm != "" {
		return fmt.Errorf("memory: delete disk %s: used by VM %s: %w", name, d.vm, cloud.ErrInUse)
	}
	d.gen++ // open handles stop writing
	delete(t.disks, name)
	return nil
}

// ReadDisk implements cloud.DiskReader. The contents are a snapshot taken
// at the call.
func (t *Target) ReadDisk(ctx context.Context, name string) (cloud.DiskContents, error) {
	if err := cloud.CheckName("disk", name); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "read disk "+name); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.disks[name]
	if !ok {
		return nil, notFound("disk", name)
	}
	snap := make(map[int64][]byte, len(d.chunks))
	for i, c := range d.chunks {
		snap[i] = slices.Clone(c)
	}
	return &contents{chunks: snap, size: d.spec.SizeBytes}, nil
}

// CloneDisk implements cloud.DiskCloner: the clone gets a copy of the
// source's chunks.
func (t *Target) CloneDisk(ctx context.Context, from string, spec cloud.DiskSpec) error {
	if err := cloud.CheckClone(from, spec.Name); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "clone disk "+from+" to "+spec.Name); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	src, ok := t.disks[from]
	switch {
	case !ok:
		return fmt.Errorf("memory: clone: %w", notFound("disk", from))
	case !src.finalized:
		return fmt.Errorf("memory: clone disk %s: it is being written: %w", from, cloud.ErrNotFinalized)
	}
	if spec.SizeBytes == 0 {
		spec.SizeBytes = src.spec.SizeBytes
	}
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return fmt.Errorf("memory: clone of disk %s: %w", from, err)
	}
	if spec.SizeBytes < src.spec.SizeBytes {
		return fmt.Errorf("memory: clone disk %s to %s: %d bytes is smaller than the source's %d: %w", from, spec.Name, spec.SizeBytes, src.spec.SizeBytes, cloud.ErrInvalid)
	}
	if old, ok := t.disks[spec.Name]; ok {
		switch {
		case old.spec.SizeBytes != spec.SizeBytes:
			return fmt.Errorf("memory: clone disk %s to %s: has %d bytes, asked for %d: %w", from, spec.Name, old.spec.SizeBytes, spec.SizeBytes, cloud.ErrExists)
		case old.vm != "":
			return fmt.Errorf("memory: clone disk %s to %s: used by VM %s: %w", from, spec.Name, old.vm, cloud.ErrInUse)
		}
		old.gen++ // handles of the disk it replaces stop writing
	}
	spec.Tags = maps.Clone(spec.Tags)
	d := &diskRec{spec: spec, chunks: make(map[int64][]byte, len(src.chunks)), finalized: true}
	for i, c := range src.chunks {
		d.chunks[i] = slices.Clone(c)
	}
	t.disks[spec.Name] = d
	return nil
}

// CreateVM implements cloud.Target.
func (t *Target) CreateVM(ctx context.Context, spec cloud.VMSpec) (cloud.VM, error) {
	if err := cloud.CheckVMSpec(spec); err != nil {
		return cloud.VM{}, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, "create VM "+spec.Name); err != nil {
		return cloud.VM{}, err
	}
	spec = spec.Normalize()
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.vms[spec.Name]; ok {
		if !v.spec.Equal(spec) {
			return cloud.VM{}, fmt.Errorf("memory: VM %s: exists with another spec: %w", spec.Name, cloud.ErrExists)
		}
		return t.vmLocked(v), nil
	}
	for _, name := range spec.Disks() {
		d, ok := t.disks[name]
		switch {
		case !ok:
			return cloud.VM{}, fmt.Errorf("memory: VM %s: %w", spec.Name, notFound("disk", name))
		case !d.finalized:
			return cloud.VM{}, fmt.Errorf("memory: VM %s: disk %s: %w", spec.Name, name, cloud.ErrNotFinalized)
		case d.vm != "":
			return cloud.VM{}, fmt.Errorf("memory: VM %s: disk %s: used by VM %s: %w", spec.Name, name, d.vm, cloud.ErrInUse)
		}
	}
	for _, name := range spec.Disks() {
		t.disks[name].vm = spec.Name
	}
	spec.Tags = maps.Clone(spec.Tags)
	v := &vmRec{spec: spec, state: cloud.Stopped}
	t.vms[spec.Name] = v
	return t.vmLocked(v), nil
}

func (t *Target) vmLocked(v *vmRec) cloud.VM {
	vm := cloud.VM{Spec: v.spec, State: v.state}
	vm.Spec.Tags = maps.Clone(v.spec.Tags)
	vm.Spec.DataDisks = slices.Clone(v.spec.DataDisks)
	vm.Spec.NICs = slices.Clone(v.spec.NICs)
	if v.state == cloud.Running {
		vm.Addresses = []cloud.Address{{Service: "ssh", Host: "memory", Port: 22}}
	}
	return vm
}

func (t *Target) vm(ctx context.Context, op, name string) (*vmRec, error) {
	if err := cloud.CheckName("VM", name); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if err := ctxErr(ctx, op+" VM "+name); err != nil {
		return nil, err
	}
	v, ok := t.vms[name]
	if !ok {
		return nil, notFound("VM", name)
	}
	return v, nil
}

// StartVM implements cloud.Target.
func (t *Target) StartVM(ctx context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.vm(ctx, "start", name)
	if err != nil {
		return err
	}
	if v.state != cloud.Running {
		v.state = cloud.Running
		fmt.Fprintf(&v.console, "%s memory: VM %s powered on\n", time.Now().UTC().Format(time.RFC3339), name)
	}
	return nil
}

// StopVM implements cloud.Target. The in-memory guest always shuts down at
// once.
func (t *Target) StopVM(ctx context.Context, name string, grace time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.vm(ctx, "stop", name)
	if err != nil {
		return err
	}
	if v.state != cloud.Stopped {
		v.state = cloud.Stopped
		fmt.Fprintf(&v.console, "%s memory: VM %s powered off\n", time.Now().UTC().Format(time.RFC3339), name)
	}
	return nil
}

// VMStatus implements cloud.Target.
func (t *Target) VMStatus(ctx context.Context, name string) (cloud.VM, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.vm(ctx, "status of", name)
	if err != nil {
		return cloud.VM{}, err
	}
	return t.vmLocked(v), nil
}

// ListVMs implements cloud.Target.
func (t *Target) ListVMs(ctx context.Context) ([]cloud.VM, error) {
	if err := ctxErr(ctx, "list VMs"); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]cloud.VM, 0, len(t.vms))
	for _, name := range slices.Sorted(maps.Keys(t.vms)) {
		out = append(out, t.vmLocked(t.vms[name]))
	}
	return out, nil
}

// DeleteVM implements cloud.Target.
func (t *Target) DeleteVM(ctx context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.vm(ctx, "delete", name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	for _, d := range v.spec.Disks() {
		if rec, ok := t.disks[d]; ok && rec.vm == name {
			rec.vm = ""
		}
	}
	delete(t.vms, name)
	return nil
}

// Console implements cloud.Consoler: the power events of the VM.
func (t *Target) Console(ctx context.Context, name string) (io.ReadCloser, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.vm(ctx, "console of", name)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(slices.Clone(v.console.Bytes()))), nil
}

// handle is a disk open for writing.
type handle struct {
	t    *Target
	d    *diskRec
	ctx  context.Context
	gen  int
	done bool
}

func (h *handle) Name() string { return h.d.spec.Name }
func (h *handle) Size() int64  { return h.d.spec.SizeBytes }

// writable checks the handle under the target's lock.
func (h *handle) writable(off, n int64) error {
	if h.done || h.gen != h.d.gen {
		return fmt.Errorf("memory: disk %s: %w", h.d.spec.Name, cloud.ErrFinalized)
	}
	if err := h.ctx.Err(); err != nil {
		return fmt.Errorf("memory: disk %s: write: %w", h.d.spec.Name, err)
	}
	if err := cloud.CheckRange(h.d.spec.Name, off, n, h.d.spec.SizeBytes); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// WriteAt implements cloud.Disk.
func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	if err := h.writable(off, int64(len(p))); err != nil {
		return 0, err
	}
	h.d.apply(off, int64(len(p)), p)
	return len(p), nil
}

// WriteZeroes implements cloud.Disk.
func (h *handle) WriteZeroes(off, n int64) error {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	if err := h.writable(off, n); err != nil {
		return err
	}
	h.d.apply(off, n, nil)
	return nil
}

// apply writes p (nil: zeros) over [off, off+n), dropping chunks that end
// up all zero.
func (d *diskRec) apply(off, n int64, p []byte) {
	for pos := off; pos < off+n; {
		i := pos / chunkSize
		in := pos - i*chunkSize
		m := min(chunkSize-in, off+n-pos)
		c, ok := d.chunks[i]
		if !ok {
			if p == nil {
				pos += m
				continue
			}
			c = make([]byte, chunkSize)
			d.chunks[i] = c
		}
		if p == nil {
			clear(c[in : in+m])
		} else {
			copy(c[in:in+m], p[pos-off:])
		}
		if allZero(c) {
			delete(d.chunks, i)
		}
		pos += m
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ReadAt reads back what the disk holds.
func (h *handle) ReadAt(p []byte, off int64) (int, error) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	c := contents{chunks: h.d.chunks, size: h.d.spec.SizeBytes}
	return c.ReadAt(p, off)
}

// Finalize implements cloud.Disk.
func (h *handle) Finalize(ctx context.Context) error {
	if err := ctxErr(ctx, "finalize disk "+h.d.spec.Name); err != nil {
		return err
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	if h.gen != h.d.gen {
		return fmt.Errorf("memory: finalize disk %s: the disk was deleted: %w", h.d.spec.Name, cloud.ErrFinalized)
	}
	if !h.done {
		h.done = true
		h.d.finalized = true
	}
	return nil
}

// Close implements cloud.Disk.
func (h *handle) Close() error {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	h.done = true
	return nil
}

// contents is a snapshot of a disk.
type contents struct {
	chunks map[int64][]byte
	size   int64
}

func (c *contents) Size() int64  { return c.size }
func (c *contents) Close() error { return nil }

func (c *contents) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("memory: read at %d: negative offset", off)
	}
	if off >= c.size {
		return 0, io.EOF
	}
	n := len(p)
	if rest := c.size - off; int64(n) > rest {
		n = int(rest)
	}
	for done := 0; done < n; {
		pos := off + int64(done)
		i := pos / chunkSize
		in := pos - i*chunkSize
		m := int(min(chunkSize-in, int64(n-done)))
		if ch, ok := c.chunks[i]; ok {
			copy(p[done:done+m], ch[in:])
		} else {
			clear(p[done : done+m])
		}
		done += m
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func isNotFound(err error) bool { return errors.Is(err, cloud.ErrNotFound) }

package azure

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/convert"
)

// Staging blob metadata.
const (
	metaState   = "shiftstate" // "writing" or "final"
	metaTags    = "shifttags"  // the disk's tags as JSON
	stateWrite  = "writing"
	stateFinal  = "final"
	footerBytes = convert.VHDFooterSize
)

// diskState is what Azure holds about one disk.
type diskState struct {
	name      string
	managed   *armcompute.Disk // nil: no managed disk
	staged    bool             // a staging blob exists (import path)
	stageMeta map[string]*string
	size      int64 // data bytes, without the footer
	finalized bool
	vm        string
	tags      map[string]string
}

func (s *diskState) exists() bool { return s.managed != nil || s.staged }

func (s *diskState) info() cloud.DiskInfo {
	return cloud.DiskInfo{Name: s.name, SizeBytes: s.size, Finalized: s.finalized, VM: s.vm, Tags: maps.Clone(s.tags)}
}

func (s *diskState) generation() armcompute.HyperVGeneration { return tagGeneration(s.tags) }

// tagGeneration is the Hyper-V generation FirmwareTag among tags asks for.
func tagGeneration(tags map[string]string) armcompute.HyperVGeneration {
	if tags[FirmwareTag] == string(cloud.UEFI) {
		return armcompute.HyperVGenerationV2
	}
	return armcompute.HyperVGenerationV1
}

// uploading reports whether a managed disk still takes uploads.
func uploading(d *armcompute.Disk) bool {
	if d.Properties == nil || d.Properties.DiskState == nil {
		return false
	}
	s := *d.Properties.DiskState
	return s == armcompute.DiskStateReadyToUpload || s == armcompute.DiskStateActiveUpload
}

// managedSize is a managed disk's data size: the tag the import path sets,
// else the upload size less the footer, else its size.
func managedSize(d *armcompute.Disk) int64 {
	if v := d.Tags[tagSize]; v != nil {
		if n, err := strconv.ParseInt(*v, 10, 64); err == nil {
			return n
		}
	}
	if p := d.Properties; p != nil {
		if p.CreationData != nil && p.CreationData.UploadSizeBytes != nil {
			return *p.CreationData.UploadSizeBytes - footerBytes
		}
		if p.DiskSizeBytes != nil {
			return *p.DiskSizeBytes
		}
	}
	return 0
}

func (t *Target) getManaged(ctx context.Context, name string) (*armcompute.Disk, error) {
	r, err := t.disks.Get(ctx, t.opts.ResourceGroup, name, nil)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, classify(err, "disk "+name)
	}
	return &r.Disk, nil
}

func (t *Target) stageBlob(name string) *pageblob.Client {
	return t.opts.Staging.Container.NewPageBlobClient(name + ".vhd")
}

// state reads a disk's managed disk and, on the import path, its staging
// blob.
func (t *Target) state(ctx context.Context, name string) (*diskState, error) {
	s := &diskState{name: name}
	d, err := t.getManaged(ctx, name)
	if err != nil {
		return nil, err
	}
	if d != nil {
		s.managed = d
		s.size = managedSize(d)
		s.tags = userTags(d.Tags)
		s.finalized = !uploading(d)
		if d.ManagedBy != nil && *d.ManagedBy != "" {
			s.vm = lastSegment(*d.ManagedBy)
		}
	}
	if t.opts.Staging == nil {
		return s, nil
	}
	p, err := t.stageBlob(name).GetProperties(ctx, nil)
	if err != nil {
		if isNotFound(err) {
			return s, nil
		}
		return nil, classify(err, "disk "+name+": staging blob")
	}
	s.staged = true
	s.stageMeta = p.Metadata
	if p.ContentLength != nil {
		s.size = *p.ContentLength - footerBytes
	}
	s.tags = nil
	if v := metaValue(p.Metadata, metaTags); v != "" {
		if err := json.Unmarshal([]byte(v), &s.tags); err != nil {
			return nil, fmt.Errorf("azure: disk %s: staging blob tags: %w", name, err)
		}
	}
	s.finalized = d != nil && metaValue(p.Metadata, metaState) == stateFinal
	return s, nil
}

// stageMeta is a staging blob's metadata with its state set; keys are
// written in lower case whatever case the service returned them in.
func stageMeta(old map[string]*string, state string) map[string]*string {
	return map[string]*string{metaState: to.Ptr(state), metaTags: to.Ptr(metaValue(old, metaTags))}
}

// metaValue reads a metadata value; services may change the key's case.
func metaValue(m map[string]*string, key string) string {
	for k, v := range m {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}

func checkDiskSpec(spec cloud.DiskSpec) error {
	if err := checkDiskName(spec.Name); err != nil {
		return err
	}
	if err := cloud.CheckDiskSpec(spec); err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	return checkTags("disk", spec.Name, spec.Tags)
}

// CreateDisk implements cloud.Target. On the direct path it creates a
// managed disk for upload of SizeBytes plus the footer and grants write
// access; on the import path it creates the staging page blob.
func (t *Target) CreateDisk(ctx context.Context, spec cloud.DiskSpec) (cloud.Disk, error) {
	if err := checkDiskSpec(spec); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "create disk "+spec.Name); err != nil {
		return nil, err
	}
	s, err := t.state(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	if s.exists() {
		if s.size != spec.SizeBytes {
			return nil, fmt.Errorf("azure: disk %s: has %d bytes, asked for %d (delete it or choose another name): %w", spec.Name, s.size, spec.SizeBytes, cloud.ErrExists)
		}
		return t.open(ctx, s)
	}
	if t.opts.Staging != nil {
		return t.createStaged(ctx, spec)
	}
	return t.createUpload(ctx, spec)
}

func (t *Target) createUpload(ctx context.Context, spec cloud.DiskSpec) (cloud.Disk, error) {
	s := &diskState{name: spec.Name, size: spec.SizeBytes, tags: maps.Clone(spec.Tags)}
	poller, err := t.disks.BeginCreateOrUpdate(ctx, t.opts.ResourceGroup, spec.Name, armcompute.Disk{
		Location: &t.opts.Location,
		Tags:     azTags(spec.Tags),
		SKU:      &armcompute.DiskSKU{Name: &t.opts.DiskSKU},
		Properties: &armcompute.DiskProperties{
			CreationData: &armcompute.CreationData{
				CreateOption:    to.Ptr(armcompute.DiskCreateOptionUpload),
				UploadSizeBytes: to.Ptr(spec.SizeBytes + footerBytes),
			},
			HyperVGeneration: to.Ptr(s.generation()),
		},
	}, nil)
	if err != nil {
		return nil, classify(err, "create disk "+spec.Name)
	}
	r, err := poller.PollUntilDone(ctx, t.poll())
	if err != nil {
		t.cleanupDisk(ctx, spec.Name, err)
		return nil, classify(err, "create disk "+spec.Name)
	}
	s.managed = &r.Disk
	h, err := t.open(ctx, s)
	if err != nil {
		t.cleanupDisk(ctx, spec.Name, err)
		return nil, err
	}
	return h, nil
}

// cleanupDisk deletes a disk this call created and could not hand out, on
// a context of its own.
func (t *Target) cleanupDisk(ctx context.Context, name string, cause error) {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	if err := t.deleteManaged(cctx, name, true); err != nil {
		t.log.Warn("azure: cleanup of a half-created disk failed; delete it by hand", "disk", name, "cause", cause, "err", err)
	}
}

func (t *Target) createStaged(ctx context.Context, spec cloud.DiskSpec) (cloud.Disk, error) {
	tags, err := json.Marshal(spec.Tags)
	if err != nil {
		return nil, fmt.Errorf("azure: disk %s: tags: %w", spec.Name, err)
	}
	_, err = t.stageBlob(spec.Name).Create(ctx, spec.SizeBytes+footerBytes, &pageblob.CreateOptions{
		Metadata: map[string]*string{metaState: to.Ptr(stateWrite), metaTags: to.Ptr(string(tags))},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{
			IfNoneMatch: to.Ptr(azcore.ETagAny),
		}},
	})
	if err != nil {
		return nil, classify(err, "create disk "+spec.Name+": staging blob")
	}
	s, err := t.state(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	return t.open(ctx, s)
}

// OpenDisk implements cloud.Target. A direct-upload disk that was
// finalized cannot be opened again: Azure takes writes only before access
// is revoked; the error wraps cloud.ErrFinalized and says so.
func (t *Target) OpenDisk(ctx context.Context, name string) (cloud.Disk, error) {
	if err := checkDiskName(name); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "open disk "+name); err != nil {
		return nil, err
	}
	s, err := t.state(ctx, name)
	if err != nil {
		return nil, err
	}
	if !s.exists() {
		return nil, fmt.Errorf("azure: disk %s: %w", name, cloud.ErrNotFound)
	}
	return t.open(ctx, s)
}

func (t *Target) open(ctx context.Context, s *diskState) (cloud.Disk, error) {
	if s.vm != "" {
		return nil, fmt.Errorf("azure: disk %s: used by VM %s (delete the VM first): %w", s.name, s.vm, cloud.ErrInUse)
	}
	h := &handle{t: t, name: s.name, size: s.size, ctx: ctx}
	if t.opts.Staging != nil {
		if !s.staged {
			return nil, fmt.Errorf("azure: disk %s: its staging blob is gone, so it cannot take another pass (delete the disk and copy it again): %w", s.name, cloud.ErrFinalized)
		}
		pb := t.stageBlob(s.name)
		if metaValue(s.stageMeta, metaState) != stateWrite {
			if _, err := pb.SetMetadata(ctx, stageMeta(s.stageMeta, stateWrite), nil); err != nil {
				return nil, classify(err, "open disk "+s.name+": staging blob")
			}
		}
		h.w = newPages(pb, t.opts.Parallel, t.opts.Retry)
		h.seal = func(ctx context.Context) error { return t.importDisk(ctx, s) }
		return h, nil
	}
	if !uploading(s.managed) {
		return nil, fmt.Errorf("azure: disk %s: finalized by direct upload; Azure takes no writes after access is revoked (use the staging option for delta passes after Finalize): %w", s.name, cloud.ErrFinalized)
	}
	sas, err := t.grant(ctx, s.name, armcompute.AccessLevelWrite)
	if err != nil {
		return nil, err
	}
	pb, err := pageClient(sas, t.opts.Blob)
	if err != nil {
		return nil, redact(fmt.Errorf("azure: disk %s: upload client: %w", s.name, err))
	}
	h.w = newPages(pb, t.opts.Parallel, t.opts.Retry)
	h.seal = func(ctx context.Context) error { return t.revoke(ctx, s.name) }
	return h, nil
}

// grant asks for a SAS on a managed disk. The SAS is a secret: it is
// returned to the caller and never logged.
func (t *Target) grant(ctx context.Context, name string, access armcompute.AccessLevel) (string, error) {
	poller, err := t.disks.BeginGrantAccess(ctx, t.opts.ResourceGroup, name, armcompute.GrantAccessData{
		Access:            &access,
		DurationInSeconds: to.Ptr(int32(t.opts.SASDuration / time.Second)),
	}, nil)
	if err != nil {
		return "", classify(err, fmt.Sprintf("disk %s: grant %s access", name, access))
	}
	r, err := poller.PollUntilDone(ctx, t.poll())
	if err != nil {
		return "", classify(err, fmt.Sprintf("disk %s: grant %s access", name, access))
	}
	if r.AccessSAS == nil || *r.AccessSAS == "" {
		return "", fmt.Errorf("azure: disk %s: grant %s access: Azure returned no SAS", name, access)
	}
	return *r.AccessSAS, nil
}

func (t *Target) revoke(ctx context.Context, name string) error {
	poller, err := t.disks.BeginRevokeAccess(ctx, t.opts.ResourceGroup, name, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	return classify(err, "disk "+name+": revoke access")
}

// importDisk (re)creates the managed disk of a staged disk from its blob:
// the old managed disk, if any and free, is deleted first.
func (t *Target) importDisk(ctx context.Context, s *diskState) error {
	cur, err := t.getManaged(ctx, s.name)
	if err != nil {
		return err
	}
	if cur != nil {
		if cur.ManagedBy != nil && *cur.ManagedBy != "" {
			return fmt.Errorf("azure: finalize disk %s: used by VM %s: %w", s.name, lastSegment(*cur.ManagedBy), cloud.ErrInUse)
		}
		if err := t.deleteManaged(ctx, s.name, false); err != nil {
			return err
		}
	}
	src := t.stageBlob(s.name).URL()
	if i := strings.IndexByte(src, '?'); i >= 0 {
		src = src[:i] // Azure reads the blob with its own access to the account
	}
	err = t.createFrom(ctx, s.name, s.tags, s.size, &armcompute.DiskProperties{
		CreationData: &armcompute.CreationData{
			CreateOption:     to.Ptr(armcompute.DiskCreateOptionImport),
			SourceURI:        &src,
			StorageAccountID: &t.opts.Staging.StorageAccountID,
		},
		HyperVGeneration: to.Ptr(s.generation()),
	}, false)
	if err != nil {
		return classify(err, "finalize disk "+s.name+": import")
	}
	if _, err := t.stageBlob(s.name).SetMetadata(ctx, stageMeta(s.stageMeta, stateFinal), nil); err != nil {
		return classify(err, "finalize disk "+s.name+": staging blob")
	}
	return nil
}

// createFrom creates managed disk name of size data bytes from what Azure
// imports or copies (props): the target's location and SKU, the user's
// tags and shift's size tag. With cleanup, a disk whose creation failed
// after Azure accepted it is deleted again.
func (t *Target) createFrom(ctx context.Context, name string, tags map[string]string, size int64, props *armcompute.DiskProperties, cleanup bool) error {
	poller, err := t.disks.BeginCreateOrUpdate(ctx, t.opts.ResourceGroup, name, armcompute.Disk{
		Location:   &t.opts.Location,
		Tags:       azTags(tags, tagSize, strconv.FormatInt(size, 10)),
		SKU:        &armcompute.DiskSKU{Name: &t.opts.DiskSKU},
		Properties: props,
	}, nil)
	if err != nil {
		return err
	}
	if _, err := poller.PollUntilDone(ctx, t.poll()); err != nil {
		if cleanup {
			t.cleanupDisk(ctx, name, err)
		}
		return err
	}
	return nil
}

// DiskInfo implements cloud.Target.
func (t *Target) DiskInfo(ctx context.Context, name string) (cloud.DiskInfo, error) {
	if err := checkDiskName(name); err != nil {
		return cloud.DiskInfo{}, err
	}
	if err := ctxErr(ctx, "disk "+name); err != nil {
		return cloud.DiskInfo{}, err
	}
	s, err := t.state(ctx, name)
	if err != nil {
		return cloud.DiskInfo{}, err
	}
	if !s.exists() {
		return cloud.DiskInfo{}, fmt.Errorf("azure: disk %s: %w", name, cloud.ErrNotFound)
	}
	return s.info(), nil
}

// DeleteDisk implements cloud.Target: the managed disk (its upload access
// revoked first) and, on the import path, its staging blob.
func (t *Target) DeleteDisk(ctx context.Context, name string) error {
	if err := checkDiskName(name); err != nil {
		return err
	}
	if err := ctxErr(ctx, "delete disk "+name); err != nil {
		return err
	}
	s, err := t.state(ctx, name)
	if err != nil {
		return err
	}
	if s.vm != "" {
		return fmt.Errorf("azure: delete disk %s: used by VM %s (delete the VM first): %w", name, s.vm, cloud.ErrInUse)
	}
	return t.deleteState(ctx, s)
}

// deleteState deletes what Azure holds of a disk: its managed disk (upload
// access revoked first) and its staging blob.
func (t *Target) deleteState(ctx context.Context, s *diskState) error {
	if s.managed != nil {
		if err := t.deleteManaged(ctx, s.name, uploading(s.managed)); err != nil {
			return err
		}
	}
	if s.staged {
		if _, err := t.stageBlob(s.name).Delete(ctx, nil); err != nil && !isNotFound(err) {
			return classify(err, "delete disk "+s.name+": staging blob")
		}
	}
	return nil
}

func (t *Target) deleteManaged(ctx context.Context, name string, revokeFirst bool) error {
	if revokeFirst {
		if err := t.revoke(ctx, name); err != nil && !isNotFound(err) {
			return err
		}
	}
	poller, err := t.disks.BeginDelete(ctx, t.opts.ResourceGroup, name, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, t.poll())
	}
	if err != nil && !isNotFound(err) {
		return classify(err, "delete disk "+name)
	}
	return nil
}

// ReadDisk implements cloud.DiskReader: a finalized disk through a read
// SAS (revoked at Close), a staged disk still being written from its
// staging blob. A direct-upload disk being written cannot be read: Azure
// grants no read access during an upload (cloud.ErrNotFinalized).
func (t *Target) ReadDisk(ctx context.Context, name string) (cloud.DiskContents, error) {
	if err := checkDiskName(name); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "read disk "+name); err != nil {
		return nil, err
	}
	s, err := t.state(ctx, name)
	if err != nil {
		return nil, err
	}
	if !s.exists() {
		return nil, fmt.Errorf("azure: read disk %s: %w", name, cloud.ErrNotFound)
	}
	c := &contents{ctx: context.WithoutCancel(ctx), size: s.size, retry: t.opts.Retry}
	switch {
	case s.finalized:
		sas, err := t.grant(ctx, name, armcompute.AccessLevelRead)
		if err != nil {
			return nil, err
		}
		b, err := blob.NewClientWithNoCredential(sas, &blob.ClientOptions{ClientOptions: blobOptions(t.opts.Blob).ClientOptions})
		if err != nil {
			return nil, redact(fmt.Errorf("azure: read disk %s: %w", name, err))
		}
		c.b = b
		c.close = func() error {
			ctx, cancel := cleanupCtx(ctx)
			defer cancel()
			return t.revoke(ctx, name)
		}
	case s.staged:
		c.b = t.stageBlob(name).BlobClient()
	default:
		return nil, fmt.Errorf("azure: read disk %s: an upload is in progress and Azure grants no read access until it is finalized: %w", name, cloud.ErrNotFinalized)
	}
	return c, nil
}

// contents is a disk opened for reading.
type contents struct {
	ctx   context.Context
	b     *blob.Client
	size  int64
	retry Retry
	close func() error
	once  sync.Once
	err   error
}

func (c *contents) Size() int64 { return c.size }

func (c *contents) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("azure: read at %d: negative offset", off)
	}
	if off >= c.size {
		return 0, errEOF
	}
	n := int(min(int64(len(p)), c.size-off))
	if err := readBlob(c.ctx, c.b, p[:n], off, c.retry); err != nil {
		return 0, fmt.Errorf("azure: read %d bytes at %d: %w", n, off, err)
	}
	if n < len(p) {
		return n, errEOF
	}
	return n, nil
}

func (c *contents) Close() error {
	c.once.Do(func() {
		if c.close != nil {
			c.err = c.close()
		}
	})
	return c.err
}

// handle is a disk open for writing.
type handle struct {
	t    *Target
	name string
	size int64
	ctx  context.Context
	w    *pages
	// seal ends the pass once the footer is written: revoke (direct) or
	// import (staging).
	seal func(ctx context.Context) error

	mu        sync.Mutex
	done      bool
	finalized bool
}

func (h *handle) Name() string { return h.name }
func (h *handle) Size() int64  { return h.size }

func (h *handle) writable(off, n int64) error {
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	if done {
		return fmt.Errorf("azure: disk %s: %w", h.name, cloud.ErrFinalized)
	}
	if err := h.ctx.Err(); err != nil {
		return fmt.Errorf("azure: disk %s: write: %w", h.name, err)
	}
	if err := cloud.CheckRange(h.name, off, n, h.size); err != nil {
		return fmt.Errorf("azure: %w", err)
	}
	return nil
}

// WriteAt implements cloud.Disk: Put Page requests of at most 4 MiB, in
// parallel, each with its MD5; all-zero pieces are cleared instead.
func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	if err := h.writable(off, int64(len(p))); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := h.w.write(h.ctx, p, off); err != nil {
		return 0, fmt.Errorf("azure: disk %s: %w", h.name, err)
	}
	return len(p), nil
}

// WriteZeroes implements cloud.Disk with Clear Pages.
func (h *handle) WriteZeroes(off, n int64) error {
	if err := h.writable(off, n); err != nil {
		return err
	}
	if err := h.w.clear(h.ctx, off, n); err != nil {
		return fmt.Errorf("azure: disk %s: %w", h.name, err)
	}
	return nil
}

// Finalize implements cloud.Disk: the fixed VHD footer goes last, then
// access is revoked (direct) or the blob is imported (staging).
func (h *handle) Finalize(ctx context.Context) error {
	if err := ctxErr(ctx, "finalize disk "+h.name); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finalized {
		return nil
	}
	if h.done {
		return fmt.Errorf("azure: finalize disk %s: the handle was closed (open the disk again): %w", h.name, cloud.ErrFinalized)
	}
	footer, err := convert.NewVHDFooter(h.size, h.t.opts.Now(), h.t.footerID(h.name)).MarshalBinary()
	if err != nil {
		return fmt.Errorf("azure: finalize disk %s: %w", h.name, err)
	}
	if err := h.w.put(ctx, footer, h.size); err != nil {
		return fmt.Errorf("azure: finalize disk %s: footer: %w", h.name, err)
	}
	if err := h.seal(ctx); err != nil {
		return err
	}
	h.done, h.finalized = true, true
	return nil
}

// footerID is the VHD's unique ID: derived from the disk's place, so every
// pass writes the same one.
func (t *Target) footerID(name string) [16]byte {
	sum := sha256.Sum256([]byte(t.opts.SubscriptionID + "/" + t.opts.ResourceGroup + "/" + name))
	var id [16]byte
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x50 // version 5 (name-based)
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// Close implements cloud.Disk. A direct-upload disk keeps its write access
// (until the SAS expires), so the copy resumes through CreateDisk or
// OpenDisk.
func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	return nil
}

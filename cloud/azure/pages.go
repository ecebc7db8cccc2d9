package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"golang.org/x/sync/errgroup"
)

// pages writes into one page blob: a managed disk's upload SAS or a
// staging blob. Writes are split into Put Page requests of at most
// MaxPageWrite bytes, sent in parallel up to a limit shared by every write
// of the handle, each with its Content-MD5 and retried when transient.
type pages struct {
	pb    *pageblob.Client
	sem   chan struct{}
	retry Retry
}

func newPages(pb *pageblob.Client, parallel int, r Retry) *pages {
	return &pages{pb: pb, sem: make(chan struct{}, parallel), retry: r}
}

// blobOptions returns the page blob client options: the caller's, with the
// SDK's own retries off (pages retries with its classification).
func blobOptions(o *policy.ClientOptions) *pageblob.ClientOptions {
	var opts pageblob.ClientOptions
	if o != nil {
		opts.ClientOptions = *o
	}
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	return &opts
}

// pageClient opens a page blob by its URL (a SAS URL: the credential is in
// the query, which is never logged).
func pageClient(url string, o *policy.ClientOptions) (*pageblob.Client, error) {
	return pageblob.NewClientWithNoCredential(url, blobOptions(o))
}

// write writes p at off; off and len(p) are multiples of 512.
func (w *pages) write(ctx context.Context, p []byte, off int64) error {
	if len(p) <= MaxPageWrite {
		return w.put(ctx, p, off)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < len(p); i += MaxPageWrite {
		piece := p[i:min(i+MaxPageWrite, len(p))]
		at := off + int64(i)
		g.Go(func() error { return w.put(gctx, piece, at) })
	}
	return g.Wait()
}

// put sends one Put Page of at most MaxPageWrite bytes; an all-zero piece
// becomes a Clear Pages, which carries no body.
func (w *pages) put(ctx context.Context, p []byte, off int64) error {
	if len(p) > MaxPageWrite {
		return fmt.Errorf("put page of %d bytes at %d: larger than %d bytes", len(p), off, MaxPageWrite)
	}
	if isZero(p) {
		return w.clear(ctx, off, int64(len(p)))
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.sem }()
	sum := md5.Sum(p)
	rng := blob.HTTPRange{Offset: off, Count: int64(len(p))}
	err := w.retry.do(ctx, func() error {
		_, err := w.pb.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(p)), rng, &pageblob.UploadPagesOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		})
		return redact(err)
	})
	if err != nil {
		return fmt.Errorf("put page of %d bytes at %d: %w", len(p), off, err)
	}
	return nil
}

// clear makes [off, off+n) read as zeros with Clear Pages; Azure takes a
// clear of any length.
func (w *pages) clear(ctx context.Context, off, n int64) error {
	if n == 0 {
		return nil
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.sem }()
	err := w.retry.do(ctx, func() error {
		_, err := w.pb.ClearPages(ctx, blob.HTTPRange{Offset: off, Count: n}, nil)
		return redact(err)
	})
	if err != nil {
		return fmt.Errorf("clear pages of %d bytes at %d: %w", n, off, err)
	}
	return nil
}

// readAt reads len(p) bytes at off from a blob (a read SAS or a staging
// blob), in ranges of at most 4 MiB.
func readBlob(ctx context.Context, b *blob.Client, p []byte, off int64, r Retry) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 0; i < len(p); i += MaxPageWrite {
		part := p[i:min(i+MaxPageWrite, len(p))]
		at := off + int64(i)
		g.Go(func() error {
			return r.do(gctx, func() error {
				resp, err := b.DownloadStream(gctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: at, Count: int64(len(part))}})
				if err != nil {
					return redact(err)
				}
				defer resp.Body.Close()
				_, err = io.ReadFull(resp.Body, part)
				return redact(err)
			})
		})
	}
	return g.Wait()
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/disk"
)

// AgentOptions tune the source side. The zero value is ready to use.
type AgentOptions struct {
	// Name is the disk's name sent in the hello (a device or image path); ""
	// means "disk".
	Name string
	// Workers is how many chunks are read, hashed and compressed at once; 0
	// means GOMAXPROCS, at most 8. Memory is about 2 × Workers × ChunkSize.
	Workers int
}

func (o AgentOptions) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

// bufPool holds chunk-sized buffers (plus room for a reply header, a
// frame's checksum and the padding that aligns a raw payload; see
// payloadPad): enough for a pass's window and workers.
var bufPool = newBufList(32, ChunkSize+ChunkSize/64+1024+directAlign)

func getBuf() *[]byte  { return bufPool.get() }
func putBuf(b *[]byte) { bufPool.put(b) }

// outFrame is a frame for the agent's sender; release, if not nil, returns
// its buffers once written.
type outFrame struct {
	typ     byte
	tag     uint64
	body    [][]byte
	release func()
}

// ServeAgent is the source side of the agent protocol: it sends the hello
// describing src, then answers chunk requests read from in by writing replies
// to out, until in ends (a clean end returns nil). It reads src only; it
// never writes. A chunk it cannot read is reported to the appliance as an
// error frame and the session goes on.
//
// The disk it serves is src as its extents declare it: the ranges src maps
// as zero (holes, space a filesystem marks free) are sent as zeros even
// where the device still holds old bytes, inside a chunk as well as for
// whole chunks. Hashes and the whole-disk digest cover that declared disk,
// so the copy is checked against exactly what was meant to be copied. The
// map is taken at the start of the session and again before every later
// pass; data written to space that was free when the map was taken is
// copied by the next pass.
//
// Workers read, hash and compress chunks; one sender writes the replies, so
// that a worker goes on to its next chunk while the stream is busy with
// the last one (the appliance's window bounds what is queued).
func ServeAgent(ctx context.Context, src disk.Source, in io.Reader, out io.Writer, opts AgentOptions) error {
	stop, err := StartProfile()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer stop()
	size := src.Size()
	ext, err := src.Extents(ctx)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	name := opts.Name
	if name == "" {
		name = "disk"
	}
	free := zeroRanges(ext, size)
	hello := Hello{Version: ProtocolVersion, ChunkSize: ChunkSize, Size: size, Name: name, Extents: chunkExtents(ext, size)}

	// The sender: the only writer of out. After an error it drains the
	// queue, so that no worker blocks, and stops the session.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan outFrame, 2*opts.workers())
	sent := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(out, 64<<10)
		var err error
		for f := range queue {
			if err == nil {
				err = writeFrame(bw, f.typ, f.tag, f.body...)
				if err == nil && len(queue) == 0 {
					err = bw.Flush()
				}
				if err != nil {
					cancel(fmt.Errorf("agent: send: %w", err))
				}
			}
			if f.release != nil {
				f.release()
			}
		}
		sent <- err
	}()
	emit := func(f outFrame) error {
		select {
		case queue <- f:
			return nil
		case <-sctx.Done():
			if f.release != nil {
				f.release()
			}
			return context.Cause(sctx)
		}
	}
	err = serveRequests(sctx, src, in, hello, free, opts, emit)
	close(queue)
	if serr := <-sent; err == nil && serr != nil {
		err = fmt.Errorf("agent: send: %w", serr)
	}
	return err
}

// serveRequests sends the hello and answers requests through emit until
// in ends.
func serveRequests(ctx context.Context, src disk.Source, in io.Reader, hello Hello, free []disk.Extent, opts AgentOptions, emit func(outFrame) error) error {
	size := hello.Size
	if err := emit(outFrame{typ: frameHello, body: [][]byte{hello.marshal()}}); err != nil {
		return fmt.Errorf("agent: send hello: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.workers())
	br := bufio.NewReaderSize(in, 64<<10)
	var rerr error
	for {
		if err := gctx.Err(); err != nil {
			rerr = context.Cause(gctx)
			break
		}
		f, err := readFrame(br, nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("agent: read request: %w", err)
			break
		}
		if f.typ == frameExtents {
			// Between passes: no request is out.
			if err := g.Wait(); err != nil {
				return err
			}
			g, gctx = errgroup.WithContext(ctx)
			g.SetLimit(opts.workers())
			ext, err := src.Extents(ctx)
			if err != nil {
				return fmt.Errorf("agent: %w", err)
			}
			free = zeroRanges(ext, size)
			if err := emit(outFrame{typ: frameExtents, body: [][]byte{appendExtents(nil, chunkExtents(ext, size))}}); err != nil {
				return fmt.Errorf("agent: send extents: %w", err)
			}
			continue
		}
		if f.typ != frameRequest {
			rerr = fmt.Errorf("agent: %w: unexpected frame type %d", ErrCorrupt, f.typ)
			break
		}
		q, err := parseRequest(f)
		if err == nil && q.index >= chunks(size) {
			err = fmt.Errorf("request for chunk %d: the disk has %d chunks", q.index, chunks(size))
		}
		if err != nil {
			rerr = fmt.Errorf("agent: %w", err)
			break
		}
		g.Go(func() error { return serveChunk(src, size, free, q, emit) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return rerr
}

// serveChunk reads, hashes and compresses one chunk and queues the reply.
// The chunk's bytes in the free ranges count as zeros.
func serveChunk(src disk.Source, size int64, free []disk.Extent, q request, emit func(outFrame) error) error {
	n := int(chunkLen(q.index, size))
	off := q.index * ChunkSize
	tag := uint64(q.index)
	bp := getBuf()
	release := func() { putBuf(bp) }
	buf := (*bp)[:n]
	m, err := src.ReadAt(buf, off)
	if m == n {
		err = nil
	}
	if err != nil {
		release()
		msg := fmt.Sprintf("read %d bytes at offset %d: %v", n, off, err)
		return emit(outFrame{typ: frameError, tag: tag, body: [][]byte{[]byte(msg)}})
	}
	clearFree(buf, off, free)
	if isZero(buf) {
		release()
		return emit(outFrame{typ: frameReply, tag: tag, body: [][]byte{replyHeader(replyZero, ZeroHash(int64(n)), n)}})
	}
	h := hashChunk(buf)
	if q.hasKnown && q.known == h {
		release()
		return emit(outFrame{typ: frameReply, tag: tag, body: [][]byte{replyHeader(replyUnchanged, h, n)}})
	}
	kind, payload, zp := compress(q.codec, buf)
	if zp != nil {
		// The chunk's bytes are no longer needed: only the payload is.
		release()
		release = func() { compressPool.put(zp) }
	}
	return emit(outFrame{typ: frameReply, tag: tag, body: [][]byte{replyHeader(kind, h, n), payload}, release: release})
}

// zeroRanges returns the ranges of ext known to be zero, in order.
func zeroRanges(ext []disk.Extent, size int64) []disk.Extent {
	var out []disk.Extent
	for _, e := range disk.Normalize(ext, size) {
		if !e.Data {
			out = append(out, e)
		}
	}
	return out
}

// clearFree zeros the bytes of buf, which holds the disk from off, that fall
// in the sorted ranges of free.
func clearFree(buf []byte, off int64, free []disk.Extent) {
	end := off + int64(len(buf))
	i := sort.Search(len(free), func(i int) bool { return free[i].End() > off })
	for ; i < len(free) && free[i].Offset < end; i++ {
		lo, hi := max(free[i].Offset, off), min(free[i].End(), end)
		clear(buf[lo-off : hi-off])
	}
}

// chunkExtents rounds an extent map to chunks: a chunk is zero only when all
// of it is known zero.
func chunkExtents(ext []disk.Extent, size int64) []disk.Extent {
	ext = disk.Normalize(ext, size)
	var out []disk.Extent
	for _, e := range ext {
		if e.Data {
			continue
		}
		first := (e.Offset + ChunkSize - 1) / ChunkSize * ChunkSize
		end := e.End() / ChunkSize * ChunkSize
		if e.End() == size {
			end = size
		}
		if end > first {
			out = append(out, disk.Extent{Offset: first, Length: end - first})
		}
	}
	return disk.Normalize(out, size)
}

package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"golang.org/x/sync/errgroup"

	"github.com/shift-migrate/shift/disk"
)

// Options tune a pass. The zero value is ready to use.
type Options struct {
	// Workers is how many chunks are decompressed and checked at once; 0
	// means GOMAXPROCS, at most 8. Writes to the sink do not hold a
	// worker: every chunk of the window may be on its way to the sink, so
	// that a sink that stalls for a moment (a filesystem committing its
	// journal) does not stall the stream.
	Workers int
	// Window is how many chunks may be requested and not yet written; 0
	// means 32. Of those, the appliance holds at most 16 (received, being
	// checked or written); the rest wait at the agent or on the way, so
	// that the agent always has work while the appliance is busy. Memory
	// on the appliance stays near min(Window, 16) × 2 × ChunkSize, on the
	// agent near 2 × (2 × Workers + 2) × ChunkSize, whatever the disk's
	// size.
	Window int
	// BandwidthLimit caps the bytes per second read from the agent; 0 means
	// no limit.
	BandwidthLimit int64
	// Wire is the codec changed chunks travel in. CodecAuto (the zero
	// value) asks for zstd when BandwidthLimit is below AutoZstdLimit;
	// otherwise it asks for S2 and times the first payloads as they stream
	// in (about 8 MiB of them): when they arrive slower than
	// AutoZstdMeasured the link is the bottleneck, not the CPU, and the
	// rest of the pass asks for zstd. CodecS2 and CodecZstd force one
	// codec.
	Wire Codec
	// SyncInterval is how often finished chunks are made durable in the
	// journal (after syncing the sink); 0 means one second. A kill loses at
	// most this much finished work. A pass also syncs after every 16
	// chunks' worth of bytes written (what the appliance may hold, see
	// Window): a sync stalls the writes while the disk's cache is flushed,
	// for a time that grows with what was written since the last one, and
	// a stall shorter than the time those chunks take to arrive costs
	// nothing (they fill up meanwhile), where one long sync at the end of a
	// pass stalls everything.
	SyncInterval time.Duration
	// Reporter receives progress; nil discards it.
	Reporter Reporter
	// ReadBack makes the end-of-pass check on a ReadableSink read back
	// every chunk, also those this pass wrote. By default a chunk that this
	// pass wrote counts with the hash of the bytes written (the appliance
	// hashes each chunk after decompressing it and checks it against the
	// source's hash before the write, and the sink is synced before the
	// pass ends); every other chunk (kept from an earlier pass or a killed
	// run, unchanged, zero on both sides) is read back, holes excepted. So
	// the default still catches a target changed behind the journal's back,
	// and a first pass into a new image reads nothing back: what it did not
	// write is a hole.
	ReadBack bool
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

func (o Options) window() int {
	if o.Window > 0 {
		return o.Window
	}
	return 32
}

// held is how many chunks the appliance holds at once at most: received,
// being checked or being written (see Options.Window).
func (o Options) held() int { return min(o.window(), 16) }

// maxAttempts is how often a chunk is requested before a corrupted stream is
// given up on.
const maxAttempts = 4

// ErrDigestMismatch is returned when, at the end of a pass, the target's
// digest differs from the source's. The chunks that differ are forgotten in
// the journal, so the next pass copies them again.
var ErrDigestMismatch = errors.New("whole-disk digest mismatch")

// Result describes one pass.
type Result struct {
	// Disk is the agent's name for the disk; Size its size in bytes.
	Disk string
	Size int64
	// Pass is the pass number; Resumed says it continued a killed run.
	Pass    int
	Resumed bool
	// Chunks is the disk's chunk count, split into: Sent (data moved),
	// Unchanged (same hash as the target holds), Zero (zero on both sides),
	// ZeroWritten (became zero: zeros written to the target) and Skipped
	// (finished before the resume).
	Chunks, Sent, Unchanged, Zero, ZeroWritten, Skipped int64
	// Retried counts chunks requested again after corruption on the wire.
	Retried int64
	// SentS2, SentZstd and SentRaw split Sent by how the chunks crossed
	// the wire: S2, zstd, or uncompressed because compression would not
	// have shrunk them.
	SentS2, SentZstd, SentRaw int64
	// Codec is the codec the pass asked for when it ended: the one
	// Options.Wire forced, or the one CodecAuto settled on.
	Codec Codec
	// LinkRate is the rate, in bytes per second, at which CodecAuto saw
	// the first payloads stream in; 0 when it did not measure (a forced
	// codec, a bandwidth limit, or too few changed chunks).
	LinkRate float64
	// DataBytes is the raw size of the chunks sent; PayloadBytes their size
	// on the wire after compression; WireBytes everything read from the
	// agent stream during the pass, frames included.
	DataBytes, PayloadBytes, WireBytes int64
	// Digest is the whole-disk digest both sides agreed on.
	Digest Hash
	// Verified says the target's digest was computed from the target: its
	// holes, the chunks read back from it (ReadBack of them) and the hashes
	// of the bytes this pass wrote (all chunks are read back with
	// Options.ReadBack). False means the sink cannot be read back and the
	// digest comes from the hashes of what was written to it.
	Verified bool
	// ReadBack counts the chunks read back from the target for the check.
	ReadBack int64
	// Elapsed is the pass's duration.
	Elapsed time.Duration
}

// Session is the appliance's end of one agent stream. Passes on one session
// run one at a time.
type Session struct {
	hello Hello
	r     *countingReader
	br    *bufio.Reader
	w     io.WriteCloser
	wmu   sync.Mutex
	bw    *bufio.Writer
	// passes counts the passes run; from the second on, the extents are
	// asked for again.
	passes int
	// broken is set when a pass failed with frames possibly left in the
	// stream: the session cannot be used again.
	broken error
}

// countingReader counts the bytes read through it, through a rate limit
// while a pass sets one.
type countingReader struct {
	r       io.Reader
	limited io.Reader // r behind the pass's bandwidth limit, or nil
	n       atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	r := c.r
	if c.limited != nil {
		r = c.limited
	}
	n, err := r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Open reads the agent's hello from r and returns a session; w carries the
// requests (the agent's stdin). Close ends the session.
func Open(ctx context.Context, r io.Reader, w io.WriteCloser) (*Session, error) {
	s := &Session{r: &countingReader{r: r}, w: w}
	s.br = bufio.NewReaderSize(s.r, 256<<10)
	s.bw = bufio.NewWriterSize(w, 16<<10)
	type result struct {
		f   frame
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := readFrame(s.br, nil)
		ch <- result{f, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		w.Close()
		return nil, fmt.Errorf("agent hello: %w", ctx.Err())
	}
	if errors.Is(res.err, io.EOF) {
		return nil, errors.New("agent hello: the agent ended without a word (see its error output)")
	}
	if res.err != nil {
		return nil, fmt.Errorf("agent hello: %w (is something printing to stdout before the agent, such as a login script?)", res.err)
	}
	if res.f.typ != frameHello {
		return nil, fmt.Errorf("agent hello: %w: frame type %d", ErrCorrupt, res.f.typ)
	}
	h, err := parseHello(res.f.body)
	if err != nil {
		return nil, fmt.Errorf("agent hello: %w", err)
	}
	if h.Version != ProtocolVersion {
		return nil, fmt.Errorf("agent speaks protocol version %d, this shift speaks %d: deploy the agent from this shift's build", h.Version, ProtocolVersion)
	}
	if h.ChunkSize != ChunkSize {
		return nil, fmt.Errorf("agent uses chunks of %d bytes, this shift %d: deploy the agent from this shift's build", h.ChunkSize, ChunkSize)
	}
	s.hello = *h
	return s, nil
}

// Disk returns what the agent said about its disk.
func (s *Session) Disk() Hello { return s.hello }

// Close ends the session: the agent sees the end of its input and exits.
func (s *Session) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.bw.Flush()
	return s.w.Close()
}

func (s *Session) send(q request) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := writeFrame(s.bw, frameRequest, uint64(q.index), q.marshal()); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	// Requests are small: send them in bursts, but never hold one back
	// while the agent may be idle.
	if s.bw.Buffered() > 8<<10 {
		return s.bw.Flush()
	}
	return nil
}

func (s *Session) flush() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.bw.Flush()
}

// Pass copies the disk into sink: all of it that is not zero on a first
// pass, only what changed since the journal's last pass afterwards, and the
// rest of an interrupted pass when the journal has one open. At the end it
// checks the whole-disk digest of the target against the source's.
func (s *Session) Pass(ctx context.Context, sink Sink, j Journal, opts Options) (*Result, error) {
	if s.broken != nil {
		return nil, fmt.Errorf("agent session unusable after an earlier failure: %w", s.broken)
	}
	if s.passes > 0 {
		if err := s.refreshExtents(ctx); err != nil {
			s.broken = err
			return nil, err
		}
	}
	s.passes++
	p, err := s.newPass(sink, j, opts)
	if err != nil {
		return nil, err
	}
	res, err := p.run(ctx)
	if err != nil && p.dirtyStream {
		s.broken = err
	}
	return res, err
}

// refreshExtents asks the agent for the source's current extent map.
func (s *Session) refreshExtents(ctx context.Context) error {
	s.wmu.Lock()
	err := writeFrame(s.bw, frameExtents, 0)
	if err == nil {
		err = s.bw.Flush()
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("ask agent for extents: %w", err)
	}
	f, err := readFrame(s.br, nil)
	if err == nil && f.typ != frameExtents {
		err = fmt.Errorf("%w: frame type %d instead of extents", ErrCorrupt, f.typ)
	}
	if err != nil {
		return fmt.Errorf("read extents from agent: %w", err)
	}
	ext, err := parseExtents(f.body, s.hello.Size)
	if err != nil {
		return fmt.Errorf("extents from agent: %w", err)
	}
	s.hello.Extents = ext
	return ctx.Err()
}

// pass is one pass's state.
type pass struct {
	s    *Session
	sink Sink
	j    Journal
	opts Options
	st   JournalState
	size int64
	n    int64
	zero []bool // chunk is known zero on the source
	hash []Hash // source hash per chunk
	// written marks the chunks this pass wrote to the sink, from bytes it
	// checked against hash (or zeros); each goroutine sets its own chunks.
	written []bool
	// checked marks the chunks read back from the sink while the pass ran
	// (unchanged chunks, as their replies arrive), with their hash in tgt.
	checked []bool
	tgt     []Hash
	start   time.Time
	wire0   int64
	// auto picks the codec of each request; cpu holds a token per worker
	// busy decompressing, checking or hashing.
	auto *autoCodec
	cpu  chan struct{}
	// unsynced counts the bytes written since the last sync of the sink;
	// past syncBytes, a word on syncNow asks the syncer for a sync.
	unsynced  atomic.Int64
	syncBytes int64
	syncNow   chan struct{}

	res Result
	mu  sync.Mutex // guards res counters, pending and progress

	pending []finished // written, not yet in the journal
	// prior is the bytes of the chunks in use that a resumed pass finished
	// before; work is the bytes of the chunks this run asks the agent for,
	// and workDone those finished so far (see Progress). The rate is timed
	// from firstAt, when the first of them finished (firstBytes long):
	// the pipeline's start-up is not part of the steady rate.
	prior, work, workDone int64
	firstAt               time.Time
	firstBytes            int64
	dirtyStream           bool // frames may remain unread in the stream
}

type finished struct {
	index int64
	hash  Hash
}

func (s *Session) newPass(sink Sink, j Journal, opts Options) (*pass, error) {
	size := s.hello.Size
	if sink.Size() != size {
		return nil, fmt.Errorf("target disk has %d bytes, source disk %s has %d", sink.Size(), s.hello.Name, size)
	}
	st := j.State()
	if st.Size != size {
		return nil, fmt.Errorf("journal is for a disk of %d bytes, source disk %s has %d", st.Size, s.hello.Name, size)
	}
	p := &pass{s: s, sink: sink, j: j, opts: opts, st: st, size: size, n: chunks(size),
		auto: newAutoCodec(opts), cpu: make(chan struct{}, opts.workers()),
		syncBytes: int64(opts.held()) * ChunkSize, syncNow: make(chan struct{}, 1)}
	p.zero = make([]bool, p.n)
	for _, e := range s.hello.Extents {
		if e.Data {
			continue
		}
		for i := e.Offset / ChunkSize; i*ChunkSize < e.End(); i++ {
			// Extents are chunk-aligned, but check rather than trust.
			if i*ChunkSize >= e.Offset && i*ChunkSize+chunkLen(i, size) <= e.End() {
				p.zero[i] = true
			}
		}
	}
	p.hash = make([]Hash, p.n)
	p.written = make([]bool, p.n)
	p.checked = make([]bool, p.n)
	p.tgt = make([]Hash, p.n)
	return p, nil
}

func (p *pass) run(ctx context.Context) (*Result, error) {
	p.start = time.Now()
	p.wire0 = p.s.r.n.Load()
	if p.opts.BandwidthLimit > 0 {
		// Only the pass's receiver reads the stream while it runs.
		p.s.r.limited = LimitReader(ctx, p.s.r.r, p.opts.BandwidthLimit)
		defer func() { p.s.r.limited = nil }()
	}
	pn, resumed := p.st.Open, p.st.Open != 0
	if !resumed {
		pn = p.st.LastPass + 1
		if err := p.j.BeginPass(pn); err != nil {
			return nil, err
		}
	}
	p.res = Result{Disk: p.s.hello.Name, Size: p.size, Pass: pn, Resumed: resumed, Chunks: p.n}

	var plan []int64
	var zeros []int64
	for i := range p.n {
		cs := p.st.Chunks[i]
		switch {
		case resumed && cs.Known && cs.Pass == pn:
			p.hash[i] = cs.Hash
			p.res.Skipped++
			if !p.zero[i] {
				p.prior += chunkLen(i, p.size)
			}
		case p.zero[i]:
			zeros = append(zeros, i)
		default:
			plan = append(plan, i)
			p.work += chunkLen(i, p.size)
		}
	}

	if err := p.pipeline(ctx, plan, zeros); err != nil {
		// Keep what was finished, above all on failure.
		p.flushJournal()
		return p.result(), fmt.Errorf("pass %d of %s: %w", pn, p.s.hello.Name, err)
	}
	if err := p.verify(ctx); err != nil {
		return p.result(), fmt.Errorf("pass %d of %s: %w", pn, p.s.hello.Name, err)
	}
	// The copy is good: the sink's data and trailer reach stable storage in
	// one sync, then the journal records the last chunks and the pass's end
	// in one (each sync of a filesystem commits its journal and flushes the
	// disk's cache: a few of them cost a pass a noticeable stall).
	if f, ok := p.sink.(Finisher); ok {
		if err := f.Finish(); err != nil {
			p.flushJournal()
			return p.result(), fmt.Errorf("pass %d of %s: target: %w", pn, p.s.hello.Name, err)
		}
	} else if sy, ok := p.sink.(Syncer); ok {
		if err := sy.Sync(); err != nil {
			return p.result(), fmt.Errorf("pass %d of %s: target: sync: %w", pn, p.s.hello.Name, err)
		}
	}
	// Nothing writes any more: every finished chunk is in the sync above.
	if err := p.record(p.takePending()); err != nil {
		return p.result(), err
	}
	if err := p.j.EndPass(pn, p.res.Digest); err != nil {
		return p.result(), err
	}
	r := p.result()
	report(p.opts.Reporter, p.progress(true))
	return r, nil
}

func (p *pass) result() *Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.res
	r.WireBytes = p.s.r.n.Load() - p.wire0
	r.Elapsed = time.Since(p.start)
	r.Codec = p.auto.codec()
	if p.auto.decided.Load() {
		r.LinkRate = p.auto.rate
	}
	return &r
}

// progress builds a report; p.mu must be held or the pipeline stopped.
func (p *pass) progress(final bool) Progress {
	pr := Progress{Disk: p.s.hello.Name, Pass: p.res.Pass, Done: p.prior + p.workDone, Total: p.prior + p.work,
		DiskSize: p.size, Wire: p.s.r.n.Load() - p.wire0, Final: final}
	if el := time.Since(p.firstAt).Seconds(); el > 0.2 && p.workDone > p.firstBytes {
		pr.Rate = float64(p.workDone-p.firstBytes) / el
		pr.ETA = time.Duration(float64(p.work-p.workDone) / pr.Rate * float64(time.Second))
	}
	return pr
}

// finish accounts for a chunk whose target content is now h.
func (p *pass) finish(i int64, h Hash, count *int64) {
	p.hash[i] = h
	p.mu.Lock()
	defer p.mu.Unlock()
	*count++
	p.pending = append(p.pending, finished{i, h})
	if p.zero[i] {
		return // free space: no progress to speak of
	}
	if p.workDone == 0 {
		p.firstAt, p.firstBytes = time.Now(), chunkLen(i, p.size)
	}
	p.workDone += chunkLen(i, p.size)
	report(p.opts.Reporter, p.progress(false))
}

// flushJournal syncs the sink, then records the chunks finished before the
// sync began and syncs the journal.
func (p *pass) flushJournal() error {
	batch := p.takePending()
	if len(batch) == 0 {
		return nil
	}
	if sy, ok := p.sink.(Syncer); ok {
		p.unsynced.Store(0)
		if err := sy.Sync(); err != nil {
			return fmt.Errorf("target: sync: %w", err)
		}
	}
	if err := p.record(batch); err != nil {
		return err
	}
	return p.j.Sync()
}

// takePending returns the chunks finished since the last call.
func (p *pass) takePending() []finished {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := p.pending
	p.pending = nil
	return batch
}

// record notes batch in the journal, without syncing it; the sink must
// hold those chunks on stable storage already.
func (p *pass) record(batch []finished) error {
	for _, f := range batch {
		if err := p.j.Record(f.index, f.hash); err != nil {
			return err
		}
	}
	return nil
}

// tracker knows which requests are out and when the pass is complete.
type tracker struct {
	mu       sync.Mutex
	cond     sync.Cond
	sent     int // request frames written (retries included)
	received int // reply or error frames read
	planned  int // chunks to resolve
	resolved int
	planDone bool
	attempts map[int64]int
}

func (t *tracker) update(f func()) {
	t.mu.Lock()
	f()
	t.mu.Unlock()
	t.cond.Broadcast()
}

func (p *pass) pipeline(ctx context.Context, plan, zeros []int64) error {
	tr := &tracker{planned: len(plan), attempts: make(map[int64]int, p.opts.window())}
	tr.cond.L = &tr.mu
	window := make(chan struct{}, p.opts.window())

	g, gctx := errgroup.WithContext(ctx)
	wake := context.AfterFunc(gctx, func() { tr.update(func() {}) })
	defer wake()

	// Chunks the source knows are zero need no request.
	g.Go(func() error {
		for _, i := range zeros {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := p.zeroChunk(i); err != nil {
				return err
			}
		}
		return nil
	})

	// Sender: the only writer of requests, so that nothing that reads
	// replies ever blocks on the agent's input. Retries come first; each
	// holds the window slot of its chunk, so the queue never overflows.
	retries := make(chan int64, p.opts.window())
	finished := make(chan struct{})
	request := func(i int64) error {
		cs := p.st.Chunks[i]
		tr.update(func() { tr.sent++; tr.attempts[i]++ })
		return p.s.send(request{index: i, hasKnown: cs.Known, known: cs.Hash, codec: p.auto.wire()})
	}
	g.Go(func() error {
		next := 0
		for {
			var slot chan struct{}
			if next < len(plan) {
				slot = window
			}
			var i int64
			select {
			case i = <-retries:
			case slot <- struct{}{}:
				i = plan[next]
				next++
			default:
				// Nothing to send right now: push out what is buffered,
				// then wait.
				if err := p.s.flush(); err != nil {
					return err
				}
				if next == len(plan) {
					tr.update(func() { tr.planDone = true })
				}
				select {
				case i = <-retries:
				case slot <- struct{}{}:
					i = plan[next]
					next++
				case <-finished:
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			if err := request(i); err != nil {
				return err
			}
		}
	})

	// Syncer: finished chunks into the journal, regularly and after every
	// 16 chunks' worth of bytes written (see Options.SyncInterval).
	stopSync := make(chan struct{})
	syncDone := make(chan error, 1)
	go func() {
		every := p.opts.SyncInterval
		if every <= 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-p.syncNow:
			case <-stopSync:
				syncDone <- nil
				return
			}
			if err := p.flushJournal(); err != nil {
				syncDone <- err
				return
			}
		}
	}()

	// Receiver and workers. The receiver reads replies; a goroutine per
	// reply decompresses and checks it holding a CPU token, then writes it
	// without one.
	g.Go(func() error {
		wg, wctx := errgroup.WithContext(gctx)
		// The receiver reads no further reply while the appliance holds
		// as many chunks as it may.
		wg.SetLimit(p.opts.held())
		stop := context.AfterFunc(wctx, func() { tr.update(func() {}) })
		defer stop()
		retry := func(i int64, why string) error {
			var tries int
			tr.update(func() { tries = tr.attempts[i] })
			if tries >= maxAttempts {
				return fmt.Errorf("%w: chunk %d arrived damaged %d times (%s)", ErrCorrupt, i, tries, why)
			}
			p.mu.Lock()
			p.res.Retried++
			p.mu.Unlock()
			retries <- i
			return nil
		}
		rerr := func() error {
			for {
				tr.mu.Lock()
				for tr.sent == tr.received && !(tr.planDone && tr.resolved == tr.planned) && wctx.Err() == nil {
					tr.cond.Wait()
				}
				idle := tr.sent == tr.received
				tr.mu.Unlock()
				if err := wctx.Err(); err != nil {
					return err
				}
				if idle {
					return nil
				}
				fb := &frameBuf{getBuf()}
				f, err := p.readReply(fb)
				var fe *FrameError
				if err != nil && !errors.As(err, &fe) {
					fb.free()
					if errors.Is(err, io.EOF) {
						err = errors.New("the agent ended the stream early (see its error output)")
					}
					return fmt.Errorf("read from agent: %w", err)
				}
				tr.update(func() { tr.received++ })
				if fe != nil {
					fb.free()
					if fe.Type != frameReply || !p.inFlight(tr, int64(fe.Tag)) {
						return fmt.Errorf("read from agent: %w", err)
					}
					if err := retry(int64(fe.Tag), "frame checksum"); err != nil {
						return err
					}
					continue
				}
				wg.Go(func() error {
					defer fb.free()
					cpu := &cpuToken{sem: p.cpu}
					cpu.take()
					defer cpu.give()
					i, ok, why, err := p.handle(f, tr, cpu, fb)
					if err != nil {
						return err
					}
					if !ok {
						return retry(i, why)
					}
					tr.update(func() { tr.resolved++; delete(tr.attempts, i) })
					<-window
					return nil
				})
			}
		}()
		werr := wg.Wait()
		close(finished)
		if rerr == nil || errors.Is(rerr, context.Canceled) && werr != nil {
			rerr = werr
		}
		return rerr
	})

	err := g.Wait()
	close(stopSync)
	if serr := <-syncDone; err == nil {
		err = serr
	}
	if err != nil {
		tr.mu.Lock()
		p.dirtyStream = tr.sent != tr.received
		tr.mu.Unlock()
	}
	return err
}

// payloadPad is where in a frame buffer the receiver reads a frame's body:
// far enough in that a reply's payload starts 4 KiB-aligned in the pooled
// buffer (page-aligned itself), so that a raw chunk is written straight
// from it with O_DIRECT (see FileSink).
const payloadPad = directAlign - replyHeaderLen

// readReply reads the next frame into fb, timing a reply's body for
// CodecAuto.
func (p *pass) readReply(fb *frameBuf) (frame, error) {
	f, n, err := readHeader(p.s.br)
	if err != nil {
		return f, err
	}
	start := time.Now()
	f, err = readBody(p.s.br, f, n, (*fb.bp)[payloadPad:cap(*fb.bp)])
	if err == nil && f.typ == frameReply {
		p.auto.observe(n, time.Since(start))
	}
	return f, err
}

// frameBuf is a pooled buffer that goes back to the pool once, as soon as
// its owner no longer needs it.
type frameBuf struct{ bp *[]byte }

func (b *frameBuf) free() {
	if b.bp != nil {
		putBuf(b.bp)
		b.bp = nil
	}
}

// cpuToken is one goroutine's claim on a worker of the pass: taken for
// decompressing and hashing, given back around I/O.
type cpuToken struct {
	sem  chan struct{}
	held bool
}

func (c *cpuToken) take() {
	if !c.held {
		c.sem <- struct{}{}
		c.held = true
	}
}

func (c *cpuToken) give() {
	if c.held {
		<-c.sem
		c.held = false
	}
}

func (p *pass) inFlight(tr *tracker, i int64) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	_, ok := tr.attempts[i]
	return ok
}

// zeroChunk handles a chunk the source knows to be zero.
func (p *pass) zeroChunk(i int64) error {
	n := chunkLen(i, p.size)
	zh := ZeroHash(n)
	cs := p.st.Chunks[i]
	if cs.Dirty || cs.Known && cs.Hash != zh {
		if err := p.sink.WriteZeroes(i*ChunkSize, n); err != nil {
			return targetError(i, err)
		}
		p.written[i] = true
		p.finish(i, zh, &p.res.ZeroWritten)
		return nil
	}
	p.finish(i, zh, &p.res.Zero)
	return nil
}

// handle checks one reply and writes its chunk, holding cpu except while it
// waits for the sink; fb holds the frame and is freed as soon as the chunk's
// bytes are decompressed. ok false asks for the chunk again (why says what
// was wrong); err is fatal.
func (p *pass) handle(f frame, tr *tracker, cpu *cpuToken, fb *frameBuf) (i int64, ok bool, why string, err error) {
	if f.typ == frameError {
		return int64(f.tag), false, "", fmt.Errorf("agent: chunk %d: %s", f.tag, f.body)
	}
	if f.typ != frameReply {
		return 0, false, "", fmt.Errorf("%w: unexpected frame type %d from the agent", ErrCorrupt, f.typ)
	}
	r, err := parseReply(f)
	if err != nil {
		return 0, false, "", fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	i = r.index
	if i >= p.n || !p.inFlight(tr, i) {
		return 0, false, "", fmt.Errorf("%w: reply for chunk %d, which was not requested", ErrCorrupt, i)
	}
	n := chunkLen(i, p.size)
	off := i * ChunkSize
	if int64(r.rawLen) != n {
		return i, false, "length", nil
	}
	cs := p.st.Chunks[i]
	switch r.kind {
	case replyZero:
		zh := ZeroHash(n)
		if r.hash != zh {
			return i, false, "zero hash", nil
		}
		if cs.Dirty || cs.Known && cs.Hash != zh {
			cpu.give()
			if err := p.sink.WriteZeroes(off, n); err != nil {
				return i, false, "", targetError(i, err)
			}
			p.written[i] = true
			p.finish(i, zh, &p.res.ZeroWritten)
		} else {
			p.finish(i, zh, &p.res.Zero)
		}
		return i, true, "", nil
	case replyUnchanged:
		if !cs.Known || r.hash != cs.Hash {
			return i, false, "unchanged hash", nil
		}
		fb.free()
		if err := p.readBack(i, cpu); err != nil {
			return i, false, "", err
		}
		p.finish(i, r.hash, &p.res.Unchanged)
		return i, true, "", nil
	}
	data := r.payload
	count := &p.res.SentRaw
	switch r.kind {
	case replyS2:
		if m, err := s2.DecodedLen(r.payload); err != nil || int64(m) != n {
			return i, false, "s2 length", nil
		}
		db := &frameBuf{getBuf()}
		defer db.free()
		data, err = s2.Decode((*db.bp)[:n], r.payload)
		if err != nil {
			return i, false, "s2: " + err.Error(), nil
		}
		count = &p.res.SentS2
	case replyZstd:
		db := &frameBuf{getBuf()}
		defer db.free()
		data, err = zstdDecoder().DecodeAll(r.payload, (*db.bp)[:0])
		if err != nil {
			return i, false, "zstd: " + err.Error(), nil
		}
		count = &p.res.SentZstd
	}
	if int64(len(data)) != n {
		return i, false, "length", nil
	}
	if hashChunk(data) != r.hash {
		return i, false, "blake3", nil
	}
	payload := int64(len(r.payload))
	if r.kind != replyRaw {
		fb.free()
	}
	cpu.give()
	if _, err := p.sink.WriteAt(data, off); err != nil {
		return i, false, "", targetError(i, err)
	}
	if p.unsynced.Add(n) >= p.syncBytes {
		select {
		case p.syncNow <- struct{}{}:
		default:
		}
	}
	p.written[i] = true
	p.mu.Lock()
	p.res.DataBytes += n
	p.res.PayloadBytes += payload
	*count++
	p.mu.Unlock()
	p.finish(i, r.hash, &p.res.Sent)
	return i, true, "", nil
}

func targetError(i int64, err error) error {
	return fmt.Errorf("target: write chunk %d at offset %d: %w", i, i*ChunkSize, err)
}

// readBack reads chunk i back from a readable sink and keeps its hash for
// the end-of-pass check, so that reading the chunks a delta pass does not
// write overlaps with the agent's reading and hashing instead of following
// it. It gives cpu back while it reads.
func (p *pass) readBack(i int64, cpu *cpuToken) error {
	rs, ok := p.sink.(ReadableSink)
	if !ok {
		return nil
	}
	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:chunkLen(i, p.size)]
	cpu.give()
	m, err := rs.ReadAt(b, i*ChunkSize)
	if m == len(b) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("verify target: read chunk %d: %w", i, err)
	}
	cpu.take()
	p.tgt[i] = hashChunk(b)
	p.checked[i] = true
	p.mu.Lock()
	p.res.ReadBack++
	p.mu.Unlock()
	return nil
}

// readBackDepth is how many chunks the end-of-pass check reads at once at
// least: reading back is bound by the target's storage, not the CPU, and
// more reads in flight move more (on the benchmark's virtual disk, cold
// 4 MiB reads ran at 0.7–1.3 GB/s two at a time and 2 GB/s eight at a
// time).
const readBackDepth = 8

// verify computes the source's digest from the hashes of this pass, the
// target's from what it holds (see Options.ReadBack), and compares them.
func (p *pass) verify(ctx context.Context) error {
	src := Digest(p.hash)
	rs, ok := p.sink.(ReadableSink)
	if !ok {
		// Every chunk's bytes were checked against its hash before writing.
		p.res.Digest = src
		return nil
	}
	// Chunks read back during the pass count with what was read; what this
	// pass wrote, with the hash of the bytes written (p.hash), unless every
	// chunk is to be read back.
	have := make([]bool, p.n)
	known := make([]Hash, p.n)
	for i := range p.n {
		switch {
		case p.checked[i]:
			have[i], known[i] = true, p.tgt[i]
		case p.written[i] && !p.opts.ReadBack:
			have[i], known[i] = true, p.hash[i]
		}
	}
	tgt, read, err := targetHashes(ctx, rs, max(p.opts.workers(), readBackDepth), have, known)
	if err != nil {
		return fmt.Errorf("verify target: %w", err)
	}
	p.res.Verified = true
	p.res.ReadBack += read
	if d := Digest(tgt); d == src {
		p.res.Digest = src
		return nil
	}
	// What this pass finished goes into the journal before the chunks that
	// differ are forgotten there.
	if err := p.flushJournal(); err != nil {
		return err
	}
	var bad []int64
	for i := range tgt {
		if tgt[i] != p.hash[i] {
			bad = append(bad, int64(i))
			if err := p.j.Invalidate(int64(i)); err != nil {
				return err
			}
		}
	}
	if err := p.j.Sync(); err != nil {
		return err
	}
	return fmt.Errorf("%w: the target differs from the source in %d chunk(s), first chunk %d at offset %d; run another pass to copy them again",
		ErrDigestMismatch, len(bad), bad[0], bad[0]*ChunkSize)
}

// TargetHashes reads a sink back and hashes each chunk, skipping the holes
// an Extenter reports.
func TargetHashes(ctx context.Context, rs ReadableSink, workers int) ([]Hash, error) {
	hs, _, err := targetHashes(ctx, rs, workers, nil, nil)
	return hs, err
}

// targetHashes is TargetHashes taking the hash of chunk i from known[i]
// instead where skip[i] (skip may be nil); read counts the chunks read.
func targetHashes(ctx context.Context, rs ReadableSink, workers int, skip []bool, known []Hash) (_ []Hash, read int64, _ error) {
	size := rs.Size()
	n := chunks(size)
	hole := make([]bool, n)
	if ex, ok := rs.(Extenter); ok {
		ext, err := ex.Extents(ctx)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range chunkExtents(ext, size) {
			if e.Data {
				continue
			}
			for i := e.Offset / ChunkSize; i*ChunkSize < e.End(); i++ {
				hole[i] = true
			}
		}
	}
	out := make([]Hash, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := range n {
		if skip != nil && skip[i] {
			out[i] = known[i]
			continue
		}
		if hole[i] {
			out[i] = ZeroHash(chunkLen(i, size))
			continue
		}
		if gctx.Err() != nil {
			break
		}
		read++
		g.Go(func() error {
			bp := getBuf()
			defer putBuf(bp)
			b := (*bp)[:chunkLen(i, size)]
			m, err := rs.ReadAt(b, i*ChunkSize)
			if m == len(b) {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("read chunk %d: %w", i, err)
			}
			out[i] = hashChunk(b)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	return out, read, ctx.Err()
}

// SourceDigest reads a source disk and returns its whole-disk digest, as a
// pass computes it. Tests and checks use it to compare a copy with its
// source.
func SourceDigest(ctx context.Context, src disk.Source, workers int) (Hash, error) {
	hs, err := TargetHashes(ctx, readOnly{src}, workers)
	if err != nil {
		return Hash{}, err
	}
	return Digest(hs), nil
}

// readOnly adapts a source to ReadableSink for hashing.
type readOnly struct{ disk.Source }

func (readOnly) WriteAt([]byte, int64) (int, error) { return 0, errors.ErrUnsupported }
func (readOnly) WriteZeroes(int64, int64) error     { return errors.ErrUnsupported }
func (r readOnly) Extents(ctx context.Context) ([]disk.Extent, error) {
	return r.Source.Extents(ctx)
}

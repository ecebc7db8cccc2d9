package transfer

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec is how changed chunks are compressed on the wire. The zero value is
// CodecAuto.
type Codec string

const (
	// CodecAuto asks for S2, and for zstd when the link, not the CPU,
	// holds the copy back: when Options.BandwidthLimit is below
	// AutoZstdLimit, or when the first chunks' payloads stream in slower
	// than AutoZstdMeasured (see Options.Wire).
	CodecAuto Codec = ""
	// CodecS2 compresses with S2 (github.com/klauspost/compress/s2): about
	// four times the speed of zstd's default level on the source, for
	// payloads some 20% larger. It suits LANs, where the CPU of the two
	// ends bounds a copy.
	CodecS2 Codec = "s2"
	// CodecZstd compresses with zstd at its default level: the smaller
	// payloads for links that are slower than the agent's compression.
	CodecZstd Codec = "zstd"
)

// The rates, in bytes per second, under which CodecAuto asks for zstd.
//
// S2 compresses a disk at 0.5–1 GB/s per core of the source, zstd's default
// level at 120–300 MB/s for a fifth fewer bytes: below about 64 MiB/s of
// payload even one core running zstd keeps the link full, so the smaller
// payload is the faster copy. A bandwidth limit says so for certain.
//
// A measured rate says less: it is the rate at which a chunk's payload,
// compressed in full before its first byte is sent, streams in, and that
// includes the time the relaying processes (sshd on the source) wait for a
// CPU. A source busy compressing S2 slows its own sshd, and the link looks
// slower than it is: on a loaded 2-core machine copying over loopback, the
// benchmark's payloads streamed in at 32 MiB/s. Switching such a copy to
// zstd would make it slower still, so only a link measured below 16 MiB/s
// (about 134 Mbit/s, WAN and VPN territory) switches it; between the two
// rates S2 stays, at most some 20% slower than zstd would be.
const (
	AutoZstdLimit    = 64 << 20
	AutoZstdMeasured = 16 << 20
)

// ParseCodec reads a --wire value: "auto" (or ""), "s2" or "zstd".
func ParseCodec(s string) (Codec, error) {
	switch Codec(s) {
	case "auto", CodecAuto:
		return CodecAuto, nil
	case CodecS2, CodecZstd:
		return Codec(s), nil
	}
	return "", fmt.Errorf("unknown wire codec %q: want auto, s2 or zstd", s)
}

// String returns the codec's name, "auto" for CodecAuto.
func (c Codec) String() string {
	if c == CodecAuto {
		return "auto"
	}
	return string(c)
}

// wireCodec is a codec's byte in a request.
func (c Codec) wireCodec() byte {
	if c == CodecZstd {
		return wireZstd
	}
	return wireS2
}

// Codec bytes of a request: what the appliance asks the agent to compress
// the chunk's reply with.
const (
	wireS2   byte = 0
	wireZstd byte = 1
)

// autoSample is how many payload bytes CodecAuto times before it decides:
// a few chunks' worth, so that one frame that found the link busy does not
// decide alone.
const autoSample = 8 << 20

// autoCodec is CodecAuto's state during a pass: which codec to ask for,
// and the link rate measured on the frames so far. The receiver feeds it;
// the sender reads it.
type autoCodec struct {
	cur     atomic.Uint32 // the wire byte to request now
	decided atomic.Bool   // no more measuring
	// bytes and took sum the payload frames timed so far; only the
	// receiver touches them.
	bytes int64
	took  time.Duration
	// rate is the measured link rate, bytes per second, once decided by
	// measurement (0 otherwise).
	rate float64
}

// newAutoCodec returns the codec state for a pass with opts.
func newAutoCodec(opts Options) *autoCodec {
	a := &autoCodec{}
	switch {
	case opts.Wire == CodecZstd,
		opts.Wire == CodecAuto && opts.BandwidthLimit > 0 && opts.BandwidthLimit < AutoZstdLimit:
		a.cur.Store(uint32(wireZstd))
		a.decided.Store(true)
	case opts.Wire == CodecS2:
		a.decided.Store(true)
	}
	return a
}

// wire returns the codec byte for the next request.
func (a *autoCodec) wire() byte { return byte(a.cur.Load()) }

// codec returns the codec being asked for.
func (a *autoCodec) codec() Codec {
	if a.wire() == wireZstd {
		return CodecZstd
	}
	return CodecS2
}

// observe records that a payload frame body of n bytes took d to arrive,
// from its header on. The time a frame spends in flight measures the link
// and not the agent's CPU: the agent compresses a whole chunk before it
// writes a byte of its frame. Small frames are skipped: they mostly come
// from buffers.
func (a *autoCodec) observe(n int, d time.Duration) {
	if a.decided.Load() || n < 256<<10 {
		return
	}
	a.bytes += int64(n)
	a.took += d
	if a.bytes < autoSample {
		return
	}
	a.decided.Store(true)
	a.rate = float64(a.bytes) / max(a.took.Seconds(), 1e-9)
	if a.rate < AutoZstdMeasured {
		a.cur.Store(uint32(wireZstd))
	}
}

// zstdEncoder is the agent's zstd encoder, made on first use (only slow
// links ask for zstd), shared by its workers.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), 8)), zstd.WithWindowSize(ChunkSize), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err) // only on invalid options
	}
	return e
})

// zstdDecoder is the appliance's zstd decoder.
var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithDecoderMaxMemory(ChunkSize*2))
	if err != nil {
		panic(err) // only on invalid options
	}
	return d
})

// compressPool holds the agent's compression buffers: S2's worst case for a
// chunk (more than zstd's), so that encoding never allocates.
var compressPool = newBufList(16, s2.MaxEncodedLen(ChunkSize))

// compress encodes buf with the codec that wire names into a buffer from
// compressPool and returns the reply kind and payload. A payload that would
// not be smaller than buf comes back as replyRaw with buf itself, and zp
// nil.
func compress(wire byte, buf []byte) (kind byte, payload []byte, zp *[]byte) {
	zp = compressPool.get()
	var z []byte
	if wire == wireZstd {
		kind, z = replyZstd, zstdEncoder().EncodeAll(buf, (*zp)[:0])
	} else {
		kind, z = replyS2, s2.Encode((*zp)[:cap(*zp)], buf)
	}
	if len(z) >= len(buf) {
		compressPool.put(zp)
		return replyRaw, buf, nil
	}
	return kind, z, zp
}

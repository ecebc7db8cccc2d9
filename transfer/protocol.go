package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"

	"github.com/shift-migrate/shift/disk"
)

// ProtocolVersion is the version of the agent protocol that this shift
// speaks, described here.
//
// The appliance talks to one agent per disk over a byte stream: the stdin and
// stdout of "shift agent" run over SSH, or any other pipe. The protocol is
// framed, versioned and checksummed.
//
// # Frames
//
// Every message is one frame:
//
//	offset  size  field
//	0       1     type: 1 hello, 2 request, 3 reply, 4 error, 5 extents
//	1       1     flags, reserved: 0
//	2       4     body length n, big endian, at most MaxFrameBody
//	6       8     tag, big endian: the chunk index for requests, replies and
//	              chunk errors, otherwise 0
//	14      4     CRC-32C (Castagnoli) of bytes 0..13
//	18      n     body
//	18+n    4     CRC-32C of the body
//
// The header has its own CRC so that a damaged length or tag is detected
// before it is trusted: such a stream cannot be resynchronised and the
// session ends with ErrCorrupt (the journal keeps every chunk already
// written, so a rerun resumes). A damaged body with a good header is a
// *FrameError naming the tag: the appliance asks for that chunk again.
// Chunk payloads are also checked after decompression against their blake3,
// so a flip the CRC misses is still caught.
//
// # Messages
//
// The agent speaks first, with a hello:
//
//	magic "shift-agent\x00" (12 bytes), protocol version (uint16),
//	chunk size (uint32), disk size (int64), disk name (uint16 length + UTF-8),
//	extent count (uint32), then per extent: offset (int64), length (int64),
//	data (1 byte, 0 = known zero).
//
// The extents are at chunk granularity (a chunk is zero only when all of it is
// known zero), so the hello stays small whatever the disk. The appliance
// refuses a version it does not speak.
//
// Then the appliance sends requests, as many as its window allows, without
// waiting for replies:
//
//	tag = chunk index; body: has-known (1 byte), known blake3 (32 bytes),
//	codec (1 byte: 0 S2, 1 zstd)
//
// The known hash is what the target holds for that chunk from an earlier pass;
// the codec is how the appliance wants a changed chunk's payload compressed
// (see Codec: it may change during a pass, and replies name their own).
// The agent reads the chunk and answers with a reply, in any order:
//
//	tag = chunk index; body: kind (1 byte), blake3 of the chunk's bytes (32),
//	raw length (uint32), payload
//
// where kind is 0 (all zeros, no payload), 1 (unchanged: the hash equals the
// known one, no payload), 2 (payload is one zstd frame), 3 (payload is the
// raw bytes, when compression would not shrink them) or 4 (payload is one S2
// block, github.com/klauspost/compress/s2). The agent compresses with the
// codec the request names; the appliance decodes whatever kind arrives.
// Chunks that the extent map says are zero are never requested.
//
// When the agent cannot read a chunk it sends an error frame with the
// chunk's index as tag and a UTF-8 message as body; the appliance fails the
// pass with that message (finished chunks stay in the journal). An agent
// that cannot start (no such disk, no permission) exits non-zero before its
// hello, and its stderr explains why.
//
// Before every pass but the first, the appliance asks for the extents again
// (the source's sparse map changes while it runs): an extents frame with an
// empty body, sent while no request is out. The agent answers with an
// extents frame whose body is the extent count and extents as in the hello.
//
// The appliance ends the session by closing the agent's stdin; the agent
// finishes the requests it has, then exits 0.
//
// Version 3 added the request's codec byte; version 2 added reply kind 4
// (S2), which it always sent; version 1 agents sent zstd only.
const ProtocolVersion = 3

// MaxFrameBody bounds a frame's body: a raw chunk plus its reply header, or a
// hello with the extents of a very large disk.
const MaxFrameBody = 16 << 20

const (
	frameHello   byte = 1
	frameRequest byte = 2
	frameReply   byte = 3
	frameError   byte = 4
	frameExtents byte = 5
)

// Reply kinds.
const (
	replyZero      byte = 0
	replyUnchanged byte = 1
	replyZstd      byte = 2
	replyRaw       byte = 3
	replyS2        byte = 4
)

const (
	headerLen  = 18
	helloMagic = "shift-agent\x00"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a stream that cannot be trusted any more: a frame header
// failed its checksum, or the peer sent something that is not a frame.
var ErrCorrupt = errors.New("agent stream corrupted")

// FrameError is a frame whose header is intact but whose body failed its
// checksum. The stream is still in step; the frame's content is lost.
type FrameError struct {
	Type byte
	Tag  uint64
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("frame type %d tag %d: body checksum mismatch", e.Type, e.Tag)
}

// frame is one decoded frame.
type frame struct {
	typ  byte
	tag  uint64
	body []byte
}

// writeFrame writes one frame to w.
func writeFrame(w io.Writer, typ byte, tag uint64, body ...[]byte) error {
	n := 0
	for _, b := range body {
		n += len(b)
	}
	if n > MaxFrameBody {
		return fmt.Errorf("frame body of %d bytes exceeds %d", n, MaxFrameBody)
	}
	var h [headerLen]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[2:], uint32(n))
	binary.BigEndian.PutUint64(h[6:], tag)
	binary.BigEndian.PutUint32(h[14:], crc32.Checksum(h[:14], crcTable))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	crc := uint32(0)
	for _, b := range body {
		crc = crc32.Update(crc, crcTable, b)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	var t [4]byte
	binary.BigEndian.PutUint32(t[:], crc)
	_, err := w.Write(t[:])
	return err
}

// readFrame reads one frame. buf is reused for the body when large enough.
// io.EOF means the stream ended cleanly between frames. A header checksum
// failure wraps ErrCorrupt; a body checksum failure is a *FrameError (and the
// returned frame still carries type and tag).
func readFrame(r io.Reader, buf []byte) (frame, error) {
	f, n, err := readHeader(r)
	if err != nil {
		return f, err
	}
	return readBody(r, f, n, buf)
}

// readHeader reads a frame's header and returns the frame without its body
// and the body's length; see readFrame.
func readHeader(r io.Reader) (frame, int, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, 0, fmt.Errorf("%w: stream ended inside a frame header", ErrCorrupt)
		}
		return frame{}, 0, err
	}
	if crc32.Checksum(h[:14], crcTable) != binary.BigEndian.Uint32(h[14:]) {
		return frame{}, 0, fmt.Errorf("%w: frame header checksum mismatch (first bytes %q)", ErrCorrupt, h[:])
	}
	f := frame{typ: h[0], tag: binary.BigEndian.Uint64(h[6:])}
	n := binary.BigEndian.Uint32(h[2:])
	if n > MaxFrameBody {
		return frame{}, 0, fmt.Errorf("%w: frame body of %d bytes exceeds %d", ErrCorrupt, n, MaxFrameBody)
	}
	if h[1] != 0 {
		return frame{}, 0, fmt.Errorf("%w: frame flags %#x are not 0", ErrCorrupt, h[1])
	}
	return f, int(n), nil
}

// readBody reads the body of n bytes of the frame f whose header
// readHeader read, into buf when large enough; see readFrame.
func readBody(r io.Reader, f frame, n int, buf []byte) (frame, error) {
	if cap(buf) < n+4 {
		buf = make([]byte, n+4)
	}
	buf = buf[:n+4]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, fmt.Errorf("%w: stream ended inside a frame body", ErrCorrupt)
		}
		return frame{}, err
	}
	f.body = buf[:n]
	if crc32.Checksum(f.body, crcTable) != binary.BigEndian.Uint32(buf[n:]) {
		return f, &FrameError{Type: f.typ, Tag: f.tag}
	}
	return f, nil
}

// Hello is the agent's first message.
type Hello struct {
	// Version is the agent's protocol version.
	Version uint16
	// ChunkSize is the agent's chunk size; it must equal ChunkSize.
	ChunkSize uint32
	// Size is the disk's size in bytes.
	Size int64
	// Name is the disk as the agent opened it (a device or image path).
	Name string
	// Extents cover [0, Size) at chunk granularity.
	Extents []disk.Extent
}

func (h *Hello) marshal() []byte {
	b := make([]byte, 0, len(helloMagic)+2+4+8+2+len(h.Name)+4+17*len(h.Extents))
	b = append(b, helloMagic...)
	b = binary.BigEndian.AppendUint16(b, h.Version)
	b = binary.BigEndian.AppendUint32(b, h.ChunkSize)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Size))
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Name)))
	b = append(b, h.Name...)
	return appendExtents(b, h.Extents)
}

func appendExtents(b []byte, ext []disk.Extent) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(ext)))
	for _, e := range ext {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Offset))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Length))
		d := byte(0)
		if e.Data {
			d = 1
		}
		b = append(b, d)
	}
	return b
}

// errShort is a body too short for its message type.
var errShort = errors.New("message too short")

func parseHello(b []byte) (*Hello, error) {
	if len(b) < len(helloMagic) || string(b[:len(helloMagic)]) != helloMagic {
		return nil, errors.New("not a shift agent hello")
	}
	b = b[len(helloMagic):]
	if len(b) < 2+4+8+2 {
		return nil, errShort
	}
	h := &Hello{
		Version:   binary.BigEndian.Uint16(b),
		ChunkSize: binary.BigEndian.Uint32(b[2:]),
		Size:      int64(binary.BigEndian.Uint64(b[6:])),
	}
	if h.Version != ProtocolVersion {
		// Later versions may lay out the rest differently.
		return h, nil
	}
	nl := int(binary.BigEndian.Uint16(b[14:]))
	b = b[16:]
	if len(b) < nl+4 {
		return nil, errShort
	}
	h.Name = string(b[:nl])
	if !utf8.ValidString(h.Name) {
		return nil, errors.New("disk name is not UTF-8")
	}
	if h.Size < 0 {
		return nil, fmt.Errorf("negative disk size %d", h.Size)
	}
	ext, err := parseExtents(b[nl:], h.Size)
	if err != nil {
		return nil, err
	}
	h.Extents = ext
	return h, nil
}

// parseExtents reads an extent count and extents that must cover [0, size)
// in order.
func parseExtents(b []byte, size int64) ([]disk.Extent, error) {
	if len(b) < 4 {
		return nil, errShort
	}
	ne := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(ne)*17 {
		return nil, fmt.Errorf("%d extents need %d bytes, have %d", ne, uint64(ne)*17, len(b))
	}
	ext := make([]disk.Extent, ne)
	var pos int64
	for i := range ext {
		e := disk.Extent{
			Offset: int64(binary.BigEndian.Uint64(b)),
			Length: int64(binary.BigEndian.Uint64(b[8:])),
			Data:   b[16] != 0,
		}
		if e.Offset != pos || e.Length <= 0 || e.End() > size || e.End() < e.Offset {
			return nil, fmt.Errorf("extent %d (%d+%d) does not continue at %d within %d bytes", i, e.Offset, e.Length, pos, size)
		}
		pos = e.End()
		ext[i] = e
		b = b[17:]
	}
	if pos != size {
		return nil, fmt.Errorf("extents cover %d of %d bytes", pos, size)
	}
	return ext, nil
}

// request asks the agent for one chunk.
type request struct {
	index    int64
	hasKnown bool
	known    Hash
	codec    byte // wireS2 or wireZstd
}

const requestLen = 1 + 32 + 1

func (q request) marshal() []byte {
	b := make([]byte, requestLen)
	if q.hasKnown {
		b[0] = 1
		copy(b[1:], q.known[:])
	}
	b[33] = q.codec
	return b
}

func parseRequest(f frame) (request, error) {
	if len(f.body) != requestLen || f.body[0] > 1 || f.body[33] > wireZstd {
		return request{}, fmt.Errorf("request for chunk %d: malformed body of %d bytes", f.tag, len(f.body))
	}
	if f.tag > 1<<50 {
		return request{}, fmt.Errorf("request for chunk %d: index out of range", f.tag)
	}
	q := request{index: int64(f.tag), hasKnown: f.body[0] == 1, codec: f.body[33]}
	copy(q.known[:], f.body[1:33])
	return q, nil
}

// replyHeaderLen is the size of a reply body before its payload.
const replyHeaderLen = 1 + 32 + 4

// reply is the agent's answer for one chunk. payload aliases the frame's
// buffer.
type reply struct {
	index   int64
	kind    byte
	hash    Hash
	rawLen  int
	payload []byte
}

func replyHeader(kind byte, h Hash, rawLen int) []byte {
	b := make([]byte, replyHeaderLen)
	b[0] = kind
	copy(b[1:], h[:])
	binary.BigEndian.PutUint32(b[33:], uint32(rawLen))
	return b
}

func parseReply(f frame) (reply, error) {
	if len(f.body) < replyHeaderLen {
		return reply{}, fmt.Errorf("reply for chunk %d: %w", f.tag, errShort)
	}
	r := reply{index: int64(f.tag), kind: f.body[0], rawLen: int(binary.BigEndian.Uint32(f.body[33:])), payload: f.body[replyHeaderLen:]}
	copy(r.hash[:], f.body[1:33])
	switch {
	case r.kind > replyS2:
		return reply{}, fmt.Errorf("reply for chunk %d: unknown kind %d", f.tag, r.kind)
	case r.rawLen > ChunkSize:
		return reply{}, fmt.Errorf("reply for chunk %d: raw length %d exceeds the chunk size", f.tag, r.rawLen)
	case (r.kind == replyZero || r.kind == replyUnchanged) && len(r.payload) != 0:
		return reply{}, fmt.Errorf("reply for chunk %d: payload on a reply without data", f.tag)
	case r.kind == replyRaw && len(r.payload) != r.rawLen:
		return reply{}, fmt.Errorf("reply for chunk %d: raw payload of %d bytes, want %d", f.tag, len(r.payload), r.rawLen)
	}
	return r, nil
}

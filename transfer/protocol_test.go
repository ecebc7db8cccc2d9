package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"reflect"
	"testing"

	"github.com/shift-migrate/shift/disk"
)

// fixCRC recomputes the body CRC that follows body in its buffer.
func fixCRC(body []byte) {
	full := body[:len(body)+4]
	binary.BigEndian.PutUint32(full[len(body):], crc32.Checksum(body, crcTable))
}

func TestFrameRoundTrip(t *testing.T) {
	h := Hello{Version: ProtocolVersion, ChunkSize: ChunkSize, Size: 3*ChunkSize + 7, Name: "/dev/sda",
		Extents: []disk.Extent{{Offset: 0, Length: ChunkSize, Data: true}, {Offset: ChunkSize, Length: 2*ChunkSize + 7}}}
	var buf bytes.Buffer
	if err := writeFrame(&buf, frameHello, 0, h.marshal()); err != nil {
		t.Fatal(err)
	}
	q := request{index: 2, hasKnown: true, known: hashChunk([]byte("x"))}
	writeFrame(&buf, frameRequest, 2, q.marshal())
	writeFrame(&buf, frameReply, 9, replyHeader(replyRaw, q.known, 3), []byte("abc"))

	f, err := readFrame(&buf, nil)
	if err != nil || f.typ != frameHello {
		t.Fatalf("hello frame: %v %+v", err, f)
	}
	got, err := parseHello(f.body)
	if err != nil || !reflect.DeepEqual(*got, h) {
		t.Fatalf("hello = %+v, %v", got, err)
	}
	f, _ = readFrame(&buf, nil)
	if gq, err := parseRequest(f); err != nil || gq != q {
		t.Fatalf("request = %+v, %v", gq, err)
	}
	f, _ = readFrame(&buf, nil)
	r, err := parseReply(f)
	if err != nil || r.index != 9 || r.kind != replyRaw || string(r.payload) != "abc" || r.hash != q.known {
		t.Fatalf("reply = %+v, %v", r, err)
	}
	if _, err := readFrame(&buf, nil); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestFrameDamage(t *testing.T) {
	var good bytes.Buffer
	writeFrame(&good, frameReply, 5, replyHeader(replyRaw, Hash{}, 4), []byte("data"))
	for i := range good.Len() {
		b := bytes.Clone(good.Bytes())
		b[i] ^= 0x08
		_, err := readFrame(bytes.NewReader(b), nil)
		var fe *FrameError
		switch {
		case i < headerLen:
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("flip in header byte %d: %v, want ErrCorrupt", i, err)
			}
		default:
			if !errors.As(err, &fe) || fe.Tag != 5 {
				t.Errorf("flip in body byte %d: %v, want a FrameError for tag 5", i, err)
			}
		}
	}
	// A login script printing to stdout is not a frame.
	if _, err := readFrame(bytes.NewReader([]byte("Welcome to Ubuntu 22.04 LTS\n")), nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("banner: %v", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder and the message
// parsers: no panic, no huge allocation, and a frame that decodes
// re-encodes to the same bytes.
func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	h := Hello{Version: ProtocolVersion, ChunkSize: ChunkSize, Size: ChunkSize, Name: "d",
		Extents: []disk.Extent{{Offset: 0, Length: ChunkSize, Data: true}}}
	writeFrame(&b, frameHello, 0, h.marshal())
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, frameRequest, 3, request{index: 3}.marshal())
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, frameReply, 1, replyHeader(replyZstd, Hash{1}, 10), []byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add(b.Bytes())
	f.Add([]byte("SSH-2.0-OpenSSH"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			fr, err := readFrame(r, nil)
			if err != nil {
				var fe *FrameError
				if errors.As(err, &fe) {
					continue
				}
				return
			}
			if len(fr.body) > MaxFrameBody {
				t.Fatalf("body of %d bytes", len(fr.body))
			}
			var out bytes.Buffer
			writeFrame(&out, fr.typ, fr.tag, fr.body)
			rt, err := readFrame(&out, nil)
			if err != nil || rt.typ != fr.typ || rt.tag != fr.tag || !bytes.Equal(rt.body, fr.body) {
				t.Fatalf("re-encoding changed the frame: %v", err)
			}
			switch fr.typ {
			case frameHello:
				if h, err := parseHello(fr.body); err == nil && h.Version == ProtocolVersion {
					if !reflect.DeepEqual(disk.Normalize(h.Extents, h.Size), h.Extents) && len(h.Extents) > 0 {
						// Extents parse in order without gaps; Normalize may
						// only merge neighbours.
						var pos int64
						for _, e := range h.Extents {
							if e.Offset != pos {
								t.Fatalf("gap in parsed extents %v", h.Extents)
							}
							pos = e.End()
						}
					}
				}
			case frameRequest:
				parseRequest(fr)
			case frameReply:
				if rp, err := parseReply(fr); err == nil && rp.rawLen > ChunkSize {
					t.Fatalf("raw length %d accepted", rp.rawLen)
				}
			}
		}
	})
}

func TestChunkExtents(t *testing.T) {
	size := int64(10*ChunkSize + 100)
	in := []disk.Extent{
		{Offset: 0, Length: ChunkSize + 1, Data: true},
		{Offset: ChunkSize + 1, Length: 4*ChunkSize - 1}, // chunks 2..4 fully zero
		{Offset: 5 * ChunkSize, Length: ChunkSize, Data: true},
		{Offset: 6 * ChunkSize, Length: 4*ChunkSize + 100}, // 6..10 zero, 10 is the short one
	}
	got := chunkExtents(in, size)
	want := []disk.Extent{
		{Offset: 0, Length: 2 * ChunkSize, Data: true},
		{Offset: 2 * ChunkSize, Length: 3 * ChunkSize},
		{Offset: 5 * ChunkSize, Length: ChunkSize, Data: true},
		{Offset: 6 * ChunkSize, Length: 4*ChunkSize + 100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunkExtents = %v, want %v", got, want)
	}
}

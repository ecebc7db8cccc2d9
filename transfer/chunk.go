package transfer

import (
	"bytes"
	"encoding/hex"

	"github.com/zeebo/blake3"
)

// ChunkSize is the unit of transfer: 4 MiB, Azure's Put Page maximum. The
// last chunk of a disk may be shorter.
const ChunkSize = 4 << 20

// Hash is the blake3-256 of a chunk's bytes.
type Hash [32]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// hashChunk returns the blake3-256 of p.
func hashChunk(p []byte) Hash { return blake3.Sum256(p) }

// fullZeroHash is the hash of a full all-zero chunk (TestZeroHash computes
// it), spelled out so that starting a process, an agent above all, does not
// hash 4 MiB; a short last chunk is hashed on demand.
var fullZeroHash = Hash{
	0x04, 0xe5, 0x2c, 0xd2, 0xda, 0x6a, 0x0e, 0x1f, 0x33, 0x8b, 0x00, 0x78, 0x36, 0x91, 0x30, 0xd9,
	0x65, 0x85, 0xc1, 0xde, 0x65, 0x05, 0x7d, 0xa5, 0xdd, 0x12, 0x83, 0xb1, 0x2f, 0xb8, 0x53, 0xe1,
}

// ZeroHash returns the hash of n zero bytes.
func ZeroHash(n int64) Hash {
	if n == ChunkSize {
		return fullZeroHash
	}
	return hashChunk(make([]byte, n))
}

// zeroChunk is a full chunk of zeros, for comparisons.
var zeroChunk = make([]byte, ChunkSize)

// isZero reports whether p (at most ChunkSize bytes) holds only zeros.
func isZero(p []byte) bool { return bytes.Equal(p, zeroChunk[:len(p)]) }

// chunks returns the number of chunks of a disk of size bytes.
func chunks(size int64) int64 { return (size + ChunkSize - 1) / ChunkSize }

// chunkLen returns the length of chunk i of a disk of size bytes.
func chunkLen(i, size int64) int64 { return min(ChunkSize, size-i*ChunkSize) }

// Digest is the whole-disk digest of one pass: blake3-256 over the ordered
// per-chunk hashes (chunk 0 first, 32 bytes each). Both sides compute it: the
// appliance from the hashes the agent reported for what it read, and again
// from what the target holds after the pass.
func Digest(hashes []Hash) Hash {
	h := blake3.New()
	for i := range hashes {
		h.Write(hashes[i][:])
	}
	var d Hash
	copy(d[:], h.Sum(nil))
	return d
}

// bufList is a free list of buffers of one capacity. Unlike a sync.Pool it
// keeps its buffers across garbage collections: a pass moves a chunk-sized
// buffer every few milliseconds, and a pool that the collector empties
// makes it allocate (and the kernel zero) hundreds of MiB anew in every
// pass. It keeps at most its length; more are allocated when needed and
// left to the collector when returned to a full list.
type bufList struct {
	free chan *[]byte
	size int
}

func newBufList(n, size int) *bufList { return &bufList{free: make(chan *[]byte, n), size: size} }

// get returns a buffer of length 0 and the list's capacity; its bytes are
// not cleared.
func (l *bufList) get() *[]byte {
	select {
	case b := <-l.free:
		return b
	default:
		b := make([]byte, 0, l.size)
		return &b
	}
}

// put gives b back.
func (l *bufList) put(b *[]byte) {
	*b = (*b)[:0]
	select {
	case l.free <- b:
	default:
	}
}

package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Journal records what the target holds, chunk by chunk and pass by pass, so
// that a killed run resumes without recopying finished chunks and a later
// pass sends only what changed. Implementations are safe for concurrent use.
// The migration engine keeps this in its ledger; FileJournal keeps it in a
// file next to the target.
type Journal interface {
	// State returns a copy of what the journal holds.
	State() JournalState
	// BeginPass starts pass n (the last completed pass + 1).
	BeginPass(n int) error
	// Record notes that chunk index of the target now holds bytes with hash
	// h, written (or confirmed) in the open pass. It need not be durable
	// before Sync.
	Record(index int64, h Hash) error
	// Invalidate forgets chunk index: its content on the target is unknown
	// and the next pass rewrites it.
	Invalidate(index int64) error
	// EndPass closes the open pass with the digest both sides agreed on; it
	// is durable when it returns.
	EndPass(n int, digest Hash) error
	// Sync makes every earlier Record and Invalidate durable.
	Sync() error
}

// JournalState is what a journal holds.
type JournalState struct {
	// Size is the disk's size in bytes.
	Size int64
	// LastPass is the last completed pass; 0 means none.
	LastPass int
	// LastDigest is the digest of LastPass.
	LastDigest Hash
	// Open is a pass begun and not ended (a killed run); 0 means none.
	Open int
	// Chunks holds one entry per chunk of the disk.
	Chunks []ChunkState
}

// ChunkState is what the target holds for one chunk.
type ChunkState struct {
	// Hash is the chunk's content when Known.
	Hash Hash
	// Known says Hash is valid. A chunk never written and not Dirty reads as
	// zeros on a fresh target.
	Known bool
	// Dirty says the chunk's content is unknown (a failed verification): it
	// must be rewritten even where the source is zero.
	Dirty bool
	// Pass is the pass that last recorded the chunk; 0 means none.
	Pass int
}

// NewMemJournal returns a journal held in memory, for tests and for callers
// that persist the state themselves.
func NewMemJournal(size int64) *MemJournal {
	return &MemJournal{st: JournalState{Size: size, Chunks: make([]ChunkState, chunks(size))}}
}

// MemJournal is a Journal in memory.
type MemJournal struct {
	mu sync.Mutex
	st JournalState
}

var _ Journal = (*MemJournal)(nil)

// State returns a copy of the state.
func (j *MemJournal) State() JournalState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.clone()
}

// BeginPass opens pass n.
func (j *MemJournal) BeginPass(n int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.begin(n)
}

// Record notes chunk index's hash.
func (j *MemJournal) Record(index int64, h Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.record(index, h)
}

// Invalidate forgets chunk index.
func (j *MemJournal) Invalidate(index int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.invalidate(index)
}

// EndPass closes pass n.
func (j *MemJournal) EndPass(n int, d Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.end(n, d)
}

// Sync does nothing.
func (j *MemJournal) Sync() error { return nil }

func (st *JournalState) clone() JournalState {
	c := *st
	c.Chunks = append([]ChunkState(nil), st.Chunks...)
	return c
}

func (st *JournalState) begin(n int) error {
	if st.Open != 0 || n != st.LastPass+1 {
		return fmt.Errorf("journal: begin pass %d after pass %d (open %d)", n, st.LastPass, st.Open)
	}
	st.Open = n
	return nil
}

func (st *JournalState) record(i int64, h Hash) error {
	if i < 0 || i >= int64(len(st.Chunks)) {
		return fmt.Errorf("journal: chunk %d out of range", i)
	}
	if st.Open == 0 {
		return errors.New("journal: record outside a pass")
	}
	st.Chunks[i] = ChunkState{Hash: h, Known: true, Pass: st.Open}
	return nil
}

func (st *JournalState) invalidate(i int64) error {
	if i < 0 || i >= int64(len(st.Chunks)) {
		return fmt.Errorf("journal: chunk %d out of range", i)
	}
	st.Chunks[i] = ChunkState{Dirty: true}
	return nil
}

func (st *JournalState) end(n int, d Hash) error {
	if st.Open != n {
		return fmt.Errorf("journal: end pass %d, open is %d", n, st.Open)
	}
	st.Open, st.LastPass, st.LastDigest = 0, n, d
	return nil
}

// The journal file is a sequence of fixed-size records, appended only:
//
//	type (1) pass (uint32) index (uint64) hash (32) CRC-32C of the rest (4)
//
// A record cut short or failing its CRC ends the journal: everything after it
// is discarded when the file is opened, so a kill -9 loses at most the
// records not yet synced, never the journal.
const (
	recLen = 1 + 4 + 8 + 32 + 4

	recHeader     byte = 'H' // index = disk size, hash[0:4] = chunk size, pass = format version
	recBegin      byte = 'B'
	recChunk      byte = 'C'
	recSnapshot   byte = 'S' // a chunk's state as of a snapshot, in its own pass
	recInvalidate byte = 'I'
	recEnd        byte = 'E' // hash = digest

	journalVersion = 1
)

// FileJournal is a Journal kept in an append-only file.
type FileJournal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	w    *bufio.Writer
	st   JournalState
	// dirty says records were written since the last sync.
	dirty bool
}

var _ Journal = (*FileJournal)(nil)

// OpenJournal opens the journal at path for a disk of size bytes, creating
// it when missing. A journal for another size is an error. A torn tail
// (from a crash) is cut off.
func OpenJournal(path string, size int64) (*FileJournal, error) {
	j := &FileJournal{path: path, st: JournalState{Size: size, Chunks: make([]ChunkState, chunks(size))}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	good, err := j.replay(data, size)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if good == 0 {
		// New (or holding no valid header): start it afresh.
		if err := j.rewrite(); err != nil {
			return nil, err
		}
		return j, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := f.Truncate(int64(good)); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: cut torn tail: %w", path, err)
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.f, j.w = f, bufio.NewWriterSize(f, 64<<10)
	return j, nil
}

// replay applies the records in data and returns the length of the valid
// prefix.
func (j *FileJournal) replay(data []byte, size int64) (int, error) {
	good := 0
	for len(data)-good >= recLen {
		r := data[good : good+recLen]
		if crc32.Checksum(r[:recLen-4], crcTable) != binary.BigEndian.Uint32(r[recLen-4:]) {
			break
		}
		typ, pass := r[0], int(binary.BigEndian.Uint32(r[1:]))
		idx := int64(binary.BigEndian.Uint64(r[5:]))
		var h Hash
		copy(h[:], r[13:45])
		var err error
		switch {
		case good == 0 && typ != recHeader:
			return 0, errors.New("not a shift journal")
		case typ == recHeader:
			if good != 0 {
				return 0, fmt.Errorf("second header at byte %d", good)
			}
			if pass != journalVersion || binary.BigEndian.Uint32(h[:]) != ChunkSize {
				return 0, fmt.Errorf("written by another shift version (format %d, chunk size %d): move it away to start over", pass, binary.BigEndian.Uint32(h[:]))
			}
			if idx != size {
				return 0, fmt.Errorf("is for a disk of %d bytes, the source disk has %d: the disk changed size; move the journal and image away to start over", idx, size)
			}
		case typ == recBegin:
			err = j.st.begin(pass)
		case typ == recSnapshot:
			if idx < 0 || idx >= int64(len(j.st.Chunks)) || pass < 1 {
				err = fmt.Errorf("snapshot of chunk %d pass %d out of range", idx, pass)
			} else {
				j.st.Chunks[idx] = ChunkState{Hash: h, Known: true, Pass: pass}
			}
		case typ == recChunk:
			if j.st.Open != pass {
				err = fmt.Errorf("chunk record of pass %d while pass %d is open", pass, j.st.Open)
			} else {
				err = j.st.record(idx, h)
			}
		case typ == recInvalidate:
			err = j.st.invalidate(idx)
		case typ == recEnd:
			if j.st.Open == 0 && pass >= j.st.LastPass {
				// A snapshot states its last completed pass directly.
				j.st.LastPass, j.st.LastDigest = pass, h
			} else {
				err = j.st.end(pass, h)
			}
		default:
			err = fmt.Errorf("unknown record type %q", typ)
		}
		if err != nil {
			return 0, fmt.Errorf("record at byte %d: %w", good, err)
		}
		good += recLen
	}
	return good, nil
}

func appendRec(b []byte, typ byte, pass int, idx int64, h Hash) []byte {
	start := len(b)
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(pass))
	b = binary.BigEndian.AppendUint64(b, uint64(idx))
	b = append(b, h[:]...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], crcTable))
}

// rewrite replaces the file with a snapshot of the state: header, last
// completed pass, every known or dirty chunk, the open pass. It writes a
// temporary file, syncs it and renames it into place.
func (j *FileJournal) rewrite() error {
	var hdr Hash
	binary.BigEndian.PutUint32(hdr[:], ChunkSize)
	b := appendRec(nil, recHeader, journalVersion, j.st.Size, hdr)
	if j.st.LastPass > 0 {
		b = appendRec(b, recEnd, j.st.LastPass, 0, j.st.LastDigest)
	}
	for i, c := range j.st.Chunks {
		switch {
		case c.Known:
			b = appendRec(b, recSnapshot, c.Pass, int64(i), c.Hash)
		case c.Dirty:
			b = appendRec(b, recInvalidate, 0, int64(i), Hash{})
		}
	}
	if j.st.Open != 0 {
		b = appendRec(b, recBegin, j.st.Open, 0, Hash{})
	}
	tmp := j.path + ".tmp"
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	syncDir(filepath.Dir(j.path))
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.f, j.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// State returns a copy of the state.
func (j *FileJournal) State() JournalState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st.clone()
}

// BeginPass opens pass n. It first compacts the file into a snapshot, so the
// journal does not grow with the number of passes.
func (j *FileJournal) BeginPass(n int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.st.begin(n); err != nil {
		return err
	}
	return j.rewrite()
}

// Record notes chunk index's hash; it is durable after the next Sync.
func (j *FileJournal) Record(index int64, h Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.st.record(index, h); err != nil {
		return err
	}
	j.dirty = true
	_, err := j.w.Write(appendRec(nil, recChunk, j.st.Open, index, h))
	return err
}

// Invalidate forgets chunk index; durable after the next Sync.
func (j *FileJournal) Invalidate(index int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.st.invalidate(index); err != nil {
		return err
	}
	j.dirty = true
	_, err := j.w.Write(appendRec(nil, recInvalidate, 0, index, Hash{}))
	return err
}

// EndPass closes pass n and syncs.
func (j *FileJournal) EndPass(n int, d Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.st.end(n, d); err != nil {
		return err
	}
	j.dirty = true
	if _, err := j.w.Write(appendRec(nil, recEnd, n, 0, d)); err != nil {
		return err
	}
	return j.sync()
}

// Sync writes buffered records and fsyncs the file.
func (j *FileJournal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.sync()
}

func (j *FileJournal) sync() error {
	j.dirty = false
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// Close syncs what was recorded since the last sync and closes the
// journal.
func (j *FileJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.dirty {
		err = j.sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shift-migrate/shift/transfer"
)

// journalKey names one disk of one server.
type journalKey struct{ server, disk string }

// journalTimeout bounds each write of a journal. Journal writes run on a
// context detached from the caller's: what was copied is recorded even when
// the run is being cancelled.
const journalTimeout = 2 * time.Minute

// chunkBatch is how many chunk rows one INSERT carries (5 parameters each,
// well below SQLite's and PostgreSQL's limits).
const chunkBatch = 500

// DiskJournal is a transfer.Journal kept in the ledger: one row per chunk
// written or invalidated, and a row per disk with its passes. Record and
// Invalidate are buffered in memory; Sync writes them in one transaction, and
// BeginPass and EndPass are durable when they return. It is safe for
// concurrent use.
type DiskJournal struct {
	l      *Ledger
	key    journalKey
	diskID int64
	ctx    context.Context // detached from the opener's cancellation

	syncMu sync.Mutex // serialises writes to the database, taken before mu
	mu     sync.Mutex // guards st, pending, closed
	st     transfer.JournalState
	// pending holds chunk states recorded and not yet written, by index; a
	// later change of a chunk replaces an earlier one.
	pending map[int64]transfer.ChunkState
	closed  bool
}

var _ transfer.Journal = (*DiskJournal)(nil)

// Journal returns the chunk journal of server's disk, a disk of size bytes,
// creating it when missing. A journal recorded for another size is an error
// (the disk changed size: ResetJournal starts it over). Calling Journal again
// for an open disk returns the same journal. Close it when the disk is done.
func (l *Ledger) Journal(ctx context.Context, server, disk string, size int64) (*DiskJournal, error) {
	op := "journal of disk " + disk
	if err := checkName("disk", disk); err != nil {
		return nil, l.errf(server, op, err)
	}
	if size <= 0 {
		return nil, l.errf(server, op, fmt.Errorf("disk size %d is not positive", size))
	}
	key := journalKey{server, disk}
	if j, err := l.openJournal(key, size); j != nil || err != nil {
		return j, l.errf(server, op, err)
	}
	loaded, err := l.loadJournal(ctx, key, size)
	if err != nil {
		return nil, l.errf(server, op, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if j := l.journals[key]; j != nil {
		// Another goroutine loaded it meanwhile: share theirs.
		return j, nil
	}
	l.journals[key] = loaded
	return loaded, nil
}

// openJournal returns the journal of key if it is open.
func (l *Ledger) openJournal(key journalKey, size int64) (*DiskJournal, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	j := l.journals[key]
	if j != nil && j.st.Size != size {
		return nil, fmt.Errorf("open for a disk of %d bytes, asked for %d", j.st.Size, size)
	}
	return j, nil
}

// loadJournal reads (or creates) a disk's journal rows.
func (l *Ledger) loadJournal(ctx context.Context, key journalKey, size int64) (*DiskJournal, error) {
	n := (size + transfer.ChunkSize - 1) / transfer.ChunkSize
	j := &DiskJournal{l: l, key: key, ctx: context.WithoutCancel(ctx), pending: map[int64]transfer.ChunkState{},
		st: transfer.JournalState{Size: size, Chunks: make([]transfer.ChunkState, n)}}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, key.server); err != nil {
			return err
		}
		var recSize, chunkSize int64
		var digest []byte
		err := tx.QueryRowContext(ctx, l.q(`SELECT id, size, chunk_size, last_pass, last_digest, open_pass FROM disks WHERE server = ? AND disk = ?`),
			key.server, key.disk).Scan(&j.diskID, &recSize, &chunkSize, &j.st.LastPass, &digest, &j.st.Open)
		if errors.Is(err, sql.ErrNoRows) {
			return tx.QueryRowContext(ctx, l.q(`INSERT INTO disks (server, disk, size, chunk_size, updated) VALUES (?, ?, ?, ?, ?) RETURNING id`),
				key.server, key.disk, size, int64(transfer.ChunkSize), nanos(l.now())).Scan(&j.diskID)
		}
		if err != nil {
			return err
		}
		if chunkSize != transfer.ChunkSize {
			return fmt.Errorf("recorded with chunks of %d bytes by another shift version, this one uses %d: reset the disk's replication to start over", chunkSize, transfer.ChunkSize)
		}
		if recSize != size {
			return fmt.Errorf("recorded for a disk of %d bytes, the source disk has %d: the disk changed size; reset the disk's replication to start over", recSize, size)
		}
		copy(j.st.LastDigest[:], digest)
		return j.loadChunks(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (j *DiskJournal) loadChunks(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, j.l.q(`SELECT idx, hash, pass, dirty FROM chunks WHERE disk_id = ?`), j.diskID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var h []byte
		var pass, dirty int
		if err := rows.Scan(&idx, &h, &pass, &dirty); err != nil {
			return err
		}
		if idx < 0 || idx >= int64(len(j.st.Chunks)) {
			return fmt.Errorf("chunk %d recorded past the end of the disk (%d chunks)", idx, len(j.st.Chunks))
		}
		c := transfer.ChunkState{Dirty: dirty != 0, Pass: pass}
		if !c.Dirty {
			if len(h) != len(c.Hash) {
				return fmt.Errorf("chunk %d has a hash of %d bytes", idx, len(h))
			}
			copy(c.Hash[:], h)
			c.Known = true
		}
		j.st.Chunks[idx] = c
	}
	return rows.Err()
}

// ResetJournal forgets everything recorded for server's disk, so that its
// replication starts over. The disk's journal must not be open.
func (l *Ledger) ResetJournal(ctx context.Context, server, disk string) error {
	op := "reset journal of disk " + disk
	l.mu.Lock()
	open := l.journals[journalKey{server, disk}] != nil
	l.mu.Unlock()
	if open {
		return l.errf(server, op, errors.New("the journal is open (close it first)"))
	}
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, server); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, l.q(`DELETE FROM chunks WHERE disk_id IN (SELECT id FROM disks WHERE server = ? AND disk = ?)`), server, disk); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, l.q(`DELETE FROM disks WHERE server = ? AND disk = ?`), server, disk)
		return err
	})
	if err != nil {
		return l.errf(server, op, err)
	}
	return nil
}

func (j *DiskJournal) errf(op string, err error) error {
	return j.l.errf(j.key.server, "journal of disk "+j.key.disk+": "+op, err)
}

// State returns a copy of what the journal holds, unsynced records included.
func (j *DiskJournal) State() transfer.JournalState {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.st
	st.Chunks = append([]transfer.ChunkState(nil), j.st.Chunks...)
	return st
}

// BeginPass opens pass n (the last completed pass + 1); it is durable when
// it returns.
func (j *DiskJournal) BeginPass(n int) error {
	return j.passChange(fmt.Sprintf("begin pass %d", n), func(st *transfer.JournalState) error {
		if st.Open != 0 || n != st.LastPass+1 {
			return fmt.Errorf("pass %d cannot begin after pass %d (open %d)", n, st.LastPass, st.Open)
		}
		st.Open = n
		return nil
	})
}

// EndPass closes pass n with the digest both sides agreed on, together with
// every record not yet synced; it is durable when it returns.
func (j *DiskJournal) EndPass(n int, digest transfer.Hash) error {
	return j.passChange(fmt.Sprintf("end pass %d", n), func(st *transfer.JournalState) error {
		if st.Open != n {
			return fmt.Errorf("pass %d cannot end: the open pass is %d", n, st.Open)
		}
		st.Open, st.LastPass, st.LastDigest = 0, n, digest
		return nil
	})
}

// passChange applies change to a copy of the pass state and writes it with
// the pending chunks in one transaction; memory changes only once written.
func (j *DiskJournal) passChange(op string, change func(*transfer.JournalState) error) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.errf(op, ErrClosed)
	}
	next := j.st // the pass fields; Chunks is shared and left alone
	if err := change(&next); err != nil {
		j.mu.Unlock()
		return j.errf(op, err)
	}
	batch := j.takePending()
	j.mu.Unlock()
	err := j.write(op, batch, &next)
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		j.restorePending(batch)
		return err
	}
	j.st.Open, j.st.LastPass, j.st.LastDigest = next.Open, next.LastPass, next.LastDigest
	return nil
}

// Record notes that chunk index now holds bytes with hash h, written in the
// open pass; it is durable after the next Sync.
func (j *DiskJournal) Record(index int64, h transfer.Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.check(index); err != nil {
		return j.errf(fmt.Sprintf("record chunk %d", index), err)
	}
	if j.st.Open == 0 {
		return j.errf(fmt.Sprintf("record chunk %d", index), errors.New("no pass is open"))
	}
	c := transfer.ChunkState{Hash: h, Known: true, Pass: j.st.Open}
	j.st.Chunks[index], j.pending[index] = c, c
	return nil
}

// Invalidate forgets chunk index (the next pass rewrites it); it is durable
// after the next Sync.
func (j *DiskJournal) Invalidate(index int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.check(index); err != nil {
		return j.errf(fmt.Sprintf("invalidate chunk %d", index), err)
	}
	c := transfer.ChunkState{Dirty: true}
	j.st.Chunks[index], j.pending[index] = c, c
	return nil
}

func (j *DiskJournal) check(index int64) error {
	if j.closed {
		return ErrClosed
	}
	if index < 0 || index >= int64(len(j.st.Chunks)) {
		return fmt.Errorf("chunk out of range (the disk has %d)", len(j.st.Chunks))
	}
	return nil
}

// Sync writes every earlier Record and Invalidate in one transaction.
func (j *DiskJournal) Sync() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.errf("sync", ErrClosed)
	}
	batch := j.takePending()
	j.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := j.write("sync", batch, nil); err != nil {
		j.mu.Lock()
		j.restorePending(batch)
		j.mu.Unlock()
		return err
	}
	return nil
}

// Close syncs the journal and forgets it; the ledger's Journal opens it
// again. Later calls do nothing.
func (j *DiskJournal) Close() error {
	err := j.Sync()
	if errors.Is(err, ErrClosed) {
		return nil
	}
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.l.mu.Lock()
	if j.l.journals[j.key] == j {
		delete(j.l.journals, j.key)
	}
	j.l.mu.Unlock()
	return err
}

// pendingChunk is a chunk state waiting to be written.
type pendingChunk struct {
	index int64
	c     transfer.ChunkState
}

// takePending empties the pending set; j.mu must be held.
func (j *DiskJournal) takePending() []pendingChunk {
	batch := make([]pendingChunk, 0, len(j.pending))
	for i, c := range j.pending {
		batch = append(batch, pendingChunk{i, c})
	}
	clear(j.pending)
	return batch
}

// restorePending puts back a batch that failed to be written, except chunks
// changed again meanwhile; j.mu must be held.
func (j *DiskJournal) restorePending(batch []pendingChunk) {
	for _, p := range batch {
		if _, newer := j.pending[p.index]; !newer {
			j.pending[p.index] = p.c
		}
	}
}

// write stores batch, and the pass state when st is not nil, in one
// transaction, after checking that no other appliance holds the server.
func (j *DiskJournal) write(op string, batch []pendingChunk, st *transfer.JournalState) error {
	ctx, cancel := context.WithTimeout(j.ctx, journalTimeout)
	defer cancel()
	l := j.l
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.writable(ctx, tx, j.key.server); err != nil {
			return err
		}
		for start := 0; start < len(batch); start += chunkBatch {
			if err := j.insertChunks(ctx, tx, batch[start:min(start+chunkBatch, len(batch))]); err != nil {
				return err
			}
		}
		if st == nil {
			return nil
		}
		var digest []byte
		if st.LastPass > 0 {
			digest = st.LastDigest[:]
		}
		_, err := tx.ExecContext(ctx, l.q(`UPDATE disks SET last_pass = ?, last_digest = ?, open_pass = ?, updated = ? WHERE id = ?`),
			st.LastPass, digest, st.Open, nanos(l.now()), j.diskID)
		return err
	})
	if err != nil {
		return j.errf(op, err)
	}
	return nil
}

func (j *DiskJournal) insertChunks(ctx context.Context, tx *sql.Tx, batch []pendingChunk) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO chunks (disk_id, idx, hash, pass, dirty) VALUES `)
	args := make([]any, 0, 5*len(batch))
	for i, p := range batch {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?)")
		var h []byte
		if p.c.Known {
			h = append([]byte(nil), p.c.Hash[:]...)
		}
		args = append(args, j.diskID, p.index, h, p.c.Pass, boolInt(p.c.Dirty))
	}
	b.WriteString(` ON CONFLICT (disk_id, idx) DO UPDATE SET hash = excluded.hash, pass = excluded.pass, dirty = excluded.dirty`)
	_, err := tx.ExecContext(ctx, j.l.q(b.String()), args...)
	return err
}

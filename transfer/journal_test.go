package transfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The journal survives reopening, compacts at each pass, and a torn tail
// (a kill in the middle of a write) loses only the torn record.
func TestFileJournal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "j")
	size := int64(10*ChunkSize + 1)
	j, err := OpenJournal(p, size)
	if err != nil {
		t.Fatal(err)
	}
	h := func(b byte) Hash { return Hash{b} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.BeginPass(1))
	for i := range int64(11) {
		must(j.Record(i, h(byte(i))))
	}
	must(j.EndPass(1, h(99)))
	must(j.BeginPass(2))
	must(j.Record(3, h(33)))
	must(j.Invalidate(4))
	must(j.Sync())
	must(j.Record(5, h(55))) // not synced: a kill loses it
	j.f.Close()              // simulate kill -9: no Close, no flush

	// Tear the tail: half a record.
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(appendRec(nil, recChunk, 2, 6, h(66))[:20])
	f.Close()

	j, err = OpenJournal(p, size)
	if err != nil {
		t.Fatal(err)
	}
	st := j.State()
	if st.LastPass != 1 || st.LastDigest != h(99) || st.Open != 2 {
		t.Fatalf("state: last %d open %d", st.LastPass, st.Open)
	}
	if c := st.Chunks[3]; !c.Known || c.Hash != h(33) || c.Pass != 2 {
		t.Errorf("chunk 3: %+v", c)
	}
	if c := st.Chunks[4]; c.Known || !c.Dirty {
		t.Errorf("chunk 4: %+v", c)
	}
	if c := st.Chunks[5]; c.Hash != h(5) || c.Pass != 1 {
		t.Errorf("chunk 5 (unsynced change lost): %+v", c)
	}
	if c := st.Chunks[10]; c.Hash != h(10) {
		t.Errorf("chunk 10: %+v", c)
	}
	must(j.Record(6, h(66)))
	must(j.EndPass(2, h(98)))
	must(j.BeginPass(3)) // compacts
	must(j.Close())
	fi, _ := os.Stat(p)
	if fi.Size() != int64(recLen*(1+1+11+1)) {
		t.Errorf("compacted journal has %d bytes, want %d records", fi.Size(), fi.Size()/recLen)
	}
	j, err = OpenJournal(p, size)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	st = j.State()
	if st.LastPass != 2 || st.Open != 3 || st.Chunks[6].Hash != h(66) || !st.Chunks[4].Dirty || st.Chunks[0].Pass != 1 {
		t.Fatalf("after compaction: last %d open %d chunk6 %+v chunk4 %+v", st.LastPass, st.Open, st.Chunks[6], st.Chunks[4])
	}

	// Another disk size is refused with a message saying what to do.
	if _, err := OpenJournal(p, size+ChunkSize); err == nil || !strings.Contains(err.Error(), "changed size") {
		t.Fatalf("size mismatch: %v", err)
	}
}

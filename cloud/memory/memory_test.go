package memory_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/shift-migrate/shift/cloud"
	"github.com/shift-migrate/shift/cloud/memory"
	"github.com/shift-migrate/shift/cloud/targettest"
)

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) cloud.Target { return memory.New() })
}

func TestHandleReadAt(t *testing.T) {
	d, err := memory.New().CreateDisk(t.Context(), cloud.DiskSpec{Name: "rw", SizeBytes: cloud.SizeUnit})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 1024)
	for i := range p {
		p[i] = byte(i)
	}
	if _, err := d.WriteAt(p, 65536-512); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2048)
	if _, err := d.(io.ReaderAt).ReadAt(got, 65536-1024); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[512:1536], p) || !bytes.Equal(got[:512], make([]byte, 512)) || !bytes.Equal(got[1536:], make([]byte, 512)) {
		t.Error("ReadAt across a chunk boundary does not return what was written, zeros around it")
	}
}

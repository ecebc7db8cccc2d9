package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/diskimg"
	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/remote"
	"github.com/shift-migrate/shift/transfer"
)

// replicateWinRM against a simulated Windows host over real WinRM: a full
// copy equal to the disk, then a delta pass that sends nothing.
func TestReplicateWinRM(t *testing.T) {
	img := diskimg.WindowsGPT(t)
	layout, err := diskimg.Layout(diskimg.WindowsGPTSpec())
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.Load("ws2019-sql2019-sp2019")
	if err != nil {
		t.Fatal(err)
	}
	h.AttachDisk(img, windows.Volume{Offset: layout[2].Offset, Length: layout[2].Length})
	srv, err := winrmserver.Listen("127.0.0.1:0", h, winrmserver.Options{ComputerName: h.Hostname(), Auth: winrmserver.AuthBasic})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := remote.Target{Name: "sql01", Address: "127.0.0.1", Transport: "winrm", WinRM: &remote.WinRMConfig{
		Host: "sql01", Address: "127.0.0.1", Port: srv.Port(), Auth: "basic", User: h.LabUser(),
		Password: remote.NewSecret(h.LabPassword()), Timeout: 30 * time.Second}}
	exe := append([]byte("MZ"), bytes.Repeat([]byte("agent"), 1000)...)
	r := winrmReplication{Dir: t.TempDir(), Listen: "127.0.0.1",
		Binary: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(exe)), nil }}
	var stderr bytes.Buffer
	res, out, err := replicateWinRM(context.Background(), &stderr, target, r, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass != 1 || !res.Verified {
		t.Fatalf("pass 1: %+v", res)
	}
	if msg, err := exec.Command("cmp", img, out).CombinedOutput(); err != nil {
		t.Fatalf("%s differs from the source disk: %v: %s", out, err, msg)
	}
	res, _, err = replicateWinRM(context.Background(), &stderr, target, r, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass != 2 || res.Sent != 0 {
		t.Fatalf("pass 2 on an unchanged disk: %+v", res)
	}
	if st := h.SimStats(); st.ShadowsCreated != 2 || st.ShadowsDeleted != 2 || len(h.Files()) != 0 {
		t.Fatalf("host state after two runs: %+v, files %v", st, h.Files())
	}
}

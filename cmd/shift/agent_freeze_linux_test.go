package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freezeDisk freezes the filesystem mounted from a real loop device: a
// write waits until the thaw, then completes.
func TestFreezeDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("freezing a filesystem needs root (CI=true)")
		}
		t.Skip("needs root to attach a loop device and mount")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	if out, err := exec.Command("truncate", "-s", "64M", img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	frozen, skipped, thaw, err := freezeDisk(dev, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer thaw()
	if len(frozen) != 1 || frozen[0] != mnt || len(skipped) != 0 {
		t.Fatalf("frozen %v, skipped %v; want [%s]", frozen, skipped, mnt)
	}
	done := make(chan error, 1)
	go func() { done <- os.WriteFile(filepath.Join(mnt, "f"), []byte("data"), 0o644) }()
	select {
	case err := <-done:
		t.Fatalf("a write to the frozen filesystem went through: %v", err)
	case <-time.After(time.Second):
	}
	thaw()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write still waits after the thaw")
	}
	if err := dropCache(dev); err != nil {
		t.Errorf("dropCache(%s): %v", dev, err)
	}
	// An image file has nothing mounted to freeze.
	if f, _, th, err := freezeDisk(img, time.Minute); err != nil || len(f) != 0 {
		t.Errorf("freezeDisk(image) = %v, %v", f, err)
	} else {
		th()
	}
}

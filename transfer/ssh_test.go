package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/sshd"
	"github.com/shift-migrate/shift/remote"
)

// The shift binary the tests deploy as the agent: built once per test
// binary with go build -o into a temporary directory removed by TestMain.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func shiftBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "shift-transfer-test-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "shift")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/shift-migrate/shift/cmd/shift").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/shift: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// sshSource starts a real sshd that logs in user ("" = the current user)
// and dials it.
func sshSource(t testing.TB, user string) (*sshd.Server, *remote.SSHClient) {
	t.Helper()
	s := sshd.StartT(t, sshd.Options{User: user})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := remote.DialSSH(ctx, remote.SSHConfig{Host: "src", Address: "127.0.0.1", Port: s.Port, User: s.User,
		PrivateKey: remote.NewSecret(string(s.ClientKey)), KnownHosts: s.KnownHostsFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

// agentDir is where the source (this machine) keeps the agent binary: a
// directory of the test, open to the sudo test user.
func agentDir(t testing.TB) string {
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, 0o777)
	return d
}

func deploy(t testing.TB, c *remote.SSHClient, diskPath string) *RemoteAgent {
	t.Helper()
	bin := shiftBinary(t)
	ctx := context.Background()
	a, err := DeployAgent(ctx, c, DeployOptions{Disk: diskPath, Dir: agentDir(t), Binary: func(string) (string, error) { return bin, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(ctx) })
	return a
}

// onWrite calls hook once, after the first write at offset at.
type onWrite struct {
	*FileSink
	at   int64
	once sync.Once
	hook func()
}

func (s *onWrite) WriteAt(p []byte, off int64) (int, error) {
	n, err := s.FileSink.WriteAt(p, off)
	if off == s.at {
		s.once.Do(s.hook)
	}
	return n, err
}

// Replication over real sshd from an image file: equal digests and
// byte-identical images; a write to the source after its chunk was copied
// is caught by the next pass; a delta pass after 1% of the chunks changed
// moves at most 1.5% of the disk on the wire.
func TestReplicateOverSSH(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const size = 1 << 30
	n := int64(chunks(size))
	data := spread(n, 64) // 256 MiB of data in 1 GiB
	img := makeImage(t, dir, size, data)
	_, c := sshSource(t, "")
	a := deploy(t, c, img)
	if a.Disk().Name != img || a.Disk().Size != size {
		t.Fatalf("hello: %s %d", a.Disk().Name, a.Disk().Size)
	}
	fs := openSink(t, dir, size)
	// Change chunk data[3] on the source right after the target got it:
	// pass 1 cannot see it, pass 2 must.
	sink := &onWrite{FileSink: fs, at: data[3] * ChunkSize, hook: func() { overwrite(t, img, data[3], 4096) }}
	j, err := OpenJournal(filepath.Join(dir, "journal"), size)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	r1, err := a.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pass 1: %d sent, %d MiB data, %d MiB on the wire, %s", r1.Sent, r1.DataBytes>>20, r1.WireBytes>>20, r1.Elapsed)
	if r1.Sent != int64(len(data)) || !r1.Verified || r1.WireBytes > r1.DataBytes*3/4 {
		t.Fatalf("pass 1: %+v", r1)
	}

	r2, err := a.Pass(ctx, fs, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Sent != 1 || r2.Digest == r1.Digest {
		t.Fatalf("pass 2 must catch the write made during pass 1: %+v", r2)
	}
	sameFiles(t, img, fs.Name())

	// 1% of the disk's chunks change.
	changed := (n + 99) / 100
	for k := range changed {
		overwrite(t, img, data[10+k*5], ChunkSize/2)
	}
	r3, err := a.Pass(ctx, fs, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delta pass: %d of %d chunks sent, %d KiB on the wire (%.2f%% of the disk), %s", r3.Sent, n, r3.WireBytes>>10, float64(r3.WireBytes)*100/size, r3.Elapsed)
	if r3.Sent != changed || float64(r3.WireBytes) > 0.015*size {
		t.Fatalf("delta pass moved %d bytes for %d changed chunks: %+v", r3.WireBytes, changed, r3)
	}
	sameFiles(t, img, fs.Name())
	if err := a.Close(ctx); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	// The agent's binary is gone from the source.
	if m, _ := filepath.Glob(filepath.Join(a.dir, "*")); len(m) != 0 || a.dir == "" {
		t.Fatalf("agent directory %q left behind: %v", a.dir, m)
	}
}

// A login user who is not root runs the agent through sudo -n: the image is
// readable by root only.
func TestReplicateWithSudo(t *testing.T) {
	user := sshd.RequireUser(t, "shift-sudo")
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	size := int64(16 * ChunkSize)
	img := makeImage(t, dir, size, []int64{0, 7, 15})
	os.Chmod(img, 0o600)
	_, c := sshSource(t, user)
	a := deploy(t, c, img)
	if !a.Sudo {
		t.Fatal("agent not run through sudo")
	}
	fs := openSink(t, dir, size)
	r, err := a.Pass(ctx, fs, NewMemJournal(size), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 3 {
		t.Fatalf("%+v", r)
	}
	sameFiles(t, img, fs.Name())
	// The shell that ran sudo removes the agent's directory (owned by the
	// login user) when the agent exits, before any cleanup session.
	a.Session.Close()
	err = a.wait()
	a.wait = nil
	if err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	if _, err := os.Stat(a.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("agent directory %q still there after the agent exited (%v)", a.dir, err)
	}
}

// The agent's binary travels zstd-compressed where the source has zstd,
// as it is otherwise (and on request); both start the same agent.
func TestDeployUpload(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(8 * ChunkSize)
	img := makeImage(t, dir, size, []int64{2})
	_, c := sshSource(t, "")
	bin := shiftBinary(t)
	_, zstdErr := exec.LookPath("zstd")
	if zstdErr != nil {
		sshd.Missing(t, "zstd not found (make deps installs it)")
	}
	for _, raw := range []bool{false, true} {
		a, err := DeployAgent(ctx, c, DeployOptions{Disk: img, Dir: agentDir(t), Uncompressed: raw,
			Binary: func(string) (string, error) { return bin, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if a.Compressed == raw {
			t.Errorf("Uncompressed %v: Compressed %v", raw, a.Compressed)
		}
		r, err := a.Pass(ctx, openSink(t, t.TempDir(), size), NewMemJournal(size), Options{})
		if err != nil || r.Sent != 1 {
			t.Fatalf("pass through the agent uploaded with Uncompressed %v: %+v, %v", raw, r, err)
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(a.dir, "*")); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	}
}

// A user without sudo rights gets the remote package's sudo error, and the
// uploaded binary is removed.
func TestDeployErrors(t *testing.T) {
	ctx := context.Background()
	_, c := sshSource(t, "")
	bin := shiftBinary(t)
	dir := agentDir(t)
	_, err := DeployAgent(ctx, c, DeployOptions{Disk: "/nonexistent/disk.img", Dir: dir, Binary: func(string) (string, error) { return bin, nil }})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/disk.img") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v, want the agent's open error", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("agent directories left behind: %v", left)
	}
	_, err = DeployAgent(ctx, c, DeployOptions{Dir: dir, Binary: func(a string) (string, error) { return "", fmt.Errorf("no agent for %s", a) }})
	if err == nil || !strings.Contains(err.Error(), "no agent for") {
		t.Fatalf("err = %v", err)
	}
}

// A loop device as the source disk (root and /dev/loop-control needed).
func TestReplicateLoopDevice(t *testing.T) {
	if _, err := os.Stat("/dev/loop-control"); err != nil || os.Geteuid() != 0 {
		sshd.Missing(t, "loop devices need root and /dev/loop-control")
	}
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(32 * ChunkSize)
	img := makeImage(t, dir, size, spread(32, 6))
	out, err := exec.Command("losetup", "--find", "--show", "--read-only", img).CombinedOutput()
	if err != nil {
		sshd.Missing(t, fmt.Sprintf("losetup: %v: %s", err, out))
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	_, c := sshSource(t, "")
	a := deploy(t, c, dev)
	fs := openSink(t, dir, size)
	r, err := a.Pass(ctx, fs, NewMemJournal(size), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A block device has no sparse map: every chunk is read, zero ones
	// are found by content.
	if r.Sent != 6 || r.Zero != 26 {
		t.Fatalf("%+v", r)
	}
	sameFiles(t, img, fs.Name())
}

// shift replicate as a subprocess, killed with SIGKILL mid-copy; the rerun
// resumes without copying the finished chunks again, and a third run is a
// delta pass with nothing to send.
func TestReplicateCLIKill9(t *testing.T) {
	bin := shiftBinary(t)
	dir := t.TempDir()
	size := int64(256 * mib)
	data := spread(64, 48)
	img := makeImage(t, dir, size, data)
	s, _ := sshSource(t, "")
	hosts := filepath.Join(dir, "hosts.yaml")
	if err := remote.WriteHosts(hosts, remote.Settings{}, nil, []remote.HostEntry{{Name: "src", Address: "127.0.0.1",
		Settings: remote.Settings{Transport: "ssh", Port: s.Port, User: s.User, Key: remote.SecretRef("file:" + s.ClientKeyFile),
			SSH: &remote.SSHSettings{KnownHosts: s.KnownHostsFile}}}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"replicate", "--hosts", hosts, "src", "--disk", img, "--to", out, "--json", "--agent-dir", agentDir(t)}

	cmd := exec.Command(bin, append(args, "--bwlimit", "6M")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(out, "src-source.img.journal")
	deadline := time.Now().Add(60 * time.Second)
	zeros := 64 - int64(len(data))
	for {
		// Header and pass record, then a record per finished chunk: the
		// zero chunks at once, then data chunks as they arrive.
		if st, err := os.Stat(journal); err == nil && st.Size() >= recLen*(2+zeros+6) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no finished chunks in the journal within a minute; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("killed; progress so far:\n%s", stderr.String())
	j, err := OpenJournal(journal, size)
	if err != nil {
		t.Fatal(err)
	}
	var done int64
	for _, c := range j.State().Chunks {
		if c.Known {
			done++
		}
	}
	j.f.Close()
	if done >= 64 {
		t.Fatalf("the copy finished before the kill (the bandwidth limit did not hold it back)")
	}

	run := func() replicateJSON {
		t.Helper()
		c := exec.Command(bin, args...)
		var se strings.Builder
		c.Stderr = &se
		b, err := c.Output()
		if err != nil {
			t.Fatalf("shift replicate: %v\n%s", err, se.String())
		}
		var r replicateJSON
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return r
	}
	r := run()
	t.Logf("rerun: %+v (chunks finished before the kill: %d)", r, done)
	if !r.Resumed || r.Pass != 1 || r.Skipped != done || r.Sent+r.Skipped+r.Zero != r.Chunks || r.Sent > int64(len(data))-(done-zeros) || done < zeros+6 {
		t.Fatalf("rerun after kill -9 recopied finished chunks: %+v, %d were finished", r, done)
	}
	sameFiles(t, img, filepath.Join(out, "src-source.img.raw"))
	r = run()
	if r.Pass != 2 || r.Resumed || r.Sent != 0 || r.Unchanged != int64(len(data)) {
		t.Fatalf("third run: %+v", r)
	}
}

// replicateJSON is the part of shift replicate --json the test reads.
type replicateJSON struct {
	Pass      int   `json:"pass"`
	Resumed   bool  `json:"resumed"`
	Chunks    int64 `json:"chunks"`
	Sent      int64 `json:"sent"`
	Unchanged int64 `json:"unchanged"`
	Zero      int64 `json:"zero"`
	Skipped   int64 `json:"skipped"`
	WireBytes int64 `json:"wireBytes"`
}

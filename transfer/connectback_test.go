package transfer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/disk"
)

// A connect-back session over real TLS on loopback: the agent dials with
// the pin and the token, the appliance runs a full pass over the stream.
func TestConnectBackPass(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const size = 64 * mib
	img := makeImage(t, dir, size, []int64{0, 3, 7, 15})
	src, err := disk.OpenFile(img)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	l, err := ListenConnectBack("127.0.0.1:0", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(l.Token()) != 64 || !strings.HasPrefix(l.Pin(), "sha256:") {
		t.Fatalf("token %d hex digits, pin %q", len(l.Token()), l.Pin())
	}
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- ServeConnectBack(ctx, src, DialBackConfig{Address: l.Addr(), Pin: l.Pin(), Token: l.Token()}, AgentOptions{Name: `\\.\PHYSICALDRIVE0`})
	}()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenConnectBack(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Disk().Name != `\\.\PHYSICALDRIVE0` || s.Disk().Size != size {
		t.Fatalf("hello: %+v", s.Disk())
	}
	j, err := OpenJournal(filepath.Join(dir, "journal"), size)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sink, err := OpenFileSink(filepath.Join(dir, "out.raw"), size, true)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r, err := s.Pass(ctx, sink, j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 4 || !r.Verified {
		t.Fatalf("pass: %+v", r)
	}
	sameFiles(t, img, sink.Name())
	s.Close()
	select {
	case err := <-agentDone:
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not end after the session closed")
	}

	// The token is spent: a replay is refused, and says so.
	_, err = DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: l.Pin(), Token: l.Token()})
	if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("replayed token: %v", err)
	}
}

func TestConnectBackRefusals(t *testing.T) {
	ctx := context.Background()
	l, err := ListenConnectBack("127.0.0.1:0", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// A wrong token is refused; the listener goes on waiting.
	wrong := strings.Repeat("ab", 32)
	_, err = DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: l.Pin(), Token: wrong})
	if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), "unknown token") {
		t.Fatalf("wrong token: %v", err)
	}

	// A wrong pin: the agent refuses the appliance's certificate before it
	// sends the token.
	other, err := ListenConnectBack("127.0.0.1:0", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	_, err = DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: other.Pin(), Token: l.Token()})
	if !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("wrong pin: %v", err)
	}
	_, err = DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: "sha256:1234", Token: l.Token()})
	if err == nil || !strings.Contains(err.Error(), "want sha256: and 64 hex digits") {
		t.Fatalf("malformed pin: %v", err)
	}

	// The right token still works after those.
	acc := make(chan error, 1)
	go func() {
		c, err := l.Accept(ctx)
		if err == nil {
			c.Close()
		}
		acc <- err
	}()
	c, err := DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: l.Pin(), Token: l.Token()})
	if err != nil {
		t.Fatalf("right token after refusals: %v", err)
	}
	c.Close()
	if err := <-acc; err != nil {
		t.Fatal(err)
	}
	refused := strings.Join(l.Refused(), "\n")
	if !strings.Contains(refused, "unknown token") || !strings.Contains(refused, "TLS handshake") {
		t.Fatalf("refusals recorded: %q", refused)
	}
	if strings.Contains(refused, l.Token()) {
		t.Fatal("a refusal quotes the token")
	}
}

func TestConnectBackExpired(t *testing.T) {
	ctx := context.Background()
	l, err := ListenConnectBack("127.0.0.1:0", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(400 * time.Millisecond)
	_, err = DialBack(ctx, DialBackConfig{Address: l.Addr(), Pin: l.Pin(), Token: l.Token()})
	if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), "token expired") {
		t.Fatalf("expired token: %v", err)
	}
	_, err = l.Accept(ctx)
	if !errors.Is(err, ErrTokenExpired) || !strings.Contains(err.Error(), "token expired") {
		t.Fatalf("Accept after expiry: %v", err)
	}
}

package transfer

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

func TestParseCodec(t *testing.T) {
	for in, want := range map[string]Codec{"": CodecAuto, "auto": CodecAuto, "s2": CodecS2, "zstd": CodecZstd} {
		if got, err := ParseCodec(in); err != nil || got != want {
			t.Errorf("ParseCodec(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"gzip", "S2", "none"} {
		if _, err := ParseCodec(in); err == nil {
			t.Errorf("ParseCodec(%q) accepted", in)
		}
	}
	if CodecAuto.String() != "auto" || CodecZstd.String() != "zstd" {
		t.Errorf("String: %s %s", CodecAuto, CodecZstd)
	}
}

// Both codecs, forced, round-trip a disk over a real sshd; zstd's payload is
// the smaller. Auto asks for zstd from the start under a bandwidth limit
// below AutoZstdLimit; without one it measures the link, and its choice
// follows the rate it measured.
func TestWireCodecsOverSSH(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(32 * ChunkSize)
	data := spread(32, 12)
	img := makeImage(t, dir, size, data)
	_, c := sshSource(t, "")
	a := deploy(t, c, img)

	pass := func(name string, opts Options) *Result {
		t.Helper()
		sink, err := OpenFileSink(filepath.Join(dir, name+".raw"), size, true)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		r, err := a.Pass(ctx, sink, NewMemJournal(size), opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d sent (%d s2, %d zstd, %d raw), payload %d KiB, codec %s, link %.0f MiB/s",
			name, r.Sent, r.SentS2, r.SentZstd, r.SentRaw, r.PayloadBytes>>10, r.Codec, r.LinkRate/mib)
		if r.Sent != int64(len(data)) || !r.Verified || r.SentS2+r.SentZstd+r.SentRaw != r.Sent {
			t.Fatalf("%s: %+v", name, r)
		}
		sameFiles(t, img, sink.Name())
		return r
	}

	s2 := pass("s2", Options{Wire: CodecS2})
	if s2.SentS2 != s2.Sent || s2.Codec != CodecS2 || s2.LinkRate != 0 {
		t.Fatalf("--wire s2: %+v", s2)
	}
	zs := pass("zstd", Options{Wire: CodecZstd})
	if zs.SentZstd != zs.Sent || zs.Codec != CodecZstd || zs.Digest != s2.Digest {
		t.Fatalf("--wire zstd: %+v", zs)
	}
	if zs.PayloadBytes >= s2.PayloadBytes {
		t.Errorf("zstd payload %d not smaller than S2's %d", zs.PayloadBytes, s2.PayloadBytes)
	}

	limited := pass("auto-limited", Options{BandwidthLimit: 48 << 20})
	if limited.Codec != CodecZstd || limited.SentZstd != limited.Sent || limited.LinkRate != 0 {
		t.Fatalf("auto under a 48 MiB/s limit: %+v", limited)
	}

	auto := pass("auto", Options{})
	if auto.LinkRate <= 0 || (auto.Codec == CodecZstd) != (auto.LinkRate < AutoZstdMeasured) {
		t.Fatalf("auto without a limit: codec %s after measuring %.0f B/s: %+v", auto.Codec, auto.LinkRate, auto)
	}
}

// Auto measures a slow link that no option announced (here a pipe that
// delivers 8 MiB/s): the first requests ask for S2, the rest for zstd.
func TestAutoCodecMeasuresSlowLink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	size := int64(32 * ChunkSize)
	data := spread(32, 10)
	img := makeImage(t, dir, size, data)
	s := localAgent(t, img, func(r io.Reader) io.Reader { return LimitReader(ctx, r, 8<<20) })
	sink := openSink(t, dir, size)
	r, err := s.Pass(ctx, sink, NewMemJournal(size), Options{Window: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sent (%d s2, %d zstd), link %.1f MiB/s, %s", r.Sent, r.SentS2, r.SentZstd, r.LinkRate/mib, r.Elapsed)
	if r.Codec != CodecZstd || r.LinkRate <= 0 || r.LinkRate >= AutoZstdMeasured || r.SentS2 == 0 || r.SentZstd == 0 ||
		r.SentS2+r.SentZstd != int64(len(data)) {
		t.Fatalf("auto on an 8 MiB/s link: %+v", r)
	}
	sameFiles(t, img, sink.Name())
}

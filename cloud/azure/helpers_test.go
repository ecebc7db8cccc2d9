package azure_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/shift-migrate/shift/cloud/azure"
	"github.com/shift-migrate/shift/fixtures/azurite"
)

func nopCloser(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }

func download(ctx context.Context, b *blob.Client, p []byte, off int64) error {
	r, err := b.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: int64(len(p))}})
	if err != nil {
		return err
	}
	defer r.Body.Close()
	_, err = io.ReadFull(r.Body, p)
	return err
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newTarget builds an azure target whose ARM calls go to f's fakes.
func newTarget(t testing.TB, f *fakeARM, mod func(*azure.Options)) *azure.Target {
	t.Helper()
	opts := azure.Options{
		SubscriptionID: subID, ResourceGroup: rg, Location: "westeurope",
		Credential:   &azfake.TokenCredential{},
		ARM:          &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: f.transport()}},
		Subnet:       "/subscriptions/" + subID + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default",
		PollInterval: 10 * time.Millisecond,
		Retry:        azure.Retry{Initial: 10 * time.Millisecond},
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	tg, err := azure.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// proxy is a loopback HTTP proxy in front of Azurite that inspects every
// Put Page: it records sizes, checks the Content-MD5 against the body, and
// can cut the connection once in the middle of a request body.
type proxy struct {
	t   testing.TB
	URL string // http://127.0.0.1:port/devstoreaccount1

	// cutAfter, when positive, makes the proxy read that many bytes of the
	// body of the next Put Page and then close the client's connection,
	// once.
	cutAfter atomic.Int64

	mu       sync.Mutex
	puts     int
	maxPut   int64
	badMD5   int
	noMD5    int
	clears   int
	cuts     int
	bytesPut int64
}

func startProxy(t testing.TB, az *azurite.Server) *proxy {
	p := &proxy{t: t}
	target, _ := url.Parse("http://" + az.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPut && q.Get("comp") == "page" {
			switch r.Header.Get("x-ms-page-write") {
			case "clear":
				p.mu.Lock()
				p.clears++
				p.mu.Unlock()
			case "update":
				if n := p.cutAfter.Swap(0); n > 0 {
					io.CopyN(io.Discard, r.Body, n)
					p.mu.Lock()
					p.cuts++
					p.mu.Unlock()
					if hj, ok := w.(http.Hijacker); ok {
						if c, _, err := hj.Hijack(); err == nil {
							c.(*net.TCPConn).SetLinger(0) // a reset, as a dropped link gives
							c.Close()
							return
						}
					}
					panic(http.ErrAbortHandler)
				}
				body, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				sum := md5.Sum(body)
				p.mu.Lock()
				p.puts++
				p.bytesPut += int64(len(body))
				p.maxPut = max(p.maxPut, int64(len(body)))
				switch h := r.Header.Get("Content-MD5"); {
				case h == "":
					p.noMD5++
				case h != base64.StdEncoding.EncodeToString(sum[:]):
					p.badMD5++
				}
				p.mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p.URL = "http://" + l.Addr().String() + "/" + azurite.Account
	return p
}

func (p *proxy) stats() (puts int, maxPut int64, noMD5, badMD5, clears, cuts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.puts, p.maxPut, p.noMD5, p.badMD5, p.clears, p.cuts
}

func errEOF() error { return io.ErrUnexpectedEOF }

package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Retry is the retry policy of page writes, after restic's retry backend:
// only errors whose kind says transient are retried, never "everything".
type Retry struct {
	// Attempts is the number of tries of one request; 0 means 6.
	Attempts int
	// Initial is the first delay; 0 means 200 ms. Each later delay
	// doubles, with ±25% jitter.
	Initial time.Duration
	// Max caps a delay; 0 means 10 s.
	Max time.Duration
	// OnRetry, when set, is called before each retry with the attempt that
	// failed (1 for the first) and its error; nil means nothing is called.
	OnRetry func(attempt int, err error)
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.Initial <= 0 {
		r.Initial = 200 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 10 * time.Second
	}
	return r
}

// do runs op until it succeeds, fails with an error that is not transient,
// runs out of attempts or ctx ends.
func (r Retry) do(ctx context.Context, op func() error) error {
	delay := r.Initial
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (after %v)", ctx.Err(), err)
		}
		if !Transient(err) {
			return err
		}
		if attempt >= r.Attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if r.OnRetry != nil {
			r.OnRetry(attempt, err)
		}
		d := delay/4*3 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %v)", ctx.Err(), err)
		case <-time.After(d):
		}
		delay = min(2*delay, r.Max)
	}
}

// Transient reports whether err is worth another try: a connection that
// broke or timed out, a throttled or overloaded service (408, 429, 500,
// 502, 503, 504), or a body that arrived corrupted (Md5Mismatch). Errors
// of the request itself (400, 403, 404, 409, 412, 413) and a canceled
// context are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "Md5Mismatch", "ServerBusy", "OperationTimedOut", "InternalError":
			return true
		}
		switch re.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

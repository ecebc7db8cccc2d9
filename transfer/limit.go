package transfer

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// LimitReader returns a reader that reads from r at no more than
// bytesPerSecond on average (bursts of up to 256 KiB). Reads stop with ctx's
// error when ctx ends while waiting. Limiting the appliance's reads limits
// the agent too: SSH's flow control holds it back.
func LimitReader(ctx context.Context, r io.Reader, bytesPerSecond int64) io.Reader {
	const burst = 256 << 10
	return &limitReader{ctx: ctx, r: r, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst)}
}

type limitReader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (l *limitReader) Read(p []byte) (int, error) {
	if len(p) > l.lim.Burst() {
		p = p[:l.lim.Burst()]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := l.lim.WaitN(l.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

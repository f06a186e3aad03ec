package dialpad

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// transport puts every attempt behind the rate limiter, bounds it with the
// per-attempt timeout and counts it. go-retryablehttp calls the http.Client
// once per attempt, so waiting here paces retries as well as first tries,
// and a redirect hop waits like any other request.
type transport struct {
	base    http.RoundTripper
	limiter *rate.Limiter
	timeout time.Duration
	stats   *Counters
	// Every attempt of POST exportPath (a stats export) waits for the
	// export budget too.
	exportPath  string
	spendExport func(context.Context) error
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Method == http.MethodPost && req.URL.Path == t.exportPath {
		if err := t.spendExport(ctx); err != nil {
			return nil, err
		}
	}
	if err := t.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The limiter refuses a wait that would outlast ctx's deadline.
		return nil, fmt.Errorf("dialpad: waiting for the rate limiter: %w", context.DeadlineExceeded)
	}
	tl := tally{client: t.stats}
	tl.call, _ = ctx.Value(countersKey{}).(*Counters)
	tl.add(cRequests, 1)

	actx, cancel := context.WithTimeout(ctx, t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(actx))
	if err != nil {
		if ctx.Err() == nil && actx.Err() == context.DeadlineExceeded {
			err = &timeoutError{after: t.timeout.String()}
		}
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		tl.add(cRateLimited, 1)
	}
	resp.Body = &timedBody{rc: resp.Body, parent: ctx, attempt: actx, cancel: cancel, after: t.timeout}
	return resp, nil
}

// timedBody keeps the attempt's deadline running while the body is read
// and releases it on Close.
type timedBody struct {
	rc              io.ReadCloser
	parent, attempt context.Context
	cancel          context.CancelFunc
	after           time.Duration
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.parent.Err() == nil && b.attempt.Err() == context.DeadlineExceeded {
		err = &timeoutError{after: b.after.String()}
	}
	return n, err
}

func (b *timedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

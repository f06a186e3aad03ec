package dialpad

import (
	"context"
	"errors"
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

	// The attempt ends by a timer rather than a context deadline, so that
	// a body that turns out to be a file can be given longer (extend).
	actx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(t.timeout, func() { cancel(errAttemptTimeout) })
	resp, err := t.base.RoundTrip(req.WithContext(actx))
	if err != nil {
		if ctx.Err() == nil && context.Cause(actx) == errAttemptTimeout {
			err = &timeoutError{after: t.timeout.String()}
		}
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		tl.add(cRateLimited, 1)
	}
	resp.Body = &timedBody{rc: resp.Body, parent: ctx, attempt: actx, timer: timer, cancel: cancel, after: t.timeout}
	return resp, nil
}

// errAttemptTimeout is the cause of an attempt's context that ran out of
// time (WithTimeout), as opposed to one whose caller gave up.
var errAttemptTimeout = errors.New("dialpad: the attempt timed out")

// timedBody keeps the attempt's timer running while the body is read
// and releases it on Close.
type timedBody struct {
	rc              io.ReadCloser
	parent, attempt context.Context
	timer           *time.Timer
	cancel          context.CancelCauseFunc
	after           time.Duration
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.parent.Err() == nil && context.Cause(b.attempt) == errAttemptTimeout {
		err = &timeoutError{after: b.after.String()}
	}
	return n, err
}

// extend gives the rest of the body d from now instead of what is left
// of the attempt's timeout: an export's CSV that answers a poll can take
// as long as a download. It must be called before the body is read, and
// does nothing once the attempt has timed out.
func (b *timedBody) extend(d time.Duration) {
	if b.timer.Stop() {
		b.timer.Reset(d)
		b.after = d
	}
}

func (b *timedBody) Close() error {
	err := b.rc.Close()
	b.timer.Stop()
	b.cancel(nil)
	return err
}

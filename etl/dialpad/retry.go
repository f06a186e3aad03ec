package dialpad

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CheckRetry decides, after each attempt, whether to try again. resp is nil
// when err is a transport error; err may also be a damaged 2xx body
// (errors.Is(err, ErrBadResponse)). A non-nil error stops the request and
// is returned. It has the shape of go-retryablehttp's CheckRetry.
type CheckRetry func(ctx context.Context, resp *http.Response, err error) (bool, error)

// Backoff returns the wait before retry number attempt+1 (attempt counts
// from 0) when the response carries no Retry-After header. It has the shape
// of go-retryablehttp's Backoff.
type Backoff func(min, max time.Duration, attempt int, resp *http.Response) time.Duration

var (
	redirectsErrorRe = regexp.MustCompile(`stopped after \d+ redirects\z`)
	schemeErrorRe    = regexp.MustCompile(`unsupported protocol scheme`)
	headerErrorRe    = regexp.MustCompile(`invalid header`)
)

// DefaultRetryPolicy retries 429, 500, 502, 503 and 504, timed-out
// attempts, dropped or reset connections, early EOFs and damaged bodies of
// 2xx responses. It never retries other statuses (400, 401, 403, 404, ...),
// certificate errors, redirect loops, an oversized body or a done ctx.
func DefaultRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryableError(err), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

func retryableError(err error) bool {
	var (
		netErr     net.Error
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, ErrBadResponse):
		return true
	case errors.Is(err, ErrResponseTooLarge):
		return false
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	case redirectsErrorRe.MatchString(err.Error()), schemeErrorRe.MatchString(err.Error()), headerErrorRe.MatchString(err.Error()):
		return false
	}
	// Connection refused or reset, EOF, a server closing the connection.
	return true
}

// DefaultBackoff is exponential backoff with full jitter: a random wait in
// [0, min·2^attempt], the ceiling never above max.
func DefaultBackoff(min, max time.Duration, attempt int, _ *http.Response) time.Duration {
	ceiling := min
	for i := 0; i < attempt && ceiling < max; i++ {
		ceiling *= 2
	}
	if ceiling > max || ceiling < 0 {
		ceiling = max
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Response bodies larger than these are refused.
const (
	maxBody      = 64 << 20 // 2xx
	maxErrorBody = 64 << 10 // other statuses: only the message is wanted
)

// exchange is one logical request and its retries: the policies of the
// client bound to what this request needs to log, count and keep.
type exchange struct {
	c        *Client
	ctx      context.Context
	path     string
	target   string
	tally    tally
	accept   func([]byte) error
	isFile   func(*http.Response) bool // nil: every body is read whole
	attempts int
	status   int
	body     []byte
	file     io.ReadCloser // the unread body of a 200 that isFile calls a file
	lastErr  error
}

// handle reads the body of a response that will not be retried for its
// status. A 2xx body that is cut off or rejected by accept is an
// ErrBadResponse, which the policy retries. A file is left unread in
// x.file: it may be far larger than maxBody, and is read as it comes.
func (x *exchange) handle(resp *http.Response) error {
	x.file = nil // a retried attempt's file was drained
	if resp.StatusCode == http.StatusOK && x.isFile != nil && x.isFile(resp) {
		if tb, ok := resp.Body.(*timedBody); ok {
			tb.extend(x.c.cfg.downloadTimeout)
		}
		x.status, x.body = resp.StatusCode, nil
		x.file = &countedBody{ReadCloser: resp.Body, tally: x.tally}
		return nil
	}
	defer resp.Body.Close()
	ok := resp.StatusCode/100 == 2
	limit := int64(maxErrorBody)
	if ok {
		limit = maxBody
	}
	body, err := readBody(resp, limit)
	x.tally.add(cBytes, int64(len(body)))
	if ok && err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return err
		}
		return fmt.Errorf("%w: reading it: %w", ErrBadResponse, err)
	}
	x.status, x.body = resp.StatusCode, body
	if ok && x.accept != nil {
		if err := x.accept(body); err != nil {
			return fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
	}
	return nil
}

// countedBody counts the bytes of a file's body as they are read.
type countedBody struct {
	io.ReadCloser
	tally tally
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.tally.add(cBytes, int64(n))
	return n, err
}

func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrResponseTooLarge, resp.ContentLength, limit)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return buf.Bytes(), err
}

func (x *exchange) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	x.lastErr = err
	return x.c.cfg.checkRetry(ctx, resp, err)
}

// backoff is called only before an actual retry: it counts and logs it.
// A Retry-After header takes precedence over the policy, capped.
func (x *exchange) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := x.c.cfg.backoff(lo, hi, attempt, resp)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), x.c.cfg.now()); ok {
			wait = min(d, x.c.cfg.retryAfterCap)
		}
	}
	x.tally.add(cRetries, 1)
	attrs := []slog.Attr{
		slog.String("path", x.path),
		slog.Int("status", status),
		slog.Int("attempt", attempt+1),
		slog.Int("max_attempts", x.c.cfg.maxAttempts),
		slog.Duration("wait", wait),
	}
	if x.target != "" {
		attrs = append(attrs, slog.String("target", x.target))
	}
	if x.lastErr != nil {
		attrs = append(attrs, slog.String("error", x.lastErr.Error()))
	}
	x.c.log.LogAttrs(x.ctx, slog.LevelDebug, "dialpad: retrying request", attrs...)
	return wait
}

// giveUp turns the last attempt of a failed request into our error.
func (x *exchange) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		if err == nil { // a retryable status, and the attempts ran out
			defer resp.Body.Close()
			body, _ := readBody(resp, maxErrorBody)
			x.tally.add(cBytes, int64(len(body)))
			return nil, newAPIError(resp.StatusCode, body, x.target, attempts, x.c.cred.token)
		}
		resp.Body.Close()
	}
	if ctxErr := x.ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if attempts > 1 {
		return nil, fmt.Errorf("gave up after %d attempts: %w", attempts, err)
	}
	return nil, err
}

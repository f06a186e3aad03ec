package dialpad

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the options of New.
const (
	DefaultRateLimit     = 15.0 // requests per second, burst 1 (Dialpad allows 20/s per company)
	DefaultTimeout       = 60 * time.Second
	DefaultMaxAttempts   = 8
	DefaultRetryAfterCap = 60 * time.Second
	DefaultBackoffMin    = 500 * time.Millisecond
	DefaultBackoffMax    = 30 * time.Second
	DefaultOperatorsTTL  = time.Hour

	DefaultExportsPerHour  = 20 // a tenth of the 200 an hour Dialpad allows a company
	DefaultExportPoll      = 2 * time.Second
	DefaultExportWait      = 10 * time.Minute
	DefaultDownloadTimeout = 10 * time.Minute
)

// Option configures a Client; see New for the options and their defaults.
type Option func(*config)

type config struct {
	rate          float64
	limiter       *rate.Limiter
	timeout       time.Duration
	maxPages      int
	maxAttempts   int
	retryAfterCap time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
	operatorsTTL  time.Duration
	logger        *slog.Logger
	httpClient    *http.Client
	now           func() time.Time
	checkRetry    CheckRetry
	backoff       Backoff

	exportsPerHour  int
	exportPoll      time.Duration
	exportWait      time.Duration
	downloadTimeout time.Duration
	exportLimit     int64 // bytes of an export's CSV (maxExport; tests lower it)
}

func defaultConfig() config {
	return config{
		rate:          DefaultRateLimit,
		timeout:       DefaultTimeout,
		maxAttempts:   DefaultMaxAttempts,
		retryAfterCap: DefaultRetryAfterCap,
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,
		operatorsTTL:  DefaultOperatorsTTL,
		now:           time.Now,
		checkRetry:    DefaultRetryPolicy,
		backoff:       DefaultBackoff,

		exportsPerHour:  DefaultExportsPerHour,
		exportPoll:      DefaultExportPoll,
		exportWait:      DefaultExportWait,
		downloadTimeout: DefaultDownloadTimeout,
		exportLimit:     maxExport,
	}
}

func (c *config) validate() error {
	switch {
	case c.limiter == nil && (c.rate <= 0 || math.IsNaN(c.rate)):
		return fmt.Errorf("dialpad: WithRateLimit(%v): want more than 0 requests per second", c.rate)
	case c.timeout <= 0:
		return fmt.Errorf("dialpad: WithTimeout(%v): want more than 0", c.timeout)
	case c.maxPages < 0:
		return fmt.Errorf("dialpad: WithMaxPages(%d): want 0 (unlimited) or more", c.maxPages)
	case c.maxAttempts < 1:
		return fmt.Errorf("dialpad: WithMaxAttempts(%d): want 1 or more", c.maxAttempts)
	case c.retryAfterCap < 0:
		return fmt.Errorf("dialpad: WithRetryAfterCap(%v): want 0 or more", c.retryAfterCap)
	case c.backoffMin < 0 || c.backoffMax < c.backoffMin:
		return fmt.Errorf("dialpad: WithBackoff(%v, %v): want 0 <= min <= max", c.backoffMin, c.backoffMax)
	case c.operatorsTTL < 0:
		return fmt.Errorf("dialpad: WithOperatorsTTL(%v): want 0 or more", c.operatorsTTL)
	case c.exportsPerHour < 1:
		return fmt.Errorf("dialpad: WithExportBudget(%d): want 1 or more exports an hour", c.exportsPerHour)
	case c.exportPoll <= 0 || c.exportWait <= 0:
		return fmt.Errorf("dialpad: WithExportPolling(%v, %v): want more than 0", c.exportPoll, c.exportWait)
	case c.downloadTimeout <= 0:
		return fmt.Errorf("dialpad: WithDownloadTimeout(%v): want more than 0", c.downloadTimeout)
	case c.now == nil || c.checkRetry == nil || c.backoff == nil:
		return fmt.Errorf("dialpad: WithClock, WithRetryPolicy and WithBackoffPolicy need a non-nil function")
	}
	return nil
}

// WithRateLimit sets the client's request rate (burst 1). Every attempt,
// retries included, waits for the limiter.
func WithRateLimit(perSecond float64) Option { return func(c *config) { c.rate = perSecond } }

// WithLimiter makes the client wait on l instead of its own limiter, so
// several clients (several jobs with one company key) can share Dialpad's
// per-company budget. It overrides WithRateLimit.
func WithLimiter(l *rate.Limiter) Option { return func(c *config) { c.limiter = l } }

// WithTimeout bounds one attempt: from sending the request to reading the
// last byte of the body. The time spent waiting for the limiter is not
// counted. A timed-out attempt is retried.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxPages stops ListCalls after n pages of one window with
// ErrPageLimit; 0 means no limit.
func WithMaxPages(n int) Option { return func(c *config) { c.maxPages = n } }

// WithMaxAttempts bounds the attempts of one request, the first included.
func WithMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// WithRetryAfterCap caps the wait a Retry-After header can ask for.
func WithRetryAfterCap(d time.Duration) Option { return func(c *config) { c.retryAfterCap = d } }

// WithBackoff sets the bounds passed to the backoff policy: with
// DefaultBackoff the first retry waits up to min, each further one up to
// twice as long, never above max; min 0 retries without waiting (the rate
// limiter still paces the attempts).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p CheckRetry) Option { return func(c *config) { c.checkRetry = p } }

// WithBackoffPolicy replaces DefaultBackoff. A Retry-After header, when
// present, still takes precedence (capped by WithRetryAfterCap).
func WithBackoffPolicy(b Backoff) Option { return func(c *config) { c.backoff = b } }

// WithOperatorsTTL sets how long Operators keeps a target's operators;
// 0 disables the cache (concurrent callers still share one request).
func WithOperatorsTTL(d time.Duration) Option { return func(c *config) { c.operatorsTTL = d } }

// WithLogger sets the logger; retries are logged at debug level. The token
// is never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithHTTPClient sets the HTTP client whose transport carries the requests.
// The client is copied, not modified; its Timeout, if any, applies on top
// of WithTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithClock sets the clock used for the operators cache, for pages'
// Received and for Retry-After
// dates, for tests.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithExportBudget sets how many stats exports (POST /api/v2/stats, every
// attempt counted) the client may ask for an hour; Dialpad allows the
// company 200, shared with every integration. A request beyond it waits.
func WithExportBudget(perHour int) Option { return func(c *config) { c.exportsPerHour = perHour } }

// WithExportPolling sets the first wait between polls of an export's
// status (it grows by half each time, to 30 s at most) and how long an
// export may stay processing before ExportCalls (or ExportDispositions)
// gives up.
func WithExportPolling(first, wait time.Duration) Option {
	return func(c *config) { c.exportPoll, c.exportWait = first, wait }
}

// WithDownloadTimeout bounds the download of an export's file; when
// Dialpad answers the export's poll with the file itself, it bounds the
// reading of that answer's body instead of WithTimeout.
func WithDownloadTimeout(d time.Duration) Option { return func(c *config) { c.downloadTimeout = d } }

// withExportLimit lowers the size an export's CSV may have (maxExport),
// so that a test can pass it without gigabytes.
func withExportLimit(bytes int64) Option { return func(c *config) { c.exportLimit = bytes } }

package dialpad

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// Client reads Dialpad's API v2. It is safe for concurrent use; every
// request, from every goroutine and every retry, waits on one rate limiter.
// It authenticates only with an "Authorization: Bearer" header, and its
// token never appears in a URL, a log line or an error.
type Client struct {
	base    *url.URL
	cred    *credential // a pointer, so that %+v of a Client value prints an address
	http    *http.Client
	limiter *rate.Limiter
	cfg     config
	log     *slog.Logger
	stats   Counters
	ops     operatorCache

	exports   exportBudget // POST /api/v2/stats
	downloads *http.Client // exports' signed links: no credentials, no API rate limit
}

type credential struct {
	token  string
	header string // "Bearer " + token
}

// New returns a client for the Dialpad API at baseURL (e.g.
// "https://dialpad.com") with the API token sent as a Bearer token.
//
// Options and their defaults:
//
//	WithRateLimit(15)              requests per second, burst 1, shared by all requests and retries
//	WithLimiter(l)                 share one *rate.Limiter between clients (overrides WithRateLimit)
//	WithTimeout(60s)               one attempt, request to last body byte
//	WithMaxPages(0)                pages per ListCalls window, 0 = unlimited
//	WithMaxAttempts(8)             attempts per request, the first included
//	WithRetryAfterCap(60s)         longest wait honoured from a Retry-After header
//	WithBackoff(500ms, 30s)        exponential backoff bounds, full jitter
//	WithRetryPolicy(p)             DefaultRetryPolicy: 429, 500, 502, 503, 504, timeouts, dropped connections, bad bodies
//	WithBackoffPolicy(b)           DefaultBackoff
//	WithOperatorsTTL(1h)           operators cache lifetime per target
//	WithLogger(l)                  discards; retries are logged at debug
//	WithHTTPClient(hc)             a pooled client with Go's default transport settings
//	WithExportBudget(20)           stats exports asked for per hour (Dialpad allows 200 per company)
//	WithExportPolling(2s, 10m)     first wait between polls of an export, and the longest an export may take
//	WithDownloadTimeout(10m)       the download of an export's file, or the poll's answer that is the file
//	WithClock(time.Now)            for tests
func New(baseURL, token string, opts ...Option) (*Client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("dialpad: empty API token: set DIALPAD_API_TOKEN to a company-admin API key")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("dialpad: the API token (DIALPAD_API_TOKEN) contains spaces or control characters")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		base: base,
		cred: &credential{token: token, header: "Bearer " + token},
		cfg:  cfg,
		log:  cfg.logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.limiter = cfg.limiter
	if c.limiter == nil {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.rate), 1)
	}
	c.http = c.newHTTPClient(cfg.httpClient)
	c.exports.perHour = cfg.exportsPerHour
	c.downloads = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: cfg.downloadTimeout}
	c.ops.init()
	return c, nil
}

func parseBaseURL(s string) (*url.URL, error) {
	const want = `want e.g. "https://dialpad.com"`
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		// url's error quotes the input; ours does not, in case it holds a key.
		return nil, fmt.Errorf("dialpad: the base URL is not a valid URL: %s", want)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("dialpad: the base URL must start with https:// (or http:// for a local simulator): %s", want)
	case u.Host == "":
		return nil, fmt.Errorf("dialpad: the base URL has no host: %s", want)
	case u.User != nil:
		return nil, errors.New("dialpad: the base URL must not carry credentials; pass the API token separately")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, errors.New("dialpad: the base URL must not carry a query (never put the API key in a URL)")
	case u.Fragment != "":
		return nil, fmt.Errorf("dialpad: the base URL must not carry a fragment: %s", want)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func (c *Client) newHTTPClient(hc *http.Client) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	}
	base := out.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		base = t
	}
	out.Transport = &transport{base: base, limiter: c.limiter, timeout: c.cfg.timeout, stats: &c.stats,
		exportPath: c.base.Path + "/api/v2/stats", spendExport: c.spendExport}
	return &out
}

// String describes the client without its token.
func (c *Client) String() string {
	return "dialpad.Client{base: " + c.base.String() + ", token: [redacted]}"
}

// GoString is String, so that %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base", c.base.String()), slog.String("token", "[redacted]"))
}

// Stats returns the client's counters since New.
func (c *Client) Stats() Stats { return c.stats.Snapshot() }

// endpoint is the absolute URL of path (which starts with "/") and query.
func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	return u.String()
}

// get sends GET path?q with retries and returns the body of its 2xx
// response. accept, if not nil, checks a 2xx body: an error from it marks
// the body as damaged (ErrBadResponse) and the request is retried within
// the same attempt budget. A non-2xx final response is an *APIError.
func (c *Client) get(ctx context.Context, path string, q url.Values, target string, accept func([]byte) error) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, q, nil, target, accept)
}

// do is get with any method and a JSON body (nil for none).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, target string, accept func([]byte) error) ([]byte, error) {
	x, err := c.send(ctx, method, path, q, body, target, accept, nil)
	if err != nil {
		return nil, err
	}
	return x.body, nil
}

// getOrFile is get for an endpoint that may answer with a file instead
// of JSON: a 200 response for which isFile returns true is not read, and
// its body is returned open (file) for the caller to stream and close,
// within WithDownloadTimeout rather than WithTimeout. Any other response
// is read and checked as get does, and file is nil.
func (c *Client) getOrFile(ctx context.Context, path, target string, isFile func(*http.Response) bool, accept func([]byte) error) (body []byte, file io.ReadCloser, err error) {
	x, err := c.send(ctx, http.MethodGet, path, nil, nil, target, accept, isFile)
	if err != nil {
		return nil, nil, err
	}
	return x.body, x.file, nil
}

// send is do, and keeps the body of a 200 response that isFile (if not
// nil) calls a file unread in the returned exchange's file.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body []byte, target string,
	accept func([]byte) error, isFile func(*http.Response) bool) (*exchange, error) {
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.endpoint(path, q), rb)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	req.Header.Set("Authorization", c.cred.header)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "dialpad-etl")

	x := &exchange{c: c, ctx: ctx, path: path, target: target, tally: c.tally(ctx), accept: accept, isFile: isFile}
	req.SetResponseHandler(x.handle)
	rc := &retryablehttp.Client{
		HTTPClient:     c.http,
		Logger:         nil, // retryablehttp logs nothing; we log retries ourselves
		RetryWaitMin:   c.cfg.backoffMin,
		RetryWaitMax:   c.cfg.backoffMax,
		RetryMax:       c.cfg.maxAttempts - 1,
		CheckRetry:     x.checkRetry,
		Backoff:        x.backoff,
		ErrorHandler:   x.giveUp,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, i int) { x.attempts = i + 1 },
	}
	resp, err := rc.Do(req)
	if err != nil {
		return nil, err
	}
	if x.file != nil {
		return x, nil // resp.Body is x.file, the caller's to close
	}
	resp.Body.Close()
	if x.status/100 != 2 {
		return nil, newAPIError(x.status, x.body, target, x.attempts, c.cred.token)
	}
	return x, nil
}

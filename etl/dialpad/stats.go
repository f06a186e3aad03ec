package dialpad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
)

// Sentinels of ExportCalls and ExportDispositions.
var (
	// ErrExportFailed: Dialpad reported the export as failed.
	ErrExportFailed = errors.New("dialpad: the export failed")
	// ErrExportTimeout: the export was still processing when the wait
	// (WithExportPolling) ran out.
	ErrExportTimeout = errors.New("dialpad: the export did not finish in time")
	// ErrExportGone: Dialpad no longer knows the export's request id
	// (ids expire after about an hour).
	ErrExportGone = errors.New("dialpad: the export is gone")
)

// maxExport bounds an export's CSV, downloaded or answered by its poll:
// a year of a busy call center's legs is a fraction of it.
const maxExport = 2 << 30

// ExportRequest asks for a records export of a target's calls (or
// dispositions) over whole days of Zone, From to To included, To before today there.
type ExportRequest struct {
	Target   Target
	Zone     *time.Location
	From, To time.Time // dates: only the year, month and day of each (in its own location) count
}

// Export is a records export of calls, downloaded and parsed.
type Export struct {
	RequestID string
	// RequestedAt is when the export was asked for: a leg that had not
	// ended by then is not in it, or is without its end.
	RequestedAt time.Time
	Records     *records.Records
}

// ExportCalls asks Dialpad for a records export of req.Target's calls
// (POST /api/v2/stats), polls it until it is complete, downloads its CSV
// from the signed link without credentials (or takes it from the poll's
// answer, when Dialpad sends the file itself), and parses it as it
// arrives. Every POST spends the export budget (WithExportBudget):
// Dialpad allows 200 an hour per company. An export that fails, or whose
// request id expires while it is polled, is asked for again once.
func (c *Client) ExportCalls(ctx context.Context, req ExportRequest) (*Export, error) {
	if req.Zone == nil {
		req.Zone = time.UTC
	}
	out := &Export{}
	err := c.export(ctx, req, "calls", func(id string, at time.Time, body io.Reader) error {
		recs, err := records.Parse(body, req.Zone)
		out.RequestID, out.RequestedAt, out.Records = id, at, recs
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExportInfo names the export a read came from.
type ExportInfo struct {
	RequestID string
	// RequestedAt is when the export was asked for: a leg that had not
	// ended by then is not in it, or is without its end.
	RequestedAt time.Time
}

// ExportCallsEach is ExportCalls reading the export a row at a time, as
// it downloads (records.Read): each row is handed to row, each row that
// cannot be read to bad, and none is kept, so an export of any size is
// read in little memory. The first error of row or bad ends the read and
// is returned, wrapped (%w). An export asked for again (failed, or
// expired while polled) is asked for before any row is read.
func (c *Client) ExportCallsEach(ctx context.Context, req ExportRequest, row func(records.Record) error, bad func(records.BadRow) error) (ExportInfo, error) {
	if req.Zone == nil {
		req.Zone = time.UTC
	}
	var out ExportInfo
	err := c.export(ctx, req, "calls", func(id string, at time.Time, body io.Reader) error {
		out = ExportInfo{RequestID: id, RequestedAt: at}
		return records.Read(body, req.Zone, row, bad)
	})
	if err != nil {
		return ExportInfo{}, err
	}
	return out, nil
}

// DispositionsExport is a records export of the dispositions agents
// picked, downloaded and parsed.
type DispositionsExport struct {
	RequestID string
	// RequestedAt is when the export was asked for: a leg's
	// dispositions picked later are not in it.
	RequestedAt  time.Time
	Dispositions *records.Dispositions
}

// ExportDispositions asks Dialpad for a records export of the
// dispositions of req.Target's legs (stat_type "dispositions", which
// needs a target), and waits for it, downloads and parses it as
// ExportCalls does, within the same export budget.
func (c *Client) ExportDispositions(ctx context.Context, req ExportRequest) (*DispositionsExport, error) {
	if req.Target.Type == "" || req.Target.ID <= 0 {
		return nil, errors.New("dialpad: an export of dispositions needs a target")
	}
	if req.Zone == nil {
		req.Zone = time.UTC
	}
	out := &DispositionsExport{}
	err := c.export(ctx, req, "dispositions", func(id string, at time.Time, body io.Reader) error {
		ds, err := records.ParseDispositions(body, req.Zone)
		out.RequestID, out.RequestedAt, out.Dispositions = id, at, ds
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// export asks for a records export of statType, polls it until it is
// complete, downloads its CSV (unless the poll answered with it) and
// hands it to parse as it arrives, with the request's id and time. An
// export that fails, or whose request id expires while it is polled, is
// asked for again once. req.Zone is set.
func (c *Client) export(ctx context.Context, req ExportRequest, statType string, parse func(id string, at time.Time, body io.Reader) error) error {
	for again := true; ; again = false {
		id, at, err := c.startExport(ctx, req, statType)
		if err != nil {
			return err
		}
		link, body, err := c.waitExport(ctx, id, req.Target)
		if (errors.Is(err, ErrExportGone) || errors.Is(err, ErrExportFailed)) && again {
			c.log.Warn("dialpad: asking for the export again", "target", req.Target.String(), "stat_type", statType, "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if body == nil {
			if body, err = c.download(ctx, link); err != nil {
				return err
			}
		}
		err = parse(id, at, &limitedReader{r: body, limit: c.cfg.exportLimit, left: c.cfg.exportLimit})
		body.Close()
		if err != nil {
			return fmt.Errorf("dialpad: the export of %s's %s: %w", req.Target, statType, err)
		}
		return nil
	}
}

// startExport posts the export request and returns its id and when it
// was made. Dialpad counts days back from its today in the request's
// zone, so a request that straddles midnight is made again.
func (c *Client) startExport(ctx context.Context, req ExportRequest, statType string) (string, time.Time, error) {
	for {
		at := c.cfg.now()
		today := civil(at, req.Zone)
		from, to := civil(req.From, req.From.Location()), civil(req.To, req.To.Location())
		if !to.Before(today) {
			return "", at, fmt.Errorf("dialpad: an export of %s ends before today; %s is not over in %s", statType, to.Format(time.DateOnly), req.Zone)
		}
		if to.Before(from) {
			return "", at, fmt.Errorf("dialpad: an export from %s to %s is empty", from.Format(time.DateOnly), to.Format(time.DateOnly))
		}
		body := map[string]any{
			"export_type":    "records",
			"stat_type":      statType,
			"timezone":       req.Zone.String(),
			"days_ago_start": daysBetween(to, today), // the recent edge
			"days_ago_end":   daysBetween(from, today),
			"target_type":    req.Target.Type,
			"target_id":      req.Target.ID,
		}
		b, err := json.Marshal(body)
		if err != nil {
			return "", at, err
		}
		resp, err := c.do(ctx, http.MethodPost, "/api/v2/stats", nil, b, req.Target.String(), acceptJSON)
		if err != nil {
			return "", at, fmt.Errorf("dialpad: asking for an export of %s: %w", req.Target, err)
		}
		var p struct {
			RequestID      string `json:"request_id"`
			AlreadyStarted bool   `json:"already_started"`
		}
		if err := json.Unmarshal(resp, &p); err != nil || p.RequestID == "" {
			return "", at, fmt.Errorf("dialpad: POST /api/v2/stats: %w: no request_id", ErrBadResponse)
		}
		if p.AlreadyStarted {
			// Dialpad's own cache: legs that ended since it was made are
			// not in it, and show as only in the warehouse's.
			c.log.Info("dialpad: Dialpad answers with an export it had already started", "target", req.Target.String(),
				"request_id", p.RequestID)
		}
		if civil(c.cfg.now(), req.Zone).Equal(today) {
			c.log.Debug("dialpad: export requested", "target", req.Target.String(), "request_id", p.RequestID,
				"already_started", p.AlreadyStarted, "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly))
			return p.RequestID, at, nil
		}
	}
}

// waitExport polls the export until it is complete and returns its
// download link, which is a credential itself: it is never logged. When
// Dialpad answers the poll with the CSV itself (Content-Type text/csv),
// as a client in the wild handles, the export is complete and that body
// is returned instead of a link, unread, for the caller to stream and
// close.
func (c *Client) waitExport(ctx context.Context, id string, t Target) (string, io.ReadCloser, error) {
	// The wait is real time, whatever clock the client reads days from.
	deadline := time.Now().Add(c.cfg.exportWait)
	wait := c.cfg.exportPoll
	for polls := 1; ; polls++ {
		body, csv, err := c.getOrFile(ctx, "/api/v2/stats/"+url.PathEscape(id), t.String(), isCSV, acceptJSON)
		if errors.Is(err, ErrNotFound) {
			return "", nil, fmt.Errorf("%w: request %s", ErrExportGone, id)
		}
		if err != nil {
			return "", nil, fmt.Errorf("dialpad: polling the export of %s: %w", t, err)
		}
		if csv != nil {
			c.log.Debug("dialpad: export complete; the poll answered with its CSV", "target", t.String(), "request_id", id, "polls", polls)
			return "", csv, nil
		}
		// Clients in the wild also see "state" and "file_url".
		var p struct {
			Status      string `json:"status"`
			State       string `json:"state"`
			DownloadURL string `json:"download_url"`
			FileURL     string `json:"file_url"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, fmt.Errorf("dialpad: GET /api/v2/stats/%s: %w", id, ErrBadResponse)
		}
		status, link := firstOf(p.Status, p.State), firstOf(p.DownloadURL, p.FileURL)
		switch status {
		case "complete", "completed":
			if link == "" {
				return "", nil, fmt.Errorf("dialpad: the export of %s is complete but has no download_url: %w", t, ErrBadResponse)
			}
			return link, nil, nil
		case "failed", "error":
			return "", nil, fmt.Errorf("%w: Dialpad reports the export of %s (request %s) as %s", ErrExportFailed, t, id, status)
		}
		if !time.Now().Add(wait).Before(deadline) {
			return "", nil, fmt.Errorf("%w: the export of %s (request %s) was still %q after %s and %d polls",
				ErrExportTimeout, t, id, status, c.cfg.exportWait, polls)
		}
		c.log.Debug("dialpad: export processing", "target", t.String(), "request_id", id, "status", status, "next_poll", wait)
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*3/2, 30*time.Second)
	}
}

// download GETs an export's signed link with no Authorization header: the
// link carries its own signature, and whoever serves it (a storage
// bucket, not the API) must never see the token. Errors name the host,
// never the link.
func (c *Client) download(ctx context.Context, link string) (io.ReadCloser, error) {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("dialpad: the export's download_url is not a URL: %w", ErrBadResponse)
	}
	// Plain http only when the API itself is (a simulator).
	if u.Scheme != "https" && !(u.Scheme == "http" && c.base.Scheme == "http") {
		return nil, fmt.Errorf("dialpad: the export's download_url on %s is not https; refusing it", u.Host)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("dialpad: the export's download_url on %s: %w", u.Host, ErrBadResponse)
	}
	req.Header.Set("User-Agent", "dialpad-etl")
	rc := &retryablehttp.Client{
		HTTPClient:   c.downloads,
		RetryWaitMin: c.cfg.backoffMin,
		RetryWaitMax: c.cfg.backoffMax,
		RetryMax:     2,
		CheckRetry:   retryablehttp.CheckRetry(DefaultRetryPolicy),
		Backoff:      retryablehttp.Backoff(c.cfg.backoff),
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) { return resp, err },
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the link
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("dialpad: downloading the export from %s: %w", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		// The body is not shown: a storage's refusal can echo the link's
		// signature.
		resp.Body.Close()
		return nil, fmt.Errorf("dialpad: downloading the export from %s: HTTP %d %s (an expired link is refused; the next run asks again)",
			u.Host, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.Body, nil
}

// limitedReader is io.LimitReader that fails past its limit, rather
// than ending the file there as if it were whole.
type limitedReader struct {
	r           io.Reader
	limit, left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%w: the export is larger than %d bytes: ask for fewer days at a time", ErrResponseTooLarge, l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// civil is t's date in loc, as midnight UTC of that date.
func civil(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func daysBetween(day, today time.Time) int { return int(today.Sub(day) / (24 * time.Hour)) }

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// isCSV reports whether a poll of an export answers with the CSV
// itself: Content-Type text/csv, in any case, with or without
// parameters such as a charset.
func isCSV(resp *http.Response) bool {
	mediaType, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/csv")
}

func acceptJSON(b []byte) error {
	if !json.Valid(b) {
		return errors.New("not JSON")
	}
	return nil
}

// exportBudget keeps the POSTs of stats exports to perHour in any hour
// (a sliding window: Dialpad counts them per hour, shared by the
// company's integrations). It is the process's own: another process
// keeps its own.
type exportBudget struct {
	perHour int
	mu      sync.Mutex
	sent    []time.Time // the last perHour POSTs, oldest first
}

// take records a POST at now, or returns how long until one is allowed.
func (b *exportBudget) take(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.sent) > 0 && !now.Before(b.sent[0].Add(time.Hour)) {
		b.sent = b.sent[1:]
	}
	if len(b.sent) >= b.perHour {
		return b.sent[0].Add(time.Hour).Sub(now)
	}
	b.sent = append(b.sent, now)
	return 0
}

// spendExport waits for the export budget before a POST /api/v2/stats
// attempt, and logs the wait.
func (c *Client) spendExport(ctx context.Context) error {
	for {
		wait := c.exports.take(time.Now())
		if wait == 0 {
			return nil
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "dialpad: waiting for the export budget (DIALPAD_EXPORTS_PER_HOUR)",
			slog.Duration("wait", wait), slog.Int("exports_per_hour", c.cfg.exportsPerHour))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

package dialpad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Window is the half-open time range [From, To) of call start times, at
// millisecond precision (sub-millisecond parts are dropped).
type Window struct {
	From, To time.Time
}

func (w Window) String() string {
	return w.From.UTC().Format(time.RFC3339Nano) + "/" + w.To.UTC().Format(time.RFC3339Nano)
}

// LogValue logs a window as its String in text and JSON logs alike.
func (w Window) LogValue() slog.Value { return slog.StringValue(w.String()) }

// ListCalls streams the legs of target that started in w, one page at a
// time: fn is called for each page in order and may keep the page. It
// follows the cursor until a page has none.
//
// Dialpad's started_after and started_before are strict, so it asks for
// started_after = From-1ms and started_before = To. Dialpad lists only
// calls that have ended, newest first; callers re-read a lookback window
// and upsert by call_id.
//
// An error means the window is incomplete and must not be marked loaded:
// ErrCursorLoop if a cursor repeats, ErrPageLimit after WithMaxPages pages
// with more to read, an *APIError, the ctx error, or fn's error. Errors
// name the target and page: "list calls for department:123: page 4: ...".
func (c *Client) ListCalls(ctx context.Context, target Target, w Window, fn func(*wire.Page) error) error {
	if err := checkTarget(target); err != nil {
		return err
	}
	if !w.To.After(w.From) || w.From.UnixMilli() < 1 {
		return fmt.Errorf("list calls for %s: empty or invalid window %s", target, w)
	}
	if fn == nil {
		return errors.New("dialpad: ListCalls needs a page function")
	}
	q := url.Values{
		"target_type":    {target.Type},
		"target_id":      {strconv.FormatInt(target.ID, 10)},
		"started_after":  {strconv.FormatInt(w.From.UnixMilli()-1, 10)},
		"started_before": {strconv.FormatInt(w.To.UnixMilli(), 10)},
	}
	tl := c.tally(ctx)
	seen := make(map[string]struct{})
	for n := 1; ; n++ {
		page, next, err := c.page(ctx, target, q)
		if err != nil {
			return fmt.Errorf("list calls for %s: page %d: %w", target, n, err)
		}
		page.Number, page.Received = n, c.cfg.now().UTC()
		tl.add(cPages, 1)
		tl.add(cItems, int64(len(page.Calls)+len(page.Rejected)))
		tl.add(cRejected, int64(len(page.Rejected)))
		c.log.LogAttrs(ctx, slog.LevelDebug, "dialpad: call page",
			slog.String("target", target.String()), slog.Int("page", n),
			slog.Int("calls", len(page.Calls)), slog.Int("rejected", len(page.Rejected)),
			slog.Int("bytes", page.Bytes), slog.Bool("last", next == ""))
		if err := fn(page); err != nil {
			return fmt.Errorf("list calls for %s: page %d: %w", target, n, err)
		}
		if next == "" {
			return nil
		}
		if _, dup := seen[next]; dup {
			return fmt.Errorf("list calls for %s: page %d: cursor %.40q was already followed in window %s: %w",
				target, n, next, w, ErrCursorLoop)
		}
		seen[next] = struct{}{}
		if max := c.cfg.maxPages; max > 0 && n >= max {
			return fmt.Errorf("list calls for %s: window %s has more than %d pages: %w", target, w, max, ErrPageLimit)
		}
		q.Set("cursor", next)
	}
}

// page fetches and decodes one page. A body that is cut off or is not the
// envelope is retried within the request's attempts.
func (c *Client) page(ctx context.Context, target Target, q url.Values) (*wire.Page, string, error) {
	var (
		page   *wire.Page
		cursor string
	)
	_, err := c.get(ctx, "/api/v2/call", q, target.String(), func(body []byte) error {
		var err error
		page, cursor, err = wire.DecodePage(body)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return page, cursor, nil
}

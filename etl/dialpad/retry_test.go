package dialpad

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Bursts of 429 (with and without Retry-After) and 5xx lose and duplicate
// nothing.
func TestRetriesThroughRateLimitsAndServerErrors(t *testing.T) {
	f := newFake(t, 500)
	srv := f.start()
	faults := map[int]func(http.ResponseWriter){
		1:  func(w http.ResponseWriter) { writeJSON(w, 429, `{"error":{"message":"rate limit exceeded"}}`) },
		2:  func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); writeJSON(w, 429, `{}`) },
		5:  func(w http.ResponseWriter) { writeJSON(w, 500, `oops`) },
		6:  func(w http.ResponseWriter) { writeJSON(w, 502, `<html>bad gateway</html>`) },
		7:  func(w http.ResponseWriter) { writeJSON(w, 503, ``) },
		8:  func(w http.ResponseWriter) { writeJSON(w, 504, ``) },
		9:  func(w http.ResponseWriter) { writeJSON(w, 503, ``) },
		20: func(w http.ResponseWriter) { writeJSON(w, 429, ``) },
		21: func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); writeJSON(w, 503, ``) },
	}
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if fn := faults[n]; fn != nil {
			fn(w)
			return true
		}
		return false
	})
	c := f.client(srv)
	ids, _, err := collect(t, c, dept, dayWindow)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, f.allIDs(dayWindow)) {
		t.Fatalf("got %d calls, want %d", len(ids), len(f.allIDs(dayWindow)))
	}
	s := c.Stats()
	if s.Requests != 20+int64(len(faults)) || s.Retries != int64(len(faults)) || s.RateLimited != 3 || s.Pages != 20 {
		t.Errorf("stats %+v, want %d requests, %d retries, 3 rate limited, 20 pages", s, 20+len(faults), len(faults))
	}
}

// A body cut off mid-way, a dropped connection and a 200 that is not JSON
// are retried like any transient failure.
func TestRetriesDamagedResponses(t *testing.T) {
	f := newFake(t, 100)
	srv := f.start()
	// A fresh connection per request: net/http itself retries a request
	// that failed on a reused one, and this test is about our retries.
	srv.Config.SetKeepAlivesEnabled(false)
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 1:
			truncatedBody(w)
		case 3:
			drop(w)
		case 4:
			writeJSON(w, 200, `<html><body>Service Unavailable</body></html>`)
		case 6:
			writeJSON(w, 200, `{"items":[{"call_id":"1"}]`) // complete response, cut-off JSON
		default:
			return false
		}
		return true
	})
	c := f.client(srv)
	ids, _, err := collect(t, c, dept, dayWindow)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, f.allIDs(dayWindow)) {
		t.Fatalf("got %d calls, want %d", len(ids), len(f.allIDs(dayWindow)))
	}
	if s := c.Stats(); s.Requests != 8 || s.Retries != 4 || s.Pages != 4 {
		t.Errorf("stats %+v, want 8 requests, 4 retries and 4 pages", s)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault func(http.ResponseWriter)
		is    error
		say   string
	}{
		{"503", func(w http.ResponseWriter) { writeJSON(w, 503, `{"error":{"message":"maintenance"}}`) }, nil, `HTTP 503 Service Unavailable (after 4 attempts); Dialpad says: "maintenance"`},
		{"429", func(w http.ResponseWriter) { writeJSON(w, 429, ``) }, ErrRateLimited, "HTTP 429 Too Many Requests: Dialpad's rate limit"},
		{"bad body", func(w http.ResponseWriter) { writeJSON(w, 200, `{"items":[`) }, ErrBadResponse, "gave up after 4 attempts"},
		{"dropped", drop, nil, "gave up after 4 attempts: Get"},
		// 2xx answers that are not a call page fail the window, whose mark
		// then stays, instead of passing for an empty last page.
		{"200 error object", func(w http.ResponseWriter) { writeJSON(w, 200, `{"error":{"code":500,"message":"x"}}`) }, ErrBadResponse, `not a call page: no items, but ["error"]`},
		{"200 data array", func(w http.ResponseWriter) { writeJSON(w, 200, `{"data":[{"call_id":"1"}]}`) }, ErrBadResponse, "gave up after 4 attempts"},
		{"200 JSON array", func(w http.ResponseWriter) { writeJSON(w, 200, `[{"call_id":"1"}]`) }, ErrBadResponse, "not a JSON object"},
		{"200 string", func(w http.ResponseWriter) { writeJSON(w, 200, `"ok"`) }, ErrBadResponse, "not a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, 10)
			srv := f.start()
			srv.Config.SetKeepAlivesEnabled(false) // or net/http retries drops on reused connections itself
			f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool { tt.fault(w); return true })
			c := f.client(srv, WithMaxAttempts(4))
			_, _, err := collect(t, c, dept, dayWindow)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.say) {
				t.Errorf("err = %v, want one saying %q", err, tt.say)
			}
			if f.requests() != 4 {
				t.Errorf("%d requests, want 4", f.requests())
			}
			if strings.Contains(err.Error(), "timed out") {
				t.Errorf("err = %v: not a timeout", err)
			}
			var apiErr *APIError
			if tt.name == "503" && (!errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Attempts != 4) {
				t.Errorf("err %#v, want an *APIError with status 503 after 4 attempts", err)
			}
		})
	}
}

// 400, 401, 403 and 404 fail at once, with a message that says what to fix.
func TestPermanentErrors(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		is     error
		say    []string
	}{
		{401, `{"error":{"message":"invalid api key"}}`, ErrUnauthorized, []string{"HTTP 401", "DIALPAD_API_TOKEN", "wrong or expired", `"invalid api key"`}},
		{403, `{"error":{"code":403,"message":"scope calls:list required"}}`, ErrForbidden, []string{"company-admin API key", "calls:list"}},
		{404, `{"error":{"message":"Department not found"}}`, ErrNotFound, []string{"department:4869792674824192 does not exist", "Department not found"}},
		{400, `{"error":{"message":"bad filter"}}`, nil, []string{"HTTP 400", "bad filter"}},
	} {
		f := newFake(t, 10)
		srv := f.start()
		f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
			writeJSON(w, tt.status, tt.body)
			return true
		})
		c := f.client(srv)
		_, _, err := collect(t, c, dept, dayWindow)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tt.status || tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%d: err = %v, want an *APIError matching %v", tt.status, err, tt.is)
			continue
		}
		for _, s := range tt.say {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%d: %q does not say %q", tt.status, err, s)
			}
		}
		if f.requests() != 1 {
			t.Errorf("%d: %d requests, want exactly 1", tt.status, f.requests())
		}
	}
}

// A wrong token gets the 401 message, from a real check of the header.
func TestWrongToken(t *testing.T) {
	f := newFake(t, 10)
	srv := f.start()
	c, err := New(srv.URL, "not-the-key")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = collect(t, c, dept, dayWindow)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "DIALPAD_API_TOKEN") || f.requests() != 1 {
		t.Errorf("err = %v after %d requests", err, f.requests())
	}
}

// A Retry-After far beyond the cap does not stall the load.
func TestRetryAfterIsCapped(t *testing.T) {
	f := newFake(t, 10)
	srv := f.start()
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			writeJSON(w, 429, ``)
			return true
		}
		return false
	})
	c := f.client(srv, WithRetryAfterCap(20*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := c.ListCalls(ctx, dept, dayWindow, func(*wire.Page) error { return nil }); err != nil {
		t.Fatalf("with Retry-After: 3600 capped at 20ms: %v", err)
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2025, 5, 17, 12, 0, 0, 0, time.UTC)
	c, err := New("https://dialpad.com", testToken, WithClock(func() time.Time { return now }),
		WithRetryAfterCap(60*time.Second), WithBackoffPolicy(func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 7 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	x := &exchange{c: c, ctx: t.Context(), tally: c.tally(t.Context())}
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{
		{"", 7 * time.Millisecond},
		{"2", 2 * time.Second},
		{"0", 0},
		{"3600", 60 * time.Second},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 7 * time.Millisecond},
		{"-5", 7 * time.Millisecond},
	} {
		resp := &http.Response{StatusCode: 429, Header: http.Header{}}
		if tt.header != "" {
			resp.Header.Set("Retry-After", tt.header)
		}
		if got := x.backoff(time.Millisecond, time.Second, 0, resp); got != tt.want {
			t.Errorf("Retry-After %q: wait %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestDefaultBackoffIsBoundedFullJitter(t *testing.T) {
	lo, hi := 500*time.Millisecond, 30*time.Second
	for attempt, ceiling := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second} {
		for range 200 {
			if d := DefaultBackoff(lo, hi, attempt, nil); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
	for _, attempt := range []int{10, 62, 63, 1000} {
		if d := DefaultBackoff(lo, hi, attempt, nil); d < 0 || d > hi {
			t.Errorf("attempt %d: %v outside [0, %v]", attempt, d, hi)
		}
	}
}

func TestDefaultRetryPolicy(t *testing.T) {
	ctx := t.Context()
	for status, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true} {
		if got, _ := DefaultRetryPolicy(ctx, &http.Response{StatusCode: status}, nil); got != want {
			t.Errorf("status %d: retry %v, want %v", status, got, want)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if retry, err := DefaultRetryPolicy(done, &http.Response{StatusCode: 503}, nil); retry || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: retry %v, %v", retry, err)
	}
	if retry, _ := DefaultRetryPolicy(ctx, nil, &timeoutError{after: "1s"}); !retry {
		t.Error("a timed-out attempt is not retried")
	}
	if retry, _ := DefaultRetryPolicy(ctx, nil, ErrResponseTooLarge); retry {
		t.Error("an oversized body is retried")
	}
}

// An attempt that outlasts WithTimeout is abandoned and retried.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	f := newFake(t, 10)
	srv := f.start()
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			<-r.Context().Done() // hang until the client gives up
			return true
		}
		return false
	})
	c := f.client(srv, WithTimeout(200*time.Millisecond))
	ids, _, err := collect(t, c, dept, dayWindow)
	if err != nil || len(ids) != 10 {
		t.Fatalf("%d calls, %v", len(ids), err)
	}
	if s := c.Stats(); s.Retries != 1 {
		t.Errorf("stats %+v, want 1 retry", s)
	}
}

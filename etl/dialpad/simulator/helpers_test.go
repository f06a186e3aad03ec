package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// testEnd is a Monday: the default test range is the two weeks before it.
var testEnd = time.Date(2025, 5, 19, 0, 0, 0, 0, time.UTC)

// clock is a settable simulator clock.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ms.Store(t.UnixMilli()) }
func (c *clock) now() time.Time   { return time.UnixMilli(c.ms.Load()).UTC() }

// newTestSim returns a simulator over the two weeks before testEnd, its
// clock standing at testEnd, without a rate limit unless cfg sets one.
func newTestSim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = testEnd
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.End.Add(-14 * 24 * time.Hour)
	}
	if cfg.Now == nil {
		end := cfg.End
		cfg.Now = func() time.Time { return end }
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func serve(t testing.TB, s *Sim) *httptest.Server {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// get sends an authorized GET and returns the status and body.
func get(t testing.TB, base, path string, q url.Values, token string) (int, http.Header, []byte) {
	t.Helper()
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// page is one decoded page of /api/v2/call.
type page struct {
	Items  []json.RawMessage `json:"items"`
	Cursor *string           `json:"cursor"`
}

// listCalls pages through /api/v2/call with q and returns every item and
// the pages, failing on a page that is not valid JSON or a repeated cursor.
func listCalls(t testing.TB, base string, q url.Values) ([]json.RawMessage, []page) {
	t.Helper()
	var items []json.RawMessage
	var pages []page
	seen := map[string]bool{}
	for {
		code, _, body := get(t, base, "/api/v2/call", q, "sim-token")
		if code != http.StatusOK {
			t.Fatalf("GET /api/v2/call?%s: %d %s", q.Encode(), code, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("page %d is not valid JSON: %v", len(pages)+1, err)
		}
		pages = append(pages, p)
		items = append(items, p.Items...)
		if p.Cursor == nil {
			return items, pages
		}
		if seen[*p.Cursor] {
			t.Fatalf("cursor repeated on page %d", len(pages))
		}
		seen[*p.Cursor] = true
		q = url.Values{"cursor": {*p.Cursor}}
	}
}

func callQuery(tg dialpad.Target, after, before int64) url.Values {
	q := url.Values{}
	if tg.Type != "" {
		q.Set("target_type", tg.Type)
		q.Set("target_id", fmt.Sprint(tg.ID))
	}
	if after != 0 {
		q.Set("started_after", fmt.Sprint(after))
	}
	if before != 0 {
		q.Set("started_before", fmt.Sprint(before))
	}
	return q
}

// decoded is a leg decoded by the client's own type, plus its raw keys.
type decoded struct {
	wire.Call
	keys map[string]json.RawMessage
}

func decodeLegs(t testing.TB, raws []json.RawMessage) []decoded {
	t.Helper()
	out := make([]decoded, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i].Call); err != nil {
			t.Fatalf("leg %d does not decode as wire.Call: %v\n%s", i, err, raw)
		}
		if err := json.Unmarshal(raw, &out[i].keys); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func equalRaw(a, b []json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// allLegs returns every leg of every group over the whole range,
// deduplicated by call id.
func allLegs(t testing.TB, s *Sim) []decoded {
	var raws []json.RawMessage
	seen := map[string]bool{}
	for _, tg := range s.Targets() {
		for _, r := range s.Legs(tg, s.cfg.Start, s.cfg.End.Add(24*time.Hour)) {
			if !seen[string(r)] {
				seen[string(r)] = true
				raws = append(raws, r)
			}
		}
	}
	return decodeLegs(t, raws)
}

package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
)

// newTestSim returns a simulator over the two weeks before simtest.End,
// its clock standing at simtest.End, without a rate limit unless cfg
// sets one.
func newTestSim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = simtest.End
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

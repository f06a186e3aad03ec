package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestRateLimit(t *testing.T) {
	for _, retry := range []bool{false, true} {
		s := newTestSim(t, Config{RateLimit: 2, Burst: 5, RetryAfter: retry})
		frozen := time.Now()
		s.limiter = newBucket(2, 5, func() time.Time { return frozen }) // no refill during the burst
		srv := serve(t, s)
		var ok, limited int
		for range 12 {
			code, h, body := get(t, srv.URL, "/api/v2/departments", nil, "sim-token")
			switch code {
			case 200:
				ok++
			case 429:
				limited++
				if string(body) != `{"error":{"code":429,"message":"rate limit exceeded"}}` {
					t.Errorf("429 body %s", body)
				}
				ra := h.Get("Retry-After")
				if n, err := strconv.Atoi(ra); retry && (err != nil || n != 1) || !retry && ra != "" {
					t.Errorf("RetryAfter %v: Retry-After %q", retry, ra)
				}
			default:
				t.Fatalf("status %d", code)
			}
		}
		if ok != 5 || limited != 12-ok || s.Stats().RateLimited != int64(limited) {
			t.Errorf("burst of 12 at 2/s with burst 5: %d ok, %d limited (stats %+v)", ok, limited, s.Stats())
		}
	}
}

func TestUnlimited(t *testing.T) {
	s := newTestSim(t, Config{RateLimit: -1})
	srv := serve(t, s)
	for range 100 {
		if code, _, _ := get(t, srv.URL, "/api/v2/departments", nil, "sim-token"); code != 200 {
			t.Fatalf("unlimited: status %d", code)
		}
	}
}

func TestServerErrorsRotate(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{ErrorRate: 1}})
	srv := serve(t, s)
	seen := map[int]bool{}
	for range 6 {
		code, _, body := get(t, srv.URL, "/api/v2/call", nil, "sim-token")
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			t.Errorf("%d body %s, want an error message", code, body)
		}
		seen[code] = true
	}
	if !seen[500] || !seen[502] || !seen[503] || len(seen) != 3 {
		t.Errorf("statuses %v, want 500, 502 and 503", seen)
	}
}

func TestErrorRateIsAShare(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{ErrorRate: 0.3}})
	srv := serve(t, s)
	failed := 0
	for range 400 {
		if code, _, _ := get(t, srv.URL, "/api/v2/departments", nil, "sim-token"); code >= 500 {
			failed++
		}
	}
	if failed < 80 || failed > 160 {
		t.Errorf("ErrorRate 0.3: %d of 400 failed", failed)
	}
}

func TestDrop(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{DropRate: 1}})
	srv := serve(t, s)
	resp, err := http.Get(srv.URL + "/api/v2/call?apikey=sim-token")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("DropRate 1: got %s, want the connection closed", resp.Status)
	}
	if s.Stats().Drops != 1 {
		t.Errorf("stats %+v, want 1 drop", s.Stats())
	}
}

func TestTruncate(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{TruncateRate: 1}})
	srv := serve(t, s)
	resp, err := http.Get(srv.URL + "/api/v2/call?apikey=sim-token")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a truncated page: %v, want unexpected EOF", err)
	}
	if resp.StatusCode != 200 || int64(len(body)) >= resp.ContentLength || json.Valid(body) {
		t.Errorf("%s, %d of %d bytes, valid JSON %v: want a 200 cut short", resp.Status, len(body), resp.ContentLength, json.Valid(body))
	}
	// Directory endpoints are never truncated.
	if code, _, _ := get(t, srv.URL, "/api/v2/departments", nil, "sim-token"); code != 200 {
		t.Errorf("departments: %d", code)
	}
}

func TestMalformedItems(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{MalformedRate: 1}, PageSize: 20})
	srv := serve(t, s)
	tg := s.Targets()[0]
	q := callQuery(tg, simtest.End.Add(-48*time.Hour).UnixMilli()-1, simtest.End.Add(-24*time.Hour).UnixMilli())
	all, pages := listCalls(t, srv.URL, q)
	var good []json.RawMessage
	bad := 0
	for _, raw := range all {
		var c wire.Call
		var probe struct {
			Direction any `json:"direction"`
			Target    any `json:"target"`
		}
		json.Unmarshal(raw, &probe)
		_, dirIsString := probe.Direction.(string)
		_, targetIsObject := probe.Target.(map[string]any)
		if json.Unmarshal(raw, &c) != nil || !dirIsString || !targetIsObject {
			bad++
			continue
		}
		good = append(good, raw)
	}
	if bad != len(pages) {
		t.Errorf("%d malformed items on %d pages, want one a page", bad, len(pages))
	}
	if want := s.Legs(tg, simtest.End.Add(-48*time.Hour), simtest.End.Add(-24*time.Hour)); !simtest.EqualRaw(good, want) {
		t.Errorf("well-formed items: %d, want the %d real legs", len(good), len(want))
	}
}

func TestRepeatCursor(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{RepeatCursor: true}})
	srv := serve(t, s)
	var cursors []string
	q := callQuery(s.Targets()[0], 0, 0)
	for range 3 {
		_, _, body := get(t, srv.URL, "/api/v2/call", q, "sim-token")
		var p page
		json.Unmarshal(body, &p)
		cursors = append(cursors, *p.Cursor)
		q = url.Values{"cursor": {*p.Cursor}}
	}
	if cursors[1] != cursors[0] || cursors[2] != cursors[0] {
		t.Errorf("cursors %v: want the second page to repeat the first's, and so on forever", cursors)
	}
}

func TestLatencyAndSlowRequests(t *testing.T) {
	s := newTestSim(t, Config{Faults: Faults{Latency: 40 * time.Millisecond, Jitter: 20 * time.Millisecond}})
	srv := serve(t, s)
	took := func() time.Duration {
		t0 := time.Now()
		get(t, srv.URL, "/api/v2/departments", nil, "sim-token")
		return time.Since(t0)
	}
	if d := took(); d < 40*time.Millisecond {
		t.Errorf("Latency 40ms: answered in %v", d)
	}
	s.SetFaults(Faults{SlowRate: 1, SlowDelay: 150 * time.Millisecond})
	if d := took(); d < 150*time.Millisecond {
		t.Errorf("SlowRate 1: answered in %v", d)
	}
}

func TestSetFaultsWhileServing(t *testing.T) {
	s := newTestSim(t, Config{PageSize: 5})
	srv := serve(t, s)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 20 {
				if i == 0 {
					s.SetFaults(Faults{ErrorRate: float64(j%2) / 2})
					continue
				}
				code, _, _ := get(t, srv.URL, "/api/v2/call", nil, "sim-token")
				if code != 200 && code < 500 {
					t.Errorf("status %d", code)
				}
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Requests != 60 || st.Pages+st.ServerErrors != 60 {
		t.Errorf("stats %+v after 60 requests", st)
	}
}

func TestStatsCountPages(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	items, pages := listCalls(t, srv.URL, callQuery(s.Targets()[1], 0, 0))
	st := s.Stats()
	if st.Pages != int64(len(pages)) || st.Legs != int64(len(items)) || st.Requests != st.Pages {
		t.Errorf("stats %+v after %d pages of %d legs", st, len(pages), len(items))
	}
	if !strings.Contains(string(items[0]), `"call_id":"`) {
		t.Errorf("first item %s", items[0])
	}
}

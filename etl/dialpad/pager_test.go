package dialpad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestListCallsReadsEveryPageOnce(t *testing.T) {
	f := newFake(t, 1000)
	srv := f.start()
	c := f.client(srv)
	var run Counters
	ctx := WithCounters(t.Context(), &run)

	var ids []int64
	var pages []int
	var received []time.Time
	began := time.Now()
	err := c.ListCalls(ctx, dept, dayWindow, func(p *wire.Page) error {
		pages = append(pages, p.Number)
		received = append(received, p.Received)
		for _, call := range p.Calls {
			ids = append(ids, int64(call.CallID))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.allIDs(dayWindow); !slices.Equal(ids, want) {
		t.Fatalf("got %d calls, want the %d of the window in order", len(ids), len(want))
	}
	if len(pages) != 40 || pages[0] != 1 || pages[39] != 40 {
		t.Errorf("pages %v, want 1..40", pages)
	}
	// When each page arrived: the version of its legs.
	if !slices.IsSortedFunc(received, time.Time.Compare) || received[0].Before(began) || received[39].After(time.Now()) {
		t.Errorf("pages received at %v .. %v, want in order within the read", received[0], received[len(received)-1])
	}
	want := Stats{Requests: 40, Pages: 40, Items: 1000}
	for name, got := range map[string]Stats{"client": c.Stats(), "ctx": run.Snapshot()} {
		got.Bytes = 0
		if got != want {
			t.Errorf("%s counters %+v, want %+v", name, got, want)
		}
	}
	if run.Snapshot().Bytes < 40*25*300 {
		t.Errorf("counted %d body bytes, too few", run.Snapshot().Bytes)
	}
}

func TestListCallsWindowIsHalfOpen(t *testing.T) {
	f := newFake(t, 10) // legs at day0 + 0s, 1s, ..., 9s
	srv := f.start()
	c := f.client(srv)
	w := Window{From: day0.Add(2 * time.Second), To: day0.Add(5 * time.Second)}
	ids, _, err := collect(t, c, dept, w)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{f.legs[5].id, f.legs[6].id, f.legs[7].id} // started at 4s, 3s, 2s
	if !slices.Equal(ids, want) {
		t.Errorf("ids %v, want the legs started at 2s, 3s and 4s: %v", ids, want)
	}
	u, _ := url.Parse(f.urls[0])
	q := u.Query()
	if q.Get("started_after") != fmt.Sprint(w.From.UnixMilli()-1) || q.Get("started_before") != fmt.Sprint(w.To.UnixMilli()) ||
		q.Get("target_type") != "department" || q.Get("target_id") != "4869792674824192" {
		t.Errorf("query %v", q)
	}
}

func TestListCallsStopsAtCursorLoop(t *testing.T) {
	f := newFake(t, 100)
	f.cursor = func(string) string { return "off:25" } // page 2 points at itself
	srv := f.start()
	c := f.client(srv)
	_, pages, err := collect(t, c, dept, dayWindow)
	if !errors.Is(err, ErrCursorLoop) {
		t.Fatalf("err = %v, want ErrCursorLoop", err)
	}
	if !strings.Contains(err.Error(), "list calls for department:4869792674824192: page 2:") {
		t.Errorf("error %q does not name the target and page", err)
	}
	if len(pages) != 2 || f.requests() != 2 {
		t.Errorf("%d pages, %d requests; want 2 and 2", len(pages), f.requests())
	}
}

func TestListCallsPageLimit(t *testing.T) {
	f := newFake(t, 250) // 10 pages
	srv := f.start()

	c := f.client(srv, WithMaxPages(3))
	ids, pages, err := collect(t, c, dept, dayWindow)
	if !errors.Is(err, ErrPageLimit) {
		t.Fatalf("err = %v, want ErrPageLimit", err)
	}
	if len(pages) != 3 || len(ids) != 75 || f.requests() != 3 {
		t.Errorf("%d pages, %d calls, %d requests; want 3, 75, 3", len(pages), len(ids), f.requests())
	}

	// A window with exactly the maximum is complete.
	c = f.client(srv, WithMaxPages(10))
	if _, _, err := collect(t, c, dept, dayWindow); err != nil {
		t.Errorf("10 pages with WithMaxPages(10): %v", err)
	}
}

func TestListCallsLastPage(t *testing.T) {
	for _, tail := range []string{`}`, `,"cursor":null}`, `,"cursor":""}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"items":[{"call_id":"1","date_started":"1747503688095","direction":"outbound"}]`+tail)
		}))
		defer srv.Close()
		c, err := New(srv.URL, testToken)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := c.ListCalls(t.Context(), dept, dayWindow, func(p *wire.Page) error { n += len(p.Calls); return nil }); err != nil || n != 1 {
			t.Errorf("last page ending %s: %d calls, %v", tail, n, err)
		}
	}
}

func TestListCallsPassesRejectedLegs(t *testing.T) {
	f := newFake(t, 0)
	srv := f.start()
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		writeJSON(w, 200, `{"items":[{"call_id":"1","date_started":"1747503688095","direction":"outbound"},`+
			`{"call_id":"2","date_started":"1747503688095","direction":"sideways"},{"call_id":"3","date_started":"1747503688095","direction":"inbound","target":"x"}]}`)
		return true
	})
	c := f.client(srv)
	var got *wire.Page
	if err := c.ListCalls(t.Context(), dept, dayWindow, func(p *wire.Page) error { got = p; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got.Calls) != 1 || len(got.Rejected) != 2 || got.Rejected[0].CallID != 2 ||
		got.Rejected[1].Reason != "target: want an object, got a string" {
		t.Errorf("page %+v", got)
	}
	if s := c.Stats(); s.Items != 3 || s.Rejected != 2 {
		t.Errorf("stats %+v, want 3 items, 2 rejected", s)
	}
}

func TestListCallsStopsOnCallbackError(t *testing.T) {
	f := newFake(t, 100)
	srv := f.start()
	c := f.client(srv)
	stop := errors.New("disk full")
	err := c.ListCalls(t.Context(), dept, dayWindow, func(p *wire.Page) error {
		if p.Number == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "page 2") || f.requests() != 2 {
		t.Errorf("err %v after %d requests, want the callback's error at page 2", err, f.requests())
	}
}

func TestListCallsRejectsBadArguments(t *testing.T) {
	c, err := New("https://dialpad.com", testToken)
	if err != nil {
		t.Fatal(err)
	}
	noop := func(*wire.Page) error { return nil }
	for _, tt := range []struct {
		target Target
		w      Window
	}{
		{Target{Type: "team", ID: 1}, dayWindow},
		{Target{Type: "department", ID: 0}, dayWindow},
		{dept, Window{From: day0, To: day0}},
		{dept, Window{}},
	} {
		if err := c.ListCalls(t.Context(), tt.target, tt.w, noop); err == nil {
			t.Errorf("ListCalls(%v, %v) accepted", tt.target, tt.w)
		}
	}
	if c.Stats().Requests != 0 {
		t.Error("a request was sent")
	}
}

// Counters attached to each context count that context's work only.
func TestCountersPerContext(t *testing.T) {
	f := newFake(t, 100)
	srv := f.start()
	c := f.client(srv)
	windows := []Window{
		{From: day0, To: day0.Add(30 * time.Second)},  // 30 legs, 2 pages
		{From: day0, To: day0.Add(100 * time.Second)}, // 100 legs, 4 pages
	}
	counters := make([]Counters, len(windows))
	var wg sync.WaitGroup
	for i, w := range windows {
		wg.Go(func() {
			ctx := WithCounters(context.Background(), &counters[i])
			if err := c.ListCalls(ctx, dept, w, func(*wire.Page) error { return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := []Stats{counters[0].Snapshot(), counters[1].Snapshot()}
	want := []Stats{{Requests: 2, Pages: 2, Items: 30}, {Requests: 4, Pages: 4, Items: 100}}
	for i := range got {
		got[i].Bytes = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("per-context counters %+v, want %+v", got, want)
	}
	if s := c.Stats(); s.Requests != 6 || s.Items != 130 {
		t.Errorf("client counters %+v, want 6 requests and 130 items", s)
	}
}

package dialpad_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// dispositionsAPI is Dialpad's stats endpoints answering with csv for a
// dispositions export and refusing a target with status refuse (0:
// none); it keeps the bodies of the POSTs.
type dispositionsAPI struct {
	mu     sync.Mutex
	posts  []map[string]any
	refuse int
}

func (a *dispositionsAPI) serve(t *testing.T, csv string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/stats":
			var body map[string]any
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &body); err != nil {
				t.Errorf("POST body %q: %v", b, err)
			}
			a.mu.Lock()
			a.posts = append(a.posts, body)
			a.mu.Unlock()
			if a.refuse != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.refuse)
				w.Write([]byte(`{"error":{"message":"dispositions are for call centers"}}`))
				return
			}
			w.Write([]byte(`{"request_id":"77"}`))
		case r.URL.Path == "/api/v2/stats/77":
			w.Write([]byte(`{"status":"complete","download_url":"` + srv.URL + `/files/77.csv"}`))
		case r.URL.Path == "/files/77.csv":
			w.Header().Set("Content-Type", "text/csv")
			w.Write([]byte(csv))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The dispositions export is asked for as a records export of
// dispositions of the target and days, then read: a leg's rows make one
// leg with its dispositions.
func TestExportDispositionsAsksForTheTargetsDays(t *testing.T) {
	api := &dispositionsAPI{}
	srv := api.serve(t, "date_started,call_id,timezone,target_type,target_id,name,agent_name,agent_email,disposition,notes\n"+
		"2026-06-01 10:00:00,101,UTC,user,11,Support,Ana,,Refund,\n"+
		"2026-06-01 10:00:00,101,UTC,user,11,Support,Ana,,Billing,\n"+
		"bad,102,UTC,user,11,Support,Ana,,Sales,\n")
	clock := time.Date(2026, 6, 3, 6, 0, 0, 0, time.UTC)
	c, err := dialpad.New(srv.URL, "sim-token", dialpad.WithClock(func() time.Time { return clock }),
		dialpad.WithExportPolling(10*time.Millisecond, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cc := dialpad.Target{Type: "callcenter", ID: 900}
	exp, err := c.ExportDispositions(context.Background(), dialpad.ExportRequest{Target: cc, Zone: time.UTC,
		From: time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(api.posts))
	}
	want := map[string]any{"export_type": "records", "stat_type": "dispositions", "timezone": "UTC",
		"days_ago_start": 1.0, "days_ago_end": 3.0, "target_type": "callcenter", "target_id": 900.0}
	for k, v := range want {
		if api.posts[0][k] != v {
			t.Errorf("POST %s = %v, want %v", k, api.posts[0][k], v)
		}
	}
	d := exp.Dispositions
	if exp.RequestID != "77" || !exp.RequestedAt.Equal(clock) || len(d.Calls) != 1 || d.Calls[0].CallID != 101 ||
		!slices.Equal(d.Calls[0].Names, []string{"Billing", "Refund"}) || len(d.Bad) != 1 {
		t.Errorf("export %s at %v: %+v; want request 77 now, leg 101 with Billing and Refund, one bad row", exp.RequestID, exp.RequestedAt, d)
	}
}

// Without a target nothing is asked for; a target Dialpad refuses is an
// APIError the caller can tell (errors.Is).
func TestExportDispositionsNeedsATarget(t *testing.T) {
	api := &dispositionsAPI{refuse: http.StatusNotFound}
	srv := api.serve(t, "")
	c, err := dialpad.New(srv.URL, "sim-token", dialpad.WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := c.ExportDispositions(context.Background(), dialpad.ExportRequest{From: day, To: day}); err == nil ||
		!strings.Contains(err.Error(), "needs a target") || len(api.posts) != 0 {
		t.Errorf("no target: %v after %d POSTs; want an error before any", err, len(api.posts))
	}
	_, err = c.ExportDispositions(context.Background(), dialpad.ExportRequest{Target: dialpad.Target{Type: "department", ID: 5}, From: day, To: day})
	var apiErr *dialpad.APIError
	if !errors.Is(err, dialpad.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("a refused target: %v; want the APIError of its 404", err)
	}
}

// The dispositions export spends the export budget the calls export
// spends: with 1 an hour, it waits after a calls export.
func TestExportDispositionsSharesTheExportBudget(t *testing.T) {
	sim, c, posts := exportWorld(t, nil, dialpad.WithExportBudget(1))
	req := dialpad.ExportRequest{Target: sim.Targets()[0], Zone: time.UTC,
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := c.ExportCalls(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.ExportDispositions(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a dispositions export after the budget's one: %v; want it to wait", err)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d exports were asked for; want 1, the budget", n)
	}
}

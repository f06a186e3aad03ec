package dialpad_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// exportWorld is a simulator over HTTP whose clock stands on the day
// after its two days of traffic, and a client of it.
func exportWorld(t *testing.T, mod func(*simulator.Config), opts ...dialpad.Option) (*simulator.Sim, *dialpad.Client, *atomic.Int64) {
	t.Helper()
	end := time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC)
	clock := end.Add(6 * time.Hour)
	cfg := simulator.Config{Seed: 3, Start: end.AddDate(0, 0, -2), End: end, CallsPerDay: 20, RateLimit: -1,
		Location: time.UTC, Now: func() time.Time { return clock }, ExportDelay: 100 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/stats" {
			posts.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := dialpad.New(srv.URL, "sim-token", append([]dialpad.Option{dialpad.WithClock(func() time.Time { return clock }),
		dialpad.WithExportPolling(10*time.Millisecond, 2*time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, &posts
}

// An export is asked for, polled while it processes, and read: its rows
// are the legs the call list gives for the days, by call id.
func TestExportCallsReadsTheDaysLegs(t *testing.T) {
	sim, c, _ := exportWorld(t, nil)
	tg := sim.Targets()[0]
	exp, err := c.ExportCalls(context.Background(), dialpad.ExportRequest{Target: tg, Zone: time.UTC,
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[wire.ID]bool{}
	for _, raw := range sim.Legs(tg, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC)) {
		var call wire.Call
		if err := json.Unmarshal(raw, &call); err != nil {
			t.Fatal(err)
		}
		want[call.CallID] = true
	}
	got := map[wire.ID]bool{}
	for _, r := range exp.Records.Rows {
		got[r.CallID] = true
	}
	if len(want) == 0 || len(got) != len(want) || len(exp.Records.Bad) != 0 {
		t.Fatalf("the export has %d legs (%d unreadable rows), the call list %d", len(got), len(exp.Records.Bad), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("leg %d of the call list is not in the export", id)
		}
	}
	if exp.RequestID == "" {
		t.Error("no request id")
	}
}

// Over the simulator, an export whose poll answers with the CSV itself
// (ExportPollCSV) gives the same legs as one read from the download
// link, and is never downloaded.
func TestExportCallsTakesTheCSVFromThePoll(t *testing.T) {
	req := func(sim *simulator.Sim) dialpad.ExportRequest {
		return dialpad.ExportRequest{Target: sim.Targets()[0], Zone: time.UTC,
			From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)}
	}
	linked, c, _ := exportWorld(t, nil)
	want, err := c.ExportCalls(context.Background(), req(linked))
	if err != nil {
		t.Fatal(err)
	}
	inPoll, c, posts := exportWorld(t, func(cfg *simulator.Config) { cfg.ExportPollCSV = true })
	got, err := c.ExportCalls(context.Background(), req(inPoll))
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Records.Rows) == 0 || len(got.Records.Bad) != 0 || !reflect.DeepEqual(got.Records, want.Records) {
		t.Errorf("the CSV in the poll gives %d legs (%d unreadable), the link %d: want the same legs",
			len(got.Records.Rows), len(got.Records.Bad), len(want.Records.Rows))
	}
	if st := inPoll.Stats(); st.ExportPollCSVs != 1 || st.ExportDownloads != 0 || posts.Load() != 1 {
		t.Errorf("%d exports, %d polls answered with the CSV, %d downloads; want 1, 1 and none", posts.Load(), st.ExportPollCSVs, st.ExportDownloads)
	}
	if st := linked.Stats(); st.ExportDownloads != 1 {
		t.Errorf("without ExportPollCSV: %d downloads; want 1", st.ExportDownloads)
	}
}

// Read a row at a time, an export gives the rows ExportCalls keeps, in
// its order; an error of the caller's stops the read at that row and
// comes back, and the export is not asked for again.
func TestExportCallsEachStreamsTheRows(t *testing.T) {
	sim, c, posts := exportWorld(t, nil)
	req := dialpad.ExportRequest{Target: sim.Targets()[0], Zone: time.UTC,
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)}
	whole, err := c.ExportCalls(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var ids []wire.ID
	info, err := c.ExportCallsEach(context.Background(), req, func(r records.Record) error {
		ids = append(ids, r.CallID)
		return nil
	}, func(b records.BadRow) error { return fmt.Errorf("bad row %d: %s", b.Line, b.Reason) })
	if err != nil || info.RequestID == "" {
		t.Fatalf("%+v, %v", info, err)
	}
	var want []wire.ID
	for _, r := range whole.Records.Rows {
		want = append(want, r.CallID)
	}
	if len(want) < 3 || !slices.Equal(ids, want) {
		t.Fatalf("streamed %d legs, the whole export %d: want the same, in order", len(ids), len(want))
	}
	stop := errors.New("the warehouse is down")
	n := 0
	before := posts.Load()
	_, err = c.ExportCallsEach(context.Background(), req, func(records.Record) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	}, func(records.BadRow) error { return nil })
	if !errors.Is(err, stop) || n != 2 || posts.Load() != before+1 {
		t.Errorf("stopped at the second row: %v after %d rows, %d exports; want the caller's error, 2 rows, 1 export", err, n, posts.Load()-before)
	}
}

// The export budget holds back a POST beyond it: with 2 an hour, a third
// export waits (here, until its context ends) and is never asked for.
func TestExportBudgetHoldsBackTheNextExport(t *testing.T) {
	sim, c, posts := exportWorld(t, nil, dialpad.WithExportBudget(2))
	req := dialpad.ExportRequest{Target: sim.Targets()[0], Zone: time.UTC,
		From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	for range 2 {
		if _, err := c.ExportCalls(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.ExportCalls(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third export within the hour: %v; want it to wait for the budget", err)
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("%d exports were asked for; want 2, the budget", n)
	}
}

// A failed export is asked for again once, then reported; one that never
// finishes is reported once the wait runs out; neither is a result.
func TestExportFailureAndTimeout(t *testing.T) {
	req := func(sim *simulator.Sim) dialpad.ExportRequest {
		return dialpad.ExportRequest{Target: sim.Targets()[0], Zone: time.UTC,
			From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	}
	sim, c, posts := exportWorld(t, func(cfg *simulator.Config) { cfg.Faults.ExportFailRate = 1 })
	if exp, err := c.ExportCalls(context.Background(), req(sim)); !errors.Is(err, dialpad.ErrExportFailed) || exp != nil {
		t.Errorf("a failing export: %v, %v; want ErrExportFailed", exp, err)
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("a failing export was asked for %d times; want twice", n)
	}
	sim, c, _ = exportWorld(t, func(cfg *simulator.Config) {
		cfg.Faults.ExportSlowRate, cfg.Faults.ExportSlowDelay = 1, time.Hour
	}, dialpad.WithExportPolling(10*time.Millisecond, 300*time.Millisecond))
	_, err := c.ExportCalls(context.Background(), req(sim))
	if !errors.Is(err, dialpad.ErrExportTimeout) || !strings.Contains(err.Error(), "processing") {
		t.Errorf("a never-finishing export: %v; want ErrExportTimeout saying it was still processing", err)
	}
}

// The download link is fetched without the token; a link on plain http
// from an https API is refused; the error never shows the link.
func TestExportDownloadSendsNoCredentials(t *testing.T) {
	var seen atomic.Int64
	var withAuth atomic.Int64
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if r.Header.Get("Authorization") != "" || strings.Contains(r.URL.RawQuery, "sim-token") {
			withAuth.Add(1)
		}
		// As a storage's SignatureDoesNotMatch does, the refusal echoes
		// the signature.
		http.Error(w, "<SignatureProvided>"+r.URL.RawQuery+"</SignatureProvided>", http.StatusForbidden)
	}))
	defer store.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.Write([]byte(`{"request_id":"42"}`))
			return
		}
		w.Write([]byte(`{"state":"completed","file_url":"` + store.URL + `/bucket/42.csv?X-Signature=s3cr3t"}`))
	}))
	defer api.Close()
	c, err := dialpad.New(api.URL, "sim-token", dialpad.WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ExportCalls(context.Background(), dialpad.ExportRequest{Target: dialpad.Target{Type: "department", ID: 1},
		From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("a refused download: %v; want its status, without the link's signature", err)
	}
	if seen.Load() == 0 || withAuth.Load() != 0 {
		t.Errorf("the link was fetched %d times, %d with credentials; want at least once, never", seen.Load(), withAuth.Load())
	}
}

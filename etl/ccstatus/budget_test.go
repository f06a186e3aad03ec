package ccstatus_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/ccstatus"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// pathCounter counts the simulator's requests by endpoint.
type pathCounter struct {
	status, calls, other atomic.Int64
}

func (c *pathCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v2/callcenters/") && strings.HasSuffix(r.URL.Path, "/status"):
			c.status.Add(1)
		case r.URL.Path == "/api/v2/call":
			c.calls.Add(1)
		case strings.HasPrefix(r.URL.Path, "/api/v2/"):
			c.other.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// A backfill and the poller share one client, so one rate limit: with
// the poller asking far more often than the budget allows, Dialpad (the
// simulator, whose own limit is just above the client's) answers no
// request 429, the backfill reads every leg, and the polls are stored
// while it runs.
func TestPollingStaysWithinTheBudgetWhileALoadRuns(t *testing.T) {
	ctx := context.Background()
	var counts pathCounter
	end := time.Date(2025, 5, 16, 0, 0, 0, 0, time.UTC)
	w := testkit.NewWorld(t, testkit.Options{
		Sim: simulator.Config{Seed: 3, Start: end.AddDate(0, 0, -1), End: end, CallsPerDay: 60, Token: "tok-budget",
			RateLimit: 12, Burst: 12},
		Zone: "America/New_York", Only1816: true, Direct: true, Serve: counts.wrap,
	})
	before := w.Sim.Stats().Requests
	client, err := dialpad.New(w.URL, "tok-budget", dialpad.WithRateLimit(10), dialpad.WithClock(func() time.Time { return w.Now }),
		dialpad.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	job := &load.Job{Source: client, Store: w.Store, Derived: w.Store.Derived(), Leases: w.Store.Leases(), Targets: w.Targets,
		Location: w.Location, Lookback: time.Hour, Start: w.Start, Now: func() time.Time { return w.Now }}

	storage := ccstatus.NewStorage(w.Store.DB())
	// Every 20 ms: 50 polls a second wanted, five times the budget.
	p := &ccstatus.Poller{Source: client, Store: storage, Targets: w.Targets, Every: 20 * time.Millisecond}
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.Run(pctx) })
	results := job.Backfill(ctx, w.Start, w.End, nil, true)
	pollsDuringLoad := counts.status.Load()
	stop()
	wg.Wait()

	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("backfill of %s beside the poller: %v", r.Run.Target, r.Err)
		}
		if want := int64(len(w.Legs[r.Run.Target])); r.Run.Legs < want {
			t.Errorf("backfill of %s read %d legs, want %d", r.Run.Target, r.Run.Legs, want)
		}
	}
	st := w.Sim.Stats()
	if st.RateLimited != 0 || client.Stats().RateLimited != 0 {
		t.Errorf("Dialpad answered %d requests 429 (the client saw %d): the polls and the load went over the budget",
			st.RateLimited, client.Stats().RateLimited)
	}
	if n := st.Requests - before; n != client.Stats().Requests {
		t.Errorf("the simulator served %d requests, the client sent %d: every request goes through the client", n, client.Stats().Requests)
	}
	if pollsDuringLoad < 2 || counts.calls.Load() == 0 {
		t.Errorf("%d status polls and %d call pages while the backfill ran, want both to go on", pollsDuringLoad, counts.calls.Load())
	}
	var stored uint64
	if err := w.Store.DB().QueryRow(ctx, "SELECT count() FROM callcenter_status").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	t.Logf("while the backfill ran: %d status polls, %d call pages, %d other requests; %d polls stored",
		pollsDuringLoad, counts.calls.Load(), counts.other.Load(), stored)
	// The poll in flight when the poller stopped may not be stored.
	if stored+1 < uint64(pollsDuringLoad) {
		t.Errorf("%d polls stored, want the %d the simulator answered while the load ran", stored, pollsDuringLoad)
	}
}

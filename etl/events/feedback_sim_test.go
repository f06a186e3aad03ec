package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// End to end, on the simulator and ClickHouse: the simulated company's
// csat, pcsat and dispositions events of a day, posted at once in any
// order, leave in call_feedback (FINAL) what each leg's latest event of
// each kind says, the survey's comments (hostile text among them) as the
// customer wrote them, under the targets the leg goes to.
func TestTheSimulatedFeedbackEventsAreStored(t *testing.T) {
	end := time.Date(2026, 6, 3, 4, 0, 0, 0, time.UTC)
	sim, err := simulator.New(simulator.Config{Seed: 37, Start: end.Add(-24 * time.Hour), End: end, CallsPerDay: 80,
		RateLimit: -1, Now: func() time.Time { return end.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	targets := sim.Targets()
	store := chtest.NewTwin(t).Migrated(warehouse.Options{Location: time.UTC})
	r := &events.Receiver{Store: events.NewStorage(store.DB()), Legs: store, Derived: store.Derived(),
		Leases: store.Leases(), Secret: []byte(secret), Targets: targets, Location: time.UTC,
		MaxWait: 50 * time.Millisecond, RecomputeEvery: time.Hour, LeaseTTL: 10 * time.Second, Answer: time.Minute,
		Now: func() time.Time { return end.Add(time.Hour) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	srv := httptest.NewServer(r)
	t.Cleanup(func() { srv.Close(); cancel(); <-done })

	type key struct {
		call int64
		kind string
	}
	type told struct {
		at                   int64
		score                string
		comments, names      []string
		entry, target, proxy dialpad.Target
	}
	want := map[key]told{}
	var bodies []string
	hostile := 0
	for _, ev := range sim.Events(end.Add(-24*time.Hour), end.Add(time.Hour)) {
		if !slices.Contains(wire.FeedbackStates, ev.State) {
			continue
		}
		e, err := wire.DecodeEvent(ev.Claims)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Call
		k := key{int64(c.CallID), map[string]string{"csat": "csat", "pcsat": "pcsat", "dispositions": "disposition"}[c.State]}
		tl := told{at: int64(c.EventTimestamp), score: c.CSATScore, comments: c.CSATComments, names: events.SortedNames(c.Dispositions),
			entry:  dialpad.Target{Type: c.EntryPointTarget.Type, ID: int64(c.EntryPointTarget.ID)},
			target: dialpad.Target{Type: c.Target.Type, ID: int64(c.Target.ID)},
			proxy:  dialpad.Target{Type: c.ProxyTarget.Type, ID: int64(c.ProxyTarget.ID)}}
		// Each state tells its own: the events after a call carry the
		// whole ended leg, the survey's fields too.
		switch c.State {
		case "pcsat":
			tl.score, tl.comments = string(c.PCSATScore), nil
		case "dispositions":
			tl.score, tl.comments = "", nil
		}
		for _, s := range c.CSATComments {
			if strings.ContainsAny(s, `<>"'`) {
				hostile++
			}
		}
		if old, ok := want[k]; !ok || tl.at >= old.at {
			want[k] = tl
		}
		body, err := wire.SignEvent(ev.Claims, []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	if len(want) < 20 || hostile == 0 {
		t.Fatalf("only %d feedback events (%d hostile comments) in the simulated day", len(want), hostile)
	}
	// Posted at once, so in no particular order.
	var wg sync.WaitGroup
	for _, b := range bodies {
		wg.Go(func() {
			resp, err := http.Post(srv.URL, "application/jwt", strings.NewReader(b))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("an event answered %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()

	rows, err := store.DB().Query(context.Background(), `SELECT toString(target_type), target_id, call_id, toString(kind),
		score, comments, names FROM call_feedback FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[key][]dialpad.Target{}
	for rows.Next() {
		var typ, kind, score string
		var id, call uint64
		var comments, names []string
		if err := rows.Scan(&typ, &id, &call, &kind, &score, &comments, &names); err != nil {
			t.Fatal(err)
		}
		k := key{int64(call), kind}
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("leg %d %s stored, but no event told it", call, kind)
		case score != w.score || !slices.Equal(comments, w.comments) || !slices.Equal(names, w.names):
			t.Errorf("leg %d %s: stored %q %q %q, its latest event says %q %q %q", call, kind, score, comments, names,
				w.score, w.comments, w.names)
		}
		stored[k] = append(stored[k], dialpad.Target{Type: typ, ID: int64(id)})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for k, w := range want {
		for _, tg := range targets {
			if (tg == w.entry || tg == w.target || tg == w.proxy) && !slices.Contains(stored[k], tg) {
				if missing++; missing < 5 {
					t.Errorf("leg %d %s is not stored under %s", k.call, k.kind, tg)
				}
			}
		}
	}
	t.Logf("%d legs and kinds told, %d stored, %d hostile comments", len(want), len(stored), hostile)
	if missing > 0 {
		t.Error(fmt.Sprintf("%d legs and kinds missing under a target", missing))
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

const webhookSecret = "whsec-e2e-0123456789abcdef"

// The webhook and its subscriptions, set up against the simulator's
// endpoints: twice (the second finds and reuses all), shown, removed.
func TestWebhooksSetupStatusRemove(t *testing.T) {
	f := newFixture(t, 51, 1, nil, nil)
	env := f.with("DIALPAD_WEBHOOK_SECRET=" + webhookSecret)
	hook := "http://127.0.0.1:9/webhooks/dialpad"
	code, out := f.runOut(t, env, "webhooks", "setup", "--url", hook)
	if code != 0 {
		t.Fatalf("webhooks setup exited %d:\n%s", code, out)
	}
	if n := strings.Count(out, "created call subscription"); n != len(f.targets) || !strings.Contains(out, "created webhook") ||
		!strings.Contains(out, "created agent status subscription") {
		t.Errorf("first setup printed:\n%s\nwant a webhook, %d call subscriptions and the agent status one created", out, len(f.targets))
	}
	code, out = f.runOut(t, env, "webhooks", "setup", "--url", hook)
	if code != 0 || strings.Contains(out, "created") || strings.Count(out, "exists") != len(f.targets)+2 {
		t.Errorf("second setup exited %d and printed:\n%s\nwant everything found and reused", code, out)
	}
	// A second subscription of the first target to the webhook (as a
	// retried request may leave): setup deletes it.
	id := regexp.MustCompile(`webhook (\d+) at`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no webhook id in:\n%s", out)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v2/subscriptions/call", strings.NewReader(fmt.Sprintf(
		`{"endpoint_id":%s,"call_states":["hangup"],"target_type":%q,"target_id":%d,"enabled":true}`, id[1], f.targets[0].Type, f.targets[0].ID)))
	req.Header.Set("Authorization", "Bearer "+secretToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe again: %v %v", resp, err)
	}
	// And one of every state setup subscribes, the states in another
	// order; and one of the states a former setup subscribed (before
	// csat, pcsat and dispositions), which setup replaces.
	for _, states := range []string{
		`["dispositions","pcsat","csat","voicemail","missed","hangup","hold","connected","queued","ringing","calling"]`,
		`["calling","ringing","queued","connected","hold","hangup","missed","voicemail"]`,
	} {
		req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/api/v2/subscriptions/call", strings.NewReader(fmt.Sprintf(
			`{"endpoint_id":%s,"call_states":%s,"target_type":%q,"target_id":%d,"enabled":true}`, id[1],
			states, f.targets[0].Type, f.targets[0].ID)))
		req.Header.Set("Authorization", "Bearer "+secretToken)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe again: %v %v", resp, err)
		}
	}
	code, out = f.runOut(t, env, "webhooks", "setup", "--url", hook)
	if code != 0 || strings.Count(out, "a second one") != 1 || strings.Count(out, "replaced (it lacked csat, pcsat, dispositions)") != 1 {
		t.Errorf("setup with a duplicate and a former subscription exited %d and printed:\n%s\nwant both deleted", code, out)
	}
	code, out = f.runOut(t, env, "webhooks", "status")
	// The narrower subscription (hangup only) stays: setup leaves alone
	// what it did not create.
	if code != 0 || !strings.Contains(out, "signed with DIALPAD_WEBHOOK_SECRET") || strings.Count(out, "call subscription") != len(f.targets)+1 ||
		!strings.Contains(out, "no call event has reached the warehouse yet") {
		t.Errorf("status exited %d and printed:\n%s", code, out)
	}
	// Rotating the secret: setup replaces the webhook Dialpad would sign
	// with the old one.
	code, out = f.runOut(t, f.with("DIALPAD_WEBHOOK_SECRET=whsec-rotated-0123456789abcdef"), "webhooks", "setup", "--url", hook)
	if code != 0 || !strings.Contains(out, "signed with another secret") || !strings.Contains(out, "created webhook") {
		t.Errorf("setup with a new secret exited %d and printed:\n%s", code, out)
	}
	code, out = f.runOut(t, env, "webhooks", "remove", "--url", hook)
	if code != 0 || !strings.Contains(out, "deleted webhook") {
		t.Errorf("remove exited %d and printed:\n%s", code, out)
	}
	if code, out = f.runOut(t, env, "webhooks", "status"); code != 0 || !strings.Contains(out, "no webhooks") {
		t.Errorf("status after remove exited %d and printed:\n%s", code, out)
	}
	if code, out = f.runOut(t, env, "webhooks", "setup", "--url", "http://example.com/webhooks/dialpad"); code == 0 ||
		!strings.Contains(out, "--url") {
		t.Errorf("setup with a plain-http URL that is not loopback exited %d:\n%s", code, out)
	}
	if code, out = f.runOut(t, f.env, "webhooks", "setup", "--url", hook); code == 0 || !strings.Contains(out, "DIALPAD_WEBHOOK_SECRET") {
		t.Errorf("setup without a secret exited %d:\n%s", code, out)
	}
	f.checkNoSecret(t, webhookSecret)
}

// Events stream into a running schedule that is killed (SIGKILL) part-way
// and started again: every event it answered 2xx is in call_events, and
// after a load reads the list again the tables equal the simulator's,
// with the fields only events give kept.
func TestKilledWhileEventsStreamLosesNoAnsweredEvent(t *testing.T) {
	f := newFixture(t, 52, 3, nil, nil)
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	// Loads every 5 seconds, so that some run while the receiver
	// recomputes the days its events touched: each waits for the
	// receiver's lease, never skips a target for it.
	env := f.with("DIALPAD_WEBHOOK_SECRET="+webhookSecret, "ETL_HTTP_ADDR="+addr,
		"ETL_HOURLY_SCHEDULE=@every 5s", "ETL_NIGHTLY_SCHEDULE=0 0 1 1 *")
	// The events of eight business hours (12:00 to 20:00 UTC) of one of
	// the last days, the busiest, whatever the time the test runs at and
	// if a day was a weekend; the other legs are loaded by the list alone.
	var evs []webhook.Event
	for end := f.end.Truncate(24 * time.Hour).Add(20 * time.Hour); end.After(f.start.Add(8 * time.Hour)); end = end.AddDate(0, 0, -1) {
		if end.After(f.end) {
			continue
		}
		if e := f.sim.Events(end.Add(-8*time.Hour), end); len(e) > len(evs) {
			evs = e
		}
	}
	if len(evs) < 500 {
		t.Fatalf("only %d events to send", len(evs))
	}
	p := f.spawn(t, env, "schedule")

	// Senders that each retry an event until it is answered 2xx, as
	// Dialpad does (it gives up sooner; here nothing may be lost). Events
	// are stored in groups of up to a second's, so many at once.
	var next, acked atomic.Int64
	var mu sync.Mutex
	ackedBeforeKill := map[int]bool{}
	killed := make(chan struct{})
	var killOnce sync.Once
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(evs) {
					return
				}
				body, err := wire.SignEvent(evs[i].Claims, []byte(webhookSecret))
				if err != nil {
					t.Error(err)
					return
				}
				for {
					resp, err := client.Post("http://"+addr+"/webhooks/dialpad", "application/jwt", strings.NewReader(body))
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
						if resp.StatusCode/100 == 4 {
							t.Errorf("event %d refused: %d", i, resp.StatusCode)
							return
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				select {
				case <-killed:
				default:
					mu.Lock()
					ackedBeforeKill[i] = true
					mu.Unlock()
				}
				if acked.Add(1) == int64(len(evs)/3) {
					killOnce.Do(func() {
						close(killed)
						p.cmd.Process.Kill()
					})
				}
			}
		})
	}
	<-killed
	if code := p.wait(t, 10*time.Second); code != -9 {
		t.Fatalf("schedule exited %d, want killed", code)
	}
	mu.Lock()
	before := len(ackedBeforeKill)
	mu.Unlock()
	p = f.spawn(t, env, "schedule")
	wg.Wait()
	t.Logf("%d events, %d answered before the kill", len(evs), before)

	conn := f.conn(t)
	ctx := context.Background()
	stored := map[string]bool{}
	rows, err := conn.Query(ctx, "SELECT call_id, state, event_ms FROM call_events FINAL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		var state string
		var ms int64
		if err := rows.Scan(&id, &state, &ms); err != nil {
			t.Fatal(err)
		}
		stored[fmt.Sprint(id, state, ms)] = true
	}
	rows.Close()
	lost := 0
	calls := 0
	for i, e := range evs {
		if e.CallID == 0 {
			continue
		}
		calls++
		if !stored[fmt.Sprint(e.CallID, e.State, e.At.UnixMilli())] {
			lost++
			if lost < 5 {
				t.Errorf("event %d (leg %d %s, answered before the kill: %v) is not in call_events", i, e.CallID, e.State, ackedBeforeKill[i])
			}
		}
	}
	if lost > 0 || len(stored) != calls {
		t.Errorf("%d call events lost; call_events has %d, want %d", lost, len(stored), calls)
	}
	var agentRows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM agent_status FINAL").Scan(&agentRows); err != nil {
		t.Fatal(err)
	}
	if want := len(evs) - calls; agentRows != uint64(want) {
		t.Errorf("agent_status has %d intervals, want %d (one per status change)", agentRows, want)
	}
	streamed := time.Now()
	testkit.Eventually(t, 90*time.Second, "a scheduled load after the events", func() bool {
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM etl_runs WHERE started_at > ?", streamed.UTC().Add(-time.Second)).Scan(&n)
		return err == nil && n >= uint64(len(f.targets))
	})
	if runs := f.runs(t); runs["skipped"] != 0 {
		t.Errorf("etl_runs: %v; no load may skip a target for the receiver's recompute", runs)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("schedule exited %d after SIGTERM:\n%s", code, lastLines(p.out.String(), 20))
	}

	// The list is the source of truth: a load of the range again, and
	// every table equals the simulator's; the legs keep their hold times.
	if code := f.run(t, f.env, "backfill", "--from", f.from(), "--force"); code != 0 {
		t.Fatalf("backfill exited %d", code)
	}
	// What the events told of each leg stays with it: its conversation's
	// wait runs from the queue start or first ring, its handle time
	// includes the hold. Every leg whose final event told a hold time has
	// it, and no other.
	type told struct{ queued, rang int64 }
	wantHold, wantTold := map[uint64]uint64{}, map[uint64]told{}
	for _, e := range evs {
		if e.CallID == 0 {
			continue
		}
		ev, err := wire.DecodeEvent(e.Claims)
		if err != nil {
			t.Fatal(err)
		}
		id, w := uint64(e.CallID), wantTold[uint64(e.CallID)]
		wantTold[id] = told{max(w.queued, int64(ev.Call.DateQueued)), max(w.rang, int64(ev.Call.DateFirstRang))}
		if h := uint64(ev.Call.HoldTime + 0.5); e.Final && h > 0 {
			wantHold[id] = h
		}
	}
	want := f.want(t)
	for i := range want {
		w := wantTold[want[i].CallID]
		want[i].QueuedMs, want[i].FirstRangMs, want[i].HoldMs = w.queued, w.rang, wantHold[want[i].CallID]
	}
	f.feedback = streamedFeedback(t, evs, f.targets)
	f.checkTables(t, want, time.UTC)
	gotHold := map[uint64]uint64{}
	rows, err = conn.Query(ctx, "SELECT call_id, max(hold_ms) FROM calls FINAL WHERE hold_ms > 0 GROUP BY call_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, h uint64
		if err := rows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		gotHold[id] = h
	}
	rows.Close()
	if len(wantHold) == 0 || fmt.Sprint(gotHold) != fmt.Sprint(wantHold) {
		t.Errorf("after the list re-read %d legs have a hold time, want %d (first differences: %s)", len(gotHold), len(wantHold),
			firstMapDiff(gotHold, wantHold))
	}
	f.checkNoSecret(t, webhookSecret)
}

func firstMapDiff(got, want map[uint64]uint64) string {
	var out []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			out = append(out, fmt.Sprintf("leg %d: %d, want %d", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("leg %d: %d, want none", k, g))
		}
	}
	return strings.Join(out[:min(len(out), 5)], "; ")
}

// streamedFeedback is what the csat, pcsat and dispositions events of evs
// told of their legs, under each of targets (a leg's feedback joins it
// under the target that lists it).
func streamedFeedback(t *testing.T, evs []webhook.Event, targets []dialpad.Target) map[transformtest.FeedbackKey]transformtest.Feedback {
	t.Helper()
	out := map[transformtest.FeedbackKey]transformtest.Feedback{}
	for _, e := range evs {
		if e.CallID == 0 || !slices.Contains(wire.FeedbackStates, e.State) {
			continue
		}
		ev, err := wire.DecodeEvent(e.Claims)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			k := transformtest.FeedbackKey{Target: tg, CallID: uint64(e.CallID)}
			f := out[k]
			switch e.State {
			case "csat":
				f.CSAT, f.Comments = ev.Call.Call.CSATScore, ev.Call.Call.CSATComments
			case "pcsat":
				f.PCSAT = string(ev.Call.PCSATScore)
			case "dispositions":
				f.Dispositions = slices.Compact(slices.Sorted(slices.Values([]string(ev.Call.Dispositions))))
			}
			out[k] = f
		}
	}
	return out
}

package events_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// rig is a receiver on a twin database (every statement on both engines)
// behind a real HTTP server.
type rig struct {
	store *warehouse.Store
	conn  driver.Conn
	url   string
	stop  func()
}

func newRig(t *testing.T) *rig { return newRigIn(t, time.UTC, nil) }

// newRigIn is a rig whose reporting zone is zone and whose clock is now
// (nil: the real one).
func newRigIn(t *testing.T, zone *time.Location, now func() time.Time) *rig {
	t.Helper()
	twin := chtest.NewTwin(t)
	store := twin.Migrated(warehouse.Options{Location: zone})
	r := &events.Receiver{Store: events.NewStorage(store.DB()), Legs: store, Derived: store.Derived(),
		Leases: store.Leases(), Secret: []byte(secret), Targets: []dialpad.Target{dept},
		Location: zone, MaxWait: 50 * time.Millisecond, RecomputeEvery: 100 * time.Millisecond,
		LeaseTTL: 10 * time.Second, Answer: time.Minute, // the twin runs one statement at a time on two engines: slow
		Now: now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	srv := httptest.NewServer(r)
	stop := func() { srv.Close(); cancel(); <-done }
	t.Cleanup(stop)
	return &rig{store: store, conn: twin.Conn(), url: srv.URL + "/webhooks/dialpad", stop: stop}
}

// post sends body and returns the status and answer.
func (g *rig) post(t *testing.T, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(g.url, "application/jwt", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (g *rig) count(t *testing.T, q string) uint64 {
	t.Helper()
	var n uint64
	if err := g.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The entry leg 1001 of a call to the department: queued at 2 s, Ana
// (leg 1002) rang at 3 s and answered at 10 s, held for 20 s, and both
// legs hung up at 130 s.
func conversation() []string {
	ana := map[string]any{"id": 11, "type": "user", "name": "Ana"}
	entry := func(state string, ts float64, more map[string]any) string {
		f := map[string]any{"date_queued": at(2)}
		if ts >= 3 {
			f["date_first_rang"] = at(3)
		}
		if ts >= 10 {
			f["date_connected"] = at(10)
		}
		for k, v := range more {
			f[k] = v
		}
		return event(1001, state, at(ts), f)
	}
	agent := func(state string, ts float64, more map[string]any) string {
		f := map[string]any{"target": ana, "entry_point_call_id": 1001, "date_started": at(3), "date_rang": at(3),
			"date_first_rang": at(3)}
		if ts >= 10 {
			f["date_connected"] = at(10)
		}
		for k, v := range more {
			f[k] = v
		}
		return event(1002, state, at(ts), f)
	}
	final := map[string]any{"date_ended": at(130), "duration": 120000, "total_duration": 130000, "hold_time": 20000, "talk_time": 100000}
	return []string{
		entry("ringing", 0, nil),
		entry("queued", 2, nil),
		agent("ringing", 3, nil),
		agent("connected", 10, nil),
		entry("connected", 10, nil),
		agent("hold", 40, nil),
		agent("connected", 60, map[string]any{"hold_time": 20000}),
		agent("hangup", 130, final),
		entry("hangup", 130, final),
	}
}

func TestSignedEventsAreStoredBeforeTheAnswer(t *testing.T) {
	g := newRig(t)
	evs := conversation()
	for _, e := range evs {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST a signed event: %d %q", code, body)
		}
	}
	// Answered 200: the rows are there now, not eventually.
	if n := g.count(t, "SELECT count() FROM call_events FINAL"); n != uint64(len(evs)) {
		t.Errorf("call_events has %d events, want %d", n, len(evs))
	}
	var status, state, src string
	var queued, rang int64
	var hold uint64
	err := g.conn.QueryRow(context.Background(), `SELECT toString(status), state, toString(source), queued_ms, first_rang_ms, hold_ms
		FROM calls FINAL WHERE target_type = 'department' AND target_id = 700 AND call_id = 1002`).
		Scan(&status, &state, &src, &queued, &rang, &hold)
	if err != nil {
		t.Fatal(err)
	}
	if status != "completed" || state != "hangup" || src != "event" || rang != at(3) || hold != 20000 {
		t.Errorf("Ana's leg: status %s state %s source %s first ring %d hold %d; want completed hangup event %d 20000",
			status, state, src, rang, hold, at(3))
	}
	if n := g.count(t, "SELECT count() FROM calls FINAL WHERE target_id = 700"); n != 2 {
		t.Errorf("calls has %d legs of the department, want 2 (entry and Ana's)", n)
	}
	if n := g.count(t, "SELECT count() FROM live_calls FINAL WHERE ended = 0"); n != 0 {
		t.Errorf("%d legs still live after both hung up", n)
	}
	// The department's events arrived now (within the test's minutes),
	// as the alert on silent events reads it.
	if n := g.count(t, `SELECT count() FROM (SELECT max(received_at) AS last FROM target_events
		WHERE target_type = 'department' AND target_id = 700) WHERE last >= now() - 300`); n != 1 {
		t.Errorf("target_events: the department's last event is not in the last 5 minutes")
	}
	// The conversation, recomputed within seconds: answered 10 s after
	// its start, queued at 2 s (its wait runs from then: 8 s), first rung
	// at 3 s, on hold 20 s, which its handle time adds to the talk. (A
	// recompute may run between the agent's final event and the entry's:
	// the conversation is whole once it has both legs.)
	testkit.Eventually(t, 15*time.Second, "the conversation recomputed", func() bool {
		return g.count(t, "SELECT count() FROM conversations FINAL WHERE conversation_id = 1001 AND legs = 2") == 1
	})
	var wait, talk, handle uint64
	var cq, cr int64
	var ch uint64
	if err := g.conn.QueryRow(context.Background(), `SELECT wait_ms, queued_ms, first_rang_ms, hold_ms, talk_ms, handle_ms
		FROM conversations FINAL WHERE conversation_id = 1001`).Scan(&wait, &cq, &cr, &ch, &talk, &handle); err != nil {
		t.Fatal(err)
	}
	if wait != 8000 || cq != at(2) || cr != at(3) || ch != 20000 || handle != talk+20000 {
		t.Errorf("conversation: wait %d queued %d first ring %d hold %d handle %d (talk %d); want 8000 %d %d 20000 and the talk plus the hold",
			wait, cq, cr, ch, handle, talk, at(2), at(3))
	}
}

func TestUnsignedOrWronglySignedBodiesStoreNothing(t *testing.T) {
	g := newRig(t)
	claims := event(2001, "hangup", at(60), map[string]any{"date_ended": at(60)})
	seg := base64.RawURLEncoding.EncodeToString
	hs := func(alg, key string) string {
		head := seg([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + seg([]byte(claims))
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(head))
		return head + "." + seg(mac.Sum(nil))
	}
	other, _ := wire.SignEvent([]byte(claims), []byte("another-secret-of-enough-length"))
	cases := []struct {
		name, body string
		code       int
	}{
		{"another secret", other, http.StatusUnauthorized},
		{"alg none", seg([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + seg([]byte(claims)) + ".", http.StatusUnauthorized},
		{"another algorithm", hs("HS384", secret), http.StatusUnauthorized},
		{"signature of other claims", strings.SplitN(sign(t, claims), ".", 2)[0] + "." + seg([]byte(claims[:len(claims)-1]+`,"x":1}`)) + "." +
			strings.SplitN(sign(t, claims), ".", 3)[2], http.StatusUnauthorized},
		{"plain JSON", claims, http.StatusBadRequest},
		{"garbage", "not a token at all", http.StatusBadRequest},
		{"signed, not an event", sign(t, `{"hello":"world"}`), http.StatusBadRequest},
		{"signed, a leg without call_id", sign(t, strings.Replace(claims, `"call_id":2001`, `"call_id":null`, 1)), http.StatusBadRequest},
		{"signed, not JSON", sign(t, `{"call_id":`), http.StatusBadRequest},
	}
	for _, c := range cases {
		code, answer := g.post(t, c.body)
		if code != c.code {
			t.Errorf("%s: %d %q, want %d", c.name, code, answer, c.code)
		}
		if strings.Contains(answer, "2001") || strings.Contains(answer, "Dana") || (len(c.body) > 8 && strings.Contains(answer, c.body[:8])) {
			t.Errorf("%s: the answer %q repeats the body", c.name, answer)
		}
	}
	for _, table := range []string{"call_events", "calls", "live_calls", "agent_status"} {
		if n := g.count(t, "SELECT count() FROM "+table); n != 0 {
			t.Errorf("%s has %d rows after refused bodies, want 0", table, n)
		}
	}
}

func TestRepeatedAndReorderedEventsGiveOneLegInItsFinalState(t *testing.T) {
	g := newRig(t)
	evs := conversation()
	// Every event twice, the whole lot shuffled: the final events may
	// come first, the ringing last.
	all := append(append([]string{}, evs...), evs...)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(all), func(i, k int) { all[i], all[k] = all[k], all[i] })
	for _, e := range all {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST: %d %q", code, body)
		}
	}
	if n := g.count(t, "SELECT count() FROM call_events FINAL"); n != uint64(len(evs)) {
		t.Errorf("call_events FINAL has %d rows, want %d (repeats collapse)", n, len(evs))
	}
	if n := g.count(t, "SELECT count() FROM calls FINAL"); n != 2 {
		t.Errorf("calls FINAL has %d legs, want 2", n)
	}
	rows, err := g.conn.Query(context.Background(), "SELECT call_id, state, ended FROM live_calls FINAL ORDER BY call_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id uint64
		var state string
		var ended uint8
		if err := rows.Scan(&id, &state, &ended); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %d", id, state, ended))
	}
	if want := []string{"1001 hangup 1", "1002 hangup 1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("live states %v, want %v", got, want)
	}
}

func TestAListReReadKeepsWhatOnlyEventsTell(t *testing.T) {
	g := newRig(t)
	for _, e := range conversation() {
		if code, _ := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatal(code)
		}
	}
	// The call list's copy of Ana's leg: ids as strings, no event fields.
	listed := `{"call_id":"1002","direction":"inbound","state":"hangup","date_started":"` + fmt.Sprint(at(3)) +
		`","date_rang":"` + fmt.Sprint(at(3)) + `","date_connected":"` + fmt.Sprint(at(10)) + `","date_ended":"` +
		fmt.Sprint(at(130)) + `","duration":120000.2,"total_duration":127000.5,"entry_point_call_id":"1001",` +
		`"entry_point_target":{"id":"700","type":"department"},"target":{"id":"11","type":"user","name":"Ana"}}`
	c, err := wire.DecodeCall([]byte(listed))
	if err != nil {
		t.Fatal(err)
	}
	l := transform.NewLeg(dept, &c, time.UTC, nil)
	l.Read = time.Now()
	if _, err := g.store.WriteLegs(context.Background(), []transform.Leg{l}); err != nil {
		t.Fatal(err)
	}
	var src string
	var queued, rang int64
	var hold, dur uint64
	if err := g.conn.QueryRow(context.Background(), `SELECT toString(source), queued_ms, first_rang_ms, hold_ms, duration_ms
		FROM calls FINAL WHERE call_id = 1002`).Scan(&src, &queued, &rang, &hold, &dur); err != nil {
		t.Fatal(err)
	}
	if src != "list" || rang != at(3) || hold != 20000 || dur != 120000 {
		t.Errorf("after the list re-read: source %s first ring %d hold %d duration %d; want list %d 20000 120000",
			src, rang, hold, dur, at(3))
	}
	// And the conversation recomputed from it keeps them too.
	if err := g.store.Derived().Recompute(context.Background(), dept, []time.Time{l.Day}); err != nil {
		t.Fatal(err)
	}
	if n := g.count(t, "SELECT count() FROM conversations FINAL WHERE conversation_id = 1001 AND hold_ms = 20000 AND first_rang_ms = "+
		fmt.Sprint(at(3))+" AND queued_ms = "+fmt.Sprint(at(2))); n != 1 {
		t.Errorf("the conversation lost the event fields after the re-read")
	}
}

func TestAgentStatusEventsBecomeIntervals(t *testing.T) {
	g := newRig(t)
	status := func(s string, date float64, ccs ...string) string {
		b, _ := json.Marshal(map[string]any{"target": map[string]any{"id": 11, "type": "user", "name": "Ana"},
			"on_duty_status": s, "availability_status": "available", "call_center_ids": ccs,
			"date": at(date), "event_timestamp": at(date) + 50, "on_duty_status_reason": ""})
		return string(b)
	}
	// Sent out of order, one of them twice.
	for _, e := range []string{status("occupied", 100, "9"), status("available", 0, "9"), status("wrapup", 220, "9"),
		status("available", 0, "9"), status("unavailable", 300)} {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST: %d %q", code, body)
		}
	}
	rows, err := g.conn.Query(context.Background(), `SELECT status, on_duty, started_ms, ended_ms FROM agent_status FINAL
		WHERE agent_id = 11 ORDER BY started_ms`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		var duty uint8
		var from, to int64
		if err := rows.Scan(&s, &duty, &from, &to); err != nil {
			t.Fatal(err)
		}
		end := "now"
		if to != 0 {
			end = fmt.Sprint((to - at(0)) / 1000)
		}
		got = append(got, fmt.Sprintf("%s(%d) %d-%s", s, duty, (from-at(0))/1000, end))
	}
	want := []string{"available(1) 0-100", "occupied(1) 100-220", "wrapup(1) 220-300", "unavailable(0) 300-now"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("intervals %v, want %v", got, want)
	}
}

func TestAgentsOwnCallsGoToTheirTargetsUntilTheListSaysOtherwise(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	// Bo is an operator of the department (and of another, not configured).
	if err := g.store.WriteAgents(ctx, dept, []warehouse.Agent{{ID: 12, Kind: "user", DisplayName: "Bo Operator"}}); err != nil {
		t.Fatal(err)
	}
	if err := g.store.WriteAgents(ctx, other, []warehouse.Agent{{ID: 12, Kind: "user", DisplayName: "Bo Operator"}}); err != nil {
		t.Fatal(err)
	}
	bo := map[string]any{"id": 12, "type": "user", "name": "Bo"}
	out := event(3001, "hangup", at(90), map[string]any{"direction": "outbound", "target": bo, "entry_point_target": map[string]any{},
		"date_connected": at(5), "date_ended": at(90), "duration": 85000})
	// A call into a department that is not configured: nobody's.
	foreign := event(3002, "hangup", at(90), map[string]any{"entry_point_target": map[string]any{"id": 999, "type": "department"},
		"target": map[string]any{"id": 999, "type": "department"}, "date_ended": at(90)})
	for _, e := range []string{out, foreign} {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST: %d %q", code, body)
		}
	}
	var name string
	var n uint64
	if err := g.conn.QueryRow(ctx, "SELECT count(), any(agent_name) FROM calls FINAL WHERE call_id = 3001 AND target_id = 700").Scan(&n, &name); err != nil {
		t.Fatal(err)
	}
	if n != 1 || name != "Bo Operator" {
		t.Errorf("Bo's own call: %d legs under the department, agent %q; want 1, Bo Operator", n, name)
	}
	if n := g.count(t, "SELECT count() FROM calls WHERE call_id = 3002 OR target_id = 800"); n != 0 {
		t.Errorf("%d legs of targets not configured", n)
	}
	if n := g.count(t, "SELECT count() FROM call_events WHERE call_id = 3002"); n != 1 {
		t.Errorf("the event of a call of no configured target is not kept: %d", n)
	}
	// A whole read of the day from the list, begun after the event, that
	// does not list the call: the list is the source of truth.
	midnight := base.Truncate(24 * time.Hour)
	day := dialpad.Window{From: midnight, To: midnight.AddDate(0, 0, 1)}
	before := time.Now().Add(-time.Hour)
	if days, err := g.store.DropUnlisted(ctx, dept, day, before); err != nil || len(days) != 0 {
		t.Errorf("a read begun before the event dropped %v, %v; want nothing", days, err)
	}
	days, err := g.store.DropUnlisted(ctx, dept, day, time.Now())
	if err != nil || len(days) != 1 || !days[0].Equal(day.From) {
		t.Fatalf("drop unlisted: %v, %v; want the day %s", days, err, day.From)
	}
	if n := g.count(t, "SELECT count() FROM calls WHERE call_id = 3001"); n != 0 {
		t.Errorf("the leg the list does not have is still there (%d copies)", n)
	}
}

// Events that come after the list gave the leg add what only they tell
// and change nothing else: the list's copy (here its MOS score, which the
// events lack) stays. Of two final events of one leg, the later by event
// time wins, whatever the order of arrival.
func TestLateEventsKeepTheListsCopyAndTheLatestFinal(t *testing.T) {
	g := newRig(t)
	ctx := context.Background()
	listed := `{"call_id":"1002","direction":"inbound","state":"hangup","date_started":"` + fmt.Sprint(at(3)) +
		`","date_rang":"` + fmt.Sprint(at(3)) + `","date_connected":"` + fmt.Sprint(at(10)) + `","date_ended":"` +
		fmt.Sprint(at(130)) + `","duration":120000,"total_duration":127000,"entry_point_call_id":"1001","mos_score":4.2,` +
		`"entry_point_target":{"id":"700","type":"department"},"target":{"id":"11","type":"user","name":"Ana"}}`
	c, err := wire.DecodeCall([]byte(listed))
	if err != nil {
		t.Fatal(err)
	}
	l := transform.NewLeg(dept, &c, time.UTC, nil)
	l.Read = time.Now()
	if _, err := g.store.WriteLegs(ctx, []transform.Leg{l}); err != nil {
		t.Fatal(err)
	}
	for _, e := range conversation() {
		if code, _ := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatal(code)
		}
	}
	var src string
	var mos *float64
	var hold uint64
	if err := g.conn.QueryRow(ctx, `SELECT toString(source), mos_score, hold_ms FROM calls FINAL WHERE call_id = 1002`).
		Scan(&src, &mos, &hold); err != nil {
		t.Fatal(err)
	}
	if src != "list" || mos == nil || *mos != 4.2 || hold != 20000 {
		t.Errorf("after late events Ana's leg is from %s, MOS %v, hold %d; want the list's copy (MOS 4.2) with hold 20000", src, mos, hold)
	}

	// Leg 4001: a voicemail event at 125 s arrives after the hangup at 130 s.
	for _, e := range []string{
		event(4001, "hangup", at(130), map[string]any{"date_ended": at(130), "date_started": at(100)}),
		event(4001, "voicemail", at(125), map[string]any{"date_ended": at(125), "date_started": at(100)}),
	} {
		if code, _ := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatal(code)
		}
	}
	var state string
	if err := g.conn.QueryRow(ctx, "SELECT state FROM calls FINAL WHERE call_id = 4001").Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "hangup" {
		t.Errorf("leg 4001 is in state %s, want hangup (the later event)", state)
	}
}

// The final events of calls around midnight in Kathmandu (UTC+05:45,
// whose midnight is 18:15 UTC): once the receiver has recomputed their
// days, target_intervals counts each inbound conversation in the UTC
// quarter hour of its start, on its Kathmandu day, and each day's
// intervals sum to its target_daily row.
func TestFinalEventsCountConversationsInTheirInterval(t *testing.T) {
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 14, 18, 20, 0, 0, time.UTC) // 00:05 on the 15th in Kathmandu
	now := start.Add(time.Hour)
	g := newRigIn(t, kathmandu, func() time.Time { return now })
	ctx := context.Background()
	ms := func(s float64) int64 { return start.UnixMilli() + int64(s*1000) }
	ana := map[string]any{"id": 11, "type": "user", "name": "Ana"}
	for _, e := range []string{
		// A: queued at 2 s, Ana rang at 3 s and answered at 10 s (a wait
		// of 8 s), talked 120 s and held 20 s.
		event(1001, "hangup", ms(130), map[string]any{"date_started": ms(0), "date_queued": ms(2), "date_first_rang": ms(3),
			"date_connected": ms(10), "date_ended": ms(130), "duration": 120000, "total_duration": 130000}),
		event(1002, "hangup", ms(130), map[string]any{"target": ana, "entry_point_call_id": 1001, "date_started": ms(3),
			"date_rang": ms(3), "date_first_rang": ms(3), "date_connected": ms(10), "date_ended": ms(130),
			"duration": 120000, "total_duration": 127000, "hold_time": 20000}),
		// B: 5 min later, same interval: nobody answered in 20 s.
		event(2001, "hangup", ms(320), map[string]any{"date_started": ms(300), "date_ended": ms(320),
			"total_duration": 20000, "external_number": "+15550200"}),
		// C: an outbound call in the same interval: not offered.
		event(3001, "hangup", ms(95), map[string]any{"direction": "outbound", "entry_point_target": map[string]any{},
			"date_started": ms(60), "date_connected": ms(65), "date_ended": ms(95), "duration": 30000,
			"external_number": "+15550300"}),
		// D: 18:10 UTC, 23:55 on the 14th in Kathmandu: the last interval
		// of that day; the caller hung up after 4 s.
		event(4001, "hangup", ms(-596), map[string]any{"date_started": ms(-600), "date_ended": ms(-596),
			"total_duration": 4000, "external_number": "+15550400"}),
	} {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST a final event: %d %q", code, body)
		}
	}
	// Recomputes may run between the events: wait for the one that saw
	// all of them (A's wait from its entry leg, its handle time from Ana's).
	testkit.Eventually(t, 30*time.Second, "the days recomputed with every leg", func() bool {
		return g.count(t, `SELECT count() FROM target_daily FINAL WHERE (day = '2026-03-15' AND inbound = 2 AND outbound = 1
			AND total_wait_ms = 8000 AND total_handle_ms = 140000) OR (day = '2026-03-14' AND inbound = 1)`) == 2
	})
	got, err := transformtest.StoredTargetIntervals(ctx, g.conn)
	if err != nil {
		t.Fatal(err)
	}
	want := []transformtest.TargetInterval{
		{Target: dept, Day: "2026-03-14", Start: start.Add(-20 * time.Minute), Offered: 1, ShortAbandoned: 1},
		{Target: dept, Day: "2026-03-15", Start: start.Add(-5 * time.Minute), Offered: 2, Answered: 1, Abandoned: 1,
			AnsweredInThreshold: 1, TotalWaitMs: 8000, TotalHandleMs: 140000},
	}
	if diff := transformtest.FirstDiff(got, want); diff != "" {
		t.Errorf("target_intervals: %s", diff)
	}
	days, err := transformtest.StoredTargetDayTotals(ctx, g.conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range transformtest.DayTotalDiffs(days, got) {
		t.Error(d)
	}
}

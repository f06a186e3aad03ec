package events_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// The tests of events over a websocket run the simulator over real HTTP
// (its websocket endpoints, its websocket, its delivery of signed events,
// duplicated and reordered) on a fixed clock: the simulated company's
// day ends on Wednesday 4 March 2026, whatever day the tests run.
var wsEnd = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

// wsHour is the hour of events the tests send: 10:00 to 11:00 in New
// York on Tuesday 3 March, in business hours.
var wsHour = [2]time.Time{time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC)}

type wsWorld struct {
	sim     *simulator.Sim
	client  *dialpad.Client
	targets []dialpad.Target
}

// newWSWorld is the simulator, whose websocket URLs and connections last
// lifetime, and a client of it.
func newWSWorld(t *testing.T, lifetime time.Duration) *wsWorld {
	t.Helper()
	sim, err := simulator.New(simulator.Config{Seed: 29, Start: wsEnd.Add(-2 * 24 * time.Hour), End: wsEnd,
		Now: func() time.Time { return wsEnd }, CallsPerDay: 40, RateLimit: -1, WebsocketLifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := dialpad.New(srv.URL, "sim-token", dialpad.WithRateLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	return &wsWorld{sim: sim, client: client, targets: sim.Targets()}
}

// subscribe subscribes endpoint to every target's call events and to
// the agents' status.
func (w *wsWorld) subscribe(t *testing.T, endpoint wire.ID) {
	t.Helper()
	ctx := context.Background()
	for _, tg := range w.targets {
		if _, err := w.client.CreateCallSubscription(ctx, endpoint, tg, wire.CallStates); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.client.CreateAgentSubscription(ctx, endpoint); err != nil {
		t.Fatal(err)
	}
}

// socket creates a websocket signed with secret ("" for none) and
// subscribes it.
func (w *wsWorld) socket(t *testing.T, secret string) wire.ID {
	t.Helper()
	ws, err := w.client.CreateWebsocket(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	w.subscribe(t, ws.ID)
	return ws.ID
}

// deliver sends the events of [from, to) at rate a second, 10% of them
// twice and 10% held back behind later ones, to the subscriptions, and
// returns when all were sent.
func (w *wsWorld) deliver(t *testing.T, from, to time.Time, rate float64) webhook.DeliveryStats {
	t.Helper()
	st, err := w.sim.Deliver(context.Background(), webhook.Delivery{Subscriptions: true, From: from, To: to, Rate: rate,
		Faults: webhook.DeliveryFaults{DuplicateRate: 0.1, ReorderRate: 0.1, MaxDelay: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// wsReceiver is a receiver on a twin database (every statement on both
// engines), measured in reg.
type wsReceiver struct {
	rcv  *events.Receiver
	conn driver.Conn
	reg  *prometheus.Registry
}

func newWSReceiver(t *testing.T, targets []dialpad.Target) *wsReceiver {
	t.Helper()
	twin := chtest.NewTwin(t)
	store := twin.Migrated(warehouse.Options{Location: time.UTC})
	reg := prometheus.NewRegistry()
	r := &events.Receiver{Store: events.NewStorage(store.DB()), Legs: store, Derived: store.Derived(),
		Leases: store.Leases(), Secret: []byte(secret), Targets: targets, Location: time.UTC,
		MaxWait: 50 * time.Millisecond, RecomputeEvery: 200 * time.Millisecond, LeaseTTL: 10 * time.Second,
		Answer: time.Minute, Now: func() time.Time { return wsEnd }, Metrics: events.NewMetrics(reg)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &wsReceiver{rcv: r, conn: twin.Conn(), reg: reg}
}

// listen runs a Listener of websocket id into r until the test ends, and
// returns its metrics.
func (w *wsWorld) listen(t *testing.T, r *wsReceiver, id wire.ID, lifetime time.Duration, log *slog.Logger) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	l := &events.Listener{Sockets: w.client, ID: id, Receiver: r.rcv, Lifetime: lifetime, Log: log,
		Metrics: events.NewSocketMetrics(reg), Backoff: func(int) time.Duration { return 100 * time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return reg
}

func (r *wsReceiver) count(t *testing.T, q string) uint64 {
	t.Helper()
	var n uint64
	if err := r.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rows renders every row of q, in order.
func (r *wsReceiver) rows(t *testing.T, q string) []string {
	t.Helper()
	rows, err := r.conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, len(rows.ColumnTypes()))
		for i, ct := range rows.ColumnTypes() {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var row []string
		for _, v := range vals {
			row = append(row, fmt.Sprint(reflect.ValueOf(v).Elem().Interface()))
		}
		out = append(out, strings.Join(row, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// metric is the value of a counter or gauge of reg, the sum over the
// series whose labels include labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// The tables that events fill, in an order and with the columns that do
// not depend on when an event was received.
var eventTables = []string{
	"SELECT call_id, state, event_ms, payload_hash FROM call_events FINAL ORDER BY call_id, state, event_ms",
	"SELECT target_type, target_id, call_id, state, ended, agent_id, event_at FROM live_calls FINAL ORDER BY target_type, target_id, call_id",
	"SELECT agent_id, status, on_duty, started_ms, ended_ms, reason FROM agent_status FINAL ORDER BY agent_id, started_ms",
	"SELECT target_type, target_id, call_id, state, status, source, hold_ms, queued_ms, first_rang_ms FROM calls FINAL ORDER BY target_type, target_id, call_id",
}

// (1) An hour of the simulated company's events, sent at once to a
// webhook and to a websocket (each event signed, 10% twice, 10% late),
// gives the same tables through either.
func TestEventsOverAWebsocketGiveTheSameTablesAsOverAWebhook(t *testing.T) {
	w := newWSWorld(t, time.Hour)
	viaHook, viaSocket := newWSReceiver(t, w.targets), newWSReceiver(t, w.targets)
	srv := httptest.NewServer(viaHook.rcv)
	t.Cleanup(srv.Close)
	hook, err := w.client.CreateWebhook(context.Background(), srv.URL+"/webhooks/dialpad", secret)
	if err != nil {
		t.Fatal(err)
	}
	w.subscribe(t, hook.ID)
	w.listen(t, viaSocket, w.socket(t, secret), time.Hour, nil)
	testkit.Eventually(t, 30*time.Second, "the websocket connected", func() bool { return w.sim.SocketConnections() == 1 })

	// The webhook's events are stored once Deliver returns: each was
	// answered 200 only then.
	st := w.deliver(t, wsHour[0], wsHour[1], 500)
	if st.Failed != 0 || st.Events < 100 {
		t.Fatalf("delivery: %+v; want over 100 events, none failed", st)
	}
	calls, agents := "SELECT count() FROM call_events FINAL", "SELECT count() FROM agent_status FINAL"
	wantCalls, wantAgents := viaHook.count(t, calls), viaHook.count(t, agents)
	if wantCalls < 100 || wantAgents == 0 {
		t.Fatalf("through the webhook: %d call events, %d agent statuses; want over 100 and some", wantCalls, wantAgents)
	}
	testkit.Eventually(t, 2*time.Minute, "every event stored through the websocket too", func() bool {
		return viaSocket.count(t, calls) == wantCalls && viaSocket.count(t, agents) == wantAgents
	})
	for _, table := range eventTables {
		hook, socket := viaHook.rows(t, table), viaSocket.rows(t, table)
		if len(hook) == 0 {
			t.Errorf("%s: no rows through the webhook", table)
		}
		if strings.Join(hook, "\n") != strings.Join(socket, "\n") {
			t.Errorf("%s: %d rows through the webhook, %d through the websocket; first difference: %s", table, len(hook), len(socket),
				firstDiff(hook, socket))
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			return "websocket only: " + b[i]
		case i >= len(b):
			return "webhook only: " + a[i]
		case a[i] != b[i]:
			return fmt.Sprintf("webhook %s, websocket %s", a[i], b[i])
		}
	}
	return "none"
}

// (2) With connections that last 10 s, events sent through five renewals
// and more are all stored: each renewal connects the new URL before the
// old connection closes.
func TestNoEventIsMissedThroughFiveRenewals(t *testing.T) {
	const lifetime = 10 * time.Second
	w := newWSWorld(t, lifetime)
	r := newWSReceiver(t, w.targets)
	// Subscribed to the whole company's calls: every event is sent.
	ws, err := w.client.CreateWebsocket(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.CreateCallSubscription(context.Background(), ws.ID, dialpad.Target{}, wire.CallStates); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.CreateAgentSubscription(context.Background(), ws.ID); err != nil {
		t.Fatal(err)
	}
	reg := w.listen(t, r, ws.ID, lifetime, nil)
	testkit.Eventually(t, 30*time.Second, "the websocket connected", func() bool { return w.sim.SocketConnections() == 1 })

	// Two hours of events, paced so that sending them spans about six
	// lifetimes of a connection; the renewals are counted, not timed.
	from, to := wsHour[0], wsHour[1].Add(time.Hour)
	evs := w.sim.Events(from, to)
	calls, agents := uint64(0), uint64(0)
	for _, e := range evs {
		switch {
		case e.CallID == 0:
			agents++
		case slices.Contains(wire.CallStates, e.State): // the states subscribed
			calls++
		}
	}
	st := w.deliver(t, from, to, float64(len(evs))/float64(6*lifetime/time.Second))
	if renewals := metric(t, reg, "dialpad_etl_events_websocket_renewals_total"); renewals < 5 {
		t.Errorf("%v renewals while the events were sent; want at least 5", renewals)
	}
	if st.Failed != 0 {
		t.Errorf("%d events found no open connection (last: %s)", st.Failed, st.LastError)
	}
	testkit.Eventually(t, 2*time.Minute, "every event stored", func() bool {
		return r.count(t, "SELECT count() FROM call_events FINAL") == calls &&
			r.count(t, "SELECT count() FROM agent_status FINAL") == agents
	})
	if drops := metric(t, reg, "dialpad_etl_events_websocket_drops_total"); drops != 0 {
		t.Errorf("%v connections dropped; want none: each was renewed before its end", drops)
	}
	t.Logf("%d events (%d of calls) sent, %d copies", len(evs), calls, st.Sent)
}

// A secret of another integration's websocket.
const otherSecret = "another-secret-of-32-characters!"

// (3) Messages signed with another secret, or not signed at all, are
// stored nowhere and counted as refused.
func TestForgedWebsocketMessagesStoreNothingAndAreCounted(t *testing.T) {
	w := newWSWorld(t, time.Hour)
	r := newWSReceiver(t, w.targets)
	w.listen(t, r, w.socket(t, otherSecret), time.Hour, nil)
	w.listen(t, r, w.socket(t, ""), time.Hour, nil)
	testkit.Eventually(t, 30*time.Second, "both websockets connected", func() bool { return w.sim.SocketConnections() == 2 })

	st := w.deliver(t, wsHour[0], wsHour[0].Add(15*time.Minute), 500)
	if st.Delivered < 20 || st.Failed != 0 {
		t.Fatalf("delivery: %+v; want at least 20 messages, none failed", st)
	}
	testkit.Eventually(t, time.Minute, "every message refused", func() bool {
		return metric(t, r.reg, "dialpad_etl_events_refused_total") == float64(st.Delivered)
	})
	signed, unsigned := metric(t, r.reg, "dialpad_etl_events_refused_total", "reason", "bad_signature"),
		metric(t, r.reg, "dialpad_etl_events_refused_total", "reason", "not_jwt")
	if signed == 0 || unsigned == 0 {
		t.Errorf("refused: %v wrongly signed, %v unsigned; want both", signed, unsigned)
	}
	for _, table := range []string{"call_events", "live_calls", "agent_status", "calls"} {
		if n := r.count(t, "SELECT count() FROM "+table); n != 0 {
			t.Errorf("%s has %d rows; want none from refused messages", table, n)
		}
	}
	if n := metric(t, r.reg, "dialpad_etl_events_stored_total"); n != 0 {
		t.Errorf("%v events counted as stored; want none", n)
	}
}

// syncBuffer is a log destination for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// leakySockets hands out the websocket's fresh URLs, keeping their
// tokens; every third URL points at a port nobody listens on, so that the
// connection fails with an error of the network, which quotes the URL.
type leakySockets struct {
	real   events.Sockets
	closed string // host:port
	mu     sync.Mutex
	n      int
	tokens []string
}

func (s *leakySockets) Websocket(ctx context.Context, id wire.ID) (dialpad.Websocket, error) {
	ws, err := s.real.Websocket(ctx, id)
	if err != nil {
		return ws, err
	}
	u := ws.URL.Reveal()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	_, tok, _ := strings.Cut(u, "token=")
	s.tokens = append(s.tokens, tok)
	if s.n%3 == 2 {
		host := strings.TrimPrefix(u, "ws://")
		host = host[:strings.Index(host, "/")]
		ws.URL = dialpad.SecretURL(strings.Replace(u, host, s.closed, 1))
	}
	return ws, nil
}

// (4) The URL's token appears in no log line, at any level: not when a
// connection is made, renewed, fails (the network's error quotes the
// URL) or is dropped by the server.
func TestTheWebsocketURLIsInNoLogLine(t *testing.T) {
	w := newWSWorld(t, 10*time.Second)
	r := newWSReceiver(t, w.targets)
	id := w.socket(t, secret)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sockets := &leakySockets{real: w.client, closed: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))}
	// The Listener believes connections last an hour: the server's close
	// after 10 s is a drop, and teaches it the shorter lifetime.
	reg := prometheus.NewRegistry()
	l := &events.Listener{Sockets: sockets, ID: id, Receiver: r.rcv, Lifetime: time.Hour, Log: log,
		Metrics: events.NewSocketMetrics(reg), Backoff: func(int) time.Duration { return 100 * time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// Events flow meanwhile, so that messages are read and stored.
	go w.sim.Deliver(ctx, webhook.Delivery{Subscriptions: true, From: wsHour[0], To: wsHour[1], Rate: 20})

	testkit.Eventually(t, 2*time.Minute, "a drop, a failed connection and a renewal", func() bool {
		return metric(t, reg, "dialpad_etl_events_websocket_drops_total") >= 1 &&
			metric(t, reg, "dialpad_etl_events_websocket_renewals_total") >= 1 &&
			strings.Contains(logs.String(), "could not")
	})
	cancel()
	<-done
	out := logs.String()
	sockets.mu.Lock()
	tokens := sockets.tokens
	sockets.mu.Unlock()
	if len(tokens) < 3 {
		t.Fatalf("%d URLs handed out; want at least 3", len(tokens))
	}
	for _, tok := range tokens {
		if len(tok) < 16 || strings.Contains(out, tok) {
			t.Fatalf("a token (%d characters) is in the logs:\n%s", len(tok), out)
		}
	}
	for _, want := range []string{"connection refused", "dropped", "sooner than its lifetime"} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs do not say %q:\n%s", want, out)
		}
	}
}

// The websocket library's errors quote the URL, token and all; Redact
// leaves neither in the message, and keeps a close's status.
func TestRedactTakesTheURLOutOfTheLibrarysErrors(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.secret-token-of-the-url"
	u := fmt.Sprintf("ws://127.0.0.1:%d/events/%s?token=%s", testkit.FreePort(t), token, token)
	_, _, err := websocket.Dial(context.Background(), u, nil)
	if err == nil || !strings.Contains(err.Error(), token) {
		t.Fatalf("dial a closed port: %v; want an error that quotes the URL (else this test proves nothing)", err)
	}
	if got := events.Redact(err, u).Error(); strings.Contains(got, token) || !strings.Contains(got, "refused") {
		t.Errorf("redacted: %q; want the reason without the token", got)
	}
	closed := events.Redact(fmt.Errorf("read %s: %w", u, websocket.CloseError{Code: websocket.StatusGoingAway}), u)
	if websocket.CloseStatus(closed) != websocket.StatusGoingAway || strings.Contains(closed.Error(), token) {
		t.Errorf("redacted close: %q, status %v; want going away, no token", closed, websocket.CloseStatus(closed))
	}
}

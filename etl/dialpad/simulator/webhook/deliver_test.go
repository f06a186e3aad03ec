package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// receiver is a webhook endpoint that verifies what it gets and answers
// as answer says (nil: 200) for the n-th attempt of a body.
type receiver struct {
	t      testing.TB
	secret string
	answer func(n int, w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server

	mu       sync.Mutex
	claims   [][]byte       // the claims of every request, in arrival order
	attempts map[string]int // per body
	bodies   map[string]map[string]bool
	bad      []string // what was wrong with requests
}

func newReceiver(t testing.TB, secret string, answer func(int, http.ResponseWriter, *http.Request)) *receiver {
	rc := &receiver{t: t, secret: secret, answer: answer, attempts: map[string]int{}, bodies: map[string]map[string]bool{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	claims, why := body, ""
	switch {
	case err != nil || r.Method != http.MethodPost:
		why = "not a POST with a body"
	case rc.secret != "" && r.Header.Get("Content-Type") != "application/jwt":
		why = "content type " + r.Header.Get("Content-Type")
	case rc.secret == "" && r.Header.Get("Content-Type") != "application/json":
		why = "content type " + r.Header.Get("Content-Type")
	case rc.secret != "":
		if claims, err = wire.VerifyEvent(body, []byte(rc.secret)); err != nil {
			why = err.Error()
		}
	}
	if why == "" {
		if _, err := wire.DecodeEvent(claims); err != nil {
			why = err.Error()
		}
	}
	rc.mu.Lock()
	if why != "" {
		rc.bad = append(rc.bad, why)
		rc.mu.Unlock()
		http.Error(w, why, http.StatusUnauthorized)
		return
	}
	rc.claims = append(rc.claims, claims)
	rc.attempts[string(body)]++
	n := rc.attempts[string(body)]
	if rc.bodies[string(claims)] == nil {
		rc.bodies[string(claims)] = map[string]bool{}
	}
	rc.bodies[string(claims)][string(body)] = true
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(n, w, r)
	}
}

// check fails unless every event was received, each only with one body,
// and nothing else.
func (rc *receiver) check(evs []Event) {
	rc.t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		rc.t.Fatalf("%d bad requests, e.g. %s", len(rc.bad), rc.bad[0])
	}
	want := map[string]bool{}
	for _, ev := range evs {
		want[string(ev.Claims)] = true
		if b := rc.bodies[string(ev.Claims)]; len(b) != 1 {
			rc.t.Fatalf("event %s of call %d at %v arrived with %d different bodies", ev.State, ev.CallID, ev.At, len(b))
		}
	}
	for c := range rc.bodies {
		if !want[c] {
			rc.t.Fatalf("received an event that is not in the range: %s", c)
		}
	}
}

// busyHours is two hours of a weekday's peak: some 200 events.
var busyHours = [2]time.Time{eventDay.Add(14 * time.Hour), eventDay.Add(16 * time.Hour)}

func fastBackoff() []time.Duration {
	return []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
}

func TestDeliverSignedEventsWithDuplicatesAndReordering(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	rc := newReceiver(t, "s3cret", nil)
	evs := s.Events(busyHours[0], busyHours[1])
	// A held-back event goes after the next 1 to 4 events, or at
	// MaxDelay: an hour, so that which comes first is never a matter of
	// how busy the machine is, and a second run sends the same order.
	d := Delivery{URL: rc.srv.URL, Secret: "s3cret", From: busyHours[0], To: busyHours[1], Workers: 1,
		Faults: DeliveryFaults{DuplicateRate: 0.2, ReorderRate: 0.2, MaxDelay: time.Hour}, Backoff: fastBackoff()}
	st, err := s.Deliver(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	rc.check(evs)
	n := int64(len(evs))
	if st.Events != n || st.Sent != n+st.Duplicated || st.Delivered != st.Sent || st.Failed != 0 || st.Retried != 0 ||
		int64(len(rc.claims)) != st.Sent {
		t.Errorf("%d events, %d requests received: stats %+v", n, len(rc.claims), st)
	}
	if st.Duplicated < n/10 || st.Duplicated > 3*n/10 || st.Reordered < n/10 || st.Reordered > 3*n/10 {
		t.Errorf("%d events: %d duplicated, %d reordered, want about 20%% each", n, st.Duplicated, st.Reordered)
	}
	if st.LatencyP50 <= 0 || st.LatencyP99 < st.LatencyP50 {
		t.Errorf("latency p50 %v, p99 %v", st.LatencyP50, st.LatencyP99)
	}
	// One sender: the events arrive in order but for the held-back ones.
	var first [][]byte
	seen := map[string]bool{}
	for _, c := range rc.claims {
		if !seen[string(c)] {
			seen[string(c)] = true
			first = append(first, c)
		}
	}
	inOrder := 0
	for i := range first {
		if bytes.Equal(first[i], evs[i].Claims) {
			inOrder++
		}
	}
	if inOrder == len(evs) || inOrder < len(evs)/3 {
		t.Errorf("%d of %d events arrived at their place in the order", inOrder, len(evs))
	}

	// The same delivery again makes the same choices.
	again := newReceiver(t, "s3cret", nil)
	d.URL = again.srv.URL
	st2, err := s.Deliver(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Duplicated != st.Duplicated || st2.Reordered != st.Reordered || len(again.claims) != len(rc.claims) {
		t.Errorf("a second run: %+v, the first %+v", st2, st)
	}
	for i := range again.claims {
		if !bytes.Equal(again.claims[i], rc.claims[i]) {
			t.Fatalf("a second run sent request %d differently", i)
		}
	}
	if all := s.DeliveryStats(); all.Sent != st.Sent+st2.Sent || all.Delivered != st.Delivered+st2.Delivered {
		t.Errorf("DeliveryStats %+v after two runs of %+v", all, st)
	}
}

func TestDeliverInOrderWithoutFaults(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	rc := newReceiver(t, "", nil)
	evs := s.Events(busyHours[0], busyHours[1])
	st, err := s.Deliver(t.Context(), Delivery{URL: rc.srv.URL, From: busyHours[0], To: busyHours[1], Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	rc.check(evs)
	if len(rc.claims) != len(evs) || st.Sent != int64(len(evs)) {
		t.Fatalf("%d events, %d received (%+v)", len(evs), len(rc.claims), st)
	}
	for i := range evs {
		if !bytes.Equal(rc.claims[i], evs[i].Claims) {
			t.Fatalf("request %d is not event %d (plain JSON, in order)", i, i)
		}
	}
}

func TestDeliverRetries(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	from, to := busyHours[0], busyHours[0].Add(15*time.Minute)
	evs := s.Events(from, to)
	n := int64(len(evs))
	if n < 10 {
		t.Fatalf("only %d events", n)
	}
	for _, tc := range []struct {
		name        string
		answer      func(int, http.ResponseWriter, *http.Request)
		attempts    int // per event
		retried     int64
		failed      int64
		clientLimit time.Duration
	}{
		{"500 the first time", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}, 2, n, 0, 0},
		// The second try must beat the client's limit: half a second, so
		// that it does on a machine busy with other tests.
		{"too slow the first time", func(n int, _ http.ResponseWriter, r *http.Request) {
			if n == 1 {
				select {
				case <-time.After(5 * time.Second):
				case <-r.Context().Done():
				}
			}
		}, 2, n, 0, 500 * time.Millisecond},
		{"400", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }, 1, 0, n, 0},
		{"503 always", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			4, 3 * n, n, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, "k", tc.answer)
			d := Delivery{URL: rc.srv.URL, Secret: "k", From: from, To: to, Backoff: fastBackoff()}
			if tc.clientLimit > 0 {
				d.Client = &http.Client{Timeout: tc.clientLimit}
			}
			st, err := s.Deliver(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			rc.check(evs)
			for body, got := range rc.attempts {
				if got != tc.attempts {
					t.Fatalf("a body was received %d times, want %d: %.80s", got, tc.attempts, body)
				}
			}
			if st.Retried != tc.retried || st.Failed != tc.failed || st.Delivered != n-tc.failed || st.Sent != n {
				t.Errorf("stats %+v: want %d retried, %d failed of %d", st, tc.retried, tc.failed, n)
			}
			if tc.failed > 0 && !strings.Contains(st.LastError, "answered") {
				t.Errorf("last error %q", st.LastError)
			}
		})
	}
}

func TestDeliverLiveFollowsTheClock(t *testing.T) {
	t.Parallel()
	t0 := busyHours[0]
	clk := simtest.NewClock(t0)
	s := newTestHub(t, traffic.Config{Now: clk.Now})
	rc := newReceiver(t, "", nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := s.Deliver(ctx, Delivery{URL: rc.srv.URL, From: t0, Tick: 5 * time.Millisecond})
		done <- err
	}()
	received := func() []wire.Event {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		var out []wire.Event
		for _, c := range rc.claims {
			ev, _ := wire.DecodeEvent(c)
			out = append(out, ev)
		}
		return out
	}
	at := func(ev wire.Event) int64 {
		if ev.Call != nil {
			return int64(ev.Call.EventTimestamp)
		}
		return int64(ev.Agent.EventTimestamp)
	}
	time.Sleep(50 * time.Millisecond)
	for _, ev := range received() {
		if at(ev) > t0.UnixMilli() {
			t.Fatalf("an event of %d arrived with the clock at %d", at(ev), t0.UnixMilli())
		}
	}
	for _, step := range []time.Duration{5 * time.Minute, 12 * time.Minute} {
		now := t0.Add(step)
		clk.Set(now)
		want := len(s.Events(t0, now.Add(time.Millisecond)))
		deadline := time.Now().Add(30 * time.Second) // a bound for a loaded machine; it ends as soon as they are in
		for len(received()) < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		got := received()
		if len(got) != want {
			t.Fatalf("clock at +%v: %d events received, want %d", step, len(got), want)
		}
		for _, ev := range got {
			if at(ev) > now.UnixMilli() {
				t.Fatalf("an event of %d arrived with the clock at %d", at(ev), now.UnixMilli())
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("live delivery ended with %v, want context.Canceled", err)
	}
}

func TestDeliverPacesAReplay(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	rc := newReceiver(t, "", nil)
	from, to := busyHours[0], busyHours[0].Add(15*time.Minute)
	n := len(s.Events(from, to))
	start := time.Now()
	if _, err := s.Deliver(t.Context(), Delivery{URL: rc.srv.URL, From: from, To: to, Rate: 100}); err != nil {
		t.Fatal(err)
	}
	if el, want := time.Since(start), time.Duration(n-1)*10*time.Millisecond; el < want*9/10 {
		t.Errorf("%d events at 100/s took %v, want at least %v", n, el, want)
	}
}

func TestDeliveryErrorsNameNoSecret(t *testing.T) {
	s := newTestHub(t, traffic.Config{})
	for _, d := range []Delivery{
		{URL: "ftp://user:hunter2@example.com/hook", Secret: "hunter2"},
		{URL: "http://example.com/hook", Secret: "hunter2", Rate: -1},
		{URL: "http://example.com/hook", Secret: "hunter2", Faults: DeliveryFaults{DuplicateRate: 2}},
	} {
		_, err := s.Deliver(t.Context(), d)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Deliver(%+v): %v", d.Faults, err)
		}
	}
	// A receiver that cannot be reached: the error says why, not where.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/hook?token=hunter2"
	srv.Close()
	st, err := s.Deliver(t.Context(), Delivery{URL: url, From: busyHours[0], To: busyHours[0].Add(5 * time.Minute),
		Backoff: []time.Duration{}})
	if err != nil || st.Failed == 0 || st.LastError == "" || strings.Contains(st.LastError, "hunter2") {
		t.Errorf("unreachable receiver: %v, %+v", err, st)
	}
}

func TestDeliverToSubscribedWebhooks(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	signed, plain := newReceiver(t, "hook-secret", nil), newReceiver(t, "", nil)
	cc := s.tr.Targets()[len(s.tr.Targets())-1]
	h1, h2 := webhookID(t, s.AddWebhook(signed.srv.URL, "hook-secret")), webhookID(t, s.AddWebhook(plain.srv.URL, ""))
	for _, ok := range []bool{
		subscribed(s.AddCallSub(CallSub{States: []string{"hangup", "missed"}, Enabled: true, Target: cc}, h1)),
		subscribed(s.AddCallSub(CallSub{States: []string{"hangup"}, Enabled: false}, h2)),
		subscribed(s.AddAgentSub(true, h2)),
	} {
		if !ok {
			t.Fatal("a subscription to a webhook just added was refused")
		}
	}

	from, to := busyHours[0], busyHours[0].Add(30*time.Minute)
	var wantSigned, wantPlain []Event
	ccIndex := int16(len(s.tr.Company().Groups) - 1)
	for _, ev := range s.Events(from, to) {
		switch {
		case ev.State == AgentStatus:
			wantPlain = append(wantPlain, ev)
		case (ev.State == "hangup" || ev.State == "missed") && (ev.leg.Target == ccIndex ||
			ev.leg.Group == ccIndex && ev.leg.Flags&(traffic.Inbound|traffic.ProxyGroup) != 0):
			wantSigned = append(wantSigned, ev)
		}
	}
	if len(wantSigned) < 5 || len(wantPlain) < 5 {
		t.Fatalf("%d call center legs ended, %d agent status changes: too few to test", len(wantSigned), len(wantPlain))
	}
	st, err := s.Deliver(t.Context(), Delivery{Subscriptions: true, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	signed.check(wantSigned)
	plain.check(wantPlain)
	if len(signed.claims) != len(wantSigned) || len(plain.claims) != len(wantPlain) ||
		st.Sent != int64(len(wantSigned)+len(wantPlain)) {
		t.Errorf("received %d and %d, want %d and %d (%+v)", len(signed.claims), len(plain.claims), len(wantSigned), len(wantPlain), st)
	}
	for _, c := range signed.claims {
		if !bytes.Contains(c, []byte(strconv.FormatInt(cc.ID, 10))) {
			t.Fatalf("a call event outside the call center: %s", c)
		}
	}
	if slices.ContainsFunc(plain.claims, func(c []byte) bool { return bytes.Contains(c, []byte(`"call_id"`)) }) {
		t.Error("a call event reached the webhook of a disabled call subscription")
	}
}

// A delivery with a backlog waits for the first subscription, then sends
// the events of the backlog before that moment to it.
func TestDeliverTheBacklogOnceSubscribed(t *testing.T) {
	t.Parallel()
	now := busyHours[0].Add(time.Hour)
	s := newTestHub(t, traffic.Config{Now: func() time.Time { return now }})
	plain := newReceiver(t, "", nil)
	done := make(chan DeliveryStats)
	go func() {
		st, err := s.Deliver(t.Context(), Delivery{Subscriptions: true, Backlog: 30 * time.Minute, To: now,
			Tick: 10 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case st := <-done:
		t.Fatalf("delivered before any subscription: %+v", st)
	default:
	}
	// The receiver subscribes to calls first: the backlog waits for its
	// agent status subscription.
	hook := webhookID(t, s.AddWebhook(plain.srv.URL, ""))
	if !subscribed(s.AddCallSub(CallSub{States: []string{"hangup"}, Enabled: true}, hook)) {
		t.Fatal("the call subscription was refused")
	}
	time.Sleep(100 * time.Millisecond)
	if !subscribed(s.AddAgentSub(true, hook)) {
		t.Fatal("the agent status subscription was refused")
	}
	st := <-done
	// Only agent status changes: the call list has the calls.
	var want []Event
	hangups := 0
	for _, ev := range s.Events(now.Add(-30*time.Minute), now) {
		switch ev.State {
		case AgentStatus:
			want = append(want, ev)
		case "hangup":
			hangups++
		}
	}
	if len(want) < 5 || hangups == 0 {
		t.Fatalf("%d agent status changes and %d hangups in the backlog: too few to test", len(want), hangups)
	}
	plain.check(want)
	if st.Delivered != int64(len(want)) {
		t.Errorf("delivered %d, want the backlog's %d agent status changes (%+v)", st.Delivered, len(want), st)
	}
}

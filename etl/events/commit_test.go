package events_test

// The receiver's group commit, on fakes: what is stored together, and
// when and how each request is answered.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Twelve requests at once, four to a group, and a group stored only
// when full (MaxWait is far off): three groups of four, each request
// answered 200 once its event is stored.
func TestConcurrentEventsAreStoredInGroupsOfMaxBatch(t *testing.T) {
	g := newFakeRig(dept)
	g.r.MaxBatch, g.r.MaxWait = 4, time.Minute
	g.run(t)
	answers := g.postAll(ids(12), func(id int64) string { return ringing(t, id) })
	for range 12 {
		a := next(t, answers)
		if a.code != http.StatusOK {
			t.Errorf("leg %d: answered %d %q, want 200", a.id, a.code, a.body)
		}
		if !a.stored {
			t.Errorf("leg %d: answered before its event and live state were stored", a.id)
		}
	}
	groups := g.store.storedGroups()
	var all []int64
	for _, grp := range groups {
		if len(grp) != 4 {
			t.Errorf("a group of %d events %v, want 4", len(grp), grp)
		}
		all = append(all, grp...)
	}
	slices.Sort(all)
	if len(groups) != 3 || !slices.Equal(all, ids(12)) {
		t.Errorf("stored %d groups %v, want legs 1 to 12 in 3 groups, each once", len(groups), groups)
	}
}

// Every target a stored event's leg goes to is recorded as seen, at the
// time the event arrived, the latest of its group; a configured target
// whose legs had no event is not (the alert on silent events measures
// from it).
func TestTheTargetsOfStoredEventsAreRecordedAsSeen(t *testing.T) {
	quiet := dialpad.Target{Type: "callcenter", ID: 900}
	g := newFakeRig(dept, other, quiet)
	g.run(t)
	before := time.Now()
	if code, body := g.post(ringing(t, 1)); code != http.StatusOK {
		t.Fatalf("answered %d %q", code, body)
	}
	between := time.Now()
	if code, body := g.post(hangup(t, 2, other, nil)); code != http.StatusOK {
		t.Fatalf("answered %d %q", code, body)
	}
	after := time.Now()
	if at := g.store.lastSeen(dept); at.Before(before) || at.After(between) {
		t.Errorf("%s seen at %v, want its event's arrival, between %v and %v", dept, at, before, between)
	}
	if at := g.store.lastSeen(other); at.Before(between) || at.After(after) {
		t.Errorf("%s seen at %v, want its event's arrival, between %v and %v", other, at, between, after)
	}
	if at := g.store.lastSeen(quiet); !at.IsZero() {
		t.Errorf("%s, which had no event, seen at %v", quiet, at)
	}
}

// A group that does not fill is stored MaxWait after its first event.
func TestAGroupThatDoesNotFillIsStoredAfterMaxWait(t *testing.T) {
	g := newFakeRig(dept)
	g.r.MaxBatch, g.r.MaxWait = 1000, 10*time.Millisecond
	g.run(t)
	if code, body := g.post(ringing(t, 1)); code != http.StatusOK {
		t.Fatalf("answered %d %q, want 200", code, body)
	}
	if groups := g.store.storedGroups(); fmt.Sprint(groups) != "[[1]]" {
		t.Errorf("stored %v, want one group of leg 1", groups)
	}
}

// While its group is being written, no request is answered; when the
// write returns, all of them are, 200.
func TestNoRequestIsAnsweredBeforeItsGroupIsWritten(t *testing.T) {
	g := newFakeRig(dept)
	g.r.MaxBatch, g.r.MaxWait = 3, time.Minute
	g.store.entered, g.store.gate = make(chan []int64, 1), make(chan struct{})
	g.run(t)
	answers := g.postAll(ids(3), func(id int64) string { return ringing(t, id) })
	select {
	case grp := <-g.store.entered:
		if len(grp) != 3 {
			t.Fatalf("writing a group of %d, want 3", len(grp))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the group was not written")
	}
	select {
	case a := <-answers:
		t.Fatalf("leg %d answered %d while its group was being written", a.id, a.code)
	case <-time.After(20 * time.Millisecond):
	}
	close(g.store.gate)
	for range 3 {
		if a := next(t, answers); a.code != http.StatusOK || !a.stored {
			t.Errorf("leg %d: answered %d, stored %v; want 200 and stored", a.id, a.code, a.stored)
		}
	}
}

// A write that fails, at any step, answers every request of its group
// 503 (Dialpad sends them again) and the next group is stored; the
// events sent again are then stored too.
func TestAFailedWriteAnswersItsGroup503AndTheNextGroupGoesOn(t *testing.T) {
	for _, method := range []string{"WriteCallEvents", "Operators", "WriteLiveCalls", "WriteTargetsSeen", "KeepListCopies", "WriteLegsEach"} {
		t.Run(method, func(t *testing.T) {
			g := newFakeRig(dept)
			g.r.MaxBatch, g.r.MaxWait = 3, time.Minute
			g.run(t)
			switch method {
			case "KeepListCopies", "WriteLegsEach":
				g.legs.failNext(method, 1)
			default:
				g.store.failNext(method, 1)
			}
			final := func(id int64) string { return hangup(t, id, dept, nil) }
			answers := g.postAll(ids(6), final)
			var refused, ok []int64
			for range 6 {
				switch a := next(t, answers); a.code {
				case http.StatusServiceUnavailable:
					refused = append(refused, a.id)
				case http.StatusOK:
					ok = append(ok, a.id)
					if _, stored := g.legs.leg(dept, uint64(a.id)); !stored {
						t.Errorf("leg %d answered 200 and not in calls", a.id)
					}
				default:
					t.Errorf("leg %d: answered %d %q, want 200 or 503", a.id, a.code, a.body)
				}
			}
			tried := g.store.triedGroups()
			slices.Sort(refused)
			slices.Sort(ok)
			first := slices.Sorted(slices.Values(tried[0]))
			if !slices.Equal(refused, first) || len(ok) != 3 {
				t.Fatalf("answered 503 %v and 200 %v; want 503 for the first group %v, 200 for the 3 others", refused, ok, first)
			}
			// Dialpad sends the refused ones again.
			for _, a := range drain(t, g.postAll(refused, final), 3) {
				if a.code != http.StatusOK {
					t.Errorf("leg %d sent again: answered %d %q, want 200", a.id, a.code, a.body)
				}
			}
			for _, id := range ids(6) {
				if _, stored := g.legs.leg(dept, uint64(id)); !stored || !g.store.stored(id) {
					t.Errorf("leg %d: event stored %v, leg stored %v; want both", id, g.store.stored(id), stored)
				}
			}
		})
	}
}

// drain is the next n answers of ch.
func drain(t *testing.T, ch <-chan answer, n int) []answer {
	t.Helper()
	var out []answer
	for range n {
		out = append(out, next(t, ch))
	}
	return out
}

// A request whose group is not stored within Answer is answered 503:
// Dialpad would give up waiting anyway, and sends it again.
func TestAWriteSlowerThanAnswerIsAnswered503(t *testing.T) {
	g := newFakeRig(dept)
	g.r.Answer = 20 * time.Millisecond
	g.store.gate = make(chan struct{})
	g.run(t)
	// The write returns after 5 s at the latest, should the receiver
	// wait for it.
	release := time.AfterFunc(5*time.Second, func() { close(g.store.gate) })
	code, body := g.post(ringing(t, 1))
	if release.Stop() {
		close(g.store.gate)
	}
	if code != http.StatusServiceUnavailable {
		t.Errorf("answered %d %q while its event was being written, want 503", code, body)
	}
}

// When Queue events wait, the next request is answered 503 at once,
// without waiting for anything to be stored; it is not stored.
func TestAFullQueueAnswers503AtOnce(t *testing.T) {
	g := newFakeRig(dept)
	g.r.Queue = 1
	// Not running: nothing takes the queued event, so one of the two is
	// refused, and the other waits in the queue.
	answers := g.postAll(ids(2), func(id int64) string { return ringing(t, id) })
	refused := next(t, answers)
	if refused.code != http.StatusServiceUnavailable {
		t.Fatalf("leg %d answered %d %q with the queue full, want 503", refused.id, refused.code, refused.body)
	}
	g.run(t)
	queued := next(t, answers)
	if queued.code != http.StatusOK {
		t.Errorf("the queued leg %d answered %d %q, want 200", queued.id, queued.code, queued.body)
	}
	if groups := g.store.storedGroups(); fmt.Sprint(groups) != fmt.Sprintf("[[%d]]", queued.id) {
		t.Errorf("stored %v, want only the queued leg %d", groups, queued.id)
	}
}

// A body not signed HS256 with the secret is 401, one that is not an
// event 400; none is stored, and no answer repeats the body.
func TestRefusedBodiesAreStoredNowhereAndNotRepeated(t *testing.T) {
	g := newFakeRig(dept)
	g.run(t)
	claims := event(2001, "hangup", started.UnixMilli(), map[string]any{"date_started": started.UnixMilli()})
	seg := base64.RawURLEncoding.EncodeToString
	another, err := wire.SignEvent([]byte(claims), []byte("another-secret-of-enough-length"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		code       int
	}{
		{"another secret", another, http.StatusUnauthorized},
		{"alg none", seg([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + seg([]byte(claims)) + ".", http.StatusUnauthorized},
		{"plain JSON", claims, http.StatusBadRequest},
		{"garbage", "not a token at all", http.StatusBadRequest},
		{"signed, not an event", sign(t, `{"hello":"world"}`), http.StatusBadRequest},
		{"signed, a leg without a state", sign(t, strings.Replace(claims, `"state":"hangup"`, `"state":""`, 1)), http.StatusBadRequest},
	}
	for _, c := range cases {
		code, answer := g.post(c.body)
		if code != c.code {
			t.Errorf("%s: %d %q, want %d", c.name, code, answer, c.code)
		}
		if strings.Contains(answer, "2001") || strings.Contains(answer, "Dana") || strings.Contains(answer, c.body[:8]) {
			t.Errorf("%s: the answer %q repeats the body", c.name, answer)
		}
	}
	// An event after them is stored alone: the queue is first in, first
	// out, so nothing of theirs waits behind it.
	if code, body := g.post(ringing(t, 1)); code != http.StatusOK {
		t.Fatalf("a signed event after them: %d %q", code, body)
	}
	if groups := g.store.storedGroups(); fmt.Sprint(groups) != "[[1]]" {
		t.Errorf("stored %v, want only leg 1", groups)
	}
	if _, ok := g.store.liveState(dept, 2001); ok {
		t.Errorf("a refused leg has a live state")
	}
	if _, ok := g.legs.leg(dept, 2001); ok {
		t.Errorf("a refused final event was written to calls")
	}
}

// Run, its context ended, stores what was queued (in groups of at most
// MaxBatch), answers it, recomputes the days it touched, and returns.
func TestRunStoresWhatIsQueuedThenReturns(t *testing.T) {
	g := newFakeRig(dept)
	g.r.Queue, g.r.MaxBatch, g.r.MaxWait = 3, 2, time.Minute
	// Four posted before Run: one is refused, three are queued.
	answers := g.postAll(ids(4), func(id int64) string { return hangup(t, id, dept, nil) })
	if a := next(t, answers); a.code != http.StatusServiceUnavailable {
		t.Fatalf("leg %d answered %d with the queue full, want 503", a.id, a.code)
	}
	stop := g.run(t)
	// The first two fill a group; the third waits for a second event
	// that does not come, or for MaxWait, a minute away.
	for _, a := range drain(t, answers, 2) {
		if a.code != http.StatusOK {
			t.Fatalf("leg %d answered %d, want 200", a.id, a.code)
		}
	}
	stop()
	if a := next(t, answers); a.code != http.StatusOK || !a.stored {
		t.Errorf("the last queued leg %d: answered %d, stored %v; want 200, stored", a.id, a.code, a.stored)
	}
	groups := g.store.storedGroups()
	if len(groups) != 2 || len(groups[0]) != 2 || len(groups[1]) != 1 {
		t.Errorf("stored %v, want a group of 2, then of 1", groups)
	}
	// Recomputed once, at the end (RecomputeEvery is a minute): the day
	// of the legs, 6 March, and those a restart recomputes anyway, the
	// clock's (10 March) and the day before.
	want := []string{"2026-03-06", "2026-03-09", "2026-03-10"}
	if got := g.derived.days(dept); !slices.Equal(got, want) {
		t.Errorf("recomputed the days %v of the department, want %v", got, want)
	}
}

// Run with its context ended before it starts stores what was queued,
// in groups of at most MaxBatch, answers it, and returns. Which queued
// events it takes before it sees its context ended is chance (Go picks
// among ready cases at random), so the test has ten goes at it.
func TestRunEndedAtOnceStoresTheQueue(t *testing.T) {
	for range 10 {
		g := newFakeRig(dept)
		g.r.Queue, g.r.MaxBatch = 3, 2
		answers := g.postAll(ids(4), func(id int64) string { return ringing(t, id) })
		if a := next(t, answers); a.code != http.StatusServiceUnavailable {
			t.Fatalf("leg %d answered %d with the queue full, want 503", a.id, a.code)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan struct{})
		go func() { g.r.Run(ctx); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		for _, a := range drain(t, answers, 3) {
			if a.code != http.StatusOK {
				t.Errorf("queued leg %d answered %d, want 200", a.id, a.code)
			}
		}
		var n int
		for _, grp := range g.store.storedGroups() {
			if len(grp) > 2 {
				t.Errorf("a group of %d, want at most 2", len(grp))
			}
			n += len(grp)
		}
		if n != 3 {
			t.Fatalf("stored %v, want the 3 queued legs", g.store.storedGroups())
		}
	}
}

package events_test

// The events after a call (csat, pcsat, dispositions), on fakes: their
// feedback goes to call_feedback under every target the leg is
// attributed to, and its day is recomputed.

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// feedbackEvent is an event of state of Ana's leg 3002 of a call into
// the department, placed as the other target too, at ms after its
// start; more adds to its fields.
func feedbackEvent(t *testing.T, state string, after time.Duration, more map[string]any) string {
	ms := started.UnixMilli()
	f := map[string]any{"date_started": ms, "date_connected": ms + 5000, "date_ended": ms + 60000,
		"target":             map[string]any{"id": 11, "type": "user", "name": "Ana"},
		"entry_point_target": map[string]any{"id": dept.ID, "type": "department"},
		"proxy_target":       map[string]any{"id": other.ID, "type": "department"}}
	for k, v := range more {
		f[k] = v
	}
	return sign(t, event(3002, state, ms+after.Milliseconds(), f))
}

// A survey's score and comments (hostile text among them, kept as
// sent), Dialpad's predicted score and the agent's dispositions (as
// strings and objects, one twice) are each one row per target the leg
// belongs to, dated by the leg's start and told at the event's time;
// an event that tells nothing, and a ringing one, store none. The leg's
// day in New York is recomputed for both targets.
func TestFeedbackEventsAreStoredPerTargetAndTheirDayRecomputed(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeRig(dept, other)
	g.r.Location, g.r.RecomputeEvery = ny, 10*time.Millisecond
	g.run(t)
	hostile := `'); DROP TABLE calls; -- <script>alert("x")</script>`
	for _, body := range []string{
		feedbackEvent(t, "csat", 2*time.Minute, map[string]any{"csat_score": "", "csat_transcriptions": []string{}}),
		feedbackEvent(t, "pcsat", 2*time.Minute, map[string]any{"pcsat_score": nil}),
		feedbackEvent(t, "dispositions", 2*time.Minute, map[string]any{"dispositions": []any{}}),
		feedbackEvent(t, "ringing", 0, map[string]any{"csat_score": "5"}),
	} {
		if code, text := g.post(body); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	if n := g.store.feedbackRows(); n != 0 {
		t.Fatalf("events that tell nothing stored %d rows of feedback", n)
	}
	for _, body := range []string{
		feedbackEvent(t, "csat", 3*time.Minute, map[string]any{"csat_score": "5", "csat_transcriptions": []string{"Great", hostile}}),
		feedbackEvent(t, "pcsat", 4*time.Minute, map[string]any{"pcsat_score": 4}),
		feedbackEvent(t, "dispositions", 5*time.Minute, map[string]any{"dispositions": []any{"Refund", map[string]any{"id": 9, "name": "Billing"}, "Refund"}}),
	} {
		if code, text := g.post(body); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	want := []events.Feedback{
		{CallID: 3002, Kind: events.KindCSAT, Score: "5", Comments: []string{"Great", hostile}, At: started.Add(3 * time.Minute)},
		{CallID: 3002, Kind: events.KindPCSAT, Score: "4", At: started.Add(4 * time.Minute)},
		{CallID: 3002, Kind: events.KindDisposition, Names: []string{"Billing", "Refund"}, At: started.Add(5 * time.Minute)},
	}
	for _, target := range []dialpad.Target{dept, other} {
		for _, w := range want {
			w.Target, w.Started, w.Source, w.Extra = target, started, events.SourceEvent, "{}"
			got, ok := g.store.feedbackOf(target, 3002, w.Kind)
			if !ok || !sameFeedback(got, w) {
				t.Errorf("%s %s: stored %v %+v\nwant %+v", target, w.Kind, ok, got, w)
			}
		}
	}
	if n := g.store.feedbackRows(); n != 6 {
		t.Errorf("%d rows of feedback, want 6 (3 kinds, 2 targets)", n)
	}
	// 02:30 UTC of the 6th is the evening of the 5th in New York.
	for _, target := range []dialpad.Target{dept, other} {
		testkit.Eventually(t, 10*time.Second, "the leg's day recomputed for "+target.String(), func() bool {
			return slices.Contains(g.derived.days(target), "2026-03-05")
		})
	}
}

// Of one leg and kind the event told last wins, whatever the order of
// arrival: a later survey answer replaces the earlier one, and an
// earlier one arriving late changes nothing.
func TestTheLatestFeedbackEventWins(t *testing.T) {
	g := newFakeRig(dept)
	g.run(t)
	for _, e := range []struct {
		after time.Duration
		score string
	}{{3 * time.Minute, "2"}, {6 * time.Minute, "4"}, {4 * time.Minute, "1"}} {
		if code, text := g.post(feedbackEvent(t, "csat", e.after, map[string]any{"csat_score": e.score})); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	if got, _ := g.store.feedbackOf(dept, 3002, events.KindCSAT); got.Score != "4" || !got.At.Equal(started.Add(6*time.Minute)) {
		t.Errorf("stored score %q told at %v, want 4 told at %v", got.Score, got.At, started.Add(6*time.Minute))
	}
}

// A write of feedback that fails answers 503, so Dialpad sends the
// event again, and marks no day; the event sent again is stored and
// its day recomputed.
func TestAFailedFeedbackWriteIsAnswered503(t *testing.T) {
	g := newFakeRig(dept)
	g.r.RecomputeEvery = 10 * time.Millisecond
	g.run(t)
	g.store.failNext("WriteFeedback", 1)
	body := feedbackEvent(t, "dispositions", time.Minute, map[string]any{"dispositions": []string{"Sales"}})
	if code, _ := g.post(body); code != http.StatusServiceUnavailable {
		t.Fatalf("a failed write answered %d, want 503", code)
	}
	if _, ok := g.store.feedbackOf(dept, 3002, events.KindDisposition); ok {
		t.Fatal("a failed write stored its feedback")
	}
	if code, text := g.post(body); code != http.StatusOK {
		t.Fatalf("sent again: %d %q", code, text)
	}
	if got, ok := g.store.feedbackOf(dept, 3002, events.KindDisposition); !ok || !slices.Equal(got.Names, []string{"Sales"}) {
		t.Errorf("sent again: stored %v %q, want Sales", ok, got.Names)
	}
	testkit.Eventually(t, 10*time.Second, "the leg's day recomputed", func() bool {
		return slices.Contains(g.derived.days(dept), started.Format(time.DateOnly))
	})
}

func sameFeedback(a, b events.Feedback) bool {
	return a.Target == b.Target && a.CallID == b.CallID && a.Kind == b.Kind && a.Started.Equal(b.Started) &&
		a.Score == b.Score && slices.Equal(a.Comments, b.Comments) && slices.Equal(a.Names, b.Names) &&
		a.Source == b.Source && a.Extra == b.Extra && a.At.Equal(b.At)
}

// An event after the leg ended (its survey, its dispositions) leaves the
// leg ended: the wallboard must not count a finished call as live.
func TestFeedbackEventsLeaveTheLegEnded(t *testing.T) {
	g := newFakeRig(dept)
	g.run(t)
	for _, body := range []string{
		feedbackEvent(t, "hangup", time.Minute, nil),
		feedbackEvent(t, "csat", 3*time.Minute, map[string]any{"csat_score": "5"}),
		feedbackEvent(t, "pcsat", 4*time.Minute, map[string]any{"pcsat_score": "4"}),
		feedbackEvent(t, "dispositions", 5*time.Minute, map[string]any{"dispositions": []any{"Refund"}}),
	} {
		if code, text := g.post(body); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the feedback stored", func() bool { return g.store.feedbackRows() == 3 })
	g.store.mu.Lock()
	defer g.store.mu.Unlock()
	if l, ok := g.store.live[liveKey{dept, 3002}]; !ok || l.Event.State != "hangup" {
		t.Errorf("the leg's live state is %+v (found %v); want its hangup", l.Event, ok)
	}
}

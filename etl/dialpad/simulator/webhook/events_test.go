package webhook

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// eventDay is a Thursday inside the default test range.
var eventDay = simtest.End.Add(-4 * 24 * time.Hour)

func dayEvents(t testing.TB, s *Hub) []Event {
	t.Helper()
	evs := s.Events(eventDay, eventDay.Add(24*time.Hour))
	if len(evs) < 1000 {
		t.Fatalf("%d events on %s, want a busy day", len(evs), eventDay.Format(time.DateOnly))
	}
	return evs
}

func TestEventsAreOrderedPerLeg(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	evs := dayEvents(t, s)
	byLeg := map[int64][]wire.CallEvent{}
	for i, ev := range evs {
		if i > 0 && ev.At.Before(evs[i-1].At) {
			t.Fatalf("event %d at %v before event %d at %v", i, ev.At, i-1, evs[i-1].At)
		}
		if ev.At.Before(eventDay) || !ev.At.Before(eventDay.Add(24*time.Hour)) {
			t.Fatalf("event at %v outside the day", ev.At)
		}
		d, err := wire.DecodeEvent(ev.Claims)
		if err != nil {
			t.Fatalf("event %d does not decode: %v\n%s", i, err, ev.Claims)
		}
		if ev.State == AgentStatus {
			if d.Agent == nil || ev.CallID != 0 || time.UnixMilli(int64(d.Agent.EventTimestamp)).Compare(ev.At) != 0 {
				t.Fatalf("agent status event %d: %+v, call id %d", i, d.Agent, ev.CallID)
			}
			continue
		}
		c := d.Call
		if c == nil || int64(c.CallID) != ev.CallID || c.State != ev.State || ev.Final != wire.IsFinal(ev.State) ||
			time.UnixMilli(int64(c.EventTimestamp)).Compare(ev.At) != 0 ||
			!slices.Contains(wire.CallStates, c.State) && !slices.Contains(afterStates, c.State) {
			t.Fatalf("call event %d (%s at %v, call %d, final %v) decodes as %+v", i, ev.State, ev.At, ev.CallID, ev.Final, c)
		}
		if slices.Contains(afterStates, c.State) {
			continue // TestEventsAfterTheCall
		}
		if !ev.Final && (c.DateEnded != 0 || c.Duration != 0 || bytes.Contains(ev.Claims, []byte(`"recording_details"`))) {
			t.Errorf("%s event of call %d knows the end: %s", ev.State, ev.CallID, ev.Claims)
		}
		if c.DateConnected != 0 && c.EventTimestamp < c.DateConnected || c.DateRang != 0 && c.EventTimestamp < c.DateRang {
			t.Errorf("%s event of call %d at %d knows the future: %s", ev.State, ev.CallID, c.EventTimestamp, ev.Claims)
		}
		byLeg[ev.CallID] = append(byLeg[ev.CallID], *c)
	}

	legIndex := map[int64]int{}
	for i, l := range s.tr.List() {
		legIndex[l.ID] = i
	}
	var holds, holdable int
	for id, seq := range byLeg {
		states := make([]string, len(seq))
		for i, c := range seq {
			states[i] = c.State
			if i > 0 && c.EventTimestamp <= seq[i-1].EventTimestamp {
				t.Errorf("call %d: %s at %d not after %s at %d", id, c.State, c.EventTimestamp, seq[i-1].State, seq[i-1].EventTimestamp)
			}
		}
		last := seq[len(seq)-1]
		if seq[0].DateStarted < wire.Millis(eventDay.UnixMilli()) || !wire.IsFinal(last.State) {
			continue // started the day before, or ends the day after: partly outside
		}
		entry := last.Target.Type != "user"
		want := []string{"ringing"}
		switch {
		case entry:
			want = append(want, "queued")
		case last.Direction == "outbound":
			want = []string{"calling", "ringing"}
		}
		if last.DateConnected != 0 {
			want = append(want, "connected")
			if !entry {
				holdable++
			}
			if len(seq) == len(want)+3 {
				want = append(want, "hold", "connected")
				holds++
				hold, talk := float64(last.HoldTime), float64(last.TalkTime)
				if hold < 1000 || hold > 60_000 || talk+hold != float64(last.DateEnded-last.DateConnected) {
					t.Errorf("call %d: hold %v ms, talk %v ms, connected %d ms", id, hold, talk, last.DateEnded-last.DateConnected)
				}
			}
		}
		want = append(want, last.State)
		if !slices.Equal(states, want) {
			t.Errorf("call %d (%s, target %s): states %v, want %v", id, last.Direction, last.Target.Type, states, want)
		}
		if last.EventTimestamp != last.DateEnded {
			t.Errorf("call %d: final event at %d, date_ended %d", id, last.EventTimestamp, last.DateEnded)
		}
		switch first := seq[0]; {
		case entry && (first.DateQueued != 0 || last.DateQueued != last.DateRang ||
			last.DateFirstRang <= last.DateStarted && s.tr.List()[legIndex[id]].Flags&traffic.AgentRang != 0 ||
			last.DateFirstRang != 0 && s.tr.List()[legIndex[id]].Flags&traffic.AgentRang == 0):
			t.Errorf("entry leg %d: date_queued %d then %d, date_rang %d, date_first_rang %d", id,
				first.DateQueued, last.DateQueued, last.DateRang, last.DateFirstRang)
		case !entry && (last.DateQueued != 0 || last.DateFirstRang != last.DateRang):
			t.Errorf("leg %d: date_queued %d, date_first_rang %d, date_rang %d", id, last.DateQueued, last.DateFirstRang, last.DateRang)
		}
	}
	if share := float64(holds) / float64(holdable); share < 0.2 || share > 0.4 {
		t.Errorf("%d of %d connected agent and outbound legs went on hold, want about 30%%", holds, holdable)
	}
}

// TestFinalEventsMatchTheList: a final event, decoded, is the list's leg.
func TestFinalEventsMatchTheList(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	list := map[wire.ID]wire.Call{}
	for _, tg := range s.tr.Targets() {
		for _, raw := range s.tr.Legs(tg, eventDay.Add(-24*time.Hour), eventDay.Add(24*time.Hour)) {
			c, err := wire.DecodeCall(raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.DateEnded >= wire.Millis(eventDay.UnixMilli()) && c.DateEnded < wire.Millis(eventDay.Add(24*time.Hour).UnixMilli()) {
				list[c.CallID] = c
			}
		}
	}
	finals := 0
	for _, ev := range dayEvents(t, s) {
		if !ev.Final {
			continue
		}
		finals++
		d, err := wire.DecodeEvent(ev.Claims)
		if err != nil {
			t.Fatal(err)
		}
		got := d.Call.Call
		want, ok := list[got.CallID]
		if !ok {
			t.Errorf("final event of call %d: no such leg ended that day in the list", got.CallID)
			continue
		}
		got.Raw, want.Raw = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("call %d: the final event gives\n%+v\nthe list\n%+v", got.CallID, got, want)
		}
		if got.HasVoicemail() != want.HasVoicemail() {
			t.Errorf("call %d: voicemail %v in the event, %v in the list", got.CallID, got.HasVoicemail(), want.HasVoicemail())
		}
	}
	if finals != len(list) || finals < 500 {
		t.Errorf("%d final events, %d legs of the list ended that day", finals, len(list))
	}
}

// TestEventsAreTheSameWhateverTheRange: an hour's events are the same
// asked alone, as part of the day, or from a simulator of another range.
func TestEventsAreTheSameWhateverTheRange(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	short := newTestHub(t, traffic.Config{Start: eventDay.Add(-24 * time.Hour), End: eventDay.Add(48 * time.Hour)})
	day := dayEvents(t, s)
	var fromHours []Event
	for h := range 24 {
		from := eventDay.Add(time.Duration(h) * time.Hour)
		fromHours = append(fromHours, s.Events(from, from.Add(time.Hour))...)
	}
	other := short.Events(eventDay, eventDay.Add(24*time.Hour))
	for name, evs := range map[string][]Event{"hour by hour": fromHours, "another range": other} {
		if len(evs) != len(day) {
			t.Fatalf("%s: %d events, the day at once %d", name, len(evs), len(day))
		}
		for i := range evs {
			if !evs[i].At.Equal(day[i].At) || evs[i].CallID != day[i].CallID || !bytes.Equal(evs[i].Claims, day[i].Claims) {
				t.Fatalf("%s: event %d differs:\n%s\n%s", name, i, evs[i].Claims, day[i].Claims)
			}
		}
	}
}

func TestAgentStatusFollowsTheLegs(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	type change struct {
		at     int64
		status wire.AgentStatusEvent
	}
	byAgent := map[wire.ID][]change{}
	for _, ev := range s.Events(eventDay.Add(-24*time.Hour), eventDay.Add(24*time.Hour)) { // the day and the one before
		if ev.State != AgentStatus {
			continue
		}
		var a wire.AgentStatusEvent
		if err := json.Unmarshal(ev.Claims, &a); err != nil {
			t.Fatal(err)
		}
		if a.Date != a.EventTimestamp || a.Target.Type != "user" || a.Target.Name == "" {
			t.Errorf("agent event %s", ev.Claims)
		}
		if (a.AvailabilityStatus == "available") != (len(a.CallCenterIDs) == 1) ||
			(a.OnDutyStatus == "unavailable") != (a.AvailabilityStatus == "unavailable") {
			t.Errorf("agent event: on duty %q, availability %q, call centers %v", a.OnDutyStatus, a.AvailabilityStatus, a.CallCenterIDs)
		}
		byAgent[a.Target.ID] = append(byAgent[a.Target.ID], change{ev.At.UnixMilli(), a})
	}
	if len(byAgent) != len(s.operators) || len(s.operators) < 3 {
		t.Fatalf("status events for %d agents, the call center has %d operators", len(byAgent), len(s.operators))
	}
	statusAt := func(cs []change, t int64) string {
		i, _ := slices.BinarySearchFunc(cs, t+1, func(c change, t int64) int { return int(c.at - t) })
		if i == 0 {
			return ""
		}
		return cs[i-1].status.OnDutyStatus
	}
	local := eventDay.Add(12 * time.Hour).In(s.tr.Location()) // Thursday: 07:00 to 19:00 local lie in the UTC day
	for _, pi := range s.operators {
		p := s.tr.Company().Parties[pi]
		cs := byAgent[wire.ID(p.ID)]
		for i, c := range cs {
			if i > 0 && (c.at <= cs[i-1].at || c.status.OnDutyStatus == cs[i-1].status.OnDutyStatus &&
				c.status.OnDutyStatusReason == cs[i-1].status.OnDutyStatusReason) {
				t.Errorf("%s: %v at %d after %v at %d", p.Name, c.status.OnDutyStatus, c.at, cs[i-1].status.OnDutyStatus, cs[i-1].at)
			}
			if i > 0 && c.status.OnDutyStatus == "wrapup" && cs[i-1].status.OnDutyStatus != "occupied" ||
				i > 0 && cs[i-1].status.OnDutyStatus == "wrapup" && c.at-cs[i-1].at > maxWrapup {
				t.Errorf("%s: %s at %d after %s at %d", p.Name, c.status.OnDutyStatus, c.at, cs[i-1].status.OnDutyStatus, cs[i-1].at)
			}
		}
		// Every connected leg of the agent that day keeps them occupied.
		legs := simtest.DecodeLegs(t, s.tr.Legs(s.tr.Company().Target(pi), eventDay.Add(time.Hour), eventDay.Add(23*time.Hour)))
		for _, l := range legs {
			if l.DateConnected == 0 {
				continue
			}
			for _, at := range []int64{int64(l.DateConnected), int64(l.DateEnded) - 1} {
				if got := statusAt(cs, at); got != "occupied" {
					t.Errorf("%s: %s at %d, during their call %d", p.Name, got, at, l.CallID)
				}
			}
			if got := statusAt(cs, int64(l.DateEnded)); got != "occupied" && got != "wrapup" {
				t.Errorf("%s: %s when their call %d ended", p.Name, got, l.CallID)
			}
		}
		y, m, d := local.Date()
		for h, want := range map[int][]string{7: {"unavailable"}, 10: {"available"}, 19: {"unavailable"}} {
			at := time.Date(y, m, d, h, 0, 0, 0, s.tr.Location()).UnixMilli()
			if got := statusAt(cs, at); !slices.Contains(append(want, "occupied", "wrapup"), got) {
				t.Errorf("%s: %s at %d:00 local, want %s (or on a call)", p.Name, got, h, want[0])
			}
		}
	}
}

func BenchmarkEventsDay(b *testing.B) {
	s := newTestHub(b, traffic.Config{CallsPerDay: 1300, Start: simtest.End.Add(-7 * 24 * time.Hour)})
	day := simtest.End.Add(-6 * 24 * time.Hour) // a Tuesday: about 10,000 legs
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Events(day, day.Add(24*time.Hour))) < 30_000 {
			b.Fatal("too few events")
		}
	}
}

package webhook

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// afterStates are the states of the events that follow a call's end.
var afterStates = []string{evCSAT, evPCSAT, evDispositions}

// afterEvent is what an event after the call carries besides the leg.
type afterEvent struct {
	PCSATScore   *string `json:"pcsat_score"`
	Dispositions []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"dispositions"`
}

// TestEventsAfterTheCall: each leg that ended on the day has a csat
// event when it has a csat_score, a pcsat event when it has a predicted
// score and a dispositions event when it has dispositions, within
// minutes after its end and in time order; each carries the leg as the
// list has it, and what it tells, as the helpers decide it.
func TestEventsAfterTheCall(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	co := s.tr.Company()
	list := map[wire.ID]wire.Call{}
	legs := map[wire.ID]*traffic.Leg{}
	for i := range s.tr.List() {
		legs[wire.ID(s.tr.List()[i].ID)] = &s.tr.List()[i]
	}
	dayEnd := eventDay.Add(24 * time.Hour)
	for _, tg := range s.tr.Targets() {
		for _, raw := range s.tr.Legs(tg, eventDay.Add(-24*time.Hour), dayEnd) {
			c, err := wire.DecodeCall(raw)
			if err != nil {
				t.Fatal(err)
			}
			// Those whose events after the end all fall on the day.
			if c.DateEnded >= wire.Millis(eventDay.UnixMilli()) && c.DateEnded < wire.Millis(dayEnd.UnixMilli()-maxAfterEnd) {
				list[c.CallID] = c
			}
		}
	}
	got := map[wire.ID][]string{}
	counts := map[string]int{}
	for _, ev := range dayEvents(t, s) {
		if !slices.Contains(afterStates, ev.State) {
			continue
		}
		d, err := wire.DecodeEvent(ev.Claims)
		if err != nil {
			t.Fatal(err)
		}
		c := d.Call.Call
		want, ok := list[c.CallID]
		if !ok {
			continue
		}
		counts[ev.State]++
		if at := d.Call.EventTimestamp; at <= want.DateEnded || at > want.DateEnded+maxAfterEnd || ev.Final {
			t.Errorf("%s event of leg %d at %d, final %v: date_ended %d", ev.State, c.CallID, at, ev.Final, want.DateEnded)
		}
		if c.State != ev.State {
			t.Errorf("%s event of leg %d has state %q", ev.State, c.CallID, c.State)
		}
		c.State, c.Raw, want.Raw = want.State, nil, nil
		if !reflect.DeepEqual(c, want) {
			t.Errorf("leg %d: the %s event gives\n%+v\nthe list\n%+v", c.CallID, ev.State, c, want)
		}
		var extra afterEvent
		if err := json.Unmarshal(ev.Claims, &extra); err != nil {
			t.Fatal(err)
		}
		l := legs[c.CallID]
		h, _ := s.tr.LegHashes(l)
		var names []string
		for _, d := range extra.Dispositions {
			names = append(names, d.Name)
			if d.ID != strconv.FormatInt(co.DispositionID(d.Name), 10) || co.DispositionID(d.Name) == 0 {
				t.Errorf("leg %d: disposition %+v", c.CallID, d)
			}
		}
		pcsat := ""
		if extra.PCSATScore != nil {
			pcsat = *extra.PCSATScore
		}
		switch ev.State {
		case evCSAT:
			if c.CSATScore == "" || !slices.Equal(c.CSATComments, traffic.CSATComments(l, h)) {
				t.Errorf("leg %d: csat event with score %q, comments %q", c.CallID, c.CSATScore, c.CSATComments)
			}
		case evPCSAT:
			if pcsat == "" || pcsat != co.PCSATScore(l, h) {
				t.Errorf("leg %d: pcsat event with pcsat_score %q, want %q", c.CallID, pcsat, co.PCSATScore(l, h))
			}
		case evDispositions:
			if len(names) == 0 || !slices.Equal(names, co.Dispositions(l, h)) {
				t.Errorf("leg %d: dispositions event with %q, want %q", c.CallID, names, co.Dispositions(l, h))
			}
		}
		if ev.State != evPCSAT && extra.PCSATScore != nil || ev.State != evDispositions && extra.Dispositions != nil {
			t.Errorf("leg %d: a %s event with pcsat %q and dispositions %q", c.CallID, ev.State, pcsat, names)
		}
		got[c.CallID] = append(got[c.CallID], ev.State)
	}
	for id, c := range list {
		l := legs[id]
		h, _ := s.tr.LegHashes(l)
		var want []string
		if co.Dispositions(l, h) != nil {
			want = append(want, evDispositions)
		}
		if co.PCSATScore(l, h) != "" {
			want = append(want, evPCSAT)
		}
		if c.CSATScore != "" {
			want = append(want, evCSAT)
		}
		have := slices.Clone(got[id])
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			t.Errorf("leg %d: events after the call %v, want %v", id, got[id], want)
		}
	}
	t.Logf("%d legs ended: %v events after the call", len(list), counts)
	if counts[evCSAT] < 20 || counts[evPCSAT] < 20 || counts[evDispositions] < 20 {
		t.Errorf("events after the call %v, want many of each", counts)
	}
}

// TestDeliverOnlyTheCallStatesAsked: a delivery to a URL sends the call
// events of its CallStates, and the agent status events.
func TestDeliverOnlyTheCallStatesAsked(t *testing.T) {
	t.Parallel()
	s := newTestHub(t, traffic.Config{})
	rc := newReceiver(t, "", nil)
	from, to := busyHours[0], busyHours[0].Add(time.Hour)
	var want []Event
	after := 0
	for _, ev := range s.Events(from, to) {
		switch {
		case ev.State == AgentStatus || ev.State == "hangup" || ev.State == evCSAT:
			want = append(want, ev)
		case slices.Contains(afterStates, ev.State):
			after++
		}
	}
	if after == 0 {
		t.Fatal("no pcsat or dispositions event in the hour: the test shows nothing")
	}
	st, err := s.Deliver(t.Context(), Delivery{URL: rc.srv.URL, From: from, To: to, CallStates: []string{"hangup", evCSAT}})
	if err != nil {
		t.Fatal(err)
	}
	rc.check(want)
	if st.Delivered != int64(len(want)) {
		t.Errorf("delivered %d, want %d (%+v)", st.Delivered, len(want), st)
	}
}

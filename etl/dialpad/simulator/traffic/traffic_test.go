package traffic_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestSameSeedSameLegs(t *testing.T) {
	a, b := simtest.NewTraffic(t, traffic.Config{Seed: 7}), simtest.NewTraffic(t, traffic.Config{Seed: 7})
	other := simtest.NewTraffic(t, traffic.Config{Seed: 8})
	from, to := simtest.End.Add(-14*24*time.Hour), simtest.End
	for i, tg := range a.Targets() {
		if tg != b.Targets()[i] {
			t.Fatalf("targets differ: %v vs %v", a.Targets(), b.Targets())
		}
		la, lb := a.Legs(tg, from, to), b.Legs(tg, from, to)
		if len(la) == 0 || !simtest.EqualRaw(la, lb) {
			t.Errorf("%v: seed 7 twice gave %d and %d legs, not byte-identical", tg, len(la), len(lb))
		}
		if simtest.EqualRaw(la, other.Legs(other.Targets()[i], from, to)) {
			t.Errorf("%v: seeds 7 and 8 gave the same legs", tg)
		}
	}
	if a.Targets()[0].ID != traffic.FirstDepartmentID || other.Targets()[0].ID != traffic.FirstDepartmentID {
		t.Errorf("first department = %v, want id %d whatever the seed", a.Targets()[0], traffic.FirstDepartmentID)
	}
}

func TestDayIsTheSameWhateverTheRange(t *testing.T) {
	long := simtest.NewTraffic(t, traffic.Config{})
	short := simtest.NewTraffic(t, traffic.Config{Start: simtest.End.Add(-3 * 24 * time.Hour)})
	day := simtest.End.Add(-2 * 24 * time.Hour)
	for _, tg := range long.Targets() {
		l, s := long.Legs(tg, day, day.Add(24*time.Hour)), short.Legs(tg, day, day.Add(24*time.Hour))
		if len(l) == 0 || !simtest.EqualRaw(l, s) {
			t.Errorf("%v on %s: %d legs from a 14-day range, %d from a 3-day one, not identical", tg, day.Format(time.DateOnly), len(l), len(s))
		}
	}
}

func TestTargets(t *testing.T) {
	s := simtest.NewTraffic(t, traffic.Config{})
	types := map[string]int{}
	for _, tg := range s.Targets() {
		types[tg.Type]++
	}
	if types["department"] < 2 || types["callcenter"] != 1 {
		t.Errorf("targets %v: want >= 2 departments and 1 call center", s.Targets())
	}
}

var msPattern = regexp.MustCompile(`^1[0-9]{12}$`)

func TestWireEncoding(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	legs := simtest.AllLegs(t, s, simtest.Start, simtest.End.Add(24*time.Hour))
	ids := map[wire.ID]bool{}
	emptyProxy := 0
	for _, l := range legs {
		if ids[l.CallID] {
			t.Fatalf("call_id %d listed twice", l.CallID)
		}
		ids[l.CallID] = true
		for k, v := range l.Keys {
			switch {
			case string(v) == "null":
				t.Fatalf("%s is null in %s; unset fields must be omitted", k, v)
			case k == "call_id" || strings.HasSuffix(k, "_call_id"):
				var str string
				if json.Unmarshal(v, &str) != nil || !simtest.IDPattern.MatchString(str) {
					t.Fatalf("%s = %s, want a 16-digit id as a JSON string", k, v)
				}
			case strings.HasPrefix(k, "date_") || k == "event_timestamp":
				var str string
				if json.Unmarshal(v, &str) != nil || !msPattern.MatchString(str) {
					t.Fatalf("%s = %s, want epoch ms as a JSON string", k, v)
				}
			case k == "duration" || k == "total_duration" || k == "mos_score":
				var f float64
				if json.Unmarshal(v, &f) != nil {
					t.Fatalf("%s = %s, want a JSON number", k, v)
				}
			case k == "proxy_target" && string(v) == "{}":
				emptyProxy++
			}
		}
		for _, k := range []string{"call_id", "contact", "date_started", "date_ended", "direction", "state", "target", "duration", "total_duration"} {
			if _, ok := l.Keys[k]; !ok {
				t.Fatalf("leg %d has no %s", l.CallID, k)
			}
		}
		var target map[string]string
		if err := json.Unmarshal(l.Keys["target"], &target); err != nil || !simtest.IDPattern.MatchString(target["id"]) {
			t.Fatalf("target %s: want an object whose id is a string", l.Keys["target"])
		}
		if l.DateConnected == 0 && l.Duration != 0 {
			t.Fatalf("leg %d never connected but has duration %v", l.CallID, l.Duration)
		}
	}
	if emptyProxy < len(legs)/4 {
		t.Errorf(`%d of %d legs carry "proxy_target":{}, want many`, emptyProxy, len(legs))
	}
	fractional := 0
	for _, l := range legs {
		if float64(l.TotalDuration) != float64(int64(l.TotalDuration)) {
			fractional++
		}
	}
	if fractional < len(legs)*9/10 {
		t.Errorf("%d of %d total durations have a fraction", fractional, len(legs))
	}
}

func TestJSONEscaping(t *testing.T) {
	for _, s := range []string{`Dave's "Best" Auto Body`, "tab\there", "line\u2028sep", "bad \xff byte", `back\slash`, "ctl\x01"} {
		var back string
		if err := json.Unmarshal(traffic.AppendString(nil, s), &back); err != nil {
			t.Errorf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if back != w {
			t.Errorf("%q round-trips to %q, want %q", s, back, w)
		}
	}
}

// conversation is a customer call: its entry leg and agent legs.
type conversation struct {
	entry  *simtest.Decoded
	agents []*simtest.Decoded
}

func conversations(t *testing.T, legs []simtest.Decoded) (map[wire.ID]*conversation, []*simtest.Decoded) {
	convs := map[wire.ID]*conversation{}
	var outbound []*simtest.Decoded
	for i := range legs {
		l := &legs[i]
		switch {
		case l.Direction == "outbound":
			outbound = append(outbound, l)
		case l.Target.Type != "user":
			c := convs[l.CallID]
			if c == nil {
				c = &conversation{}
				convs[l.CallID] = c
			}
			c.entry = l
		default:
			c := convs[l.EntryPointCallID]
			if c == nil {
				c = &conversation{}
				convs[l.EntryPointCallID] = c
			}
			c.agents = append(c.agents, l)
		}
	}
	return convs, outbound
}

func TestCallsAreLegsOfConversations(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	convs, outbound := conversations(t, simtest.AllLegs(t, s, simtest.Start, simtest.End.Add(24*time.Hour)))
	var transfers, voicemails, vmState, missed, abandoned, answered, overAnHour, crossMidnight int
	for id, c := range convs {
		if c.entry == nil {
			// The entry leg ends last: at the clock's edge it may be unlisted.
			continue
		}
		e := c.entry
		if e.EntryPointCallID != 0 && e.EntryPointCallID != e.CallID {
			t.Fatalf("entry leg %d points at %d", id, e.EntryPointCallID)
		}
		if len(c.agents) == 0 {
			if e.DateConnected != 0 || e.HasVoicemail() || float64(e.TotalDuration) > 180_000 {
				t.Fatalf("inbound call %d rang no agent, yet: %s", id, e.Raw)
			}
			abandoned++
			continue
		}
		connected := 0
		for _, a := range c.agents {
			if a.EntryPointTarget.ID != e.Target.ID || a.EntryPointTarget.Type != e.Target.Type {
				t.Fatalf("agent leg %d: entry_point_target %v, its entry leg's target %v", a.CallID, a.EntryPointTarget, e.Target)
			}
			if a.DateStarted < e.DateStarted || a.DateEnded > e.DateEnded {
				t.Fatalf("agent leg %d [%d, %d] outside its entry leg [%d, %d]", a.CallID, a.DateStarted, a.DateEnded, e.DateStarted, e.DateEnded)
			}
			if a.DateRang == 0 {
				t.Fatalf("agent leg %d was not rung", a.CallID)
			}
			if a.DateConnected != 0 {
				connected++
			} else if a.Duration != 0 {
				t.Fatalf("unanswered agent leg %d has duration %v", a.CallID, a.Duration)
			}
			if a.IsTransferred {
				transfers++
			}
			if a.DateConnected != 0 && float64(a.Duration) > 3600_000 {
				overAnHour++
			}
		}
		if connected > 0 != (e.DateConnected != 0) {
			t.Fatalf("call %d: %d agents connected but entry leg date_connected %d", id, connected, e.DateConnected)
		}
		if connected > 2 || connected == 2 && !anyTransferred(c.agents) {
			t.Fatalf("call %d: %d agent legs connected without a transfer", id, connected)
		}
		if connected == 0 {
			missed++
		} else {
			answered++
		}
		if e.HasVoicemail() {
			voicemails++
			if e.VoicemailLink == "" || len(e.Recordings) == 0 || e.Recordings[len(e.Recordings)-1].RecordingType != "voicemail" {
				t.Fatalf("voicemail on %d without its link and recording: %s", id, e.Raw)
			}
			if e.State == "voicemail" {
				vmState++
			}
		}
		if dayOf(e.DateStarted) != dayOf(c.agents[0].DateStarted) {
			crossMidnight++
		}
	}
	for _, o := range outbound {
		if o.EntryPointCallID != 0 || o.Target.Type != "user" {
			t.Fatalf("outbound leg %d: entry_point_call_id %d, target %v", o.CallID, o.EntryPointCallID, o.Target)
		}
	}
	t.Logf("%d calls: %d answered, %d missed, %d abandoned before an agent rang, %d voicemails (%d in state voicemail), %d transfers, %d over an hour, %d cross midnight; %d outbound",
		len(convs), answered, missed, abandoned, voicemails, vmState, transfers, overAnHour, crossMidnight, len(outbound))
	switch {
	case abandoned < (missed+abandoned)/5 || abandoned > (missed+abandoned)/2:
		t.Errorf("%d calls abandoned before an agent rang, %d missed by agents: want about a third of the unanswered abandoned", abandoned, missed)
	case missed < answered/10 || missed > answered:
		t.Errorf("%d missed for %d answered calls", missed, answered)
	case voicemails < missed/5 || voicemails > missed/2:
		t.Errorf("%d voicemails for %d missed calls, want ~30-40%%", voicemails, missed)
	case vmState == 0:
		t.Error(`no voicemail has state "voicemail"`)
	case transfers < answered/30 || transfers > answered/8:
		t.Errorf("%d transfers for %d answered calls, want ~5-10%%", transfers, answered)
	case overAnHour == 0:
		t.Error("no call lasted over an hour")
	case crossMidnight < 10:
		t.Errorf("%d calls whose agent legs started the UTC day after their entry leg, want one a day", crossMidnight)
	case len(outbound) < len(convs)/6:
		t.Errorf("%d outbound for %d inbound calls", len(outbound), len(convs))
	}
}

func anyTransferred(legs []*simtest.Decoded) bool {
	for _, l := range legs {
		if l.IsTransferred {
			return true
		}
	}
	return false
}

func dayOf(ms wire.Millis) string { return time.UnixMilli(int64(ms)).UTC().Format(time.DateOnly) }

func TestBusyOnWeekdayBusinessHours(t *testing.T) {
	t.Parallel()
	s := simtest.NewTraffic(t, traffic.Config{})
	convs, _ := conversations(t, simtest.AllLegs(t, s, simtest.Start, simtest.End.Add(24*time.Hour)))
	var business, night, weekend int
	for _, c := range convs {
		if c.entry == nil {
			continue
		}
		local := time.UnixMilli(int64(c.entry.DateStarted)).In(s.Location())
		switch wd, h := local.Weekday(), local.Hour(); {
		case wd == time.Saturday || wd == time.Sunday:
			weekend++
		case h >= 9 && h < 17:
			business++
		case h < 6 || h >= 22:
			night++
		}
	}
	// Per hour: 10 weekdays x 8 business hours, 10 x 8 night hours, 4 weekend days x 24 h.
	perBusiness, perNight, perWeekend := float64(business)/80, float64(night)/80, float64(weekend)/96
	t.Logf("inbound calls per hour: weekday 9-17 %.1f, weekday nights %.1f, weekends %.1f", perBusiness, perNight, perWeekend)
	if perBusiness < 10*perNight || perBusiness < 10*perWeekend {
		t.Errorf("weekday business hours get %.1f calls an hour, nights %.1f, weekends %.1f: want far fewer off hours", perBusiness, perNight, perWeekend)
	}
	if business == 0 || night == 0 || weekend == 0 {
		t.Errorf("want some calls at every time: %d business, %d night, %d weekend", business, night, weekend)
	}
}

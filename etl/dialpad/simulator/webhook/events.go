package webhook

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// Webhook events of the simulated traffic. Every leg of the call list
// also happens as a sequence of call events, ending with a final one
// (its list state, at its date_ended), and then, for some legs, what
// Dialpad tells after the call: the CSAT survey's answer (csat), its
// predicted score (pcsat) and the dispositions the agent picked
// (dispositions). The call center's operators change their on-duty
// status as their legs connect and end. Like the legs, the events are a
// pure function of the seed.

// Event is one webhook event, before signing.
type Event struct {
	At     time.Time // event_timestamp
	CallID int64     // 0 for agent status events
	State  string    // call state, or "agent_status"
	Final  bool      // hangup / missed / voicemail: the leg's last call state (only csat, pcsat and dispositions follow it)
	Claims []byte    // the JSON object Dialpad would send (before signing)

	ms  int64        // At in epoch ms
	seq int32        // call events: position within the leg; agent events: the agent's party index
	leg *traffic.Leg // call events: the leg
}

// AgentStatus is Event.State of an agent status event.
const AgentStatus = "agent_status"

// Events returns every event whose event time lies in [from, to), sorted
// by time, then call id (agent status events first), then position in
// the leg. The same instant always gives the same events, whatever range
// asks for it. A day of 10,000 legs takes some 100 ms.
func (hb *Hub) Events(from, to time.Time) []Event {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	if hi <= lo {
		return nil
	}
	var a arena
	var scratch []byte
	out := []Event{}
	legs := hb.tr.List()
	// The legs are newest first by date_started: those that can have an
	// event in [lo, hi) started in [lo-maxSpan-maxAfterEnd, hi).
	p := sort.Search(len(legs), func(i int) bool { return legs[i].Started < hi })
	for ; p < len(legs) && legs[p].Started >= lo-hb.maxSpan-maxAfterEnd; p++ {
		l := &legs[p]
		if l.Ended+maxAfterEnd < lo {
			continue
		}
		pl := hb.planLeg(p)
		for i := range pl.n {
			st := &pl.steps[i]
			if st.t < lo || st.t >= hi {
				continue
			}
			final := i == pl.final
			scratch = hb.appendCallEvent(scratch[:0], l, &pl, st.t, st.state, i >= pl.final)
			out = append(out, Event{At: time.UnixMilli(st.t).UTC(), CallID: l.ID, State: st.state,
				Final: final, Claims: a.keep(scratch), ms: st.t, seq: int32(i), leg: l})
		}
	}
	out = hb.appendAgentEvents(out, &a, lo, hi)
	slices.SortFunc(out, func(x, y Event) int {
		return cmp.Or(cmp.Compare(x.ms, y.ms), cmp.Compare(x.CallID, y.CallID), cmp.Compare(x.seq, y.seq))
	})
	return out
}

// prepareEvents computes what Events needs besides the legs.
func (hb *Hub) prepareEvents() {
	for i := range hb.tr.List() {
		hb.maxSpan = max(hb.maxSpan, hb.tr.List()[i].Ended-hb.tr.List()[i].Started)
	}
	cc := len(hb.tr.Company().Groups) - 1 // the call center
	for _, pi := range hb.tr.Company().Groups[cc].Members {
		for _, m := range hb.tr.Company().Users[pi-len(hb.tr.Company().Groups)].Groups {
			if m.Group == cc && m.Role == "operator" {
				hb.operators = append(hb.operators, pi)
			}
		}
	}
}

// A legPlan is the events of one leg: their times and states, and what
// the payloads need to know besides the leg.
type legPlan struct {
	n         int
	final     int // the step of the leg's final state; those after it follow the call
	steps     [9]step
	firstRang int64 // date_first_rang; 0 = none
	holdStart int64 // 0 = never on hold
	holdEnd   int64
}

type step struct {
	t     int64
	state string
}

// Call states of the events.
const (
	evCalling   = "calling"
	evRinging   = "ringing"
	evQueued    = "queued"
	evConnected = "connected"
	evHold      = "hold"

	// After the call (maxAfterEnd at most after date_ended).
	evCSAT         = "csat"         // the survey answered: csat_score and csat_transcriptions
	evPCSAT        = "pcsat"        // Dialpad's predicted score: pcsat_score [assume: the field's name]
	evDispositions = "dispositions" // the agent's dispositions [assume: their shape]
)

// maxAfterEnd bounds how long after date_ended the events that follow
// the call come, ms.
const maxAfterEnd = 10 * 60_000

// planLeg lays out the events of legs[p]:
//
//	entry leg:    ringing (date_started), queued (+rang), connected, final, [csat]
//	agent leg:    ringing (date_rang), connected, [hold, connected], final, [dispositions], [pcsat], [csat]
//	outbound leg: calling (date_started), ringing (date_rang), connected, [hold, connected], final
//
// with the final state the leg's list state at date_ended, and after it
// the events of a leg with dispositions (5 to 90 s later, the agent's
// wrap-up), a predicted score (20 s to 3 min) and a csat_score (1 to 10
// min: the caller answers the survey). Times strictly increase; a step
// that would not is moved 1 ms after the one before.
func (hb *Hub) planLeg(p int) legPlan {
	l := &hb.tr.List()[p]
	var pl legPlan
	add := func(t int64, state string) {
		if pl.n > 0 && t <= pl.steps[pl.n-1].t {
			t = pl.steps[pl.n-1].t + 1
		}
		pl.steps[pl.n] = step{t, state}
		pl.n++
	}
	rang := int64(-1)
	if l.Rang >= 0 {
		rang = l.Started + int64(l.Rang)
	}
	switch {
	case l.Flags&traffic.Entry != 0:
		add(l.Started, evRinging)
		if rang >= 0 {
			add(rang, evQueued)
		}
		pl.firstRang = hb.tr.FirstRang(p)
	case l.Flags&traffic.Inbound != 0:
		add(max(rang, l.Started), evRinging)
		pl.firstRang = max(rang, 0)
	default:
		add(l.Started, evCalling)
		if rang >= 0 {
			add(rang, evRinging)
		}
		pl.firstRang = max(rang, 0)
	}
	if l.Connected >= 0 {
		c := l.Started + int64(l.Connected)
		add(c, evConnected)
		if l.Flags&traffic.Entry == 0 {
			if hs, he, ok := hb.tr.Hold(l); ok {
				add(hs, evHold)
				add(he, evConnected)
				pl.holdStart, pl.holdEnd = pl.steps[pl.n-2].t, pl.steps[pl.n-1].t
			}
		}
	}
	pl.final = pl.n
	pl.steps[pl.n] = step{l.Ended, l.StateName()}
	pl.n++
	hb.afterEnd(l, add)
	return pl
}

// afterEnd adds the steps that follow l's end, in time order, their
// delays drawn from a hash of the call id.
func (hb *Hub) afterEnd(l *traffic.Leg, add func(int64, string)) {
	c := hb.tr.Company()
	h, _ := hb.tr.LegHashes(l)
	d := traffic.Mix64(uint64(l.ID) ^ hb.tr.Salt() ^ 0xAF7E)
	var after [3]step
	n := 0
	if c.Dispositions(l, h) != nil {
		after[n] = step{l.Ended + 5000 + int64(d%85_001), evDispositions}
		n++
	}
	if c.PCSATScore(l, h) != "" {
		after[n] = step{l.Ended + 20_000 + int64(d>>20%160_001), evPCSAT}
		n++
	}
	if traffic.CSATScore(l, h) != "" {
		after[n] = step{l.Ended + 60_000 + int64(d>>40%539_001), evCSAT}
		n++
	}
	slices.SortFunc(after[:n], func(x, y step) int { return cmp.Compare(x.t, y.t) })
	for _, st := range after[:n] {
		add(st.t, st.state)
	}
}

// arena hands out copies of byte slices from large shared blocks.
type arena struct{ buf []byte }

func (a *arena) keep(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(1<<20, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

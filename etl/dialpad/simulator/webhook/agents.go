package webhook

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// Agent status events. Each operator of the call center has, at every
// instant, one on-duty status, a function of their legs and the clock:
//
//	occupied     while one of their legs is connected
//	wrapup       from when the last of them ends, for 20-60 s (a hash of
//	             that leg), unless another connects first
//	available    otherwise, 08:00-18:00 local on weekdays
//	unavailable  otherwise: nights and weekends, and a 30-minute lunch
//	             (reason "lunch") starting 12:00-12:45 local
//
// A company open around the clock (traffic.Config.AlwaysOpen) has no
// nights or weekends: its operators work rotating shifts of shiftLength,
// the k-th of n starting at k*24h/n local time every day, with the lunch
// two to three hours into the shift, so that some agent is available at
// every hour of every day.
//
// An event is sent at each instant the status changes, so one agent never
// has two changes at the same ms.

// agentStatus is an on-duty status and its reason.
type agentStatus struct{ status, reason string }

// Business hours of the agents, local time.
const (
	dutyStart    = 8 * time.Hour
	dutyEnd      = 18 * time.Hour
	lunchStart   = 12 * time.Hour
	lunchLength  = 30 * time.Minute
	maxWrapup    = 60_000 // ms
	minWrapup    = 20_000 // ms
	wrapupDomain = maxWrapup - minWrapup + 1
	shiftLength  = 10 * time.Hour // of a company open around the clock
	shiftLunch   = 2 * time.Hour  // into the shift
)

// busy is a stretch of connected legs of one agent, and the wrapup after.
type busy struct {
	start, end int64 // connected from start until end (the union of the legs)
	wrapEnd    int64 // wrapup until then: end+wrapup, or the next stretch's start
}

// agentTimeline is one agent's status over a stretch of time.
type agentTimeline struct {
	hb    *Hub
	pi    int // the agent's party index
	busy  []busy
	local *time.Location
	shift int // the agent's place among the operators: their shift, around the clock
}

// appendAgentEvents appends the status changes of every operator of the
// call center in [lo, hi).
func (hb *Hub) appendAgentEvents(out []Event, a *arena, lo, hi int64) []Event {
	var scratch []byte
	for _, pi := range hb.operators {
		tl := hb.exactTimeline(pi, lo, hi)
		for _, t := range tl.changes(lo, hi) {
			st := tl.at(t)
			scratch = hb.appendAgentEvent(scratch[:0], pi, st, t)
			out = append(out, Event{At: time.UnixMilli(t).UTC(), State: AgentStatus, Claims: a.keep(scratch),
				ms: t, seq: int32(pi)})
		}
	}
	return out
}

// exactTimeline is agent pi's timeline, exact in [lo-1, hi): enough to
// find its changes in [lo, hi).
func (hb *Hub) exactTimeline(pi int, lo, hi int64) agentTimeline {
	return hb.agentTimeline(pi, lo-hb.maxSpan-maxWrapup-1, hi)
}

// agentTimeline builds agent pi's busy stretches from their connected legs
// that started in [from, to): exact from from+maxSpan+maxWrapup on.
func (hb *Hub) agentTimeline(pi int, from, to int64) agentTimeline {
	ix, _ := hb.tr.Index(hb.tr.Company().Target(pi))
	legs := hb.tr.List()
	p := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < to })
	type conn struct{ start, end, id int64 }
	var cs []conn
	for ; p < len(ix) && legs[ix[p]].Started >= from; p++ {
		l := &legs[ix[p]]
		if l.Connected >= 0 {
			cs = append(cs, conn{l.Started + int64(l.Connected), l.Ended, l.ID})
		}
	}
	slices.SortFunc(cs, func(x, y conn) int { return cmp.Compare(x.start, y.start) })
	tl := agentTimeline{hb: hb, pi: pi, local: hb.tr.Location(), shift: max(slices.Index(hb.operators, pi), 0)}
	var lastID int64
	for _, c := range cs {
		if n := len(tl.busy); n > 0 && c.start <= tl.busy[n-1].end {
			if c.end > tl.busy[n-1].end {
				tl.busy[n-1].end, lastID = c.end, c.id
			}
			continue
		}
		tl.closeWrapup(lastID, c.start)
		tl.busy = append(tl.busy, busy{start: c.start, end: c.end})
		lastID = c.id
	}
	tl.closeWrapup(lastID, 1<<62)
	return tl
}

// closeWrapup sets the last stretch's wrapup: a hash of the leg that
// ended it, cut short by a leg connecting at next.
func (tl *agentTimeline) closeWrapup(id, next int64) {
	n := len(tl.busy)
	if n == 0 {
		return
	}
	w := minWrapup + int64(traffic.Mix64(uint64(id)^tl.hb.tr.Salt()^0x3A9)%wrapupDomain)
	tl.busy[n-1].wrapEnd = min(tl.busy[n-1].end+w, next)
}

// at is the agent's status at t.
func (tl *agentTimeline) at(t int64) agentStatus {
	i := sort.Search(len(tl.busy), func(i int) bool { return tl.busy[i].start > t }) - 1
	if i >= 0 {
		switch b := tl.busy[i]; {
		case t < b.end:
			return agentStatus{"occupied", ""}
		case t < b.wrapEnd:
			return agentStatus{"wrapup", ""}
		}
	}
	return tl.base(t)
}

// base is the agent's status at t when no call keeps them busy.
func (tl *agentTimeline) base(t int64) agentStatus {
	lt := time.UnixMilli(t).In(tl.local)
	if tl.hb.tr.AlwaysOpen() {
		// The shift that began the day before may run past midnight.
		for _, d := range []dutyDay{tl.day(lt), tl.day(lt.AddDate(0, 0, -1))} {
			if t >= d.open && t < d.close {
				return d.status(t)
			}
		}
		return agentStatus{"unavailable", ""}
	}
	if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return agentStatus{"unavailable", ""}
	}
	if d := tl.day(lt); t >= d.open && t < d.close {
		return d.status(t)
	}
	return agentStatus{"unavailable", ""}
}

// status is the status at t, within the day's hours on duty, of an agent
// no call keeps busy.
func (d dutyDay) status(t int64) agentStatus {
	if t >= d.lunch && t < d.lunchEnd {
		return agentStatus{"unavailable", "lunch"}
	}
	return agentStatus{"available", ""}
}

// dutyDay is one local day's schedule of an agent, epoch ms: the shift
// that begins that day.
type dutyDay struct{ open, lunch, lunchEnd, close int64 }

func (tl *agentTimeline) day(lt time.Time) dutyDay {
	if tl.hb.tr.AlwaysOpen() {
		return tl.shiftDay(lt)
	}
	y, m, d := lt.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, tl.local)
	at := func(off time.Duration) int64 {
		h := off.Truncate(time.Hour)
		return time.Date(y, m, d, int(h/time.Hour), int((off-h)/time.Minute), 0, 0, tl.local).UnixMilli()
	}
	off := time.Duration(traffic.Mix64(uint64(tl.hb.tr.Company().Parties[tl.pi].ID)^uint64(midnight.Unix())^tl.hb.tr.Salt())%4) * 15 * time.Minute
	return dutyDay{open: at(dutyStart), lunch: at(lunchStart + off), lunchEnd: at(lunchStart + off + lunchLength),
		close: at(dutyEnd)}
}

// shiftDay is the shift that begins on lt's local day, around the clock.
func (tl *agentTimeline) shiftDay(lt time.Time) dutyDay {
	y, m, d := lt.Date()
	n := max(len(tl.hb.operators), 1)
	begins := time.Duration(tl.shift) * 24 * time.Hour / time.Duration(n)
	begins = begins.Truncate(15 * time.Minute)
	open := time.Date(y, m, d, int(begins/time.Hour), int(begins%time.Hour/time.Minute), 0, 0, tl.local)
	midnight := time.Date(y, m, d, 0, 0, 0, 0, tl.local)
	off := time.Duration(traffic.Mix64(uint64(tl.hb.tr.Company().Parties[tl.pi].ID)^uint64(midnight.Unix())^tl.hb.tr.Salt())%4) * 15 * time.Minute
	lunch := open.Add(shiftLunch + off)
	return dutyDay{open: open.UnixMilli(), lunch: lunch.UnixMilli(), lunchEnd: lunch.Add(lunchLength).UnixMilli(),
		close: open.Add(max(shiftLength, 24*time.Hour/time.Duration(n)+4*time.Hour)).UnixMilli()}
}

// changes returns the instants in [lo, hi) at which the status changes,
// ascending.
func (tl *agentTimeline) changes(lo, hi int64) []int64 {
	var cands []int64
	for _, b := range tl.busy {
		cands = append(cands, b.start, b.end, b.wrapEnd)
	}
	lt := time.UnixMilli(lo).In(tl.local).AddDate(0, 0, -1)
	for range (hi-lo)/traffic.MsPerDay + 3 {
		d := tl.day(lt)
		cands = append(cands, d.open, d.lunch, d.lunchEnd, d.close)
		lt = lt.AddDate(0, 0, 1)
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	out := cands[:0]
	for _, t := range cands {
		if t >= lo && t < hi && tl.at(t) != tl.at(t-1) {
			out = append(out, t)
		}
	}
	return out
}

// appendAgentEvent appends the payload of agent pi's change to st at t.
func (hb *Hub) appendAgentEvent(b []byte, pi int, st agentStatus, t int64) []byte {
	p := &hb.tr.Company().Parties[pi]
	b = append(b, `{"target":{"id":`...)
	b = strconv.AppendInt(b, p.ID, 10)
	b = append(b, `,"type":"user","name":`...)
	b = traffic.AppendString(b, p.Name)
	b = append(b, `,"email":`...)
	b = traffic.AppendString(b, p.Email)
	b = append(b, `,"phone":`...)
	b = traffic.AppendString(b, p.Phone)
	b = append(b, `},"on_duty_status":`...)
	b = traffic.AppendString(b, st.status)
	b = append(b, `,"on_duty_status_reason":`...)
	b = traffic.AppendString(b, st.reason)
	if st.status == "unavailable" {
		b = append(b, `,"availability_status":"unavailable","call_center_ids":[]`...)
	} else {
		b = append(b, `,"availability_status":"available","call_center_ids":[`...)
		b = append(b, hb.tr.Company().Parties[len(hb.tr.Company().Groups)-1].QID...)
		b = append(b, ']')
	}
	b = append(b, `,"date":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"event_timestamp":`...)
	b = strconv.AppendInt(b, t, 10)
	return append(b, '}')
}

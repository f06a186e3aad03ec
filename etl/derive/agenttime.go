package derive

import (
	"slices"
	"time"
)

// Agent time, defined here once (and in docs/counting.md, "Agent time").
// A call-center agent has one on-duty status at a time, from Dialpad's
// agent-status events (agent_status): a status lasts from its start until
// the agent's next status starts, the current one until now. Time is
// counted per agent and 15-minute interval (IntervalLength, aligned to UTC
// quarter hours, which every zone's midnight is), in ms per status:
//
//   - available, busy, occupied (on a call), wrapup (after-call work),
//     unavailable (off duty; also split by the agent's off-duty reason);
//   - unknown: time the job knows it missed, between the last status it
//     stored and the one Dialpad's duty-status read reports (see
//     events.Repair). A status this model does not name counts as
//     unknown too. Dialpad's duty-status read also names occupied-end and
//     wrapup-end: the agent is back from a call or its wrap-up, counted
//     as available.
//
// Per call center and agent, the interval's on-duty ms are the time the
// call center was among the status's call_center_ids.
//
//	occupancy   = (occupied + wrapup) / (occupied + wrapup + available)
//	utilization = (occupied + wrapup) / on duty
//	staffed agents of an interval = on-duty ms of the target's agents / interval length
//	after-call work = wrapup ms
//	handle time with after-call work, per agent over a range =
//	    (talk + hold of the agent's connected legs + the agent's wrapup ms) / connected legs
const IntervalLength = 15 * time.Minute

const intervalMs = int64(IntervalLength / time.Millisecond)

// The on-duty statuses of agent_status; Unknown is the job's own.
const (
	Available   = "available"
	Busy        = "busy"
	Occupied    = "occupied"
	Wrapup      = "wrapup"
	Unavailable = "unavailable"
	Unknown     = "unknown"
)

// StatusSpan is one status of an agent, as agent_status keeps it: from
// Start until End (epoch ms; End 0 for the agent's current status).
type StatusSpan struct {
	Agent       uint64
	Name        string
	Status      string
	Reason      string
	CallCenters []uint64
	Start, End  int64
}

// AgentInterval is a row of agent_intervals: one agent's ms per status in
// the interval that starts at Start (epoch ms).
type AgentInterval struct {
	Agent uint64
	Name  string
	Start int64
	Day   time.Time // the reporting-zone day Start lies in, as a day column holds it

	Available, Busy, Occupied, Wrapup, Unavailable, Unknown uint32
	// Reasons and ReasonMs split Unavailable by off-duty reason.
	Reasons  []string
	ReasonMs []uint32
}

// DutyInterval is a row of agent_duty_intervals: the ms agent was on duty
// for a call center in the interval that starts at Start.
type DutyInterval struct {
	CallCenter uint64
	Agent      uint64
	Start      int64
	Day        time.Time
	OnDuty     uint32
}

// floorInterval is the start of the interval that holds ms.
func floorInterval(ms int64) int64 {
	q := ms / intervalMs * intervalMs
	if q > ms { // before 1970
		q -= intervalMs
	}
	return q
}

// CountAgentTime counts one agent's time in the intervals from the one
// that holds from until now, from spans: the agent's statuses, sorted by
// start, that reach into that time, and the one before (whose call
// centers may have lost time there). A span with End 0 lasts until now;
// time after now is not counted. It returns a row for every interval some
// span covers, and a duty row for every such interval and every call
// center of any span, even with 0 ms: written over the stored rows, they
// leave no time that a later status took away.
func CountAgentTime(spans []StatusSpan, from, now int64, zone *time.Location) ([]AgentInterval, []DutyInterval) {
	if len(spans) == 0 || now <= from {
		return nil, nil
	}
	lo := floorInterval(from)
	var ccs []uint64
	for _, s := range spans {
		for _, cc := range s.CallCenters {
			if !slices.Contains(ccs, cc) {
				ccs = append(ccs, cc)
			}
		}
	}
	slices.Sort(ccs)
	name := spans[len(spans)-1].Name
	byStart := map[int64]*AgentInterval{}
	duty := map[[2]int64]uint32{} // call center (as int64 bits), interval start -> ms
	var starts []int64
	for i, s := range spans {
		end := s.End
		if end <= 0 || end > now {
			end = now
		}
		if i+1 < len(spans) && spans[i+1].Start < end { // not linked yet: the next status ends it
			end = spans[i+1].Start
		}
		begin := max(s.Start, lo)
		for q := floorInterval(begin); q < end; q += intervalMs {
			ms := uint32(min(end, q+intervalMs) - max(begin, q))
			if ms == 0 {
				continue
			}
			row := byStart[q]
			if row == nil {
				row = &AgentInterval{Agent: s.Agent, Name: name, Start: q, Day: dayOf(q, zone)}
				byStart[q] = row
				starts = append(starts, q)
			}
			row.add(s.Status, s.Reason, ms)
			for _, cc := range s.CallCenters {
				duty[[2]int64{int64(cc), q}] += ms
			}
		}
	}
	slices.Sort(starts)
	agents := make([]AgentInterval, 0, len(starts))
	var duties []DutyInterval
	for _, q := range starts {
		agents = append(agents, *byStart[q])
		for _, cc := range ccs {
			duties = append(duties, DutyInterval{CallCenter: cc, Agent: spans[0].Agent, Start: q,
				Day: byStart[q].Day, OnDuty: duty[[2]int64{int64(cc), q}]})
		}
	}
	return agents, duties
}

// add counts ms of status (with its off-duty reason) in the interval.
func (a *AgentInterval) add(status, reason string, ms uint32) {
	switch status {
	case Available, "occupied-end", "wrapup-end":
		a.Available += ms
	case Busy:
		a.Busy += ms
	case Occupied:
		a.Occupied += ms
	case Wrapup:
		a.Wrapup += ms
	case Unavailable:
		a.Unavailable += ms
		if i := slices.Index(a.Reasons, reason); i >= 0 {
			a.ReasonMs[i] += ms
		} else {
			a.Reasons, a.ReasonMs = append(a.Reasons, reason), append(a.ReasonMs, ms)
		}
	default:
		a.Unknown += ms
	}
}

// dayOf is the reporting-zone day that ms lies in, as a day column holds
// it (midnight UTC of that date).
func dayOf(ms int64, zone *time.Location) time.Time {
	y, m, d := time.UnixMilli(ms).In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AgentDay is a row of agent_time_daily: an agent's intervals of one
// reporting-zone day, summed.
type AgentDay struct {
	Agent      uint64
	Name       string
	Day        time.Time
	Start, End time.Time // the day's bounds in the zone

	Available, Busy, Occupied, Wrapup, Unavailable, Unknown uint64
	Reasons                                                 []string
	ReasonMs                                                []uint64
}

// DutyDay is a row of agent_duty_daily.
type DutyDay struct {
	CallCenter, Agent uint64
	Day               time.Time
	Start, End        time.Time
	OnDuty            uint64
}

// DailyTime sums intervals and duty intervals per day (their Day, in
// zone). A day's sum is whole only when every interval of the day that
// has time is among them.
func DailyTime(agents []AgentInterval, duty []DutyInterval, zone *time.Location) ([]AgentDay, []DutyDay) {
	var days []AgentDay
	index := map[[2]int64]int{} // agent, day -> days[i]
	for _, a := range agents {
		k := [2]int64{int64(a.Agent), a.Day.Unix()}
		i, ok := index[k]
		if !ok {
			start, end := dayBounds(a.Day, zone)
			i = len(days)
			index[k] = i
			days = append(days, AgentDay{Agent: a.Agent, Day: a.Day, Start: start, End: end})
		}
		d := &days[i]
		d.Name = a.Name
		d.Available += uint64(a.Available)
		d.Busy += uint64(a.Busy)
		d.Occupied += uint64(a.Occupied)
		d.Wrapup += uint64(a.Wrapup)
		d.Unavailable += uint64(a.Unavailable)
		d.Unknown += uint64(a.Unknown)
		for j, r := range a.Reasons {
			if k := slices.Index(d.Reasons, r); k >= 0 {
				d.ReasonMs[k] += uint64(a.ReasonMs[j])
			} else {
				d.Reasons, d.ReasonMs = append(d.Reasons, r), append(d.ReasonMs, uint64(a.ReasonMs[j]))
			}
		}
	}
	var duties []DutyDay
	dutyIndex := map[[3]int64]int{}
	for _, u := range duty {
		k := [3]int64{int64(u.CallCenter), int64(u.Agent), u.Day.Unix()}
		i, ok := dutyIndex[k]
		if !ok {
			start, end := dayBounds(u.Day, zone)
			i = len(duties)
			dutyIndex[k] = i
			duties = append(duties, DutyDay{CallCenter: u.CallCenter, Agent: u.Agent, Day: u.Day, Start: start, End: end})
		}
		duties[i].OnDuty += uint64(u.OnDuty)
	}
	return days, duties
}

// dayStart is the start (epoch ms) of the reporting-zone day that ms lies
// in.
func dayStart(ms int64, zone *time.Location) int64 {
	y, m, d := time.UnixMilli(ms).In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone).UnixMilli()
}

// dayBounds are the instants day (as a day column holds it) begins and
// ends in zone.
func dayBounds(day time.Time, zone *time.Location) (time.Time, time.Time) {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone).UTC(), time.Date(y, m, d+1, 0, 0, 0, 0, zone).UTC()
}

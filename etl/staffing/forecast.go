package staffing

import "time"

// Length is the length of an interval of the warehouse: every interval
// starts at a UTC quarter hour, which is a quarter hour of the clock in
// every zone.
const Length = 15 * time.Minute

// An Interval is what one 15-minute interval of a target held: its
// inbound conversations (offered, answered) and the handle time of the
// answered ones (talk + hold + the agents' after-call work, in ms).
type Interval struct {
	Start    time.Time // UTC
	Day      time.Time // the reporting-zone day it starts in, as a day column holds it (midnight UTC of that date)
	Offered  float64
	Answered float64
	HandleMs float64
}

// A Need is a row of the staffing table: the agents an interval needs.
type Need struct {
	Start     time.Time
	Day       time.Time
	Forecast  bool
	Offered   float64
	Handle    time.Duration // per answered call
	Erlangs   float64
	Required  int
	Scheduled int
	Weeks     int // of a forecast: the weeks it was made from
}

// Planner makes the needs of a target's intervals. Model.Interval is
// Length: offered calls are per 15-minute interval.
type Planner struct {
	Model Model
	// Weeks is how many weeks back a forecast looks (STAFFING_WEEKS), and
	// the handle time of an interval without answered calls.
	Weeks int
	// Exclude are days a forecast leaves out (STAFFING_EXCLUDE_DAYS), by
	// their dates.
	Exclude []time.Time
	// Today is the first day whose calls may not all have come: a
	// forecast takes its weeks from the days before it only.
	Today time.Time
	Zone  *time.Location
}

// Actual is the need of each interval of days that begins before until,
// from what the interval held: its offered calls, and its handle time per
// answered call. An interval none of whose calls was answered takes the
// handle time of its day, or else of the Weeks weeks up to it; offered
// calls with no handle time known at all need no agents. history must
// hold those weeks.
func (p Planner) Actual(history []Interval, days []time.Time, until time.Time) []Need {
	at := index(history)
	perDay := daySums(history)
	var out []Need
	for _, day := range days {
		dayHandle := handleOf(perDay[dateOf(day)].handleMs, perDay[dateOf(day)].answered)
		if dayHandle == 0 {
			dayHandle = p.windowHandle(perDay, dateOf(day).AddDate(0, 0, 1))
		}
		for _, s := range p.starts(day) {
			if !s.Before(until) {
				break
			}
			iv := at[s]
			handle := handleOf(iv.HandleMs, iv.Answered)
			if handle == 0 {
				handle = dayHandle
			}
			out = append(out, p.need(s, day, false, iv.Offered, handle, 0))
		}
	}
	return out
}

// sums are a day's (or a time of day's) offered and answered calls and
// their handle time.
type sums struct{ offered, answered, handleMs float64 }

func daySums(history []Interval) map[time.Time]sums {
	out := map[time.Time]sums{}
	for _, iv := range history {
		d := dateOf(iv.Day)
		s := out[d]
		s.offered += iv.Offered
		s.answered += iv.Answered
		s.handleMs += iv.HandleMs
		out[d] = s
	}
	return out
}

// windowHandle is the handle time per answered call of the Weeks weeks
// of days before end.
func (p Planner) windowHandle(perDay map[time.Time]sums, end time.Time) time.Duration {
	var w sums
	for d := end.AddDate(0, 0, -7*p.Weeks); d.Before(end); d = d.AddDate(0, 0, 1) {
		w.answered += perDay[d].answered
		w.handleMs += perDay[d].handleMs
	}
	return handleOf(w.handleMs, w.answered)
}

// Forecast is the need of each interval of days, forecast from the same
// weekday and time of day of the Weeks weeks before each day that came
// before Today: offered calls are their mean over the weeks that had data
// for the target (any interval with calls that day) and are not
// excluded, and the handle time is their handle time per answered call;
// where none of them answered a call at that time, that of those whole
// days, or else of the Weeks weeks of days before the day. On the day the
// clocks go back, the repeated times hold the mean of their two
// intervals; a time a week did not have (the hour skipped in spring) is
// left out of that week.
func (p Planner) Forecast(history []Interval, days []time.Time) []Need {
	at := index(history)
	perDay := daySums(history)
	excluded := map[time.Time]bool{}
	for _, d := range p.Exclude {
		excluded[dateOf(d)] = true
	}
	today := dateOf(p.Today)
	var out []Need
	for _, day := range days {
		var weeks []time.Time
		for k := 1; k <= p.Weeks; k++ {
			w := dateOf(day).AddDate(0, 0, -7*k)
			if perDay[w].offered > 0 && !excluded[w] && (p.Today.IsZero() || w.Before(today)) {
				weeks = append(weeks, w)
			}
		}
		// Per time of day, the weeks' figures.
		byClock := map[int]*sums{}
		weeksAt := map[int]int{}
		var whole sums
		for _, w := range weeks {
			seen := map[int][]Interval{}
			for _, s := range p.starts(w) {
				c := p.clock(s)
				seen[c] = append(seen[c], at[s])
			}
			for c, ivs := range seen {
				if byClock[c] == nil {
					byClock[c] = &sums{}
				}
				n := float64(len(ivs))
				for _, iv := range ivs {
					byClock[c].offered += iv.Offered / n
					byClock[c].answered += iv.Answered / n
					byClock[c].handleMs += iv.HandleMs / n
				}
				weeksAt[c]++
			}
			whole.answered += perDay[w].answered
			whole.handleMs += perDay[w].handleMs
		}
		dayHandle := handleOf(whole.handleMs, whole.answered)
		if dayHandle == 0 {
			dayHandle = p.windowHandle(perDay, dateOf(day))
		}
		for _, s := range p.starts(day) {
			c := p.clock(s)
			n := weeksAt[c]
			var offered float64
			handle := time.Duration(0)
			if n > 0 {
				offered = byClock[c].offered / float64(n)
				handle = handleOf(byClock[c].handleMs, byClock[c].answered)
			}
			if handle == 0 {
				handle = dayHandle
			}
			out = append(out, p.need(s, day, true, offered, handle, n))
		}
	}
	return out
}

func (p Planner) need(start, day time.Time, forecast bool, offered float64, handle time.Duration, weeks int) Need {
	n := Need{Start: start, Day: day, Forecast: forecast, Offered: offered, Handle: handle, Weeks: weeks}
	if offered > 0 && handle > 0 {
		n.Erlangs = p.Model.Erlangs(offered, handle)
		n.Required = p.Model.Required(offered, handle)
		n.Scheduled = p.Model.Scheduled(n.Required)
	}
	return n
}

// starts are the starts of day's intervals in the zone.
func (p Planner) starts(day time.Time) []time.Time {
	y, m, d := day.Date()
	from, to := time.Date(y, m, d, 0, 0, 0, 0, p.Zone), time.Date(y, m, d+1, 0, 0, 0, 0, p.Zone)
	var out []time.Time
	for s := from.UTC(); s.Before(to); s = s.Add(Length) {
		out = append(out, s)
	}
	return out
}

// clock is the time of day of s on the zone's clock, in minutes.
func (p Planner) clock(s time.Time) int {
	l := s.In(p.Zone)
	return l.Hour()*60 + l.Minute()
}

// dateOf is day's date as a map key: midnight of time.UTC (a day read
// from ClickHouse may carry a location of the same name).
func dateOf(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func index(history []Interval) map[time.Time]Interval {
	at := make(map[time.Time]Interval, len(history))
	for _, iv := range history {
		at[iv.Start.UTC()] = iv
	}
	return at
}

func handleOf(ms, answered float64) time.Duration {
	if answered <= 0 {
		return 0
	}
	return time.Duration(ms / answered * float64(time.Millisecond)).Round(time.Millisecond)
}

// Days are the days from first to last, as a day column holds them.
func Days(first, last time.Time) []time.Time {
	var out []time.Time
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// Package staffing says how many agents an interval needs: Erlang C, and
// the forecast of offered calls and handle time from past weeks.
package staffing

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Model holds the staffing goals.
type Model struct {
	Interval     time.Duration // the interval's length (15m, 30m, 60m)
	Threshold    time.Duration // service-level threshold (answer within)
	Goal         float64       // service-level goal, a fraction in (0,1], e.g. 0.8
	MaxOccupancy float64       // a fraction in (0,1], e.g. 0.85
	Shrinkage    float64       // a fraction in [0,1), e.g. 0.30
}

// Check says which field of m is out of its range, if any.
func (m Model) Check() error {
	var errs []error
	if m.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval must be positive, got %s", m.Interval))
	}
	if m.Threshold < 0 {
		errs = append(errs, fmt.Errorf("threshold must not be negative, got %s", m.Threshold))
	}
	if !(m.Goal > 0 && m.Goal <= 1) {
		errs = append(errs, fmt.Errorf("goal must be a fraction above 0, at most 1, got %v", m.Goal))
	}
	if !(m.MaxOccupancy > 0 && m.MaxOccupancy <= 1) {
		errs = append(errs, fmt.Errorf("max occupancy must be a fraction above 0, at most 1, got %v", m.MaxOccupancy))
	}
	if !(m.Shrinkage >= 0 && m.Shrinkage < 1) {
		errs = append(errs, fmt.Errorf("shrinkage must be a fraction from 0, below 1, got %v", m.Shrinkage))
	}
	return errors.Join(errs...)
}

// Erlangs is the traffic: calls × handle / interval length.
func (m Model) Erlangs(calls float64, handle time.Duration) float64 {
	if m.Interval <= 0 {
		return 0
	}
	return calls * handle.Seconds() / m.Interval.Seconds()
}

// ErlangC is the probability that a call waits with n agents and a
// erlangs (n > a), computed through the Erlang B recursion
// B(0)=1, B(k)=a·B(k−1)/(k + a·B(k−1)); C = n·B/(n − a·(1 − B)).
// Returns 1 when n <= a.
//
// The recursion keeps every term in [0, 1]: no factorial or power
// overflows, and a thousand agents at 950 erlangs is as precise as ten.
func ErlangC(n int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(n) <= a {
		return 1
	}
	b := erlangB(n, a)
	return float64(n) * b / (float64(n) - a + a*b)
}

// erlangB is the Erlang B blocking probability of n servers and a
// erlangs, by its recursion.
func erlangB(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// Figures are the Erlang C figures of n agents.
type Figures struct {
	Agents       int
	PWait        float64       // probability a call waits
	ServiceLevel float64       // share answered within Threshold: 1 − PWait·e^(−(n − a)·threshold/handle)
	ASA          time.Duration // average speed of answer: PWait·handle/(n − a)
	Occupancy    float64       // a / n
}

// At is the figures of n agents facing calls of the given handle time in
// one interval. Below the traffic (n <= a) the queue grows without end:
// every call waits, none within the threshold, and the ASA is the
// longest duration.
func (m Model) At(n int, calls float64, handle time.Duration) Figures {
	a := m.Erlangs(calls, handle)
	f := Figures{Agents: n}
	if n > 0 {
		f.Occupancy = a / float64(n)
	}
	if a <= 0 {
		f.ServiceLevel = 1
		return f
	}
	if float64(n) <= a {
		f.PWait, f.ASA = 1, time.Duration(math.MaxInt64)
		return f
	}
	c := ErlangC(n, a)
	spare := float64(n) - a
	f.PWait = c
	f.ServiceLevel = 1 - c*math.Exp(-spare*m.Threshold.Seconds()/handle.Seconds())
	f.ASA = time.Duration(c * float64(handle) / spare)
	return f
}

// Required is the smallest n > a whose service level reaches Goal and
// whose occupancy is at most MaxOccupancy; 0 when calls or handle is 0
// (or m does not pass Check).
//
// The service level rises with n, so the search walks up from floor(a)+1
// (or from a/MaxOccupancy, when that is higher), carrying the Erlang B
// recursion one agent per step: the walk costs one pass up to the answer,
// a few times √a above a even for thousands of erlangs. A goal of exactly
// 1 is met once the service level is within 1e-9 of it (see epsilon).
func (m Model) Required(calls float64, handle time.Duration) int {
	a := m.Erlangs(calls, handle)
	if !(a > 0) || math.IsInf(a, 0) || m.Check() != nil {
		return 0
	}
	n := int(math.Floor(a)) + 1
	if occ := int(math.Ceil(a/m.MaxOccupancy - epsilon)); occ > n {
		n = occ
	}
	b := erlangB(n, a)
	for {
		spare := float64(n) - a
		c := float64(n) * b / (spare + a*b)
		sl := 1 - c*math.Exp(-spare*m.Threshold.Seconds()/handle.Seconds())
		if sl >= m.Goal-epsilon && a/float64(n) <= m.MaxOccupancy+epsilon {
			return n
		}
		n++
		b = a * b / (float64(n) + a*b)
	}
}

// epsilon absorbs float64's rounding where a figure meets a bound
// exactly: 21/(1−0.3) is 30.000000000000004 in float64, whose ceiling
// would schedule 31 agents for 30.
const epsilon = 1e-9

// Scheduled is ceil(required / (1 − Shrinkage)), the agents to schedule
// so that required are on the phones. A quotient within 1e-9 of a whole
// number counts as that number (see epsilon).
func (m Model) Scheduled(required int) int {
	if required <= 0 {
		return 0
	}
	return int(math.Ceil(float64(required)/(1-m.Shrinkage) - epsilon))
}

// Table is the figures for each n from the smallest n > a up to
// Required+2, so that a what-if shows the neighbourhood of the answer;
// nil when calls or handle is 0.
func (m Model) Table(calls float64, handle time.Duration) []Figures {
	req := m.Required(calls, handle)
	if req == 0 {
		return nil
	}
	a := m.Erlangs(calls, handle)
	first := int(math.Floor(a)) + 1
	// Far below the required number the rows say nothing new: at most
	// ten rows before it.
	if req-first > 10 {
		first = req - 10
	}
	var rows []Figures
	for n := first; n <= req+2; n++ {
		rows = append(rows, m.At(n, calls, handle))
	}
	return rows
}

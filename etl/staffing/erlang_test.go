package staffing

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// textbook is Call Centre Helper's worked example, "Erlang C Formula –
// Made Simple With an Easy Worked Example",
// https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm:
// 100 calls in 30 minutes at 180 s handle time, 80 % answered in 20 s,
// at most 85 % occupancy, 30 % shrinkage.
var textbook = Model{Interval: 30 * time.Minute, Threshold: 20 * time.Second, Goal: 0.8, MaxOccupancy: 0.85, Shrinkage: 0.3}

// near reports whether got is want to within tol, absolute.
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// Published worked examples, each at the precision its source prints.
func TestPublishedExamples(t *testing.T) {
	for _, c := range []struct {
		name    string
		m       Model
		calls   float64
		handle  time.Duration
		agents  int
		erlangs float64
		pWait   float64 // within tol
		sl      float64 // within tol; NaN: not published
		asa     time.Duration
		asaTol  time.Duration
		occ     float64 // within tol
		tol     float64
	}{
		// Call Centre Helper (above), 14 agents: traffic 10 erlangs,
		// P(wait) 17.41 %, service level 88.8 %, ASA 7.8 s, occupancy
		// 71 %. The ErlangC R package's README prints the same case to
		// seven digits (0.1741319, 0.88835, 7.83593701177724 s,
		// 0.7142857): the ErlangC package's README on CRAN,
		// https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html
		// ("Example").
		{"Call Centre Helper, 14 agents", textbook, 100, 180 * time.Second, 14, 10,
			0.1741319, 0.88835, 7835937 * time.Microsecond, time.Microsecond, 0.7142857, 1e-7},
		// The same README's table of the search for that case, first
		// row: 11 agents, P(wait) 0.6821182, service level 0.3896138.
		{"ErlangC README, 11 agents", textbook, 100, 180 * time.Second, 11, 10,
			0.6821182, 0.3896138, 122781 * time.Millisecond, time.Millisecond, 10.0 / 11, 1e-7},
		// Mitan Ltd, "The Erlang-C Formula",
		// http://www.mitan.co.uk/erlang/elgcmath.htm (archived at
		// https://web.archive.org/web/20181209042241/http://www.mitan.co.uk/erlang/elgcmath.htm),
		// works steps 1 to 9 on 360 calls per half hour of 240 s with
		// 55 agents and a 15 s target (48 erlangs, occupancy 0.8727).
		// The figures pinned here, to four places, are from a 50-digit
		// evaluation of the defining sum (P(wait) 0.2387009, ASA
		// 8.184 s, service level 0.8458831), not read off the page.
		{"Mitan, 55 agents", Model{Interval: 30 * time.Minute, Threshold: 15 * time.Second, Goal: 0.8, MaxOccupancy: 1},
			360, 240 * time.Second, 55, 48,
			0.2387, 0.8459, 8184 * time.Millisecond, time.Millisecond, 0.8727, 5e-5},
		// Wolfram Language documentation, ErlangC, "Applications":
		// https://reference.wolfram.com/language/ref/ErlangC.html: two
		// 1 Mbps lines, 150 packets/s of 10 kbit on average (10 ms
		// each): 1.5 erlangs on 2 servers; "find the probability that a
		// packet has to wait in queue". Worked by hand through the
		// recursion: B(1) = 1.5/2.5 = 3/5, B(2) = 0.9/2.9 = 9/29,
		// C = 2·(9/29)/(2 − 1.5·20/29) = 9/14; the mean wait is
		// 9/14 · 10 ms / 0.5 = 12.857 ms.
		{"Wolfram, two lines", Model{Interval: time.Second, Threshold: 0, Goal: 0.5, MaxOccupancy: 1},
			150, 10 * time.Millisecond, 2, 1.5,
			9.0 / 14, 5.0 / 14, 12857143 * time.Nanosecond, time.Nanosecond, 0.75, 1e-12},
	} {
		t.Run(c.name, func(t *testing.T) {
			if a := c.m.Erlangs(c.calls, c.handle); !near(a, c.erlangs, 1e-12) {
				t.Errorf("traffic %v erlangs, want %v", a, c.erlangs)
			}
			f := c.m.At(c.agents, c.calls, c.handle)
			if !near(f.PWait, c.pWait, c.tol) || !near(f.ServiceLevel, c.sl, c.tol) || !near(f.Occupancy, c.occ, c.tol) {
				t.Errorf("P(wait) %.7f, service level %.7f, occupancy %.7f; want %.7f, %.7f, %.7f (within %g)",
					f.PWait, f.ServiceLevel, f.Occupancy, c.pWait, c.sl, c.occ, c.tol)
			}
			if d := f.ASA - c.asa; d < -c.asaTol || d > c.asaTol {
				t.Errorf("ASA %s, want %s within %s", f.ASA, c.asa, c.asaTol)
			}
			if f.Agents != c.agents {
				t.Errorf("figures of %d agents, want %d", f.Agents, c.agents)
			}
		})
	}
}

// The agents a goal needs, worked by hand from the figures of each n.
func TestRequired(t *testing.T) {
	for _, c := range []struct {
		name   string
		m      Model
		calls  float64
		handle time.Duration
		want   int
	}{
		// 13 agents answer 79.56 % within 20 s, short of 80 %; 14
		// answer 88.8 % at 71 % occupancy: 14.
		{"Call Centre Helper: 80 % in 20 s", textbook, 100, 180 * time.Second, 14},
		// Patrick Hubers' Erlang R package, vignette "Erlang: Queuing
		// and Staffing Functions for Contact Centers",
		// https://github.com/phubers/erlang/blob/master/vignettes/vignette.Rmd:
		// 200 calls per half hour of 3 minutes are 20 erlangs, and 80 %
		// within 60 s needs 23 agents, "an occupancy of 20/23 or 87%".
		// 22 agents answer 70.8 %, 23 answer 84.7 %.
		{"Hubers: 80 % in 60 s, no occupancy cap", Model{Interval: 30 * time.Minute, Threshold: time.Minute, Goal: 0.8, MaxOccupancy: 1},
			200, 3 * time.Minute, 23},
		// The same with an 85 % cap: 23 agents would be 87 % busy, so
		// the cap binds: 24 (83.3 %).
		{"Hubers with 85 % occupancy at most", Model{Interval: 30 * time.Minute, Threshold: time.Minute, Goal: 0.8, MaxOccupancy: 0.85},
			200, 3 * time.Minute, 24},
		// Wolfram's ErlangC documentation (above), "Applications": 30
		// calls an hour of 5 minutes (2.5 erlangs), "the minimum number
		// of employees" for a 90 % chance that a call is not delayed at
		// all (a 0 s threshold): P(wait) is 13.0 % with 5 agents, 4.7 %
		// with 6 (by the recursion, checked at 50 digits): 6.
		{"Wolfram: 90 % not delayed", Model{Interval: time.Hour, Threshold: 0, Goal: 0.9, MaxOccupancy: 1},
			30, 5 * time.Minute, 6},
		// Mitan's example (above) at 80 % in 15 s: 54 agents answer
		// 79.3 %, 55 answer 84.6 %.
		{"Mitan: 80 % in 15 s", Model{Interval: 30 * time.Minute, Threshold: 15 * time.Second, Goal: 0.8, MaxOccupancy: 1},
			360, 240 * time.Second, 55},
		{"no calls", textbook, 0, 180 * time.Second, 0},
		{"no handle time", textbook, 100, 0, 0},
		// Traffic of a whole number of erlangs needs one more agent
		// than that, even with a goal any agent meets.
		{"10 erlangs, a goal of 1 %", Model{Interval: 30 * time.Minute, Threshold: time.Hour, Goal: 0.01, MaxOccupancy: 1},
			100, 180 * time.Second, 11},
	} {
		if got := c.m.Required(c.calls, c.handle); got != c.want {
			t.Errorf("%s: %d agents, want %d", c.name, got, c.want)
		}
	}
}

// Scheduled adds the shrinkage: 14 on the phones at 30 % shrinkage are
// 20 on the schedule, and a quotient that float64 puts a hair above a
// whole number (21/0.7 = 30.000000000000004) is that number.
func TestScheduled(t *testing.T) {
	for _, c := range []struct {
		shrinkage float64
		required  int
		want      int
	}{
		{0.3, 14, 20}, {0.3, 21, 30}, {0.3, 42, 60}, {0.3, 13, 19}, {0, 14, 14}, {0.3, 0, 0}, {0.5, 1, 2},
	} {
		m := textbook
		m.Shrinkage = c.shrinkage
		if got := m.Scheduled(c.required); got != c.want {
			t.Errorf("%d required at %v shrinkage: %d scheduled, want %d", c.required, c.shrinkage, got, c.want)
		}
	}
}

// The what-if's table runs from the first agent above the traffic to two
// past the answer, with the figures of each.
func TestTable(t *testing.T) {
	rows := textbook.Table(100, 180*time.Second)
	var agents []int
	for _, r := range rows {
		agents = append(agents, r.Agents)
	}
	if len(agents) != 6 || agents[0] != 11 || agents[5] != 16 {
		t.Fatalf("rows of %v agents, want 11 to 16", agents)
	}
	if r := rows[3]; r.Agents != 14 || !near(r.ServiceLevel, 0.888350, 1e-6) {
		t.Errorf("row 4: %+v, want 14 agents at 88.8350 %%", r)
	}
	for i := 1; i < len(rows); i++ {
		if !(rows[i].ServiceLevel > rows[i-1].ServiceLevel && rows[i].ASA < rows[i-1].ASA) {
			t.Errorf("%d agents do no better than %d: %+v, %+v", rows[i].Agents, rows[i-1].Agents, rows[i], rows[i-1])
		}
	}
	if got := textbook.Table(0, 180*time.Second); got != nil {
		t.Errorf("no calls: %v, want no rows", got)
	}
}

// A thousand agents at 950 erlangs: the recursion agrees with the
// defining sum, a^n/n!·n/(n−a) / (Σ_{k<n} a^k/k! + a^n/n!·n/(n−a)),
// evaluated in 256-bit floats, to 1e-12 relative, where a^1000 alone
// overflows float64 (about 10^2978).
func TestLargeCenterIsPrecise(t *testing.T) {
	const n, a = 1000, 950.0
	got := ErlangC(n, a)
	want := erlangCBig(n, a)
	if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-want)/want > 1e-12 {
		t.Errorf("ErlangC(%d, %v) = %.17g, want %.17g", n, a, got, want)
	}
	// 9,500 calls in 30 minutes at 180 s are the same 950 erlangs; the
	// figures stay finite and the answer comes at once.
	m := Model{Interval: 30 * time.Minute, Threshold: 20 * time.Second, Goal: 0.8, MaxOccupancy: 1}
	f := m.At(n, 9500, 180*time.Second)
	if !near(f.PWait, want, 1e-12) || !(f.ServiceLevel > 0.99 && f.ServiceLevel < 1) || f.ASA <= 0 || f.ASA > time.Second {
		t.Errorf("figures of 1,000 agents at 950 erlangs: %+v", f)
	}
	start := time.Now()
	// 960 agents answer 78.5 %, 961 answer 81.6 % (50-digit evaluation).
	if got := m.Required(9500, 180*time.Second); got != 961 {
		t.Errorf("required at 950 erlangs: %d, want 961", got)
	}
	// 100,000 erlangs: a walk over ~100,000 agents, not one per
	// candidate.
	if got := m.Required(1e6, 180*time.Second); got <= 100000 || got > 101000 {
		t.Errorf("required at 100,000 erlangs: %d, want just above 100,000", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("required took %s", d)
	}
}

// erlangCBig is Erlang C from its defining sum in 256-bit floats.
func erlangCBig(n int, a float64) float64 {
	const prec = 256
	fa := new(big.Float).SetPrec(prec).SetFloat64(a)
	term := new(big.Float).SetPrec(prec).SetInt64(1) // a^k/k!
	sum := new(big.Float).SetPrec(prec)
	for k := 0; k < n; k++ {
		sum.Add(sum, term)
		term.Mul(term, fa)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+1)))
	}
	// term is a^n/n!; top = term·n/(n−a).
	top := new(big.Float).SetPrec(prec).Mul(term, new(big.Float).SetPrec(prec).SetInt64(int64(n)))
	top.Quo(top, new(big.Float).SetPrec(prec).SetFloat64(float64(n)-a))
	den := new(big.Float).SetPrec(prec).Add(sum, top)
	c, _ := new(big.Float).SetPrec(prec).Quo(top, den).Float64()
	return c
}

// Below the traffic every call waits and the queue never empties.
func TestOverloaded(t *testing.T) {
	if c := ErlangC(10, 10); c != 1 {
		t.Errorf("ErlangC(10, 10) = %v, want 1", c)
	}
	f := textbook.At(9, 100, 180*time.Second)
	if f.PWait != 1 || f.ServiceLevel != 0 || f.ASA != time.Duration(math.MaxInt64) {
		t.Errorf("9 agents at 10 erlangs: %+v, want every call waiting, none in time", f)
	}
}

// A goal of 100 % is met where the service level is within 1e-9 of it:
// the search ends.
func TestGoalOfOneEnds(t *testing.T) {
	m := textbook
	m.Goal = 1
	if got := m.Required(100, 180*time.Second); got < 14 || got > 40 {
		t.Errorf("required for 100 %%: %d", got)
	}
}

// Check names the field out of range.
func TestCheck(t *testing.T) {
	if err := textbook.Check(); err != nil {
		t.Fatalf("the textbook goals: %v", err)
	}
	for _, c := range []struct {
		set  func(*Model)
		want string
	}{
		{func(m *Model) { m.Interval = 0 }, "interval"},
		{func(m *Model) { m.Threshold = -time.Second }, "threshold"},
		{func(m *Model) { m.Goal = 0 }, "goal"},
		{func(m *Model) { m.Goal = 1.2 }, "goal"},
		{func(m *Model) { m.Goal = math.NaN() }, "goal"},
		{func(m *Model) { m.MaxOccupancy = 0 }, "max occupancy"},
		{func(m *Model) { m.MaxOccupancy = 1.01 }, "max occupancy"},
		{func(m *Model) { m.Shrinkage = 1 }, "shrinkage"},
		{func(m *Model) { m.Shrinkage = -0.1 }, "shrinkage"},
	} {
		m := textbook
		c.set(&m)
		if err := m.Check(); err == nil || !strings.HasPrefix(err.Error(), c.want+" ") {
			t.Errorf("%+v: %v, want an error naming %s", m, err, c.want)
		}
	}
}

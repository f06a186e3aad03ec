package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"
	_ "time/tzdata" // the company's business hours, without a system zoneinfo

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// recomputeDB is the recompute step's database.
const recomputeDB = "bench_recompute"

// recomputeSeed is the seed of the simulator that serves the month and of
// the one that sends today's events: with the same seed and calls a day
// they generate the same legs for every day.
const recomputeSeed = 1

// recomputeFor is how long today's events are sent.
const recomputeFor = 90 * time.Second

// recompute measures the event receiver's recompute for a big call
// center: one call center's calendar month is loaded up to "today", a
// late weekday (--recompute-legs before it, about 1.5 million), whose
// calls then arrive as webhook events at --recompute-rate final events a
// second, from 9:00 on, while a "dialpad-etl schedule" process
// recomputes the days they touch every 5 s. It reports the passes'
// durations (the receiver's histogram), the time from a final event's
// receipt to its leg counted in its conversation, the CPU ClickHouse
// used meanwhile, and where the passes' time went (system.query_log).
func (b *bench) recompute(ctx context.Context, t *table) error {
	c, err := newRecomputeCase(b.end, b.opt.recomputeLegs)
	if err != nil {
		return err
	}
	loaded, err := b.loadMonth(ctx, c)
	if err != nil {
		return err
	}
	r, err := b.receiveToday(ctx, c)
	if err != nil {
		return err
	}
	recomputeRows(t, c, loaded, r)
	return nil
}

// recomputeRows reports a run of the recompute step.
func recomputeRows(t *table, c recomputeCase, loaded *loadRun, r *recomputeRun) {
	passes := len(r.passes)
	t.add(row{what: fmt.Sprintf("Recompute for a big call center: its month (%s legs loaded, %s to %s) with \"today\" (%s) arriving as signed events "+
		"to the webhook its subscriptions name, %s final events at %.0f/s (%s events in all in %s, from %s local), "+
		"a dialpad-etl schedule process recomputing the days they touch every 5 s: duration of a recompute pass "+
		"(dialpad_etl_events_recompute_duration_seconds)",
		thousands(float64(loaded.runs.rows)), c.month.Format("Jan 2"), c.today.AddDate(0, 0, -1).Format("Jan 2"),
		c.today.Format("Mon Jan 2"), thousands(float64(len(r.lags))), float64(len(r.lags))/r.sent.Seconds(),
		thousands(float64(r.events)), r.sent.Round(time.Second), r.from.In(companyZone).Format("15:04")),
		measured: fmt.Sprintf("p50 %.2f s, p99 %.2f s, max %.2f s (%d passes)", quantile(r.passes, 0.5).Seconds(),
			quantile(r.passes, 0.99).Seconds(), quantile(r.passes, 1).Seconds(), passes),
		target: "p99 < 5 s (the tick)", met: quantile(r.passes, 0.99) < 5*time.Second})
	missing := ""
	if r.missing > 0 {
		missing = fmt.Sprintf("; %d never counted, a minute after the last event", r.missing)
	}
	t.add(row{what: "Recompute for a big call center (same run): from a final event's receipt to its leg counted in its conversation in `conversations` (polled every 250 ms)",
		measured: fmt.Sprintf("p50 %.1f s, p99 %.1f s (%s legs)%s", quantile(r.lags, 0.5).Seconds(), quantile(r.lags, 0.99).Seconds(),
			thousands(float64(len(r.lags))), missing),
		target: "p99 < 10 s", met: r.missing == 0 && quantile(r.lags, 0.99) < 10*time.Second})
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / r.sent.Seconds() }
	t.add(row{what: "Recompute for a big call center (same run): CPU while the events arrived, in shares of one core; " +
		"and the machine's (/proc/stat): idle, and taken by the hypervisor (steal) from this virtual machine",
		measured: fmt.Sprintf("ClickHouse %.0f%%, the schedule process %.0f%%, the sender (the benchmark) %.0f%%; the machine %.0f%% idle, %.0f%% stolen",
			share(r.chCPU), share(r.rcvCPU), share(r.selfCPU), r.idle, r.steal), noTarget: true})
	var most []string
	var all time.Duration
	for i, s := range r.statements {
		all += s.total
		if i < 8 {
			most = append(most, fmt.Sprintf("%s: %.2f s (%.1f×)", s.kind, s.total.Seconds()/float64(passes), float64(s.n)/float64(passes)))
		}
	}
	t.add(row{what: "Recompute for a big call center (same run): where ClickHouse's time goes, per pass: the receiver's statements " +
		"(system.query_log: the recompute's, and the events' own writes), the time of each kind over the passes' count, the longest first",
		measured: fmt.Sprintf("%.2f s in all; %s", all.Seconds()/float64(passes), strings.Join(most, "; ")), noTarget: true})
}

// companyZone is the simulated company's time zone (the simulator's
// default): its business hours.
var companyZone = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// recomputeCase is the traffic of the recompute step: a call center's
// calendar month, the last complete one, up to "today": its last weekday
// but its last day, so that a pass touches that month only, as on most
// days (on the last day it also recomputes the next, empty month, and in
// the first 8 days the KPIs of the month before).
type recomputeCase struct {
	month, today time.Time // the month's first day, and today (UTC midnights)
	callsPerDay  int
	target       dialpad.Target // the call center
}

// newRecomputeCase picks the month before end's, and the simulator's calls
// a day that give its call center about legs legs in the month before
// today, from a simulation of the month at a known rate: the legs grow in
// proportion.
func newRecomputeCase(end time.Time, legs int) (recomputeCase, error) {
	c := recomputeCase{month: time.Date(end.Year(), end.Month()-1, 1, 0, 0, 0, 0, time.UTC)}
	next := c.month.AddDate(0, 1, 0)
	for c.today = next.AddDate(0, 0, -2); c.today.Weekday() == time.Saturday || c.today.Weekday() == time.Sunday; {
		c.today = c.today.AddDate(0, 0, -1)
	}
	const probe = 1000
	sim, err := simulator.New(simulator.Config{Seed: recomputeSeed, Start: c.month, End: next, CallsPerDay: probe, RateLimit: -1,
		Now: func() time.Time { return next.AddDate(0, 0, 1) }})
	if err != nil {
		return c, err
	}
	for _, tg := range sim.Targets() {
		if tg.Type == "callcenter" {
			c.target = tg
		}
	}
	n := len(sim.Legs(c.target, c.month, c.today))
	if n == 0 {
		return c, fmt.Errorf("recompute: the simulated company has no call center with legs in %s", c.month.Format("2006-01"))
	}
	c.callsPerDay = max(1, int(float64(probe)*float64(legs)/float64(n)+0.5))
	return c, nil
}

// loadMonth backfills the call center's month up to today, unthrottled.
func (b *bench) loadMonth(ctx context.Context, c recomputeCase) (*loadRun, error) {
	sc := simConfig{start: c.month, end: c.today, callsPerDay: c.callsPerDay, rateLimit: -1, pageSize: 1000, seed: recomputeSeed}
	sim, err := b.startSimulator(ctx, sc)
	if err != nil {
		return nil, err
	}
	defer sim.stop()
	log.Printf("recompute: backfilling %s from %s to %s (--calls-per-day %d), pages of 1,000, no limit",
		c.target, c.month.Format(time.DateOnly), c.today.Format(time.DateOnly), c.callsPerDay)
	r, err := b.backfill(ctx, sim, sc, recomputeDB, "DIALPAD_RATE_LIMIT=1000000", "DIALPAD_TARGETS="+c.target.String())
	if err != nil {
		return nil, err
	}
	log.Printf("recompute: %s legs loaded in %.0f s", thousands(float64(r.runs.rows)), r.wall.Seconds())
	return r, nil
}

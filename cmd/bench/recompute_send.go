package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// recomputeRun is what the recompute step measured while today's events
// arrived.
type recomputeRun struct {
	from, to   time.Time     // the event times sent
	sent       time.Duration // the time it took
	events     int64         // sends (events of the call center and its agents)
	passes     []time.Duration
	lags       []time.Duration // of each final event's leg
	missing    int             // final events' legs never counted
	chCPU      time.Duration   // CPU time of ClickHouse while the events were sent,
	rcvCPU     time.Duration   // of the schedule process,
	selfCPU    time.Duration   // and of this process (the sender)
	idle       float64         // the machine's idle share meanwhile (%)
	steal      float64         // and the share its hypervisor took (%)
	statements []statementTime // the receiver's, by kind
}

// receiveToday starts a schedule process on the loaded month, subscribes
// it to the call center's events, and sends it today's events from a
// simulator in this process.
func (b *bench) receiveToday(ctx context.Context, c recomputeCase) (*recomputeRun, error) {
	// The simulator's clock stands at today's midnight until the events
	// are sent, so that the schedule process's start-up load lists nothing
	// of today.
	clock := &fastClock{idle: c.today}
	sim, err := simulator.New(simulator.Config{Seed: recomputeSeed, Start: c.today.AddDate(0, 0, -1), End: c.today.AddDate(0, 0, 1),
		CallsPerDay: c.callsPerDay, RateLimit: -1, Now: clock.now})
	if err != nil {
		return nil, err
	}
	finals := int(b.opt.recomputeRate * recomputeFor.Seconds())
	from, to, err := finalWindow(sim, c, finals)
	if err != nil {
		return nil, err
	}
	api := httptest.NewServer(sim)
	defer api.Close()
	// The receiver's statements are logged, to tell where the passes'
	// time goes.
	off, err := b.queryLog(ctx)
	if err != nil {
		return nil, err
	}
	defer off()
	rcv, err := b.startSchedule(ctx, api.URL, recomputeDB, []string{c.target.String()}, "ETL_LOOKBACK=1h")
	if err != nil {
		return nil, err
	}
	defer rcv.stop()
	// Dialpad sends the call center's events, and its agents' status
	// changes, to the webhook subscribed to them.
	if err := rcv.command(ctx, "webhooks", "setup", "--url", rcv.hookURL()); err != nil {
		return nil, err
	}
	conn, err := b.ch.Open(recomputeDB)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	w := &recomputeWatch{metricsURL: rcv.metricsURL(), conn: conn, target: c.target, day: c.today}
	// The first pass recomputes the days a restart recomputes (the real
	// today and yesterday): it is not part of the measurement.
	if err := w.firstPass(ctx); err != nil {
		return nil, err
	}
	log.Printf("recompute: sending %s's events of %s to %s: %s final events of the call center at %.0f/s (%s of event time in %s)",
		c.target, from.Format("2006-01-02 15:04"), to.Format("15:04"), thousands(float64(finals)), b.opt.recomputeRate,
		to.Sub(from).Round(time.Minute), recomputeFor)
	r := &recomputeRun{from: from, to: to}
	began, done, err := b.sendToday(ctx, r, sim, clock, rcv, w)
	if err != nil {
		return nil, err
	}
	r.statements, err = statementTimes(ctx, conn, began, done)
	return r, err
}

// sendToday sends the events of [r.from, r.to] at their own pace sped up
// to take recomputeFor, while w watches, until every final event's leg is
// counted in its conversation (or a minute more has passed), and fills r.
func (b *bench) sendToday(ctx context.Context, r *recomputeRun, sim *simulator.Sim, clock *fastClock, rcv *scheduleProcess,
	w *recomputeWatch) (began, done time.Time, err error) {
	if err := w.poll(ctx); err != nil { // what was there before
		return began, done, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	chBefore, rcvBefore, selfBefore, machine := cpuTime(b.ch.Pid()), cpuTime(rcv.cmd.Process.Pid), cpuTime(os.Getpid()), machineTicks()
	began = time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { w.run(wctx) })
	clock.run(r.from, float64(r.to.Sub(r.from))/float64(recomputeFor))
	st, err := sim.Deliver(ctx, webhook.Delivery{Subscriptions: true, From: r.from, To: r.to, Workers: 1000})
	r.sent, r.events = time.Since(began), st.Sent
	r.chCPU, r.rcvCPU, r.selfCPU = cpuTime(b.ch.Pid())-chBefore, cpuTime(rcv.cmd.Process.Pid)-rcvBefore, cpuTime(os.Getpid())-selfBefore
	r.idle, r.steal = machineTicks().since(machine)
	if err == nil && st.Failed > 0 {
		err = fmt.Errorf("recompute: %d of %d events not delivered: %s", st.Failed, st.Sent, st.LastError)
	}
	if err != nil {
		return began, done, err
	}
	receipts, err := w.receipts(ctx, r.from, r.to)
	if err != nil {
		return began, done, err
	}
	if err := w.waitReflected(ctx, receipts, time.Minute); err != nil {
		log.Printf("recompute: %v", err)
	}
	done = time.Now()
	stopWatch()
	wg.Wait()
	if w.err != nil {
		return began, done, w.err
	}
	r.passes = w.passesBetween(began, done)
	r.lags, r.missing = w.lags(receipts)
	if len(r.passes) == 0 || len(r.lags) == 0 {
		return began, done, errors.New("recompute: no pass or no final event's leg was measured")
	}
	return began, done, nil
}

// finalWindow is the span of today's events, from 9:00 in the company's
// zone, that holds n final events of the call center's legs.
func finalWindow(sim *simulator.Sim, c recomputeCase, n int) (from, to time.Time, err error) {
	from = time.Date(c.today.Year(), c.today.Month(), c.today.Day(), 9, 0, 0, 0, companyZone).UTC()
	seen := 0
	for h := from; h.Before(c.today.AddDate(0, 0, 1)); h = h.Add(time.Hour) {
		for _, e := range sim.Events(h, h.Add(time.Hour)) {
			if !e.Final {
				continue
			}
			ev, err := wire.DecodeEvent(e.Claims)
			if err != nil || ev.Call == nil {
				continue
			}
			if ofTarget(ev.Call, c.target) {
				if seen++; seen == n {
					return from, e.At.Add(time.Millisecond), nil
				}
			}
		}
	}
	return from, to, fmt.Errorf("recompute: %s has %d final events of %s from 09:00, %d wanted", c.today.Format(time.DateOnly), seen, c.target, n)
}

// ofTarget reports whether a call event is of target's leg, as the
// receiver attributes it: the leg's target, its entry point, or the group
// it was placed as.
func ofTarget(e *wire.CallEvent, target dialpad.Target) bool {
	for _, p := range []wire.Party{e.Target, e.EntryPointTarget, e.ProxyTarget} {
		if p.Type == target.Type && int64(p.ID) == target.ID {
			return true
		}
	}
	return false
}

// fastClock is the clock of the simulator that sends today's events: it
// stands at idle until run, then runs from a time at speed times the real
// clock's pace, so that Deliver sends each event when its time comes,
// faster, with the day's own ups and downs.
type fastClock struct {
	mu    sync.Mutex
	idle  time.Time
	from  time.Time
	began time.Time
	speed float64
}

func (c *fastClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.began.IsZero() {
		return c.idle
	}
	return c.from.Add(time.Duration(float64(time.Since(c.began)) * c.speed))
}

func (c *fastClock) run(from time.Time, speed float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.from, c.began, c.speed = from, time.Now(), speed
}

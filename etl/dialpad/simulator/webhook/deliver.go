package webhook

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Delivery configures Deliver: where the traffic's events go and how, as
// Dialpad delivers webhook events. The zero values of the optional fields
// are the defaults noted on each.
type Delivery struct {
	URL     string         // where to POST (http or https)
	Secret  string         // JWT HS256 secret; "" = plain JSON bodies
	From    time.Time      // first event time to deliver (zero: the simulator's Now)
	To      time.Time      // end of the event times, exclusive; zero = keep going with the clock (live)
	Rate    float64        // events per second when replaying a past range; 0 = real time (an event is sent when the simulator's Now passes its time)
	Faults  DeliveryFaults // duplicates and reordering
	Client  *http.Client   // nil: one with a DeliveryTimeout timeout
	Workers int            // concurrent senders (default 8)

	// Backoff are the waits before the retries of a send that failed
	// with a 5xx, a timeout or a connection error: its length is the
	// number of retries (nil: DefaultBackoff; empty: no retries).
	Backoff []time.Duration
	// Tick is how often the simulator's clock is read while waiting for
	// events to happen (default 100 ms).
	Tick time.Duration
	// Subscriptions sends each event to the webhooks subscribed to it
	// through the API (AddWebhook, AddCallSub, AddAgentSub), signed with each one's secret, instead
	// of to URL: a call event to every enabled call subscription whose
	// states include its state (none listed, or "all": every state) and
	// whose target is the leg's target, its group (inbound legs, and
	// outbound ones placed as the group), the office or none;
	// an agent status event to every enabled agent_status subscription.
	// URL, Secret and CallStates are then ignored.
	Subscriptions bool
	// CallStates are the states of the call events sent to URL, as a
	// receiver subscribed to them gets them (none: every state, those
	// after the call, csat, pcsat and dispositions, included). Agent
	// status events go whatever it holds.
	CallStates []string
	// Backlog, with Subscriptions, waits for the first agent status
	// subscription (a receiver's subscriptions to calls come before it)
	// and then also delivers the agent status changes of Backlog before
	// that moment: what a receiver that had been running would hold (a
	// demo's history of agent time; the call list gives the calls).
	// Dialpad itself never sends what happened before a subscription.
	// From is then ignored.
	Backlog time.Duration
}

// DeliveryFaults are the disorder Dialpad's delivery shows, each off by
// default. Which events are affected is a hash of the event and
// the seed: the same on every run.
type DeliveryFaults struct {
	DuplicateRate float64       // share of events sent twice (the second copy later, same body)
	ReorderRate   float64       // share of events held back and sent after the next few
	MaxDelay      time.Duration // a held-back event or copy waits at most this long (default 2 s)
}

// DeliveryStats counts what Deliver did. A send is one body handed to a
// sender: an event, or a duplicate copy of one, for one destination (the
// URL, or each subscribed webhook). When Deliver returns, every send was
// delivered or failed, unless ctx ended first.
type DeliveryStats struct {
	Events     int64 // events taken from the traffic
	Sent       int64 // sends: with a URL, Events plus Duplicated
	Delivered  int64 // sends answered 2xx
	Duplicated int64 // duplicate copies sent
	Reordered  int64 // sends held back behind later events
	Retried    int64 // attempts repeated after a 5xx, a timeout or a connection error
	Failed     int64 // sends given up: a 4xx (or other non-2xx, non-5xx), or still failing after the retries
	LastError  string

	// Latency of the attempts answered 2xx, from the request to the
	// answer, over the last few thousand.
	LatencyP50, LatencyP99 time.Duration
}

// Defaults of a Delivery, as Dialpad documents its delivery.
var (
	DefaultBackoff  = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	DeliveryTimeout = 5 * time.Second
)

const (
	defaultWorkers  = 8
	defaultMaxDelay = 2 * time.Second
	defaultTick     = 100 * time.Millisecond
	eventChunk      = traffic.MsPerHour // events are read an hour of event time at a time
)

// Deliver POSTs the events of [d.From, d.To) to d.URL: a signed token
// (Content-Type application/jwt) or, without a secret, the JSON claims
// (application/json). An event is sent once the simulator's Now has
// passed its time, at d.Rate a second when Rate is set. A 2xx answer
// delivers it; a 5xx, a timeout or a connection error is retried after
// each of d.Backoff; a 4xx is not retried. It returns when every event
// up to d.To was sent and answered, or when ctx ends (with ctx's error;
// in live mode, To zero, that is the only way it ends). It is safe to run
// while the simulator serves HTTP, and several at once.
func (hb *Hub) Deliver(ctx context.Context, d Delivery) (DeliveryStats, error) {
	d, err := hb.deliveryDefaults(d)
	if err != nil {
		return DeliveryStats{}, err
	}
	t := tally{own: &deliveryCounters{}, all: &hb.delivery}
	jobs := make(chan sendJob)
	var wg sync.WaitGroup
	for range d.Workers {
		wg.Go(func() {
			for j := range jobs {
				if j.socket != nil {
					push(j, t)
				} else {
					post(ctx, &d, j, t)
				}
			}
		})
	}
	dp := dispatcher{hb: hb, d: &d, jobs: jobs, t: t}
	if d.Subscriptions && d.Backlog > 0 {
		err = hb.awaitSubscription(ctx, d.Tick)
		now := hb.now()
		d.From, dp.backlogEnd = now.Add(-d.Backlog), now.UnixMilli()
	}
	if err == nil {
		err = dp.run(ctx)
	}
	close(jobs)
	wg.Wait()
	return t.own.stats(), err
}

// awaitSubscription returns once an enabled agent status subscription
// exists, or with ctx's error.
func (hb *Hub) awaitSubscription(ctx context.Context, tick time.Duration) error {
	for {
		if slices.ContainsFunc(hb.AgentSubs(), func(a AgentSubJSON) bool { return a.Enabled }) {
			return nil
		}
		if !sleep(ctx, tick) {
			return ctx.Err()
		}
	}
}

// DeliveryStats returns the counts of every Deliver of the hub so
// far, running ones included.
func (hb *Hub) DeliveryStats() DeliveryStats { return hb.delivery.stats() }

func (hb *Hub) deliveryDefaults(d Delivery) (Delivery, error) {
	u, err := url.Parse(d.URL)
	switch {
	case !d.Subscriptions && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == ""):
		return d, errors.New("delivery: the URL must be an absolute http or https URL")
	case d.Rate < 0 || math.IsNaN(d.Rate) || math.IsInf(d.Rate, 0):
		return d, fmt.Errorf("delivery: rate %v must be a non-negative number", d.Rate)
	case !d.To.IsZero() && !d.From.IsZero() && d.To.Before(d.From):
		return d, errors.New("delivery: to must not be before from")
	case d.Workers < 0 || d.Tick < 0 || d.Faults.MaxDelay < 0:
		return d, errors.New("delivery: workers, tick and max delay must not be negative")
	}
	for name, v := range map[string]float64{"duplicate rate": d.Faults.DuplicateRate, "reorder rate": d.Faults.ReorderRate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return d, fmt.Errorf("delivery: %s %v out of range [0, 1]", name, v)
		}
	}
	for _, b := range d.Backoff {
		if b < 0 {
			return d, errors.New("delivery: backoffs must not be negative")
		}
	}
	if d.From.IsZero() {
		d.From = hb.now()
	}
	if d.Workers == 0 {
		d.Workers = defaultWorkers
	}
	if d.Backoff == nil {
		d.Backoff = DefaultBackoff
	}
	if d.Tick == 0 {
		d.Tick = defaultTick
	}
	if d.Faults.MaxDelay == 0 {
		d.Faults.MaxDelay = defaultMaxDelay
	}
	if d.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = d.Workers
		d.Client = &http.Client{Timeout: DeliveryTimeout, Transport: tr}
	}
	return d, nil
}

// sendJob is one send: a body for a URL, or for a websocket's
// connections.
type sendJob struct {
	url, contentType string
	socket           *socket
	body             []byte
}

// dispatcher takes the events in order, paces them and decides which are
// held back or repeated.
type dispatcher struct {
	hb   *Hub
	d    *Delivery
	jobs chan<- sendJob
	t    tally
	n    int64     // events dispatched so far
	next time.Time // pacing: when the next event may go
	held []heldJob
	// backlogEnd: before it (epoch ms), only agent status changes are
	// sent (Delivery.Backlog).
	backlogEnd int64
}

// heldJob is a send waiting for later events: it goes once the n-th
// event was dispatched, or at the deadline.
type heldJob struct {
	job      sendJob
	after    int64
	deadline time.Time
}

func (dp *dispatcher) run(ctx context.Context) error {
	d, hb := dp.d, dp.hb
	cursor, end := d.From.UnixMilli(), int64(math.MaxInt64)
	if !d.To.IsZero() {
		end = d.To.UnixMilli()
	}
	for cursor < end {
		now := hb.now().UnixMilli()
		if upto := min(end, now+1, cursor+eventChunk); upto > cursor {
			for _, ev := range hb.Events(time.UnixMilli(cursor), time.UnixMilli(upto)) {
				if err := dp.dispatch(ctx, &ev); err != nil {
					return err
				}
			}
			cursor = upto
		}
		if cursor < end && cursor > now { // caught up with the clock: wait for it
			if !sleep(ctx, d.Tick) {
				return ctx.Err()
			}
			if err := dp.release(ctx, false); err != nil {
				return err
			}
		}
	}
	return dp.release(ctx, true)
}

// dispatch sends ev, or holds it back, and maybe holds a copy.
func (dp *dispatcher) dispatch(ctx context.Context, ev *Event) error {
	if ev.ms < dp.backlogEnd && ev.State != AgentStatus {
		return nil
	}
	if !dp.d.Subscriptions && len(dp.d.CallStates) > 0 && ev.State != AgentStatus && !slices.Contains(dp.d.CallStates, ev.State) {
		return nil
	}
	if err := dp.pace(ctx); err != nil {
		return err
	}
	f := &dp.d.Faults
	k := traffic.Mix64(dp.hb.tr.Salt() ^ 0xDE11 ^ uint64(ev.CallID)*0x9E3779B97F4A7C15 ^ uint64(ev.seq)<<48 ^ uint64(ev.ms))
	reorder, dup := traffic.Unit(traffic.Mix64(k+1)) < f.ReorderRate, traffic.Unit(traffic.Mix64(k+2)) < f.DuplicateRate
	dp.t.inc(cEvents)
	dp.n++
	dests := []hookDest{{url: dp.d.URL, secret: dp.d.Secret}}
	if dp.d.Subscriptions {
		dests = dp.hb.store.destinations(dp.hb, ev)
	}
	for _, dest := range dests {
		job, err := dest.job(ev.Claims)
		if err != nil {
			return err
		}
		if reorder {
			dp.t.inc(cReordered)
			dp.hold(job, k+3)
		} else if err := dp.send(ctx, job); err != nil {
			return err
		}
		if dup {
			dp.t.inc(cDuplicated)
			dp.hold(job, k+4)
		}
	}
	return dp.release(ctx, false)
}

// hookDest is where one copy of an event goes: a URL, or the
// connections of a websocket.
type hookDest struct {
	url, secret string
	socket      *socket
}

func (h hookDest) job(claims []byte) (sendJob, error) {
	if h.secret == "" {
		return sendJob{url: h.url, socket: h.socket, contentType: "application/json", body: claims}, nil
	}
	tok, err := wire.SignEvent(claims, []byte(h.secret))
	if err != nil {
		return sendJob{}, fmt.Errorf("delivery: sign event: %w", err)
	}
	return sendJob{url: h.url, socket: h.socket, contentType: "application/jwt", body: []byte(tok)}, nil
}

// hold keeps job until 1 to 4 more events (a hash h) were dispatched, at
// most MaxDelay.
func (dp *dispatcher) hold(job sendJob, h uint64) {
	dp.held = append(dp.held, heldJob{job: job, after: dp.n + 1 + int64(traffic.Mix64(h)%4),
		deadline: time.Now().Add(dp.d.Faults.MaxDelay)})
}

// release sends the held jobs that are due (all of them with all).
func (dp *dispatcher) release(ctx context.Context, all bool) error {
	now := time.Now()
	keep := dp.held[:0]
	for _, h := range dp.held {
		if !all && dp.n < h.after && now.Before(h.deadline) {
			keep = append(keep, h)
			continue
		}
		if err := dp.send(ctx, h.job); err != nil {
			return err
		}
	}
	clear(dp.held[len(keep):])
	dp.held = keep
	return nil
}

func (dp *dispatcher) send(ctx context.Context, j sendJob) error {
	select {
	case dp.jobs <- j:
		dp.t.inc(cSent)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pace waits until the next event may go at d.Rate a second; it never
// catches up in a burst after a stall.
func (dp *dispatcher) pace(ctx context.Context) error {
	if dp.d.Rate == 0 {
		return nil
	}
	now := time.Now()
	if dp.next.Before(now) {
		dp.next = now
	}
	if !sleep(ctx, dp.next.Sub(now)) {
		return ctx.Err()
	}
	dp.next = dp.next.Add(time.Duration(float64(time.Second) / dp.d.Rate))
	return nil
}

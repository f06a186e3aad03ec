// Package events receives Dialpad's real-time events (posted to a
// webhook, or read from a websocket by a Listener, websocket.go) and
// writes them to the warehouse within seconds: every call event into
// call_events, each leg's latest state into live_calls, a leg's final
// event into calls through the same shaping as the call list (and its
// agent days and conversations recomputed soon after), what the events
// after a call tell (csat, pcsat, dispositions) into call_feedback (its
// days recomputed alike), and call-center agents' status changes into
// agent_status.
//
// A request is answered 2xx only once its event is in ClickHouse:
// events are stored in groups (up to MaxBatch, or MaxWait after the
// first), so that a crash loses nothing Dialpad was told was received.
// Dialpad retries on 5xx and timeouts, and events arrive late, out of
// order and more than once: every table keeps what the latest event time
// says, and a repeat changes nothing.
//
// It imports dialpad and wire (the events), transform (a final event's
// leg), lease (the owner of its brief holds) and the warehouse's
// connection for its own storage (storage.go); the legs, the derived
// tables and the leases it uses through the interfaces of contracts.go.
package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// Receiver is the webhook endpoint (an http.Handler) and the writer
// behind it (Run). Set the fields before use.
type Receiver struct {
	Store    Store            // where events go: *Storage
	Legs     Legs             // where final events' legs go: *warehouse.Store
	Derived  Deriver          // *derive.Deriver
	Leases   Leases           // *lease.Leases
	Secret   []byte           // the webhook's secret: bodies are JWTs signed HS256 with it
	Targets  []dialpad.Target // the configured targets, to attribute legs to
	Location *time.Location   // the reporting zone
	// LiveMaxAge is how long a leg with no new event counts as live
	// (default 4h).
	LiveMaxAge time.Duration
	// Retention is how long call events are kept (default 90 days): the
	// months that ended longer ago are dropped, hourly.
	Retention time.Duration
	// MaxBatch events, or those received within MaxWait of the first,
	// are stored together (defaults 1,000 and 1s).
	MaxBatch int
	MaxWait  time.Duration
	// Queue bounds the events waiting to be stored (default 5,000):
	// beyond it a request is answered 503 at once, and Dialpad retries.
	Queue int
	// Answer bounds how long a request waits for its event to be stored
	// before it is answered 503 (default 4s: Dialpad gives up after 5).
	Answer time.Duration
	// RecomputeEvery is how often the agent days and conversations of
	// the days that final events touched are recomputed (default 5s).
	RecomputeEvery time.Duration
	// Owner names this process in target leases (default
	// lease.NewOwner(lease.Brief): a load waits for the receiver's short
	// holds rather than skip the target); LeaseTTL as load.Job's
	// (default 2m).
	Owner    lease.Owner
	LeaseTTL time.Duration
	// Now is the clock (nil: time.Now) that tells which days Run
	// recomputes when it starts, and which live states and call events
	// are old enough to drop. The waits (MaxWait, Answer,
	// RecomputeEvery) and the time an event was received are the real
	// clock's.
	Now     func() time.Time
	Metrics *Metrics // nil: not measured
	Log     *slog.Logger

	once    sync.Once
	queue   chan *pending
	dirty   dirtyDays
	agents  dirtyAgents
	opsMu   sync.Mutex
	ops     map[int64][]Operator
	opsRead time.Time
	// trouble is when events may first have been lost since TakeTrouble
	// last asked: the receiver's start, or a 503 answered since.
	troubleMu sync.Mutex
	trouble   time.Time
}

// pending is an event waiting to be stored, and its request waiting for
// the outcome.
type pending struct {
	ev       wire.Event
	received time.Time
	done     chan error
}

// maxBody bounds a request body: an event is a few kilobytes.
const maxBody = 1 << 20

func (r *Receiver) init() {
	r.once.Do(func() {
		if r.MaxBatch <= 0 {
			r.MaxBatch = 1000
		}
		if r.MaxWait <= 0 {
			r.MaxWait = time.Second
		}
		if r.Queue <= 0 {
			r.Queue = 5000
		}
		if r.Answer <= 0 {
			r.Answer = 4 * time.Second
		}
		if r.LiveMaxAge <= 0 {
			r.LiveMaxAge = 4 * time.Hour
		}
		if r.Retention <= 0 {
			r.Retention = 90 * 24 * time.Hour
		}
		if r.RecomputeEvery <= 0 {
			r.RecomputeEvery = 5 * time.Second
		}
		if r.LeaseTTL <= 0 {
			r.LeaseTTL = 2 * time.Minute
		}
		if r.Owner == "" {
			r.Owner = lease.NewOwner(lease.Brief)
		}
		if r.Now == nil {
			r.Now = time.Now
		}
		if r.Log == nil {
			r.Log = slog.New(slog.DiscardHandler)
		}
		r.queue = make(chan *pending, r.Queue)
		r.dirty.days = map[dialpad.Target]map[time.Time]bool{}
		r.agents.from = map[uint64]int64{}
		r.trouble = r.Now()
	})
}

// ServeHTTP accepts one event: 200 once it is stored; 401 when the body
// is not signed HS256 with the secret; 400 when it is not an event; 503
// when it could not be stored in time. Nothing is stored for a 4xx, and
// no answer repeats the body.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.init()
	received := time.Now()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		ref := &Refusal{Code: http.StatusRequestEntityTooLarge, Reason: "too_large", msg: "the body is over 1 MiB or could not be read", err: err}
		r.Metrics.refused(ref.Reason)
		r.Log.Debug("webhook request refused", "status", ref.Code, "reason", err.Error())
		http.Error(w, ref.msg, ref.Code)
		return
	}
	ev, ref := r.verify(body)
	if ref != nil {
		r.Log.Debug("webhook request refused", "status", ref.Code, "reason", ref.err.Error())
		http.Error(w, ref.msg, ref.Code)
		return
	}
	p := &pending{ev: ev, received: received, done: make(chan error, 1)}
	select {
	case r.queue <- p:
	default:
		r.Metrics.refused("busy")
		r.troubled()
		http.Error(w, "busy: retry later", http.StatusServiceUnavailable)
		return
	}
	wait := time.NewTimer(r.Answer - time.Since(received))
	defer wait.Stop()
	select {
	case err := <-p.done:
		if err != nil {
			r.troubled()
			http.Error(w, "the event could not be stored: retry later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok\n")
	case <-wait.C:
		r.Metrics.refused("slow")
		r.troubled()
		http.Error(w, "storing the event is taking too long: retry later", http.StatusServiceUnavailable)
	case <-req.Context().Done():
	}
}

// ErrRefused is what Accept's refusals are (errors.Is): a body that is
// not an event signed HS256 with the secret.
var ErrRefused = errors.New("refused")

// Refusal is a body refused before anything of it is stored: Code is the
// HTTP status a webhook request is answered, Reason the label of
// dialpad_etl_events_refused_total. Its message never repeats the body.
type Refusal struct {
	Code   int
	Reason string
	msg    string
	err    error
}

func (e *Refusal) Error() string        { return e.msg + ": " + e.err.Error() }
func (e *Refusal) Is(target error) bool { return target == ErrRefused }

// verify reads body as an event signed with the secret, or refuses it
// (counted).
func (r *Receiver) verify(body []byte) (wire.Event, *Refusal) {
	claims, err := wire.VerifyEvent(body, r.Secret)
	var ref *Refusal
	switch {
	case errors.Is(err, wire.ErrBadSignature):
		ref = &Refusal{Code: http.StatusUnauthorized, Reason: "bad_signature", msg: "the event is not signed HS256 with the webhook secret", err: err}
	case err != nil:
		ref = &Refusal{Code: http.StatusBadRequest, Reason: "not_jwt", msg: "the body is not a compact JWT", err: err}
	}
	if ref != nil {
		r.Metrics.refused(ref.Reason)
		return wire.Event{}, ref
	}
	ev, err := wire.DecodeEvent(claims)
	if err != nil {
		r.Metrics.refused("not_event")
		return wire.Event{}, &Refusal{Code: http.StatusBadRequest, Reason: "not_event",
			msg: "the JWT's claims are not a call or agent status event", err: err}
	}
	return ev, nil
}

// Accept takes one event from elsewhere than a webhook request (a
// websocket's message): the same verification, group commit and storage
// as ServeHTTP's. It returns nil once the event is stored; a *Refusal
// (errors.Is ErrRefused, counted, nothing stored) for a body that is not
// an event signed with the secret; or an error when the event could not
// be stored, or ctx ended first (it may be stored or not: storing it
// again is harmless). Unlike ServeHTTP it waits for room in the queue,
// since nobody will send the event again. Safe for concurrent use; Run
// must be running.
func (r *Receiver) Accept(ctx context.Context, body []byte) error {
	r.init()
	received := time.Now()
	if len(body) > maxBody {
		r.Metrics.refused("too_large")
		return &Refusal{Code: http.StatusRequestEntityTooLarge, Reason: "too_large", msg: "the event is over 1 MiB",
			err: errors.New("too large")}
	}
	ev, ref := r.verify(body)
	if ref != nil {
		return ref
	}
	p := &pending{ev: ev, received: received, done: make(chan error, 1)}
	select {
	case r.queue <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		if err != nil {
			r.troubled()
			return fmt.Errorf("store the event: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MayHaveLost records that events may have been lost from since on (a
// websocket was without a connection): the next duty-status read repairs
// the agents' statuses from then (Repair's Trouble).
func (r *Receiver) MayHaveLost(since time.Time) {
	r.init()
	r.troubleMu.Lock()
	defer r.troubleMu.Unlock()
	if r.trouble.IsZero() || since.Before(r.trouble) {
		r.trouble = since
	}
}

// Run stores the received events until ctx ends, then stores what was
// queued by then, recomputes the days they touched, and returns. It also recomputes, every RecomputeEvery,
// the days final events touched, and drops, hourly, live states of legs
// that started over two days ago and call events older than Retention.
func (r *Receiver) Run(ctx context.Context) error {
	r.init()
	// What a crash left to recompute: the days the events of the last
	// two days may have touched.
	now := r.Now()
	for _, t := range r.Targets {
		r.dirty.add(t, transform.Day(now.UnixMilli(), r.Location))
		r.dirty.add(t, transform.Day(now.Add(-24*time.Hour).UnixMilli(), r.Location))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.recompute(ctx) }()
	batches := make(chan []*pending, 1)
	go r.collect(ctx, batches)
	for b := range batches {
		r.store(context.WithoutCancel(ctx), b)
	}
	wg.Wait()
	// The days the last events touched, so that a restart does not have
	// to guess them (it recomputes the last two days anyway).
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r.recomputeDirty(final)
	r.recountAgents(final)
	return nil
}

// collect groups queued events into batches until ctx ends, then sends
// what is queued and closes batches.
func (r *Receiver) collect(ctx context.Context, batches chan<- []*pending) {
	defer close(batches)
	for {
		var batch []*pending
		select {
		case p := <-r.queue:
			batch = append(batch, p)
		case <-ctx.Done():
			for {
				select {
				case p := <-r.queue:
					batch = append(batch, p)
					if len(batch) == r.MaxBatch {
						batches <- batch
						batch = nil
					}
				default:
					if len(batch) > 0 {
						batches <- batch
					}
					return
				}
			}
		}
		timer := time.NewTimer(r.MaxWait)
	fill:
		for len(batch) < r.MaxBatch {
			select {
			case p := <-r.queue:
				batch = append(batch, p)
			case <-timer.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		timer.Stop()
		batches <- batch
	}
}

// store writes one batch and answers its requests.
func (r *Receiver) store(ctx context.Context, batch []*pending) {
	began := time.Now()
	err := r.write(ctx, batch)
	for _, p := range batch {
		p.done <- err
	}
	if err != nil {
		r.Log.Error("could not store events; they are answered 503 and Dialpad sends them again",
			"events", len(batch), "err", err)
	}
	r.Metrics.stored(batch, began, err)
}

// write stores the events of a batch: the call events, then what they
// say about legs and agents.
func (r *Receiver) write(ctx context.Context, batch []*pending) error {
	var calls []ReceivedCall
	var agents []ReceivedAgent
	for _, p := range batch {
		switch {
		case p.ev.Call != nil:
			calls = append(calls, ReceivedCall{Event: p.ev.Call, Received: p.received})
		case p.ev.Agent != nil:
			agents = append(agents, ReceivedAgent{Event: p.ev.Agent, Received: p.received})
		}
	}
	if err := r.Store.WriteCallEvents(ctx, calls); err != nil {
		return err
	}
	ops, err := r.operators(ctx)
	if err != nil {
		return err
	}
	names := func(agent int64) (string, bool) {
		for _, o := range ops[agent] {
			if o.Name != "" {
				return o.Name, true
			}
		}
		return "", false
	}
	var live []LiveCall
	var legs []transform.Leg
	var feedback []Feedback
	seen := map[dialpad.Target]time.Time{}
	for _, c := range calls {
		e := c.Event
		fb, told := feedbackOf(e)
		for _, t := range attribute(e, r.Targets, ops) {
			if c.Received.After(seen[t]) {
				seen[t] = c.Received
			}
			if told {
				fb.Target = t
				feedback = append(feedback, fb)
			}
			name, _ := names(int64(e.Target.ID))
			// What Dialpad tells after a leg ended (its CSAT, its
			// dispositions) comes later than its final event, and must
			// not make the leg live again.
			if !slices.Contains(wire.FeedbackStates, e.State) {
				live = append(live, LiveCall{Target: t, Event: e, Agent: name,
					Expires: time.UnixMilli(int64(e.EventTimestamp)).Add(r.LiveMaxAge)})
			}
			if wire.IsFinal(e.State) {
				// Versioned by its event time: the latest final event of a
				// leg wins, and a list copy read after the call ended wins
				// over any of them, however late they arrive.
				l := transform.EventLeg(t, e, r.Location, names)
				l.Read = time.UnixMilli(int64(e.EventTimestamp))
				legs = append(legs, l)
			}
		}
	}
	if err := r.Store.WriteLiveCalls(ctx, live); err != nil {
		return err
	}
	// A leg the list already gave stays the list's, with the event's
	// fields added.
	if err := r.Legs.KeepListCopies(ctx, legs, names); err != nil {
		return err
	}
	if err := r.Legs.WriteLegsEach(ctx, legs, func(i int) { r.dirty.add(legs[i].Target, legs[i].Day) }); err != nil {
		return err
	}
	r.Metrics.legs(len(legs))
	// The days of the legs told of are derived again, as final legs'
	// are: their conversations take the feedback in.
	if err := r.Store.WriteFeedback(ctx, feedback); err != nil {
		return err
	}
	for _, f := range feedback {
		r.dirty.add(f.Target, transform.Day(f.Started.UnixMilli(), r.Location))
	}
	r.Metrics.feedback(len(feedback))
	if err := r.Store.WriteAgentStatus(ctx, agents); err != nil {
		return err
	}
	// Last: a group that fails before (and is answered 503 each time
	// Dialpad sends it again) does not count as arrived.
	var seenRows []TargetSeen
	for t, at := range seen {
		seenRows = append(seenRows, TargetSeen{Target: t, Received: at})
	}
	if err := r.Store.WriteTargetsSeen(ctx, seenRows); err != nil {
		return err
	}
	// Their time is counted by the next recompute round, so that the
	// answer does not wait for it.
	r.agents.put(Changes(agents))
	return nil
}

// RecountAgents has the time of the agents in from (agent id -> epoch
// ms) counted again, each from its ms on, by the next recompute round,
// which tries again until it succeeds (Repair's Recount).
func (r *Receiver) RecountAgents(_ context.Context, from map[uint64]int64, _ time.Time) error {
	r.init()
	r.agents.put(from)
	return nil
}

// troubled records that an event may have been lost now: Dialpad was
// answered 503.
func (r *Receiver) troubled() {
	r.troubleMu.Lock()
	defer r.troubleMu.Unlock()
	if r.trouble.IsZero() {
		r.trouble = r.Now()
	}
}

// TakeTrouble is the earliest time since its last call at which events
// may have been lost (the receiver's start, or a 503 answered), or zero
// when none was; the next call starts afresh (Repair's Trouble).
func (r *Receiver) TakeTrouble() time.Time {
	r.init()
	r.troubleMu.Lock()
	defer r.troubleMu.Unlock()
	t := r.trouble
	r.trouble = time.Time{}
	return t
}

// dirtyAgents are the agents whose time must be counted again, each from
// its earliest change not counted yet.
type dirtyAgents struct {
	mu   sync.Mutex
	from map[uint64]int64
}

func (d *dirtyAgents) put(m map[uint64]int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, at := range m {
		if was, ok := d.from[id]; !ok || at < was {
			d.from[id] = at
		}
	}
}

func (d *dirtyAgents) take() map[uint64]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.from
	d.from = map[uint64]int64{}
	return out
}

// attribute names the configured targets a leg belongs to, the way the
// call list of each would list it: the target itself when the leg is
// its own, its entry point's (the department or call center a customer
// called), or the group it was placed as; an agent's own call (no entry
// point, not placed as a group) belongs to the targets the agent is an
// operator of. The next list read of a target settles it: a leg it does
// not list is dropped (warehouse.Store.DropUnlisted).
func attribute(e *wire.CallEvent, targets []dialpad.Target, ops map[int64][]Operator) []dialpad.Target {
	var out []dialpad.Target
	add := func(p wire.Party) {
		t := dialpad.Target{Type: p.Type, ID: int64(p.ID)}
		for _, c := range targets {
			if c == t && !contains(out, t) {
				out = append(out, t)
			}
		}
	}
	add(e.Target)
	add(e.EntryPointTarget)
	add(e.ProxyTarget)
	if e.EntryPointTarget.ID == 0 && e.ProxyTarget.ID == 0 && e.Target.Type == "user" {
		for _, o := range ops[int64(e.Target.ID)] {
			for _, c := range targets {
				if c == o.Target && !contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func contains(ts []dialpad.Target, t dialpad.Target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// opsTTL is how long the operators read from the warehouse are used.
const opsTTL = time.Minute

// operators returns the operators of every target, as the loads last
// stored them, read again once a minute.
func (r *Receiver) operators(ctx context.Context) (map[int64][]Operator, error) {
	r.opsMu.Lock()
	defer r.opsMu.Unlock()
	if r.ops != nil && time.Since(r.opsRead) < opsTTL {
		return r.ops, nil
	}
	ops, err := r.Store.Operators(ctx)
	if err != nil {
		if r.ops != nil {
			r.Log.Warn("could not read the operators again; using those read before", "err", err)
			return r.ops, nil
		}
		return nil, err
	}
	r.ops, r.opsRead = ops, time.Now()
	return ops, nil
}

// agentsEvery is how often the time of the agents' current statuses is
// counted up to now.
const agentsEvery = time.Minute

// recountAgents counts the time of the agents whose statuses changed
// since the last round; those whose count fails wait for the next.
func (r *Receiver) recountAgents(ctx context.Context) {
	todo := r.agents.take()
	if len(todo) == 0 {
		return
	}
	if err := r.Derived.RecountAgents(ctx, todo, r.Now()); err != nil {
		r.Log.Warn("could not count the agents' time; trying again", "agents", len(todo), "err", err)
		r.agents.put(todo)
	}
}

// recompute recomputes the dirty days every RecomputeEvery, under the
// targets' leases (a load under way holds them: its days wait for the
// next round), until ctx ends; counts the time of the agents whose
// statuses changed, and every agentsEvery the current statuses up to
// now (the first time, the last two days' and each one's from its
// start); and drops old live states and call events hourly.
func (r *Receiver) recompute(ctx context.Context) {
	tick := time.NewTicker(r.RecomputeEvery)
	defer tick.Stop()
	var dropped, counted, since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.recomputeDirty(ctx)
		r.recountAgents(ctx)
		if time.Since(counted) >= agentsEvery {
			counted = time.Now()
			now := r.Now()
			if err := r.Derived.RecountCurrent(ctx, since, now); err != nil {
				r.Log.Warn("could not count the agents' current statuses; trying again", "err", err)
			} else {
				since = now
			}
		}
		if time.Since(dropped) > time.Hour {
			dropped = time.Now()
			if err := r.Store.DropLiveDays(ctx, r.Now().Add(-48*time.Hour)); err != nil {
				r.Log.Warn("could not drop old live states", "err", err)
			}
			if err := r.Store.DropEventMonths(ctx, r.Now().Add(-r.Retention)); err != nil {
				r.Log.Warn("could not drop old call events", "err", err)
			}
		}
	}
}

func (r *Receiver) recomputeDirty(ctx context.Context) {
	todo := r.dirty.take()
	if len(todo) == 0 {
		return
	}
	// Deferred first, so that it runs last: the pass includes releasing
	// the leases.
	defer r.Metrics.recomputed(time.Now())
	var names []string
	for t := range todo {
		names = append(names, lease.Target(t))
	}
	got, _, err := r.Leases.Acquire(ctx, r.Owner, r.LeaseTTL, names...)
	if err != nil {
		r.Log.Warn("could not take the leases to recompute; trying again", "err", err)
		r.dirty.put(todo)
		return
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Leases.Release(rctx, r.Owner, got...); err != nil {
			r.Log.Warn("could not release leases; they expire by themselves", "err", err)
		}
	}()
	mine := map[string]bool{}
	for _, n := range got {
		mine[n] = true
	}
	for t, days := range todo {
		if !mine[lease.Target(t)] || ctx.Err() != nil {
			r.dirty.put(map[dialpad.Target]map[time.Time]bool{t: days})
			continue
		}
		var list []time.Time
		for d := range days {
			list = append(list, d)
		}
		if err := r.Derived.Recompute(ctx, t, list); err != nil {
			r.Log.Error("recompute after events failed; trying again", "target", t, "err", err)
			r.dirty.put(map[dialpad.Target]map[time.Time]bool{t: days})
		}
	}
}

// dirtyDays are the days of each target that final events, or events of
// what came after a call, touched and that are not yet recomputed.
type dirtyDays struct {
	mu   sync.Mutex
	days map[dialpad.Target]map[time.Time]bool
}

func (d *dirtyDays) add(t dialpad.Target, day time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.days[t] == nil {
		d.days[t] = map[time.Time]bool{}
	}
	d.days[t][day] = true
}

func (d *dirtyDays) put(m map[dialpad.Target]map[time.Time]bool) {
	for t, days := range m {
		for day := range days {
			d.add(t, day)
		}
	}
}

func (d *dirtyDays) take() map[dialpad.Target]map[time.Time]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.days
	d.days = map[dialpad.Target]map[time.Time]bool{}
	return out
}

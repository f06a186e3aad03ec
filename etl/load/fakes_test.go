package load

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

// In-memory fakes of what a load uses, each keeping the promises its
// contract documents, so that the load's own logic (slicing, batching,
// marks, runs, leases, recompute) is tested without ClickHouse or HTTP.
// The leases are the test kit's (leasetest).

var dept = dialpad.Target{Type: "department", ID: 42}

// call is an ended inbound leg of dept's agent 7 that started at.
func call(id int64, at time.Time) wire.Call {
	return wire.Call{CallID: wire.ID(id), Direction: "inbound", State: "hangup",
		DateStarted: wire.Millis(at.UnixMilli()), DateEnded: wire.Millis(at.Add(2 * time.Minute).UnixMilli()),
		Target: wire.Party{ID: 7, Type: "user", Name: "Agent Seven"},
		Raw:    []byte(fmt.Sprintf(`{"call_id":"%d","date_started":"%d"}`, id, at.UnixMilli()))}
}

// fakeSource is Dialpad in memory: ListCalls hands over the calls that
// started in [w.From, w.To), newest first, pageSize at a time (one empty
// page when there are none), and stops at fn's first error, which it
// returns wrapped.
type fakeSource struct {
	calls     map[dialpad.Target][]wire.Call
	rejects   []fakeReject
	pageSize  int
	received  time.Time // Page.Received
	operators []dialpad.Operator

	// Hooks, each optional: enter runs as a listing starts; before runs
	// before page n (from 1) is handed over, and its error ends the
	// listing as a failed request would; after runs once fn took page n.
	enter  func(w dialpad.Window)
	before func(w dialpad.Window, n int) error
	after  func(w dialpad.Window, n int)

	mu             sync.Mutex
	asked          []dialpad.Window
	operatorsAsks  int
	inFlight, most int // listings under way at once: now, and the most
}

// fakeReject is an item that could not be read, handed over on the
// first page of a listing whose window holds at.
type fakeReject struct {
	at time.Time
	r  wire.Rejected
}

func newSource(calls ...wire.Call) *fakeSource {
	return &fakeSource{calls: map[dialpad.Target][]wire.Call{dept: calls}, pageSize: 3}
}

func (s *fakeSource) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	s.mu.Lock()
	s.asked = append(s.asked, w)
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()
	if s.enter != nil {
		s.enter(w)
	}
	var in []wire.Call
	for _, c := range s.calls[t] {
		if at := time.UnixMilli(int64(c.DateStarted)); !at.Before(w.From) && at.Before(w.To) {
			in = append(in, c)
		}
	}
	sort.SliceStable(in, func(i, j int) bool { return in[i].DateStarted > in[j].DateStarted })
	for n := 1; n == 1 || len(in) > 0; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list calls for %s: page %d: %w", t, n, err)
		}
		if s.before != nil {
			if err := s.before(w, n); err != nil {
				return fmt.Errorf("list calls for %s: page %d: %w", t, n, err)
			}
		}
		k := min(s.pageSize, len(in))
		p := &wire.Page{Number: n, Calls: slices.Clone(in[:k]), Received: s.received}
		in = in[k:]
		if n == 1 {
			for _, r := range s.rejects {
				if !r.at.Before(w.From) && r.at.Before(w.To) {
					p.Rejected = append(p.Rejected, r.r)
				}
			}
		}
		if err := fn(p); err != nil {
			return fmt.Errorf("list calls for %s: page %d: %w", t, n, err)
		}
		if s.after != nil {
			s.after(w, n)
		}
	}
	return nil
}

func (s *fakeSource) Operators(ctx context.Context, t dialpad.Target) ([]dialpad.Operator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.operatorsAsks++
	return s.operators, nil
}

// askedFor returns the windows the load asked for, in the order asked.
func (s *fakeSource) askedFor() []dialpad.Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

// fakeStore is the warehouse in memory. A write of legs lands whole or
// not at all; a leg is new or changed when no copy of it is stored or
// the stored one has other raw JSON; the highest mark ever written wins.
type fakeStore struct {
	// failLegs, if set, fails the write of a batch when it returns an
	// error; nothing of that batch lands.
	failLegs func(legs []transform.Leg) error
	// unlisted gives the days of the legs DropUnlisted deletes in a
	// window.
	unlisted func(w dialpad.Window) []time.Time

	mu       sync.Mutex
	legs     map[legKey]transform.Leg
	writes   map[legKey]int    // how many times each leg was written
	batches  [][]transform.Leg // the legs of each write, landed or not, in order
	rejected []warehouse.Rejected
	agents   []warehouse.Agent
	marks    map[dialpad.Target]time.Time
	loaded   []loadedWindow // every MarkWindowLoaded, in order
	dropped  []dialpad.Window
	runs     []warehouse.Run
}

type legKey struct {
	t  dialpad.Target
	id uint64
}

type loadedWindow struct {
	t    dialpad.Target
	w    dialpad.Window
	legs int
	from transform.Source
}

func newStore() *fakeStore {
	return &fakeStore{legs: map[legKey]transform.Leg{}, writes: map[legKey]int{}, marks: map[dialpad.Target]time.Time{}}
}

func (s *fakeStore) WriteLegsEach(ctx context.Context, legs []transform.Leg, changed func(i int)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(legs))
	if s.failLegs != nil {
		if err := s.failLegs(legs); err != nil {
			return err
		}
	}
	for i, l := range legs {
		k := legKey{l.Target, l.CallID}
		old, ok := s.legs[k]
		if !ok || string(old.Call.Raw) != string(l.Call.Raw) {
			changed(i)
		}
		s.legs[k] = l
		s.writes[k]++
	}
	return nil
}

func (s *fakeStore) WriteRejected(ctx context.Context, items []warehouse.Rejected) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, items...)
	return nil
}

func (s *fakeStore) WriteAgents(ctx context.Context, t dialpad.Target, agents []warehouse.Agent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents = append(s.agents, agents...)
	return nil
}

func (s *fakeStore) DropUnlisted(ctx context.Context, t dialpad.Target, w dialpad.Window, began time.Time) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped = append(s.dropped, w)
	if s.unlisted == nil {
		return nil, nil
	}
	return s.unlisted(w), nil
}

func (s *fakeStore) HighWater(ctx context.Context, t dialpad.Target) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks[t]
	return m, ok, nil
}

func (s *fakeStore) AdvanceHighWater(ctx context.Context, t dialpad.Target, mark time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.marks[t]; !ok || mark.After(old) {
		s.marks[t] = mark.UTC()
	}
	return nil
}

func (s *fakeStore) MarkWindowLoaded(ctx context.Context, t dialpad.Target, w dialpad.Window, legs int, from transform.Source) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = append(s.loaded, loadedWindow{t, dialpad.Window{From: w.From.UTC(), To: w.To.UTC()}, legs, from})
	return nil
}

func (s *fakeStore) LoadedWindows(ctx context.Context, t dialpad.Target, w dialpad.Window) (map[dialpad.Window]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[dialpad.Window]bool{}
	for _, l := range s.loaded {
		if l.t == t && !l.w.From.Before(w.From) && !l.w.To.After(w.To) {
			out[l.w] = true
		}
	}
	return out, nil
}

func (s *fakeStore) RecordRun(ctx context.Context, r warehouse.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, r)
	return nil
}

// stored returns how many legs are stored.
func (s *fakeStore) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.legs)
}

// loadedWindows returns the windows marked loaded, in order.
func (s *fakeStore) loadedWindows() []dialpad.Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dialpad.Window
	for _, l := range s.loaded {
		out = append(out, l.w)
	}
	return out
}

// fakeDeriver records each recompute, with how many legs were stored
// when it was asked for.
type fakeDeriver struct {
	store *fakeStore

	mu         sync.Mutex
	recomputes []recompute
}

type recompute struct {
	t      dialpad.Target
	days   []time.Time // sorted, each once
	stored int         // legs stored when asked
}

func (d *fakeDeriver) Recompute(ctx context.Context, t dialpad.Target, days []time.Time) error {
	set := map[time.Time]bool{}
	for _, day := range days {
		set[day.UTC()] = true
	}
	var sorted []time.Time
	for day := range set {
		sorted = append(sorted, day)
	}
	slices.SortFunc(sorted, time.Time.Compare)
	n := d.store.stored()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recomputes = append(d.recomputes, recompute{t, sorted, n})
	return nil
}

func (d *fakeDeriver) CheckZone(ctx context.Context) error { return nil }

// fakeJob is a load of dept into fakes, in UTC, one slice at a time, at
// the fixed time now.
func fakeJob(src *fakeSource, now time.Time) (*Job, *fakeStore, *fakeDeriver, *leasetest.Leases) {
	st := newStore()
	d := &fakeDeriver{store: st}
	l := leasetest.New()
	if src.received.IsZero() {
		src.received = now
	}
	return &Job{Source: src, Store: st, Derived: d, Leases: l, Targets: []dialpad.Target{dept}, Location: time.UTC,
		Concurrency: 1, Owner: "this-load", Now: func() time.Time { return now }}, st, d, l
}

// barrier holds its first n arrivals until all n have come. So that a
// load that never lets n arrive fails on what the test counts rather
// than hang, it lets them go after ten seconds.
type barrier struct {
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.arrived++
	k := b.arrived
	if k == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	if k > b.n {
		return
	}
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
	}
}

// utc is a minute of a date in UTC.
func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// oneResult fails t unless results holds one result, and returns it.
func oneResult(t *testing.T, results []Result) Result {
	t.Helper()
	if len(results) != 1 {
		t.Fatalf("%d results, want one (for the one target): %+v", len(results), results)
	}
	return results[0]
}

package events_test

// In-memory fakes of what the receiver uses (contracts.go), for the
// tests that need no ClickHouse. Each is safe for concurrent use and
// keeps the promise of its contract that the receiver relies on; a
// method can be made to fail (failNext), as a write to ClickHouse may.
// The leases are the test kit's (leasetest).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

// errWrite is what a write made to fail returns.
var errWrite = errors.New("write: connection reset by peer")

// faults makes the next calls of methods fail.
type faults struct {
	mu   sync.Mutex
	next map[string]int
}

// failNext makes the next n calls of method fail.
func (f *faults) failNext(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == nil {
		f.next = map[string]int{}
	}
	f.next[method] += n
}

// fault is the error of this call of method: errWrite when it was made
// to fail.
func (f *faults) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next[method] > 0 {
		f.next[method]--
		return fmt.Errorf("%s: %w", method, errWrite)
	}
	return nil
}

// fakeStore is events.Store: the call events of each write, the legs'
// latest live states, agent status events, the operators the loads
// listed, and the cut-offs it was asked to drop before.
type fakeStore struct {
	faults
	mu       sync.Mutex
	tried    [][]int64 // the call ids of every WriteCallEvents, stored or not
	groups   [][]int64 // the call ids of every WriteCallEvents that stored them
	live     map[liveKey]events.LiveCall
	seen     map[dialpad.Target]time.Time
	agents   []int64
	ops      map[int64][]events.Operator
	dropLive []time.Time
	dropOld  []time.Time
	feedback map[feedbackKey]events.Feedback
	// entered, if set, is told of each WriteCallEvents, which then waits
	// for gate (if set) before it stores anything.
	entered chan []int64
	gate    chan struct{}
}

type feedbackKey struct {
	target dialpad.Target
	call   int64
	kind   string
}

type liveKey struct {
	target dialpad.Target
	call   int64
}

func newFakeStore() *fakeStore {
	return &fakeStore{live: map[liveKey]events.LiveCall{}, seen: map[dialpad.Target]time.Time{}, ops: map[int64][]events.Operator{},
		feedback: map[feedbackKey]events.Feedback{}}
}

func (s *fakeStore) WriteCallEvents(ctx context.Context, evs []events.ReceivedCall) error {
	if len(evs) == 0 {
		return nil
	}
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = int64(e.Event.CallID)
	}
	s.mu.Lock()
	s.tried = append(s.tried, ids)
	entered, gate := s.entered, s.gate
	s.mu.Unlock()
	if entered != nil {
		entered <- ids
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.fault("WriteCallEvents"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, ids)
	return nil
}

// WriteLiveCalls keeps each leg's state of the latest event time, as
// live_calls does whatever the order of arrival.
func (s *fakeStore) WriteLiveCalls(ctx context.Context, rows []events.LiveCall) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.fault("WriteLiveCalls"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		k := liveKey{r.Target, int64(r.Event.CallID)}
		if old, ok := s.live[k]; !ok || r.Event.EventTimestamp >= old.Event.EventTimestamp {
			s.live[k] = r
		}
	}
	return nil
}

// WriteTargetsSeen keeps of each target the latest time its events
// arrived, as target_events read with max() does.
func (s *fakeStore) WriteTargetsSeen(ctx context.Context, rows []events.TargetSeen) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.fault("WriteTargetsSeen"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		if r.Received.After(s.seen[r.Target]) {
			s.seen[r.Target] = r.Received
		}
	}
	return nil
}

// lastSeen is when call events of target last arrived, as stored.
func (s *fakeStore) lastSeen(target dialpad.Target) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[target]
}

func (s *fakeStore) WriteAgentStatus(ctx context.Context, evs []events.ReceivedAgent) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.fault("WriteAgentStatus"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		s.agents = append(s.agents, int64(e.Event.Target.ID))
	}
	return nil
}

// WriteFeedback keeps of each leg, target and kind the row told last,
// as call_feedback does whatever the order of arrival.
func (s *fakeStore) WriteFeedback(ctx context.Context, rows []events.Feedback) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.fault("WriteFeedback"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range rows {
		k := feedbackKey{f.Target, f.CallID, f.Kind}
		if old, ok := s.feedback[k]; !ok || !f.At.Before(old.At) {
			s.feedback[k] = f
		}
	}
	return nil
}

// feedbackOf is the stored feedback of kind of leg id under target.
func (s *fakeStore) feedbackOf(target dialpad.Target, id int64, kind string) (events.Feedback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.feedback[feedbackKey{target, id, kind}]
	return f, ok
}

// feedbackRows is how many rows of feedback are stored.
func (s *fakeStore) feedbackRows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.feedback)
}

func (s *fakeStore) Operators(ctx context.Context) (map[int64][]events.Operator, error) {
	if err := s.fault("Operators"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64][]events.Operator, len(s.ops))
	for id, ops := range s.ops {
		out[id] = slices.Clone(ops)
	}
	return out, nil
}

func (s *fakeStore) DropLiveDays(ctx context.Context, before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLive = append(s.dropLive, before)
	return nil
}

func (s *fakeStore) DropEventMonths(ctx context.Context, before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropOld = append(s.dropOld, before)
	return nil
}

// stored reports whether a call event of leg id is stored.
func (s *fakeStore) stored(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if slices.Contains(g, id) {
			return true
		}
	}
	return false
}

// storedGroups are the call ids of each stored write, in order.
func (s *fakeStore) storedGroups() [][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.groups)
}

// triedGroups are the call ids of each write, stored or not, in order.
func (s *fakeStore) triedGroups() [][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tried)
}

// liveState is leg id's live state under target.
func (s *fakeStore) liveState(target dialpad.Target, id int64) (events.LiveCall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.live[liveKey{target, id}]
	return l, ok
}

// fakeLegs is events.Legs: the legs of calls, one copy per target and
// call id, the one read last; and what was done to each leg, in order.
type fakeLegs struct {
	faults
	mu   sync.Mutex
	legs map[legKey]transform.Leg
	done map[legKey][]string // "keep", "write"
}

type legKey struct {
	target dialpad.Target
	call   uint64
}

func newFakeLegs() *fakeLegs {
	return &fakeLegs{legs: map[legKey]transform.Leg{}, done: map[legKey][]string{}}
}

// KeepListCopies turns each leg the list gave already (a stored copy not
// from an event) back into that copy, read just after it.
func (f *fakeLegs) KeepListCopies(ctx context.Context, legs []transform.Leg, names transform.Names) error {
	if len(legs) == 0 {
		return nil
	}
	if err := f.fault("KeepListCopies"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range legs {
		k := legKey{legs[i].Target, legs[i].CallID}
		f.done[k] = append(f.done[k], "keep")
		if c, ok := f.legs[k]; ok && c.Source == transform.SourceList {
			c.Read = c.Read.Add(time.Nanosecond)
			legs[i] = c
		}
	}
	return nil
}

// WriteLegsEach keeps of each leg the copy read last, and calls changed
// for those that were new or whose raw JSON differs.
func (f *fakeLegs) WriteLegsEach(ctx context.Context, legs []transform.Leg, changed func(i int)) error {
	if len(legs) == 0 {
		return nil
	}
	if err := f.fault("WriteLegsEach"); err != nil {
		return err
	}
	var news []int
	f.mu.Lock()
	for i, l := range legs {
		k := legKey{l.Target, l.CallID}
		f.done[k] = append(f.done[k], "write")
		old, ok := f.legs[k]
		if !ok || string(old.Call.Raw) != string(l.Call.Raw) {
			news = append(news, i)
		}
		if !ok || !l.Read.Before(old.Read) {
			f.legs[k] = l
		}
	}
	f.mu.Unlock()
	for _, i := range news {
		changed(i)
	}
	return nil
}

// leg is the stored leg id of target.
func (f *fakeLegs) leg(target dialpad.Target, id uint64) (transform.Leg, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.legs[legKey{target, id}]
	return l, ok
}

// steps is what was done to leg id of target, in order.
func (f *fakeLegs) steps(target dialpad.Target, id uint64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.done[legKey{target, id}])
}

// fakeDeriver is events.Deriver: it records each recompute, and who held
// the target's lease meanwhile.
type fakeDeriver struct {
	faults
	leases   *leasetest.Leases
	mu       sync.Mutex
	done     []recomputed
	recounts []map[uint64]int64 // RecountAgents's from, in order
}

type recomputed struct {
	target dialpad.Target
	days   []time.Time
	holder lease.Owner // of the target's lease, during the recompute
}

func (d *fakeDeriver) Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error {
	if err := d.fault("Recompute"); err != nil {
		return err
	}
	holder := d.leases.Holder(lease.Target(target))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done = append(d.done, recomputed{target, slices.Clone(days), holder})
	return nil
}

func (d *fakeDeriver) RecountAgents(ctx context.Context, from map[uint64]int64, now time.Time) error {
	if err := d.fault("RecountAgents"); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(from) > 0 {
		d.recounts = append(d.recounts, maps.Clone(from))
	}
	return nil
}

func (d *fakeDeriver) RecountCurrent(ctx context.Context, since, now time.Time) error {
	return d.fault("RecountCurrent")
}

// of are the recomputes of target, in order.
func (d *fakeDeriver) of(target dialpad.Target) []recomputed {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []recomputed
	for _, r := range d.done {
		if r.target == target {
			out = append(out, r)
		}
	}
	return out
}

// days are the days of target recomputed so far, as dates, sorted, each
// once.
func (d *fakeDeriver) days(target dialpad.Target) []string {
	var out []string
	for _, r := range d.of(target) {
		for _, day := range r.days {
			if s := day.Format(time.DateOnly); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// The fakes' time: it is 03:30 of 10 March 2026 (UTC), still the 9th in
// New York; the legs of the tests start at 02:30 of 6 March (UTC), the
// evening of the 5th in New York.
var (
	clock   = time.Date(2026, 3, 10, 3, 30, 0, 0, time.UTC)
	started = time.Date(2026, 3, 6, 2, 30, 0, 0, time.UTC)
)

// fakeRig is a receiver of the targets on fakes, in UTC, at clock. A
// test sets the receiver's fields before it posts or runs it.
type fakeRig struct {
	r       *events.Receiver
	store   *fakeStore
	legs    *fakeLegs
	derived *fakeDeriver
	leases  *leasetest.Leases
}

func newFakeRig(targets ...dialpad.Target) *fakeRig {
	leases := leasetest.New()
	g := &fakeRig{store: newFakeStore(), legs: newFakeLegs(), derived: &fakeDeriver{leases: leases}, leases: leases}
	g.r = &events.Receiver{Store: g.store, Legs: g.legs, Derived: g.derived, Leases: g.leases,
		Secret: []byte(secret), Targets: targets, Location: time.UTC,
		MaxWait: 5 * time.Millisecond, RecomputeEvery: time.Minute, Answer: 10 * time.Second,
		Now: func() time.Time { return clock }}
	return g
}

// run runs the receiver until stop, or the end of the test; stop waits
// for Run to return.
func (g *fakeRig) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.r.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// post sends body to the receiver and returns the status and answer.
func (g *fakeRig) post(body string) (int, string) {
	w := httptest.NewRecorder()
	g.r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/dialpad", strings.NewReader(body)))
	return w.Code, w.Body.String()
}

// answer is how a request of leg id was answered, and whether its call
// event and live state were stored by then.
type answer struct {
	id     int64
	code   int
	body   string
	stored bool
}

// postAll posts the events of legs ids at once, each made by ev, and
// sends each answer to the channel it returns as it comes.
func (g *fakeRig) postAll(ids []int64, ev func(id int64) string) <-chan answer {
	out := make(chan answer, len(ids))
	for _, id := range ids {
		body := ev(id)
		go func() {
			code, text := g.post(body)
			_, live := g.store.liveState(dept, id)
			out <- answer{id: id, code: code, body: text, stored: g.store.stored(id) && live}
		}()
	}
	return out
}

// next is the next answer of ch, failing t if none comes in 10 s.
func next(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("a request was not answered")
		return answer{}
	}
}

// ringing is leg id of the department ringing, signed.
func ringing(t *testing.T, id int64) string {
	ms := started.UnixMilli()
	return sign(t, event(id, "ringing", ms, map[string]any{"date_started": ms}))
}

// hangup is the final event of leg id under target, started at started
// and ended a minute later, signed; more adds to or overrides its
// fields.
func hangup(t *testing.T, id int64, target dialpad.Target, more map[string]any) string {
	ms := started.UnixMilli()
	party := map[string]any{"id": target.ID, "type": target.Type}
	f := map[string]any{"date_started": ms, "date_connected": ms + 5000, "date_ended": ms + 60000,
		"duration": 55000, "target": party, "entry_point_target": party}
	for k, v := range more {
		f[k] = v
	}
	return sign(t, event(id, "hangup", ms+60000, f))
}

// ids are the legs 1 to n.
func ids(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

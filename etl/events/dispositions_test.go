package events_test

// The nightly dispositions export, on fakes: each call center's and
// department's export goes to call_feedback under its target, and the
// days of its legs are recomputed under the target's lease.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

var (
	center  = dialpad.Target{Type: "callcenter", ID: 900}
	center2 = dialpad.Target{Type: "callcenter", ID: 901}
	office  = dialpad.Target{Type: "office", ID: 600}
)

// fakeExports is events.DispositionExports: each target's answer, and
// the requests made.
type fakeExports struct {
	mu     sync.Mutex
	answer map[dialpad.Target]func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error)
	asked  []dialpad.ExportRequest
}

func (f *fakeExports) ExportDispositions(ctx context.Context, req dialpad.ExportRequest) (*dialpad.DispositionsExport, error) {
	f.mu.Lock()
	f.asked = append(f.asked, req)
	answer := f.answer[req.Target]
	f.mu.Unlock()
	if answer == nil {
		return nil, errors.New("no export for the target")
	}
	return answer(req)
}

// exported is an export asked for at clock with the legs given.
func exported(calls ...records.Disposition) func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error) {
	return func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error) {
		return &dialpad.DispositionsExport{RequestID: "r1", RequestedAt: clock,
			Dispositions: &records.Dispositions{Calls: calls, Bad: []records.BadRow{{Line: 9, Reason: "call_id \"x\" is not a call id"}}}}, nil
	}
}

func failing(err error) func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error) {
	return func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error) { return nil, err }
}

// The days the nightly run read again, 6 to 9 March, in New York: the
// call centers' and the department's exports are asked for (the
// office's not), the legs of the first call center's go to
// call_feedback under it (dated by their starts, told at the export's
// time, its unread columns kept) and its days are recomputed under its
// lease; the department Dialpad refuses (404) is skipped, the second
// call center's export refused for the key (403: a missing scope, not the
// target) counted as failed, and neither stops the other.
func TestTheNightlyDispositionsAreStoredAndTheirDaysRecomputed(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	leases := leasetest.New()
	store, derived := newFakeStore(), &fakeDeriver{leases: leases}
	// 02:30 UTC of the 6th is the 5th in New York; 15:00 UTC the 6th.
	a := records.Disposition{CallID: 41, Started: started, Names: []string{"Billing", "Refund"}, Extra: `{"agent_name":"Ana"}`}
	b := records.Disposition{CallID: 42, Started: started.Add(12*time.Hour + 30*time.Minute), Names: []string{"Sales"}, Extra: "{}"}
	exports := &fakeExports{answer: map[dialpad.Target]func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error){
		center:  exported(a, b),
		dept:    failing(&dialpad.APIError{Status: http.StatusNotFound, Target: dept.String()}),
		center2: failing(&dialpad.APIError{Status: http.StatusForbidden, Target: center2.String()}),
	}}
	reg := prometheus.NewRegistry()
	d := &events.DispositionLoad{Exports: exports, Store: store, Derived: derived, Leases: leases,
		Targets: []dialpad.Target{center, office, dept, center2}, Location: ny, Metrics: events.NewDispositionMetrics(reg)}
	first, last := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	results := d.Run(t.Context(), first, last)

	var asked []dialpad.Target
	for _, r := range exports.asked {
		asked = append(asked, r.Target)
		if !r.From.Equal(first) || !r.To.Equal(last) || r.Zone != ny {
			t.Errorf("%s asked for %v to %v in %v, want %v to %v in New York", r.Target, r.From, r.To, r.Zone, first, last)
		}
	}
	if want := []dialpad.Target{center, dept, center2}; !sameTargets(asked, want) {
		t.Errorf("exports asked for %v, want %v", asked, want)
	}
	for _, c := range []records.Disposition{a, b} {
		want := events.Feedback{Target: center, CallID: int64(c.CallID), Kind: events.KindDisposition, Started: c.Started,
			Names: c.Names, Source: events.SourceExport, Extra: c.Extra, At: clock}
		if got, ok := store.feedbackOf(center, int64(c.CallID), events.KindDisposition); !ok || !sameFeedback(got, want) {
			t.Errorf("leg %d: stored %v %+v\nwant %+v", c.CallID, ok, got, want)
		}
	}
	if n := store.feedbackRows(); n != 2 {
		t.Errorf("%d rows of feedback, want 2", n)
	}
	if got, want := derived.days(center), []string{"2026-03-05", "2026-03-06"}; !slices.Equal(got, want) {
		t.Errorf("recomputed %v of the call center, want %v (its legs' days in New York)", got, want)
	}
	for _, r := range derived.of(center) {
		if r.holder == "" || r.holder.Hold() != lease.Brief {
			t.Errorf("recomputed while the lease was held by %q, want by the load of dispositions, briefly", r.holder)
		}
	}
	if leases.Holder(lease.Target(center)) != "" {
		t.Error("the call center's lease is still held")
	}
	if len(derived.of(dept)) != 0 || len(derived.of(center2)) != 0 {
		t.Error("a target without an export was recomputed")
	}
	if len(results) != 3 || results[0].Legs != 2 || results[0].Bad != 1 || results[0].Err != nil ||
		!results[1].Refused || results[2].Refused || results[2].Err == nil {
		t.Errorf("results %+v; want the call center's 2 legs (1 bad row), the department refused, the second call center failed", results)
	}
	for status, want := range map[string]float64{"loaded": 1, "refused": 1, "failed": 1} {
		if got := counterSum(t, reg, "dialpad_etl_dispositions_exports_total", "status", status); got != want {
			t.Errorf("exports %s: %v, want %v", status, got, want)
		}
	}
	if got := counterSum(t, reg, "dialpad_etl_dispositions_bad_rows_total", "", ""); got != 1 {
		t.Errorf("bad rows counted %v, want 1", got)
	}

	// The next night: the department Dialpad refused is not asked for
	// again (each export spends the shared budget); the failed one is.
	exports.mu.Lock()
	exports.asked = nil
	exports.mu.Unlock()
	d.Run(t.Context(), first, last)
	asked = nil
	for _, r := range exports.asked {
		asked = append(asked, r.Target)
	}
	if want := []dialpad.Target{center, center2}; !sameTargets(asked, want) {
		t.Errorf("the next night asked for %v, want %v", asked, want)
	}
}

// A load that holds the target's lease is waited for; one that holds it
// past LeaseWait fails the target (counted), its feedback written all
// the same for the next recompute to take in.
func TestTheNightlyDispositionsWaitForALoadsLease(t *testing.T) {
	for _, tt := range []struct {
		name  string
		letGo int
		fail  bool
	}{{"let go", 2, false}, {"held throughout", 0, true}} {
		t.Run(tt.name, func(t *testing.T) {
			leases := leasetest.New()
			leases.HeldBy(lease.Target(center), lease.NewOwner(lease.Long), clock.Add(time.Hour), tt.letGo)
			store, derived := newFakeStore(), &fakeDeriver{leases: leases}
			exports := &fakeExports{answer: map[dialpad.Target]func(dialpad.ExportRequest) (*dialpad.DispositionsExport, error){
				center: exported(records.Disposition{CallID: 41, Started: started, Names: []string{"Sales"}}),
			}}
			reg := prometheus.NewRegistry()
			d := &events.DispositionLoad{Exports: exports, Store: store, Derived: derived, Leases: leases,
				Targets: []dialpad.Target{center}, Location: time.UTC, LeaseWait: 200 * time.Millisecond,
				LeasePoll: 10 * time.Millisecond, Metrics: events.NewDispositionMetrics(reg)}
			res := d.Run(t.Context(), started, started)
			if _, ok := store.feedbackOf(center, 41, events.KindDisposition); !ok {
				t.Error("the feedback was not written")
			}
			recomputed := len(derived.of(center)) == 1
			failed := counterSum(t, reg, "dialpad_etl_dispositions_exports_total", "status", "failed")
			if recomputed == tt.fail || (res[0].Err != nil) != tt.fail || (failed == 1) != tt.fail {
				t.Errorf("recomputed %v, err %v, counted failed %v; want the recompute to fail: %v", recomputed, res[0].Err, failed, tt.fail)
			}
		})
	}
}

// sameTargets reports whether a and b hold the same targets, in any
// order.
func sameTargets(a, b []dialpad.Target) bool {
	key := func(t dialpad.Target) string { return t.String() }
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		as[i] = key(a[i])
	}
	for i := range b {
		bs[i] = key(b[i])
	}
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

// counterSum adds the values of the counter name whose label is value
// (label "": all).
func counterSum(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					match = true
				}
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
)

// The fakes below stand in for Dialpad's exports, the warehouse and the
// loads, so that the comparison and the run are tested without a server.

// requestedAt is when every fake export was asked for, and fakeNow the
// reconciler's clock: early on 4 June 2026, the days compared before.
var (
	requestedAt = time.Date(2026, 6, 4, 5, 0, 0, 0, time.UTC)
	fakeNow     = time.Date(2026, 6, 4, 6, 0, 0, 0, time.UTC)
)

// csvHeader is the columns of the exports written in the tests; the
// times are naive UTC (the exports' zone), durations in minutes.
const csvHeader = "call_id,date_started,date_connected,date_ended,direction,talk_duration,entry_point_call_id\n"

// exportOf parses an export written in a test: csvHeader then rows.
func exportOf(t *testing.T, rows ...string) *records.Records {
	t.Helper()
	recs, err := records.Parse(strings.NewReader(csvHeader+strings.Join(rows, "\n")+"\n"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// fakeExports is Dialpad's records exports: one per target, whatever
// days are asked for (the comparison keeps the rows of the part's days),
// or an error.
type fakeExports struct {
	exports map[dialpad.Target]*records.Records
	errs    map[dialpad.Target]error
	mu      sync.Mutex
	asked   []dialpad.ExportRequest
}

func (f *fakeExports) ExportCalls(_ context.Context, req dialpad.ExportRequest) (*dialpad.Export, error) {
	f.mu.Lock()
	f.asked = append(f.asked, req)
	f.mu.Unlock()
	if err := f.errs[req.Target]; err != nil {
		return nil, err
	}
	return &dialpad.Export{RequestID: "export-" + req.Target.String(), RequestedAt: requestedAt, Records: f.exports[req.Target]}, nil
}

// written is one call of WriteReconciliation.
type written struct {
	days  []reconcile.Reconciled
	diffs []reconcile.Difference
}

// fakeStore is the warehouse: stored legs by target, and what the
// reconciliation wrote, call by call.
type fakeStore struct {
	mu     sync.Mutex
	legs   map[dialpad.Target][]reconcile.StoredLeg
	writes []written
}

func (s *fakeStore) LegsOfDays(_ context.Context, tg dialpad.Target, first, last time.Time) ([]reconcile.StoredLeg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []reconcile.StoredLeg
	for _, l := range s.legs[tg] {
		if !l.Day.Before(first) && !l.Day.After(last) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (s *fakeStore) WriteReconciliation(_ context.Context, days []reconcile.Reconciled, diffs []reconcile.Difference) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, written{slices.Clone(days), slices.Clone(diffs)})
	return nil
}

func (s *fakeStore) DaysOutOfAgreement(context.Context, time.Time) (map[dialpad.Target]int, error) {
	return nil, nil
}

// day is the latest recorded reconciliation of target tg's day d
// (YYYY-MM-DD).
func (s *fakeStore) day(t *testing.T, tg dialpad.Target, d string) reconcile.Reconciled {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.writes) - 1; i >= 0; i-- {
		for _, r := range s.writes[i].days {
			if r.Target == tg && r.Day.Format(time.DateOnly) == d {
				return r
			}
		}
	}
	t.Fatalf("no reconciliation of %s %s recorded", tg, d)
	return reconcile.Reconciled{}
}

// diffs are the recorded differences of tg, each as "day kind call_id
// ours=... dialpad=...", sorted.
func (s *fakeStore) diffs(tg dialpad.Target) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, w := range s.writes {
		if len(w.days) == 0 || w.days[0].Target != tg {
			continue
		}
		for _, d := range w.diffs {
			out = append(out, fmt.Sprintf("%s %s %d ours=%q dialpad=%q", d.Day.Format(time.DateOnly), d.Kind, d.CallID, d.Ours, d.Dialpad))
		}
	}
	slices.Sort(out)
	return out
}

// fakeLoads loads days again: a re-load of a day brings back into the
// store the legs of that day in lost (those Dialpad's API still lists).
type fakeLoads struct {
	store *fakeStore
	lost  map[dialpad.Target][]reconcile.StoredLeg
	mu    sync.Mutex
	days  []string // "target day" of each re-load, in order
}

func (f *fakeLoads) Backfill(_ context.Context, from, to time.Time, targets []dialpad.Target, force bool) []load.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []load.Result
	for _, tg := range targets {
		if !force || to.Sub(from) != 24*time.Hour {
			f.days = append(f.days, fmt.Sprintf("%s %s to %s, force %v: not a forced re-load of one day", tg, from, to, force))
			continue
		}
		f.days = append(f.days, fmt.Sprintf("%s %s", tg, from.Format(time.DateOnly)))
		f.store.mu.Lock()
		for _, l := range f.lost[tg] {
			if l.Day.Equal(from) {
				f.store.legs[tg] = append(f.store.legs[tg], l)
			}
		}
		f.store.mu.Unlock()
		out = append(out, load.Result{})
	}
	return out
}

// leg is a stored leg that started at start (naive UTC, the day's zone),
// ended ten minutes later, in its own conversation.
func leg(id uint64, start, direction string, connected bool, talk time.Duration) reconcile.StoredLeg {
	s, err := time.Parse(time.DateTime, start)
	if err != nil {
		panic(err)
	}
	return reconcile.StoredLeg{CallID: id, ConversationID: id, Day: time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC),
		Direction: direction, Connected: connected, Talk: talk, Started: s, Ended: s.Add(10 * time.Minute)}
}

// reconciler compares the days of store with exports, in UTC, with the
// clock at fakeNow.
func reconciler(exports *fakeExports, store *fakeStore, targets ...dialpad.Target) *reconcile.Reconciler {
	return &reconcile.Reconciler{Exports: exports, Store: store, Targets: targets, Location: time.UTC,
		Now: func() time.Time { return fakeNow }}
}

func utcDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

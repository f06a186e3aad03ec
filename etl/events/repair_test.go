package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestRepairOf(t *testing.T) {
	centers := []wire.ID{100, 200}
	t0 := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC) // a month's last hour
	ms := func(min int) int64 { return t0.Add(time.Duration(min) * time.Minute).UnixMilli() }
	ds := func(status string, onDuty bool, min int) dialpad.DutyStatus {
		return dialpad.DutyStatus{Status: status, OnDuty: onDuty, Started: time.UnixMilli(ms(min))}
	}
	settled := ms(50)
	type change struct {
		status string
		at     int64
		ccs    int
	}
	for _, c := range []struct {
		name   string
		stored *LatestStatus
		ds     dialpad.DutyStatus
		known  int64
		want   []change
	}{
		{"agrees", &LatestStatus{"available", ms(10)}, ds("available", true, 10), ms(40), nil},
		{"the store is newer", &LatestStatus{"wrapup", ms(30)}, ds("occupied", true, 20), ms(40), nil},
		{"not settled: its event may be on its way", &LatestStatus{"available", ms(10)}, ds("occupied", true, 55), ms(40), nil},
		{"no status started", &LatestStatus{"available", ms(10)}, dialpad.DutyStatus{Status: "available"}, 0, nil},
		{"nothing stored: Dialpad's from its start", nil, ds("unavailable", false, 5), 0,
			[]change{{"unavailable", ms(5), 0}}},
		{"missed: unknown from the last event heard", &LatestStatus{"available", ms(10)}, ds("occupied", true, 45), ms(30),
			[]change{{"unknown", ms(30), 0}, {"occupied", ms(45), 2}}},
		{"missed, nothing heard since: unknown from a ms after the stored start", &LatestStatus{"available", ms(10)},
			ds("available", true, 45), ms(2), []change{{"unknown", ms(10) + 1, 0}, {"available", ms(45), 2}}},
		{"heard after Dialpad's start: no unknown", &LatestStatus{"available", ms(10)}, ds("wrapup", true, 45), ms(48),
			[]change{{"wrapup", ms(45), 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored, ok := LatestStatus{}, c.stored != nil
			if ok {
				stored = *c.stored
			}
			var got []change
			for _, e := range repairOf(7, "Bea", centers, stored, ok, c.ds, c.known, settled) {
				if e.Target.ID != 7 || e.Target.Type != "user" {
					t.Errorf("target %+v, want user 7", e.Target)
				}
				got = append(got, change{e.OnDutyStatus, int64(e.Date), len(e.CallCenterIDs)})
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("got %+v, want %+v", got, c.want)
				}
			}
		})
	}
}

// A read that agreed is where the job last knew a status held: a later
// disagreement marks unknown only from then.
func TestRepairRemembersWhatTheLastReadConfirmed(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Europe's clocks go forward
	now := t0
	store := &repairStore{latest: map[uint64]LatestStatus{7: {"available", t0.Add(-time.Hour).UnixMilli()}}}
	dp := dutyReads{7: {Status: "available", OnDuty: true, Started: t0.Add(-time.Hour)}}
	r := &Repair{Dialpad: dp, Store: store, Recount: noRecount{}, Now: func() time.Time { return now }}
	if res, err := r.Once(context.Background()); err != nil || res.Repaired != 0 {
		t.Fatalf("first read: %+v, %v; want nothing to repair", res, err)
	}
	now = t0.Add(20 * time.Minute)
	dp[7] = dialpad.DutyStatus{Status: "busy", OnDuty: true, Started: t0.Add(10 * time.Minute)}
	if res, err := r.Once(context.Background()); err != nil || res.Repaired != 1 {
		t.Fatalf("second read: %+v, %v; want one repaired", res, err)
	}
	if len(store.wrote) != 2 || store.wrote[0].Event.OnDutyStatus != "unknown" || int64(store.wrote[0].Event.Date) != t0.UnixMilli() {
		t.Errorf("wrote %+v, want unknown from the first read (%s), then busy", store.wrote, t0)
	}
}

type dutyReads map[int64]dialpad.DutyStatus

func (d dutyReads) OperatorDutyStatus(_ context.Context, user int64) (dialpad.DutyStatus, error) {
	return d[user], nil
}

type repairStore struct {
	latest map[uint64]LatestStatus
	heard  int64
	wrote  []ReceivedAgent
}

func (s *repairStore) Operators(context.Context) (map[int64][]Operator, error) {
	return map[int64][]Operator{7: {{Target: dialpad.Target{Type: "callcenter", ID: 100}, Name: "Bea"}}}, nil
}

func (s *repairStore) LatestStatuses(context.Context, time.Time) (map[uint64]LatestStatus, int64, error) {
	return s.latest, s.heard, nil
}

func (s *repairStore) WriteAgentStatus(_ context.Context, evs []ReceivedAgent) error {
	s.wrote = append(s.wrote, evs...)
	return nil
}

type noRecount struct{}

func (noRecount) Recompute(context.Context, dialpad.Target, []time.Time) error     { return nil }
func (noRecount) RecountAgents(context.Context, map[uint64]int64, time.Time) error { return nil }
func (noRecount) RecountCurrent(context.Context, time.Time, time.Time) error       { return nil }

// After a 503, the latest event stored counts as known only up to the
// trouble: an event of another agent stored since proves nothing.
func TestRepairTrustsTheLatestEventOnlyUntilTrouble(t *testing.T) {
	t0 := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) // the night Europe's clocks go back
	store := &repairStore{latest: map[uint64]LatestStatus{7: {"available", t0.UnixMilli()}}, heard: t0.Add(50 * time.Minute).UnixMilli()}
	dp := dutyReads{7: {Status: "occupied", OnDuty: true, Started: t0.Add(55 * time.Minute)}}
	trouble := t0.Add(20 * time.Minute)
	r := &Repair{Dialpad: dp, Store: store, Recount: noRecount{}, Now: func() time.Time { return t0.Add(time.Hour) },
		Trouble: func() time.Time { return trouble }}
	if res, err := r.Once(context.Background()); err != nil || res.Repaired != 1 {
		t.Fatalf("read: %+v, %v; want one repaired", res, err)
	}
	if len(store.wrote) != 2 || store.wrote[0].Event.OnDutyStatus != "unknown" || int64(store.wrote[0].Event.Date) != trouble.UnixMilli() {
		t.Errorf("wrote %+v, want unknown from the trouble (%s), then occupied", store.wrote, trouble)
	}
}

// A trouble outlives a read that could not read every operator.
func TestRepairKeepsTheTroubleUntilEveryOperatorIsRead(t *testing.T) {
	t0 := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC) // a year's last hour
	store := &repairStore{latest: map[uint64]LatestStatus{7: {"available", t0.UnixMilli()}}, heard: t0.Add(50 * time.Minute).UnixMilli()}
	dp := failingReads{}
	trouble := t0.Add(20 * time.Minute)
	taken := false
	r := &Repair{Dialpad: dp, Store: store, Recount: noRecount{}, Now: func() time.Time { return t0.Add(time.Hour) },
		Trouble: func() time.Time {
			if taken {
				return time.Time{}
			}
			taken = true
			return trouble
		}}
	if res, err := r.Once(context.Background()); err != nil || res.Failed != 1 {
		t.Fatalf("first read: %+v, %v; want the operator's read failed", res, err)
	}
	r.Dialpad = dutyReads{7: {Status: "occupied", OnDuty: true, Started: t0.Add(55 * time.Minute)}}
	if res, err := r.Once(context.Background()); err != nil || res.Repaired != 1 {
		t.Fatalf("second read: %+v, %v; want one repaired", res, err)
	}
	if len(store.wrote) != 2 || int64(store.wrote[0].Event.Date) != trouble.UnixMilli() {
		t.Errorf("wrote %+v, want unknown from the trouble the first read took (%s)", store.wrote, trouble)
	}
}

type failingReads struct{}

func (failingReads) OperatorDutyStatus(context.Context, int64) (dialpad.DutyStatus, error) {
	return dialpad.DutyStatus{}, errors.New("connection reset")
}

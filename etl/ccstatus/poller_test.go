package ccstatus

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// fakeSource answers each call center's status, or fails for those in
// fail.
type fakeSource struct {
	mu    sync.Mutex
	asked []int64
	fail  map[int64]error
}

func (f *fakeSource) CallCenterStatus(_ context.Context, id int64) (dialpad.CallCenterStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	if err := f.fail[id]; err != nil {
		return dialpad.CallCenterStatus{}, err
	}
	return dialpad.CallCenterStatus{Availability: "open", Pending: id % 10, Capacity: 2, OnDutyOperators: 3}, nil
}

// fakeStore keeps what it is given.
type fakeStore struct {
	polls   []Poll
	dropped []time.Time
	err     error
}

func (f *fakeStore) WriteStatus(_ context.Context, polls []Poll) error {
	if f.err != nil {
		return f.err
	}
	f.polls = append(f.polls, polls...)
	return nil
}

func (f *fakeStore) DropDays(_ context.Context, before time.Time) error {
	f.dropped = append(f.dropped, before)
	return nil
}

func counter(t *testing.T, reg *prometheus.Registry, name, target string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Once polls the call centers only, stamps each poll with the job's
// clock and the interval, and counts and logs a failed read, which does
// not keep the others from being stored.
func TestOncePollsTheCallCentersAndCountsFailures(t *testing.T) {
	at := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)
	src := &fakeSource{fail: map[int64]error{7: errors.New("status of callcenter:7: dialpad: server error (503)")}}
	store := &fakeStore{}
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	p := &Poller{Source: src, Store: store, Every: 15 * time.Second, Now: func() time.Time { return at },
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: NewMetrics(reg),
		Targets: []dialpad.Target{{Type: "department", ID: 1}, {Type: "callcenter", ID: 5}, {Type: "callcenter", ID: 7},
			{Type: "office", ID: 2}, {Type: "callcenter", ID: 9}}}
	err := p.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "callcenter:7") {
		t.Errorf("Once: %v, want the failed read of callcenter:7", err)
	}
	if got := src.asked; len(got) != 3 || got[0] != 5 || got[1] != 7 || got[2] != 9 {
		t.Errorf("asked for %v, want the call centers 5, 7, 9", got)
	}
	if len(store.polls) != 2 || store.polls[0].Target.ID != 5 || store.polls[1].Target.ID != 9 {
		t.Fatalf("stored %+v, want the polls of 5 and 9", store.polls)
	}
	for _, pl := range store.polls {
		if !pl.At.Equal(at) || pl.Interval != 15*time.Second || pl.Status.Pending != pl.Target.ID%10 {
			t.Errorf("stored %+v", pl)
		}
	}
	for target, want := range map[string][2]float64{"callcenter:5": {1, 0}, "callcenter:7": {1, 1}, "callcenter:9": {1, 0}} {
		polls := counter(t, reg, "dialpad_etl_callcenter_status_polls_total", target)
		fails := counter(t, reg, "dialpad_etl_callcenter_status_failures_total", target)
		if polls != want[0] || fails != want[1] {
			t.Errorf("%s: %v polls, %v failures; want %v", target, polls, fails, want)
		}
	}
	if !strings.Contains(logs.String(), "target=callcenter:7") {
		t.Errorf("the log does not name the failed call center:\n%s", logs.String())
	}

	// A write that fails counts every poll of the round as failed.
	store.err = errors.New("write callcenter_status: connection refused")
	src.fail = nil
	if err := p.Once(context.Background()); err == nil {
		t.Error("Once with a failing store: no error")
	}
	if n := counter(t, reg, "dialpad_etl_callcenter_status_failures_total", "callcenter:5"); n != 1 {
		t.Errorf("callcenter:5: %v failures after a failed write, want 1", n)
	}
}

// Run polls at once and drops the days older than Keep by the job's
// clock; with no call center, or no interval, it polls nothing.
func TestRunPollsAtOnceAndDropsOldDays(t *testing.T) {
	at := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)
	src, store := &fakeSource{}, &fakeStore{}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{Source: src, Store: store, Every: time.Hour, Keep: 35 * 24 * time.Hour,
		Now: func() time.Time { return at }, Targets: []dialpad.Target{{Type: "callcenter", ID: 5}}}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	testkit.Eventually(t, 10*time.Second, "the first poll", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(src.asked) > 0
	})
	cancel()
	<-done
	if len(store.polls) != 1 || len(store.dropped) != 1 || !store.dropped[0].Equal(at.Add(-35*24*time.Hour)) {
		t.Errorf("stored %d polls, dropped %v; want one poll and the days before %v", len(store.polls), store.dropped, at.Add(-35*24*time.Hour))
	}
	for _, q := range []*Poller{{Source: src, Store: store, Every: 0, Targets: p.Targets},
		{Source: src, Store: store, Every: time.Second, Targets: []dialpad.Target{{Type: "department", ID: 1}}}} {
		src.asked = nil
		q.Run(context.Background()) // returns at once
		if len(src.asked) != 0 {
			t.Errorf("%+v polled %v", q, src.asked)
		}
	}
}

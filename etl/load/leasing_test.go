package load

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
)

// A target whose lease another load holds (a cron run beside the
// schedule) is skipped: the run is recorded as skipped, naming the
// holder, and Dialpad is asked nothing.
func TestALoadSkipsATargetHeldByAnotherLoad(t *testing.T) {
	now := utc(2026, 3, 4, 12, 0)
	src := newSource(call(1, utc(2026, 3, 4, 9, 0)))
	job, st, _, leases := fakeJob(src, now)
	job.Start = utc(2026, 3, 4, 0, 0)
	other := lease.Owner("host-b/4242/stamp/9f3c01aa")
	leases.HeldBy(lease.Target(dept), other, now.Add(time.Minute), 0)

	r := oneResult(t, job.Incremental(context.Background()))
	if r.Err != nil || r.Run.Status != StatusSkipped || !strings.Contains(r.Run.Error, string(other)) {
		t.Errorf("run %s %q, %v; want skipped, naming %s", r.Run.Status, r.Run.Error, r.Err, other)
	}
	if len(st.runs) != 1 || st.runs[0].Status != StatusSkipped {
		t.Errorf("recorded %+v, want the skipped run", st.runs)
	}
	if asked := src.askedFor(); len(asked) != 0 || src.operatorsAsks != 0 {
		t.Errorf("asked Dialpad for %v and its operators %d times, want nothing", asked, src.operatorsAsks)
	}
	if _, ok := st.marks[dept]; ok || st.stored() != 0 {
		t.Errorf("a skipped run moved the mark or stored %d legs", st.stored())
	}
	if leases.Holder(lease.Target(dept)) != other {
		t.Errorf("the lease is %s's after the skipped run, want still %s's", leases.Holder(lease.Target(dept)), other)
	}
}

// The event receiver holds a target's lease briefly while it recomputes:
// a load waits for it rather than skip the target, but not for ever.
func TestALoadWaitsForABriefHolder(t *testing.T) {
	for _, c := range []struct {
		name       string
		letGo      int // the brief holder lets go after it was found this often (0: never)
		wait       time.Duration
		wantStatus string
	}{
		// The wait ends when the holder lets go, so it may be long: a
		// busy machine must not make the load give up first.
		{"who lets go", 2, 10 * time.Second, "succeeded"},
		{"who outlasts the wait", 0, 50 * time.Millisecond, StatusSkipped},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := utc(2026, 3, 4, 12, 0)
			src := newSource(call(1, utc(2026, 3, 4, 9, 0)))
			job, st, _, leases := fakeJob(src, now)
			job.Start = utc(2026, 3, 4, 0, 0)
			job.briefWait, job.briefPoll = c.wait, time.Millisecond
			leases.HeldBy(lease.Target(dept), lease.NewOwner(lease.Brief), now.Add(5*time.Second), c.letGo)

			r := oneResult(t, job.Incremental(context.Background()))
			if r.Err != nil || r.Run.Status != c.wantStatus {
				t.Errorf("run %s %q, %v; want %s", r.Run.Status, r.Run.Error, r.Err, c.wantStatus)
			}
			if c.letGo > 0 && (leases.Acquires() != c.letGo+1 || st.stored() != 1) {
				t.Errorf("asked for the lease %d times and stored %d legs; want %d times, then the leg loaded",
					leases.Acquires(), st.stored(), c.letGo+1)
			}
		})
	}
}

// A load gives its leases back when it ends, so the next one (of any
// process) need not wait for them to expire.
func TestALoadReleasesItsLeases(t *testing.T) {
	job, _, _, leases := fakeJob(newSource(), utc(2026, 3, 4, 12, 0))
	job.Start = utc(2026, 3, 4, 0, 0)
	if r := oneResult(t, job.Incremental(context.Background())); r.Err != nil {
		t.Fatal(r.Err)
	}
	if want := []string{lease.Target(dept)}; !slices.Equal(leases.Released(), want) || leases.Held() != 0 {
		t.Errorf("released %v, still held %d; want %v released", leases.Released(), leases.Held(), want)
	}
}

// A load that loses its lease part-way (another process may be loading
// the target now) stops, says why first, and leaves the mark where it
// was.
func TestALoadThatLosesItsLeaseStops(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	var calls []wire.Call
	for d := 2; d < 6; d++ {
		calls = append(calls, spread(int64(100*d), day(d), 4)...)
	}
	src := newSource(calls...)
	job, st, _, leases := fakeJob(src, day(6))
	job.Start = day(2)
	src.after = func(w dialpad.Window, n int) {
		if n == 1 {
			leases.LoseAll()
		}
	}

	r := oneResult(t, job.Incremental(context.Background()))
	if !errors.Is(r.Err, lease.ErrLeaseLost) || !strings.HasPrefix(r.Run.Error, "lease lost") || r.Run.Status != "cancelled" {
		t.Errorf("run %s %q, %v; want cancelled, saying the lease was lost", r.Run.Status, r.Run.Error, r.Err)
	}
	if mark, ok := st.marks[dept]; ok {
		t.Errorf("mark moved to %v by a load that lost its lease in its first window", mark)
	}
	if got := src.askedFor(); len(got) != 1 {
		t.Errorf("asked for %v, want only the window under way when the lease was lost", got)
	}
}

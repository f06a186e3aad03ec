package leasetest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

const (
	a, b = lease.Owner("host-a/1/stamp/aa"), lease.Owner("host-b/2/stamp/bb")
	name = "load department 42"
)

// The first claim wins; a later one is told who holds the lease, and the
// holder may claim it again. Once released, the next claim wins.
func TestTheFirstClaimWinsUntilReleased(t *testing.T) {
	ctx := t.Context()
	l := leasetest.New()
	if got, held, err := l.Acquire(ctx, a, time.Minute, name); err != nil || !slices.Equal(got, []string{name}) || len(held) != 0 {
		t.Fatalf("first claim: got %v, held %v, %v; want the lease", got, held, err)
	}
	got, held, err := l.Acquire(ctx, b, time.Minute, name, "other")
	if err != nil || !slices.Equal(got, []string{"other"}) || held[name] == nil || held[name].Owner != a {
		t.Fatalf("second claim: got %v, held %v, %v; want %s held by %s", got, held, err, name, a)
	}
	if got, _, err := l.Acquire(ctx, a, time.Minute, name); err != nil || len(got) != 1 {
		t.Errorf("the holder's claim again: got %v, %v; want the lease", got, err)
	}
	if err := l.Release(ctx, b, name); err != nil || l.Holder(name) != a {
		t.Errorf("a release by another left the lease to %q (%v), want still %s's", l.Holder(name), err, a)
	}
	if err := l.Release(ctx, a, name); err != nil || l.Holder(name) != "" || l.Held() != 1 {
		t.Errorf("after release: holder %q, %d held, %v; want nobody, only other held", l.Holder(name), l.Held(), err)
	}
	if got, _, _ := l.Acquire(ctx, b, time.Minute, name); len(got) != 1 {
		t.Errorf("a claim after release got %v, want the lease", got)
	}
	if l.Refusals(name) != 1 || l.Acquires() != 4 || !slices.Equal(l.Released(), []string{name}) {
		t.Errorf("%d refusals, %d acquires, released %v; want 1, 4, [%s]", l.Refusals(name), l.Acquires(), l.Released(), name)
	}
}

// Another process's lease is refused with its holder and expiry until it
// lets go.
func TestAnotherHolderLetsGoAfterBeingFound(t *testing.T) {
	ctx := t.Context()
	l := leasetest.New()
	until := time.Date(2026, 3, 4, 12, 0, 5, 0, time.UTC)
	l.HeldBy(name, b, until, 2)
	for i := range 2 {
		got, held, err := l.Acquire(ctx, a, time.Minute, name)
		if err != nil || len(got) != 0 || held[name] == nil || held[name].Owner != b || !held[name].Until.Equal(until) {
			t.Fatalf("claim %d: got %v, held %+v, %v; want refused, held by %s until %v", i+1, got, held[name], err, b, until)
		}
	}
	if got, _, err := l.Acquire(ctx, a, time.Minute, name); err != nil || len(got) != 1 || l.Holder(name) != a {
		t.Errorf("third claim: got %v, %v, holder %q; want the lease", got, err, l.Holder(name))
	}
}

// The work under kept leases ends when they are lost, with a cause that
// wraps lease.ErrLeaseLost, and the holder holds them no more; a stopped
// keeping is not lost later.
func TestLosingKeptLeasesEndsTheWork(t *testing.T) {
	ctx := t.Context()
	l := leasetest.New()
	if _, _, err := l.Acquire(ctx, a, time.Minute, name, "stopped"); err != nil {
		t.Fatal(err)
	}
	stoppedCtx, stopStopped := l.KeepLeases(ctx, a, time.Minute, "stopped")
	stopStopped()
	work, stop := l.KeepLeases(ctx, a, time.Minute, name)
	defer stop()
	if work.Err() != nil {
		t.Fatalf("the work ended before the lease was lost: %v", context.Cause(work))
	}
	l.LoseAll()
	if cause := context.Cause(work); !errors.Is(cause, lease.ErrLeaseLost) || !strings.Contains(cause.Error(), name) {
		t.Errorf("the work ended with %v, want the lease lost, naming %s", cause, name)
	}
	if l.Holder(name) != "" || l.Holder("stopped") != a {
		t.Errorf("holders %q and %q, want nobody and %s (whose keeping was stopped)", l.Holder(name), l.Holder("stopped"), a)
	}
	if cause := context.Cause(stoppedCtx); !errors.Is(cause, context.Canceled) {
		t.Errorf("a stopped keeping ended with %v, want cancelled", cause)
	}
	lost, stopLost := l.KeepLeases(ctx, b, time.Minute, name)
	defer stopLost()
	if !errors.Is(context.Cause(lost), lease.ErrLeaseLost) {
		t.Errorf("keeping a lease not held: %v, want it lost at once", context.Cause(lost))
	}
}

// A call made to fail takes and gives up nothing; the one after works.
func TestACallMadeToFailTouchesNothing(t *testing.T) {
	ctx := t.Context()
	l := leasetest.New()
	l.FailNext("Acquire", 1)
	if got, _, err := l.Acquire(ctx, a, time.Minute, name); !errors.Is(err, leasetest.ErrFailed) || len(got) != 0 || l.Held() != 0 {
		t.Fatalf("got %v, %v, %d held; want ErrFailed, nothing held", got, err, l.Held())
	}
	if got, _, err := l.Acquire(ctx, a, time.Minute, name); err != nil || len(got) != 1 {
		t.Fatalf("the claim after: got %v, %v; want the lease", got, err)
	}
	l.FailNext("Release", 1)
	if err := l.Release(ctx, a, name); !errors.Is(err, leasetest.ErrFailed) || l.Holder(name) != a {
		t.Errorf("release made to fail: %v, holder %q; want ErrFailed, still %s's", err, l.Holder(name), a)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := l.Acquire(cancelled, b, time.Minute, "other"); !errors.Is(err, context.Canceled) || l.Holder("other") != "" {
		t.Errorf("a claim under a done context: %v, holder %q; want cancelled, nobody", err, l.Holder("other"))
	}
}

package lease_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// processes opens n stores of one database, each on its own connection,
// as n processes would.
func processes(t *testing.T, n int) []*warehouse.Store {
	t.Helper()
	addr, db := chtest.Database(t)
	var out []*warehouse.Store
	for range n {
		s, err := warehouse.Open(context.Background(), warehouse.Options{Addr: addr, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// Processes that claim a lease at the same moment agree on one holder,
// and the others are told who it is.
func TestALeaseHasOneHolderAtATime(t *testing.T) {
	ctx := context.Background()
	stores := processes(t, 5)
	var wg sync.WaitGroup
	got := make([][]string, len(stores))
	held := make([]map[string]*lease.Held, len(stores))
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], held[i], errs[i] = s.Leases().Acquire(ctx, lease.Owner(fmt.Sprintf("p%d", i)), time.Minute, "load department:1", "load department:2")
		}()
	}
	wg.Wait()
	for _, name := range []string{"load department:1", "load department:2"} {
		var holders []string
		for i := range stores {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for _, n := range got[i] {
				if n == name {
					holders = append(holders, fmt.Sprintf("p%d", i))
				}
			}
		}
		if len(holders) != 1 {
			t.Fatalf("%s is held by %v, want exactly one process", name, holders)
		}
		for i := range stores {
			if h := held[i][name]; fmt.Sprintf("p%d", i) != holders[0] && (h == nil || string(h.Owner) != holders[0]) {
				t.Errorf("p%d is told %v holds %s, want %s", i, h, name, holders[0])
			}
		}
	}
}

// A holder renews its lease past its ttl; a lease nobody renews expires
// and goes to the next claimant, and its old holder learns it lost it.
// Only the holder releases a lease.
func TestLeasesRenewExpireAndRelease(t *testing.T) {
	ctx := context.Background()
	stores := processes(t, 2)
	a, b := stores[0], stores[1]
	const name = "load department:1"
	ttl := 3 * time.Second
	if got, _, err := a.Leases().Acquire(ctx, "a", ttl, name); err != nil || len(got) != 1 {
		t.Fatalf("a: %v, %v", got, err)
	}
	_, stop := a.Leases().KeepLeases(ctx, "a", ttl, name)
	time.Sleep(ttl + time.Second)
	got, held, err := b.Leases().Acquire(ctx, "b", ttl, name)
	if h := held[name]; err != nil || h == nil || h.Owner != "a" {
		t.Fatalf("b, past a's first ttl while a renews: got %v, held %v, %v; want a's", got, held, err)
	}
	if err := b.Leases().Release(ctx, "b", name); err != nil { // b's release is of b's claim only
		t.Fatal(err)
	}
	if _, held, _ := b.Leases().Acquire(ctx, "b", ttl, name); held[name] == nil || held[name].Owner != "a" {
		t.Fatalf("after b released: %v, want a still holding", held)
	}
	stop()
	time.Sleep(ttl + time.Second)
	if got, _, err := b.Leases().Acquire(ctx, "b", ttl, name); err != nil || len(got) != 1 {
		t.Fatalf("b, after a's lease expired: %v, %v; want it", got, err)
	}
	if lost, err := a.Leases().Renew(ctx, "a", ttl, name); err != nil || len(lost) != 1 {
		t.Errorf("a renewing an expired lease: lost %v, %v; want it lost", lost, err)
	}
	if err := b.Leases().Release(ctx, "b", name); err != nil {
		t.Fatal(err)
	}
	if got, _, err := a.Leases().Acquire(ctx, "a", ttl, name); err != nil || len(got) != 1 {
		t.Errorf("a, after b released: %v, %v; want it", got, err)
	}
}

// The lease statements on both engines.
func TestLeasesOnBothEngines(t *testing.T) {
	ctx := context.Background()
	s := chtest.Migrated(t, warehouse.Options{})
	got, _, err := s.Leases().Acquire(ctx, "x", time.Minute, "load department:1")
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	if lost, err := s.Leases().Renew(ctx, "x", time.Minute, got...); err != nil || len(lost) != 0 {
		t.Errorf("renew: lost %v, %v", lost, err)
	}
	if err := s.Leases().Release(ctx, "x", got...); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Leases().Acquire(ctx, "y", time.Minute, "load department:1"); err != nil || len(got) != 1 {
		t.Errorf("after release: %v, %v", got, err)
	}
}

// A lease whose holder on this host died (killed, say) is free at once
// for the next process of the host.
func TestALeaseOfADeadProcessOfThisHostIsFree(t *testing.T) {
	ctx := context.Background()
	s := processes(t, 1)[0]
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	me := strings.Split(string(lease.NewOwner(lease.Long)), "/")
	boot, ns, _ := strings.Cut(me[2], "-")
	ns, _, _ = strings.Cut(ns, "-")
	// A process that ran and ended, and one that has this process's pid
	// but started at another time (a restarted container's pid 1).
	dead := fmt.Sprintf("%s/%d/%s-%s-1/0", me[0], cmd.Process.Pid, boot, ns)
	reused := fmt.Sprintf("%s/%s/%s-%s-1/0", me[0], me[1], boot, ns)
	if _, _, err := s.Leases().Acquire(ctx, "someone", time.Hour, "other"); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{dead, reused} {
		// The process's claim, won and settled before it died.
		if err := s.DB().Exec(ctx, `INSERT INTO etl_leases (name, owner, claimed_at, expires_at, version)
			SELECT 'load department:1', ?, now() - 60, now() + 3600, 1`, owner); err != nil {
			t.Fatal(err)
		}
		next := lease.NewOwner(lease.Long)
		got, held, err := s.Leases().Acquire(ctx, next, time.Hour, "load department:1")
		if err != nil || len(got) != 1 {
			t.Errorf("after %s died: got %v, held %v, %v; want the lease", owner, got, held, err)
		}
		if err := s.Leases().Release(ctx, next, "load department:1"); err != nil {
			t.Fatal(err)
		}
	}
	// A holder this process cannot judge (another PID namespace) is alive.
	other := fmt.Sprintf("%s/%d/%s-4026531999-1/0", me[0], cmd.Process.Pid, boot)
	if err := s.DB().Exec(ctx, `INSERT INTO etl_leases (name, owner, claimed_at, expires_at, version)
		SELECT 'load department:2', ?, now() - 60, now() + 3600, 1`, other); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Leases().Acquire(ctx, lease.NewOwner(lease.Long), time.Hour, "load department:2"); err != nil || len(got) != 0 {
		t.Errorf("a holder in another PID namespace: got %v, %v; want it left alone", got, err)
	}
}

// Work done under a lease stops when the lease is lost: here the claim
// expired (a stalled process), and the renewal finds it gone.
func TestLosingALeaseStopsTheWorkItGuards(t *testing.T) {
	ctx := context.Background()
	s := processes(t, 1)[0]
	const name = "load department:1"
	if got, _, err := s.Leases().Acquire(ctx, "a", 3*time.Second, name); err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	work, stop := s.Leases().KeepLeases(ctx, "a", 3*time.Second, name)
	defer stop()
	if err := s.Leases().Release(ctx, "a", name); err != nil { // as if it had expired
		t.Fatal(err)
	}
	select {
	case <-work.Done():
		if cause := context.Cause(work); !errors.Is(cause, lease.ErrLeaseLost) {
			t.Errorf("the work was stopped by %v, want ErrLeaseLost", cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the work went on after its lease was lost")
	}
	if ctx.Err() != nil {
		t.Error("the parent context was cancelled too")
	}
}

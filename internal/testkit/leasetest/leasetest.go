// Package leasetest holds the leases in memory (Leases), for the tests
// that run on fakes rather than a warehouse: they keep what *lease.Leases
// promises, and let a test place another process's claim, see who holds
// what, lose the kept leases and make a call fail.
//
// Only tests import it. It imports only etl/lease.
package leasetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
)

// contract is what the packages of the program ask of *lease.Leases; the
// fake and the real leases both keep it.
type contract interface {
	Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error)
	KeepLeases(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (context.Context, func())
	Release(ctx context.Context, owner lease.Owner, names ...string) error
}

var (
	_ contract = (*lease.Leases)(nil)
	_ contract = (*Leases)(nil)
)

// ErrFailed is what a call made to fail (FailNext) returns, wrapped.
var ErrFailed = errors.New("connection reset by peer")

// Leases are leases in memory. As with *lease.Leases, a lease is held by
// the first owner that claims it, and a later claim never displaces it:
// the others are told who holds it (Held); the holder may claim it again.
// Here a lease never expires: its holder keeps it until it releases it
// or loses it (LoseAll), unless it is another process's that lets go
// (HeldBy). Leases are safe for concurrent use; make them with New.
type Leases struct {
	mu       sync.Mutex
	claims   map[string]*claim
	refused  map[string]int
	acquires int
	released []string
	kept     map[*kept]bool
	fail     map[string]int
}

// claim is the holding of one lease.
type claim struct {
	owner lease.Owner
	until time.Time
	letGo int // the holder lets go once it was found holding this often (0: never)
	found int
}

// kept is one KeepLeases that was not stopped.
type kept struct {
	owner lease.Owner
	names []string
	lose  context.CancelCauseFunc
}

// New are leases in memory that nobody holds.
func New() *Leases {
	return &Leases{claims: map[string]*claim{}, refused: map[string]int{}, kept: map[*kept]bool{}, fail: map[string]int{}}
}

// Acquire claims the leases names for owner and returns those it holds
// now; for each other one, held[name] says who has it (and until when,
// unless renewed). A claim of a lease the owner holds already succeeds.
// It fails, taking nothing, when ctx is done or it was made to fail.
func (l *Leases) Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquires++
	if err := l.fault("Acquire"); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("leases: %w", err)
	}
	held = map[string]*lease.Held{}
	for _, n := range names {
		if c := l.claims[n]; c != nil && c.owner != owner {
			if c.letGo == 0 || c.found < c.letGo {
				c.found++
				l.refused[n]++
				held[n] = &lease.Held{Name: n, Owner: c.owner, Until: c.until}
				continue
			}
		}
		l.claims[n] = &claim{owner: owner, until: time.Now().Add(ttl)}
		got = append(got, n)
	}
	return got, held, nil
}

// KeepLeases returns a context derived from ctx for the work that the
// leases names guard, and a stop that ends the keeping (and cancels the
// context). The context is cancelled, with a cause that wraps
// lease.ErrLeaseLost, when the leases are lost (LoseAll), or at once if
// owner does not hold them all.
func (l *Leases) KeepLeases(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (context.Context, func()) {
	work, lose := context.WithCancelCause(ctx)
	k := &kept{owner: owner, names: slices.Clone(names), lose: lose}
	l.mu.Lock()
	var lost []string
	for _, n := range names {
		if c := l.claims[n]; c == nil || c.owner != owner {
			lost = append(lost, n)
		}
	}
	if len(lost) == 0 {
		l.kept[k] = true
	}
	l.mu.Unlock()
	if len(lost) > 0 {
		lose(lostError(lost))
	}
	return work, func() {
		l.mu.Lock()
		delete(l.kept, k)
		l.mu.Unlock()
		lose(context.Canceled)
	}
}

// Release gives up owner's leases names; a lease someone else holds is
// left alone. It fails, releasing nothing, when ctx is done or it was
// made to fail.
func (l *Leases) Release(ctx context.Context, owner lease.Owner, names ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fault("Release"); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	for _, n := range names {
		if c := l.claims[n]; c != nil && c.owner == owner {
			delete(l.claims, n)
			l.released = append(l.released, n)
		}
	}
	return nil
}

// HeldBy makes another process, owner, hold the lease name until until,
// as far as a claimant is told. It lets go once it was found holding the
// lease letGo times (0: never), as a Brief holder does: the claim after
// that succeeds.
func (l *Leases) HeldBy(name string, owner lease.Owner, until time.Time, letGo int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims[name] = &claim{owner: owner, until: until, letGo: letGo}
}

// Holder is who holds the lease name ("" for nobody).
func (l *Leases) Holder(name string) lease.Owner {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.claims[name]; c != nil {
		return c.owner
	}
	return ""
}

// Held is how many leases are held, by anyone.
func (l *Leases) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.claims)
}

// Refusals counts the claims of name refused so far because another
// owner held it.
func (l *Leases) Refusals(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused[name]
}

// Acquires counts the calls of Acquire so far, those that failed too.
func (l *Leases) Acquires() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acquires
}

// Released returns the leases given up by their holder so far (Release),
// in order, each as often as it was.
func (l *Leases) Released() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.released)
}

// LoseAll loses every lease kept (KeepLeases, not stopped yet), as a
// renewal that found them expired would: their holder holds them no
// more, and the work under them is cancelled with a cause that wraps
// lease.ErrLeaseLost and names them.
func (l *Leases) LoseAll() {
	l.mu.Lock()
	var lost []*kept
	for k := range l.kept {
		for _, n := range k.names {
			if c := l.claims[n]; c != nil && c.owner == k.owner {
				delete(l.claims, n)
			}
		}
		lost = append(lost, k)
	}
	clear(l.kept)
	l.mu.Unlock()
	for _, k := range lost {
		k.lose(lostError(k.names))
	}
}

// FailNext makes the next n calls of method ("Acquire" or "Release")
// fail with ErrFailed, as a write to the warehouse may, without touching
// any lease.
func (l *Leases) FailNext(method string, n int) {
	if method != "Acquire" && method != "Release" {
		panic(fmt.Sprintf("leasetest: FailNext(%q): only Acquire and Release can fail", method))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail[method] += n
}

// fault is the error of this call of method: ErrFailed, wrapped, when it
// was made to fail. l.mu is held.
func (l *Leases) fault(method string) error {
	if l.fail[method] > 0 {
		l.fail[method]--
		return fmt.Errorf("leases: %s: %w", strings.ToLower(method), ErrFailed)
	}
	return nil
}

// lostError is the cause of the work's end when the leases names were
// lost, as *lease.Leases words it.
func lostError(names []string) error {
	sorted := slices.Sorted(slices.Values(names))
	return fmt.Errorf("%w: %v", lease.ErrLeaseLost, sorted)
}

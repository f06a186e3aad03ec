package etl

import "sync"

// legBudget bounds the legs that the windows of a load hold in memory
// together. It is safe for concurrent use.
type legBudget struct {
	mu    sync.Mutex
	freed sync.Cond
	free  int
	total int
}

func newLegBudget(total int) *legBudget {
	b := &legBudget{free: total, total: total}
	b.freed.L = &b.mu
	return b
}

// fit is n, or the whole budget when n is more.
func (b *legBudget) fit(n int) int { return min(n, b.total) }

// take takes n legs of the budget (n <= total), waiting for them when
// wait is set; without wait it reports whether they were free. A window
// waits only once it holds none, so every holder can go on and give back.
func (b *legBudget) take(n int, wait bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < n {
		if !wait {
			return false
		}
		b.freed.Wait()
	}
	b.free -= n
	return true
}

// give returns n legs to the budget.
func (b *legBudget) give(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.freed.Broadcast()
}

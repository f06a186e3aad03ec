package etl

import (
	"sync"
	"testing"
)

// The windows of a load never hold more legs than the budget together,
// and a window that waits (holding none) gets its legs once others write.
func TestLegBudgetBoundsLegsHeldTogether(t *testing.T) {
	const total, windows, pages, pageSize = 100, 8, 50, 30
	b := newLegBudget(total)
	var mu sync.Mutex
	held, peak := 0, 0
	var wg sync.WaitGroup
	for range windows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := 0
			flush := func() {
				mu.Lock()
				held -= mine
				mu.Unlock()
				b.give(mine)
				mine = 0
			}
			for range pages {
				n := b.fit(pageSize)
				if !b.take(n, false) {
					flush()
					b.take(n, true)
				}
				mine += n
				mu.Lock()
				held += n
				peak = max(peak, held)
				mu.Unlock()
			}
			flush()
		}()
	}
	wg.Wait()
	if peak > total || held != 0 || b.free != total {
		t.Errorf("peak %d held %d free %d, want peak <= %d and all given back", peak, held, b.free, total)
	}
	if b.fit(500) != total {
		t.Errorf("a page larger than the budget must fit the whole budget")
	}
}

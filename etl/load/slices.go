package load

import (
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// A load's range is cut into windows at the reporting zone's midnights:
// the unit that is marked loaded, recomputed and moves the high-water
// mark. The workers fetch slices of the windows. At first a slice is a
// whole window; whenever a worker would otherwise wait, it takes the
// older part of the slice in flight with the most left to read (Dialpad
// lists a window newest first, so a slice's unread part is everything
// older than what it has listed so far). So ETL_CONCURRENCY slices are
// in flight until the last pages, however few windows the load has.

// minSlice is the shortest part a split leaves: only slices with twice
// that left to read are split.
const minSlice = 2 * time.Second

// slice is a part [W.From, W.To) of one window of a load.
type slice struct {
	t      *targetRun
	window int // index in t.windows
	// Under slicer.mu: W.From rises when another worker takes the older
	// part; reached is the oldest start listed so far (W.To before the
	// first page); pages is how many pages were listed.
	W         dialpad.Window
	reached   time.Time
	pages     int
	unordered bool // a page listed a call newer than the page before
	ended     bool // its listing ended: nothing left to split
	// density is the pages per second of the slice this one was split
	// from (0: unknown), its estimate until its own pages tell.
	density float64
}

// pagesLeft estimates the pages sl has left to list; ok is false while
// nothing tells.
func (sl *slice) pagesLeft() (n float64, ok bool) {
	density := sl.density
	switch {
	case sl.pages > 0 && sl.reached.Equal(sl.W.To):
		return 0, true // pages without a call: the list is at its end
	case sl.pages > 0:
		read := max(sl.W.To.Sub(sl.reached), time.Millisecond)
		density = float64(sl.pages) / read.Seconds()
	}
	return density * sl.reached.Sub(sl.W.From).Seconds(), density > 0
}

// slicer hands slices to the workers and keeps count of the windows and
// months still being loaded.
type slicer struct {
	mu      sync.Mutex
	changed sync.Cond
	pending []*slice
	running map[*slice]bool
	// Per target run: slices left in each window, windows left in each
	// month.
	windowLeft map[*targetRun]map[int]int
	monthLeft  map[*targetRun]map[int]int
}

func newSlicer() *slicer {
	s := &slicer{running: map[*slice]bool{}, windowLeft: map[*targetRun]map[int]int{}, monthLeft: map[*targetRun]map[int]int{}}
	s.changed.L = &s.mu
	return s
}

// add queues window i of t as one slice.
func (s *slicer) add(t *targetRun, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := t.windows[i]
	s.pending = append(s.pending, &slice{t: t, window: i, W: w, reached: w.To})
	if s.windowLeft[t] == nil {
		s.windowLeft[t], s.monthLeft[t] = map[int]int{}, map[int]int{}
	}
	s.windowLeft[t][i]++
	s.monthLeft[t][t.month(i)]++
}

// next returns the slice for an idle worker, and its range as it starts:
// a queued one, else the older half of the unread part of the running
// slice with the most left to read, else it waits for one; nil once
// nothing is left, or stop reports true.
func (s *slicer) next(stop func() bool) (*slice, dialpad.Window) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if stop() {
			return nil, dialpad.Window{}
		}
		var sl *slice
		if len(s.pending) > 0 {
			sl = s.pending[0]
			s.pending = s.pending[1:]
		} else {
			sl = s.split()
		}
		if sl != nil {
			s.running[sl] = true
			return sl, sl.W
		}
		if len(s.running) == 0 {
			return nil, dialpad.Window{}
		}
		s.changed.Wait()
	}
}

// split takes the older half of the unread part of the running slice
// with the most pages left (as far as its pages so far, or those of the
// slice it was split from, tell; one that nothing tells of yet goes
// first, the longest first) and returns it, or nil when no slice is worth
// splitting: under two pages left, or shorter than 2*minSlice.
func (s *slicer) split() *slice {
	var best *slice
	var bestScore float64
	for sl := range s.running {
		left := sl.reached.Sub(sl.W.From)
		if sl.unordered || sl.ended || left < 2*minSlice {
			continue
		}
		score, known := sl.pagesLeft()
		switch {
		case !known:
			// Nothing read yet: ahead of every slice with an estimate,
			// longest first.
			score = 1e12 + left.Seconds()
		case score < 2:
			continue
		}
		if best == nil || score > bestScore {
			best, bestScore = sl, score
		}
	}
	if best == nil {
		return nil
	}
	mid := best.W.From.Add(best.reached.Sub(best.W.From) / 2).Truncate(time.Millisecond)
	older := &slice{t: best.t, window: best.window, W: dialpad.Window{From: best.W.From, To: mid}, reached: mid}
	if n, ok := best.pagesLeft(); ok {
		older.density = n / best.reached.Sub(best.W.From).Seconds()
	}
	best.W.From = mid
	s.windowLeft[best.t][best.window]++
	return older
}

// listed records that sl listed calls starting from newest down to
// oldest (ms; no call when oldest > newest) and returns sl's lower bound
// now, below which its calls are another slice's, and whether sl is
// complete: calls are listed newest first, so once one is older than the
// bound, the rest are too.
func (s *slicer) listed(sl *slice, newest, oldest int64) (from int64, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl.pages++
	if oldest <= newest {
		if newest > sl.reached.UnixMilli() && sl.pages > 1 {
			sl.unordered = true
		}
		if o := time.UnixMilli(oldest).UTC(); o.Before(sl.reached) {
			sl.reached = o
		}
	}
	s.changed.Broadcast()
	from = sl.W.From.UnixMilli()
	return from, !sl.unordered && oldest <= newest && oldest < from
}

// listedAll records that sl's listing ended (its legs may still be being
// written): no worker may split it any more.
func (s *slicer) listedAll(sl *slice) {
	s.mu.Lock()
	sl.ended = true
	s.mu.Unlock()
}

// finished records that sl ended and reports whether its window has
// ended too (every slice of it).
func (s *slicer) finished(sl *slice) (windowDone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, sl)
	s.changed.Broadcast()
	left := s.windowLeft[sl.t]
	left[sl.window]--
	return left[sl.window] == 0
}

// windowEnded records that window i of t ended and that what it did is
// kept for its month's recompute, and reports whether its month has ended
// (every window of the month in this load). Only then: the window that
// ends a month recomputes it and marks its windows loaded, so every
// other window of the month must be on record first.
func (s *slicer) windowEnded(t *targetRun, i int) (monthDone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	months := s.monthLeft[t]
	m := t.month(i)
	months[m]--
	return months[m] == 0
}

// wake lets waiting workers look again (the load was cancelled).
func (s *slicer) wake() {
	s.mu.Lock()
	s.changed.Broadcast()
	s.mu.Unlock()
}

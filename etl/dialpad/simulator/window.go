package simulator

import "sort"

// window selects legs by date_started, strictly inside (after, before) as
// GET /api/v2/call's started_after and started_before do, continuing after
// the last leg of the previous page when hasLast.
type window struct {
	after, before       int64
	hasAfter, hasBefore bool
	hasLast             bool
	lastStarted, lastID int64 // the previous page's last leg
}

// scan calls fn, in list order, for each leg of ix inside w that has ended
// by now, until fn returns false.
func (tr *Traffic) scan(ix []int32, w window, now int64, fn func(*leg) bool) {
	legs := tr.legs
	// ix is in list order (date_started descending), so the legs inside
	// the window are a contiguous run: find where it begins.
	p := 0
	if w.hasBefore {
		p = sort.Search(len(ix), func(i int) bool { return legs[ix[i]].started < w.before })
	}
	if w.hasLast {
		last := leg{started: w.lastStarted, id: w.lastID}
		p = max(p, sort.Search(len(ix), func(i int) bool { return last.before(&legs[ix[i]]) }))
	}
	for ; p < len(ix); p++ {
		l := &legs[ix[p]]
		if w.hasAfter && l.started <= w.after {
			return
		}
		if l.ended > now {
			continue
		}
		if !fn(l) {
			return
		}
	}
}

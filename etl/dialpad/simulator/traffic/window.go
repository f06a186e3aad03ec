package traffic

import "sort"

// Window selects legs by date_started, strictly inside (after, before) as
// GET /api/v2/call's started_after and started_before do, continuing after
// the last leg of the previous page when hasLast.
type Window struct {
	After, Before       int64
	HasAfter, HasBefore bool
	HasLast             bool
	LastStarted, LastID int64 // the previous page's last leg
}

// Scan calls fn, in list order, for each leg of ix inside w that has ended
// by now, until fn returns false.
func (tr *Traffic) Scan(ix []int32, w Window, now int64, fn func(*Leg) bool) {
	legs := tr.legs
	// ix is in list order (date_started descending), so the legs inside
	// the window are a contiguous run: find where it begins.
	p := 0
	if w.HasBefore {
		p = sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < w.Before })
	}
	if w.HasLast {
		last := Leg{Started: w.LastStarted, ID: w.LastID}
		p = max(p, sort.Search(len(ix), func(i int) bool { return last.before(&legs[ix[i]]) }))
	}
	for ; p < len(ix); p++ {
		l := &legs[ix[p]]
		if w.HasAfter && l.Started <= w.After {
			return
		}
		if l.Ended > now {
			continue
		}
		if !fn(l) {
			return
		}
	}
}

package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// errSliceDone stops the listing of a slice whose older part another
// worker took.
var errSliceDone = errors.New("the rest of the slice is another's")

// loadSlice fetches one slice of a window and hands its legs to the
// load's batcher as pages arrive, and records what it did in its window's
// windowRun. It returns once they are written.
func (j *Job) loadSlice(ctx context.Context, slices *slicer, sl *slice, w dialpad.Window, out *batcher) {
	tr := sl.t
	ctx, cancel := context.WithTimeout(ctx, j.windowTimeout())
	defer cancel()
	began := j.now()
	bw := out.writer()
	var days []time.Time
	var rejected []warehouse.Rejected
	var legs, pages int
	err := j.Source.ListCalls(dialpad.WithCounters(ctx, &tr.counters), tr.target, w, func(p *wire.Page) error {
		pages++
		newest, oldest := int64(-1), int64(1<<62)
		for i := range p.Calls {
			ms := int64(p.Calls[i].DateStarted)
			newest, oldest = max(newest, ms), min(oldest, ms)
		}
		from, done := slices.listed(sl, newest, oldest)
		page := make([]transform.Leg, 0, len(p.Calls))
		for i := range p.Calls {
			if int64(p.Calls[i].DateStarted) < from {
				continue // the older slice's
			}
			l := transform.NewLeg(tr.target, &p.Calls[i], j.Location, tr.names)
			l.Read = p.Received
			if len(days) == 0 || !days[len(days)-1].Equal(l.Day) {
				days = append(days, l.Day)
			}
			page = append(page, l)
		}
		bw.add(page)
		legs += len(page)
		for _, r := range p.Rejected {
			rejected = append(rejected, warehouse.Rejected{Target: tr.target, CallID: int64(r.CallID),
				Reason: r.Reason, Raw: r.Raw, RunID: tr.run.ID})
		}
		if done {
			return errSliceDone
		}
		return nil
	})
	slices.listedAll(sl)
	if errors.Is(err, errSliceDone) {
		err = nil
	}
	// What was listed is written even when the listing failed part-way
	// (or is, once the batch is sent, if ctx ends first).
	if serr := bw.sync(ctx); err == nil {
		err = serr
	}
	changed := bw.changedLegs()
	// Rejected items are kept even when the slice failed: they are what
	// the operator needs to see.
	if rerr := j.Store.WriteRejected(ctx, rejected); rerr != nil && err == nil {
		err = rerr
	}
	tr.mu.Lock()
	tr.legs += int64(legs)
	tr.changed += int64(changed)
	tr.reject += int64(len(rejected))
	tr.pages += int64(pages)
	m := tr.month(sl.window)
	tr.touched[m] = append(tr.touched[m], days...)
	wr := tr.loading[sl.window]
	if wr == nil {
		wr = &windowRun{began: began}
		tr.loading[sl.window] = wr
	}
	wr.began = minTime(wr.began, began)
	wr.slices++
	wr.pages += pages
	wr.legs += legs
	wr.changed += changed
	wr.rejected += len(rejected)
	if err != nil && wr.err == nil {
		wr.err = err
	}
	tr.mu.Unlock()
	j.log().Debug("slice loaded", "target", tr.target, "slice", w, "pages", pages, "legs", legs, "err", err,
		"duration", j.now().Sub(began).Round(time.Millisecond))
}

// endWindow logs a window whose slices have all ended and keeps it for
// its month's recompute, which it runs when it is the month's last
// window to end: the agent days and conversations of the days the
// month's windows wrote legs of. A window is done (it may move the mark)
// once its slices wrote all its legs and its month was recomputed; then
// it is also marked loaded if it ended a lookback before it was fetched.
func (j *Job) endWindow(ctx context.Context, slices *slicer, tr *targetRun, i int) {
	w := tr.windows[i]
	tr.mu.Lock()
	wr := tr.loading[i]
	m := tr.month(i)
	if wr.err == nil {
		tr.written[m] = append(tr.written[m], i)
	} else {
		tr.errs = append(tr.errs, fmt.Errorf("window %s: %w", w, wr.err))
	}
	wr.done = true
	tr.mu.Unlock()
	attrs := []any{"target", tr.target, "window", w, "slices", wr.slices, "pages", wr.pages, "legs", wr.legs,
		"changed", wr.changed, "rejected", wr.rejected, "duration", j.now().Sub(wr.began).Round(time.Millisecond)}
	if wr.err != nil {
		j.log().Error("window failed", append(attrs, "err", wr.err)...)
	} else {
		j.log().Info("window loaded", attrs...)
	}
	// Only once it is kept for the month: the month's last window reads
	// the others' from tr.written.
	if !slices.windowEnded(tr, i) {
		return
	}
	tr.mu.Lock()
	days, written := tr.touched[m], tr.written[m]
	tr.mu.Unlock()
	// The list is the source of truth for which legs the target has: a
	// leg an event attributed to it that a whole window's read did not
	// list goes.
	for _, k := range written {
		tr.mu.Lock()
		began := tr.loading[k].began
		tr.mu.Unlock()
		dropped, err := j.Store.DropUnlisted(ctx, tr.target, tr.windows[k], began)
		if err != nil {
			// The window's mark waits; its legs are recomputed all the same.
			tr.mu.Lock()
			tr.errs = append(tr.errs, fmt.Errorf("window %s: %w", tr.windows[k], err))
			tr.loading[k].err = err
			tr.mu.Unlock()
			j.log().Error("could not drop the legs the list does not have", "target", tr.target, "err", err)
			continue
		}
		if len(dropped) > 0 {
			j.log().Info("dropped legs that events gave and the list does not have", "target", tr.target,
				"window", tr.windows[k], "days", len(dropped))
		}
		days = append(days, dropped...)
	}
	if err := j.Derived.Recompute(ctx, tr.target, days); err != nil {
		tr.mu.Lock()
		tr.errs = append(tr.errs, err)
		tr.mu.Unlock()
		j.log().Error("recompute failed", "target", tr.target, "month", m, "err", err)
		return
	}
	for _, k := range written {
		wk := tr.windows[k]
		tr.mu.Lock()
		began, legs, failed := tr.loading[k].began, tr.loading[k].legs, tr.loading[k].err != nil
		tr.mu.Unlock()
		if failed {
			continue // its unlisted legs could not be dropped
		}
		var err error
		if !wk.To.Add(j.Lookback).After(began) {
			err = j.Store.MarkWindowLoaded(ctx, tr.target, wk, legs, transform.SourceList)
		}
		tr.mu.Lock()
		if err != nil {
			tr.errs = append(tr.errs, fmt.Errorf("window %s: %w", wk, err))
		} else {
			tr.done[wk] = true
		}
		tr.mu.Unlock()
	}
}

// notStarted records an error for every window that did not end: the
// load was cancelled first.
func (tr *targetRun) notStarted(ctx context.Context) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, w := range tr.windows {
		if wr := tr.loading[i]; !tr.done[w] && (wr == nil || !wr.done) {
			tr.errs = append(tr.errs, fmt.Errorf("window %s not loaded: %w", w, context.Cause(ctx)))
		}
	}
}

func (tr *targetRun) windowLegs(i int) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.loading[i].legs
}

// yearMonth is the month of t's date, e.g. 202601.
func yearMonth(t time.Time) int { return t.Year()*100 + int(t.Month()) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

package reconcile

import (
	"context"
	"slices"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// reloadBudget is how many more days of one target a run may load again
// (Reconciler.MaxReloadDays); the target's parts draw on it in turn, the
// most recent first.
type reloadBudget struct{ left int }

// take spends the budget on as many of days as it allows, the first
// first, and returns them.
func (b *reloadBudget) take(days []time.Time) []time.Time {
	days = days[:min(len(days), b.left)]
	b.left -= len(days)
	return days
}

// reload loads again the days of c where Dialpad has legs we lack, the
// most recent first and as many as budget allows, then compares p again
// with the same export: the legs the re-load brought back are recorded
// as reloaded, the rest stay only in Dialpad's.
func (r *Reconciler) reload(ctx context.Context, p part, exp *dialpad.Export, c *comparison, budget *reloadBudget) (*comparison, error) {
	missing := c.lacking()
	if len(missing) == 0 || r.Loads == nil {
		return c, nil
	}
	if len(missing) > budget.left {
		p.log.Warn("reconcile: more days lack legs than may be loaded again in one run (RECONCILE_MAX_RELOAD_DAYS)",
			"days", len(missing), "reloading", budget.left)
	}
	before := c.onlyDialpad()
	for _, d := range budget.take(missing) {
		r.reloadDay(ctx, p, d, c.byDay(d).OnlyDialpad)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ours, err := r.Store.LegsOfDays(ctx, p.target, p.from, p.to)
	if err != nil {
		return nil, err
	}
	c = compare(r.Location, p.from, p.to, exp.Records, ours, exp.RequestedAt)
	c.markReloaded(before)
	return c, nil
}

// reloadDay loads day d (a date in Location) of p's target again. A
// failed or skipped re-load is logged; the comparison after it shows
// what it brought.
func (r *Reconciler) reloadDay(ctx context.Context, p part, d time.Time, missing int) {
	from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, r.Location)
	p.log.Info("reconcile: loading a day again: Dialpad's export has legs the warehouse lacks",
		"day", d.Format(time.DateOnly), "missing", missing)
	for _, res := range r.Loads.Backfill(ctx, from, from.AddDate(0, 0, 1), []dialpad.Target{p.target}, true) {
		if res.Err != nil {
			p.log.Error("reconcile: the re-load failed", "day", d.Format(time.DateOnly), "err", res.Err)
		} else if res.Run.Status == load.StatusSkipped {
			p.log.Warn("reconcile: the re-load was skipped: another process is loading the target", "day", d.Format(time.DateOnly))
		}
	}
}

// lacking are the days where Dialpad has legs we lack, the most recent
// first.
func (c *comparison) lacking() []time.Time {
	var out []time.Time
	for _, d := range c.days {
		if d.OnlyDialpad > 0 {
			out = append(out, d.Day)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return b.Compare(a) })
	return out
}

// onlyDialpad are the legs only in Dialpad's export, with their days.
func (c *comparison) onlyDialpad() map[uint64]time.Time {
	out := map[uint64]time.Time{}
	for _, d := range c.diffs {
		if d.Kind == KindOnlyDialpad {
			out[d.CallID] = d.Day
		}
	}
	return out
}

// markReloaded records as reloaded the legs that were only in Dialpad's
// before (call ids and their days) and are no longer.
func (c *comparison) markReloaded(before map[uint64]time.Time) {
	now := c.onlyDialpad()
	for id, d := range before {
		if _, still := now[id]; !still {
			c.byDay(d).Reloaded++
			c.diffs = append(c.diffs, Difference{Day: d, CallID: id, Kind: KindReloaded})
		}
	}
}

package etl

import (
	"context"
	"fmt"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// loadWindow fetches one window, writes its legs in batches as pages
// arrive, and recomputes the aggregates of the days it touched. It
// returns the number of legs written.
func (j *Job) loadWindow(ctx context.Context, tr *targetRun, w dialpad.Window, budget *legBudget) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, j.windowTimeout())
	defer cancel()
	began := j.now()
	batch := j.batchSize()
	buf := make([]transform.Leg, 0, batch)
	days := map[time.Time]bool{}
	var rejected []warehouse.Rejected
	var legs, changed, pages, held int
	defer func() { budget.give(held) }()
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		n, err := j.Store.WriteLegs(ctx, buf)
		budget.give(held)
		held = 0
		if err != nil {
			return err
		}
		legs += len(buf)
		changed += n
		clear(buf) // let the pages go
		buf = buf[:0]
		return nil
	}
	err := j.Source.ListCalls(dialpad.WithCounters(ctx, &tr.counters), tr.target, w, func(p *dialpad.Page) error {
		pages++
		n := budget.fit(len(p.Calls))
		if !budget.take(n, false) {
			if err := flush(); err != nil {
				return err
			}
			budget.take(n, true)
		}
		held += n
		for i := range p.Calls {
			l := transform.NewLeg(tr.target, &p.Calls[i], j.Location, tr.names)
			l.Read = p.Received
			days[l.Day] = true
			buf = append(buf, l)
		}
		for _, r := range p.Rejected {
			rejected = append(rejected, warehouse.Rejected{Target: tr.target, CallID: int64(r.CallID),
				Reason: r.Reason, Raw: r.Raw, RunID: tr.run.ID})
		}
		if len(buf) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	// Rejected items are kept even when the window failed: they are what
	// the operator needs to see.
	if rerr := j.Store.WriteRejected(ctx, rejected); rerr != nil && err == nil {
		err = rerr
	}
	if err == nil {
		err = j.Store.Recompute(ctx, tr.target, sortedDays(days))
	}
	if err == nil && !w.To.Add(j.Lookback).After(began) {
		err = j.Store.MarkWindowLoaded(ctx, tr.target, w, legs)
	}
	tr.mu.Lock()
	tr.legs += int64(legs)
	tr.changed += int64(changed)
	tr.reject += int64(len(rejected))
	tr.pages += int64(pages)
	tr.mu.Unlock()
	attrs := []any{"target", tr.target, "window", w, "pages", pages, "legs", legs, "changed", changed, "rejected", len(rejected),
		"duration", j.now().Sub(began).Round(time.Millisecond)}
	if err != nil {
		err = fmt.Errorf("window %s: %w", w, err)
		j.log().Error("window failed", append(attrs, "err", err)...)
		return legs, err
	}
	j.log().Info("window loaded", attrs...)
	return legs, nil
}

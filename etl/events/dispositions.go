package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// Dispositions are also told by an event that may be lost (Dialpad does
// not send an event again after a short while, nor a websocket's ever).
// Each night, DispositionLoad reads Dialpad's dispositions export of each
// call-center and department target for the days the nightly run read
// again, keeps every leg's dispositions in call_feedback (source export,
// under that target) and has those days derived again. Dialpad allows
// the export for call centers; a target it refuses (4xx) is logged and
// skipped, and not asked for again by this process: each export spends
// the budget the reconciliation shares.
type DispositionLoad struct {
	Exports  DispositionExports // *dialpad.Client
	Store    FeedbackStore      // *Storage
	Derived  Recomputer         // *derive.Deriver
	Leases   Leases             // *lease.Leases
	Targets  []dialpad.Target   // the configured targets: the call centers and departments are read
	Location *time.Location     // the reporting zone: the days, and the exports' timezone
	// Owner names this process in target leases (default
	// lease.NewOwner(lease.Brief)); LeaseTTL as the receiver's (default
	// 2m). A target a load holds is waited for up to LeaseWait (default
	// 2m), polled every LeasePoll (default 2s).
	Owner     lease.Owner
	LeaseTTL  time.Duration
	LeaseWait time.Duration
	LeasePoll time.Duration
	// Concurrency is how many targets' exports are under way at once
	// (default 4, as the reconciliation's): an export waits at Dialpad,
	// not here.
	Concurrency int
	Metrics     *DispositionMetrics // nil: not measured
	Log         *slog.Logger

	mu      sync.Mutex
	refused map[dialpad.Target]bool // targets Dialpad refused the export for
}

// DispositionResult is what one target's export came to.
type DispositionResult struct {
	Target dialpad.Target
	Legs   int         // legs with dispositions written
	Bad    int         // rows of the export that could not be read
	Days   []time.Time // the days recomputed (reporting-zone dates, as midnight UTC)
	// Refused: Dialpad refused the export for the target (4xx); not a
	// failure.
	Refused bool
	Err     error
}

// maxBadLogged is how many unreadable rows of one export are logged
// one by one.
const maxBadLogged = 5

// maxDispositionDays is the most days one export covers; a longer range
// is asked for in parts.
const maxDispositionDays = 31

// Run loads the dispositions of the days first to last (dates of
// Location, both included, last before today there) of every call-center
// and department target, Concurrency targets at a time, and has the
// days of the legs it wrote recomputed; the results are in the order of
// Targets. A target's failure is logged, counted and returned in its
// result; the others go on. Run is not safe for concurrent use.
func (d *DispositionLoad) Run(ctx context.Context, first, last time.Time) []DispositionResult {
	var todo []dialpad.Target
	for _, t := range d.Targets {
		if (t.Type == "callcenter" || t.Type == "department") && !d.wasRefused(t) {
			todo = append(todo, t)
		}
	}
	out := make([]DispositionResult, len(todo))
	n := d.Concurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, t := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = d.run(ctx, t, first, last)
		})
	}
	wg.Wait()
	return out
}

// run loads one target's export, then logs and counts what it came to.
func (d *DispositionLoad) run(ctx context.Context, t dialpad.Target, first, last time.Time) DispositionResult {
	if err := ctx.Err(); err != nil {
		return DispositionResult{Target: t, Err: err}
	}
	res := d.target(ctx, t, first, last)
	log := d.log().With("target", t.String(), "from", first.Format(time.DateOnly), "to", last.Format(time.DateOnly))
	switch {
	case res.Refused:
		d.mu.Lock()
		if d.refused == nil {
			d.refused = map[dialpad.Target]bool{}
		}
		d.refused[t] = true
		d.mu.Unlock()
		log.Info("dispositions: Dialpad has no dispositions export for the target; not asked for again until a restart",
			"err", res.Err)
	case res.Err != nil:
		log.Error("dispositions: the export was not loaded", "legs", res.Legs, "err", res.Err)
	default:
		log.Info("dispositions: export loaded", "legs", res.Legs, "unreadable_rows", res.Bad, "days", len(res.Days))
	}
	d.Metrics.observe(res)
	return res
}

// target loads one target's export, a part of at most
// maxDispositionDays at a time, and recomputes the days it touched.
func (d *DispositionLoad) target(ctx context.Context, t dialpad.Target, first, last time.Time) DispositionResult {
	res := DispositionResult{Target: t}
	days := map[time.Time]bool{}
	for to := civil(last); !to.Before(civil(first)); to = to.AddDate(0, 0, -maxDispositionDays) {
		from := to.AddDate(0, 0, -maxDispositionDays+1)
		if from.Before(civil(first)) {
			from = civil(first)
		}
		exp, err := d.Exports.ExportDispositions(ctx, dialpad.ExportRequest{Target: t, Zone: d.Location, From: from, To: to})
		if err != nil {
			res.Refused = refused(err)
			res.Err = err
			break
		}
		rows := make([]Feedback, 0, len(exp.Dispositions.Calls))
		for _, c := range exp.Dispositions.Calls {
			rows = append(rows, Feedback{Target: t, CallID: int64(c.CallID), Kind: KindDisposition, Started: c.Started.UTC(),
				Names: c.Names, Source: SourceExport, Extra: c.Extra, At: exp.RequestedAt})
		}
		// The first few, each with its line and why: a broken export
		// has them by the thousand.
		for i, b := range exp.Dispositions.Bad {
			if i == maxBadLogged {
				d.log().Warn("dispositions: more rows of the export could not be read", "target", t.String(),
					"more", len(exp.Dispositions.Bad)-i)
				break
			}
			d.log().Warn("dispositions: a row of the export could not be read", "target", t.String(),
				"request_id", exp.RequestID, "line", b.Line, "call_id", int64(b.CallID), "reason", b.Reason)
		}
		res.Bad += len(exp.Dispositions.Bad)
		if err := d.Store.WriteFeedback(ctx, rows); err != nil {
			res.Err = fmt.Errorf("write the dispositions of %s: %w", t, err)
			break
		}
		res.Legs += len(rows)
		for _, r := range rows {
			days[transform.Day(r.Started.UnixMilli(), d.Location)] = true
		}
	}
	// What was written is derived, even when a later part failed.
	if len(days) > 0 {
		res.Days = slices.SortedFunc(maps.Keys(days), time.Time.Compare)
		if err := d.recompute(ctx, t, res.Days); err != nil {
			res.Err = errors.Join(res.Err, err)
		}
	}
	return res
}

// recompute derives t's days again under its lease, waiting up to
// LeaseWait for a load that holds it.
func (d *DispositionLoad) recompute(ctx context.Context, t dialpad.Target, days []time.Time) error {
	owner := d.Owner
	if owner == "" {
		owner = lease.NewOwner(lease.Brief)
	}
	name := lease.Target(t)
	deadline := time.Now().Add(orDefault(d.LeaseWait, 2*time.Minute))
	for {
		got, held, err := d.Leases.Acquire(ctx, owner, orDefault(d.LeaseTTL, 2*time.Minute), name)
		if err != nil {
			return fmt.Errorf("take the lease of %s to recompute: %w", t, err)
		}
		if len(got) == 1 {
			break
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("recompute the days of %s's dispositions: %w", t, held[name])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(orDefault(d.LeasePoll, 2*time.Second)):
		}
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := d.Leases.Release(rctx, owner, name); err != nil {
			d.log().Warn("dispositions: could not release the lease; it expires by itself", "target", t.String(), "err", err)
		}
	}()
	if err := d.Derived.Recompute(ctx, t, days); err != nil {
		return fmt.Errorf("recompute the days of %s's dispositions: %w", t, err)
	}
	return nil
}

func (d *DispositionLoad) wasRefused(t dialpad.Target) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.refused[t]
}

// refused reports whether Dialpad refused the request for the target
// itself (400, 404, 422): the target has no such export, which asking
// again will not change. A refused key (401, 403: a bad key, a missing
// scope) or a busy Dialpad (429) is a failure, asked for again the next
// night.
func refused(err error) bool {
	var apiErr *dialpad.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// civil is t's date (its clock reading's), as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (d *DispositionLoad) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

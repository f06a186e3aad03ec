package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// Exports is Dialpad's records export of calls, read a row at a time
// (*dialpad.Client). It must be safe for concurrent use, and keep to
// Dialpad's budget of exports itself.
type Exports interface {
	ExportCallsEach(ctx context.Context, req dialpad.ExportRequest, row func(records.Record) error,
		bad func(records.BadRow) error) (dialpad.ExportInfo, error)
}

// MaxExportDays is the most days one export of a backfill asks for. An
// export is asked for in UTC, where no local time is ambiguous (in a
// zone's repeated hour when the clocks go back, a leg's times can read
// as two instants): the reporting zone's days of one export span one UTC
// date more than they are, unless the zone is UTC, so it holds 30 of
// them.
const MaxExportDays = 31

// ExportProgress tells how far a backfill from exports has come for one
// target.
type ExportProgress struct {
	Target         dialpad.Target
	DaysDone, Days int   // days whose export is in (written, or failed), of the days to load
	Legs           int64 // written so far
	ExportsPending int   // being read, or waiting their turn
	Failed         int   // exports that failed: their days stay unloaded
	Elapsed        time.Duration
	Done           bool // the target's backfill ended
}

// BackfillExport loads the days from the day of from to the day before
// to (in the reporting zone, and before today there) for targets (all the
// Job's when nil) from Dialpad's records export instead of the call list:
// per target, one export of consecutive days at a time (at most
// MaxExportDays UTC dates), the newest first, Concurrency of them at once
// across targets
// (within the export budget the client keeps); each export's rows are
// written to calls as they download, never held whole. A month's derived
// rows are computed once, when the last export with days of it is in.
// Days loaded before (from the list or an export) are skipped unless
// force is set; the days of an export that failed (asked for again once
// by the client) stay unloaded, and the run fails naming them.
//
// Legs from an export have source 'export' and the version of their
// start, below any list read or event of them, which replace them. A
// row of a leg that had not ended when the export was made is left to
// the list (counted); a row that cannot be read is quarantined in
// rejected_calls.
func (j *Job) BackfillExport(ctx context.Context, from, to time.Time, targets []dialpad.Target, force bool) []Result {
	if targets == nil {
		targets = j.Targets
	}
	if j.Exports == nil {
		var out []Result
		for _, t := range targets {
			out = append(out, j.failedBeforeStart(ctx, t, KindBackfill, j.now(), errors.New("no export source")))
		}
		return out
	}
	w := j.exportDays(from, to)
	var plans []plan
	for _, t := range targets {
		plans = append(plans, plan{target: t, kind: KindBackfill, window: w, skipLoaded: !force})
	}
	if !w.From.Before(w.To) {
		var out []Result
		for _, p := range plans {
			out = append(out, j.failedBeforeStart(ctx, p.target, p.kind, j.now(),
				fmt.Errorf("no whole day before today (%s) to export from %s to %s", j.Location, from.Format(time.DateOnly),
					to.Format(time.DateOnly))))
		}
		return out
	}
	started := j.now()
	lctx, plans, results, release := j.lease(ctx, plans, started)
	defer release()
	ctx = lctx
	if err := j.Derived.CheckZone(ctx); err != nil {
		for _, p := range plans {
			results = append(results, j.failedBeforeStart(ctx, p.target, p.kind, started, err))
		}
		return results
	}
	var runs []*exportRun
	var queue []*exportChunk
	for _, p := range plans {
		tr, err := j.prepare(ctx, p, started)
		if err != nil {
			results = append(results, j.failedBeforeStart(ctx, p.target, p.kind, started, err))
			continue
		}
		er := &exportRun{targetRun: tr, pendingIn: map[int]int{}, chunksOf: map[int][]*exportChunk{}, began: started}
		er.chunks = chunkDays(tr)
		for _, c := range er.chunks {
			c.run = er
			for _, m := range c.months {
				er.pendingIn[m]++
				er.chunksOf[m] = append(er.chunksOf[m], c)
			}
			er.days += len(c.windows)
		}
		runs = append(runs, er)
		queue = append(queue, er.chunks...)
		j.exportProgress(er)
	}
	// The newest chunks of every target first, then the next of each.
	slices.SortStableFunc(queue, func(a, b *exportChunk) int { return a.rank - b.rank })

	out := newBatcher(ctx, j.Store, j.batchSize())
	work := make(chan *exportChunk)
	var wg sync.WaitGroup
	for range min(j.concurrency(), max(len(queue), 1)) {
		wg.Go(func() {
			for c := range work {
				j.exportChunk(ctx, c, out)
			}
		})
	}
feed:
	for _, c := range queue {
		select {
		case work <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	out.close()
	for _, er := range runs {
		er.notStarted(ctx)
		er.mu.Lock()
		er.done = true
		er.mu.Unlock()
		j.exportProgress(er)
		results = append(results, j.finish(ctx, er.targetRun))
	}
	return results
}

// exportDays is the window of whole days of the reporting zone from the
// day of from to the day before to (to's own day too when to is not a
// midnight), that ended before today's UTC date began: an export covers
// whole UTC dates before today's (it is asked for in UTC), so west of
// UTC yesterday is left to the list for the hours its end lies in
// today's UTC date, and east of UTC the hours before today's UTC date.
func (j *Job) exportDays(from, to time.Time) dialpad.Window {
	midnight := func(t time.Time) time.Time {
		y, m, d := t.In(j.Location).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, j.Location)
	}
	end := midnight(to)
	if end.Before(to) {
		end = end.AddDate(0, 0, 1)
	}
	// The last midnight of the zone at or before today's UTC date began.
	utcToday := utcDate(j.now())
	last := midnight(utcToday)
	if last.After(utcToday) {
		last = last.AddDate(0, 0, -1)
	}
	if end.After(last) {
		end = last
	}
	return dialpad.Window{From: midnight(from).UTC(), To: end.UTC()}
}

// exportRun is one target's backfill from exports.
type exportRun struct {
	*targetRun
	chunks    []*exportChunk
	pendingIn map[int]int // per month: its chunks not yet in
	chunksOf  map[int][]*exportChunk
	began     time.Time
	days      int
	// under targetRun.mu:
	daysDone, exports, failed int
	streamed, notEnded        int64 // legs handed to the writer so far; rows of legs not ended
	done                      bool
}

// exportChunk is one export of a target's: consecutive days not loaded
// yet, at most MaxExportDays.
type exportChunk struct {
	run     *exportRun
	windows []int // indexes of the days in the target's windows, oldest first
	months  []int // the months (YYYYMM) of its days
	rank    int   // its place among the target's chunks, newest first
	// Set once it is in:
	err     error
	touched map[time.Time]int // the days it wrote legs of, and how many
	at      time.Time         // when the export was asked for
}

// chunkDays cuts tr's days not loaded yet into runs of consecutive days,
// and each run into exports of at most MaxExportDays UTC dates, the
// newest first.
func chunkDays(tr *targetRun) []*exportChunk {
	var out []*exportChunk
	var cur *exportChunk
	for i := len(tr.windows) - 1; i >= 0; i-- {
		if tr.done[tr.windows[i]] {
			cur = nil
			continue
		}
		if cur == nil || utcDates(tr.windows[i].From, tr.windows[cur.windows[len(cur.windows)-1]].To) > MaxExportDays {
			cur = &exportChunk{rank: len(out)}
			out = append(out, cur)
		}
		cur.windows = append([]int{i}, cur.windows...)
		if m := tr.month(i); !slices.Contains(cur.months, m) {
			cur.months = append(cur.months, m)
		}
	}
	return out
}

// utcDates are the UTC dates of the instants from from up to to.
func utcDates(from, to time.Time) int {
	first, last := utcDate(from), utcDate(to.Add(-time.Millisecond))
	return int(last.Sub(first)/(24*time.Hour)) + 1
}

// utcDate is t's date in UTC, at its midnight.
func utcDate(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}

// exportChunk asks for c's export, writes its legs through out as its
// rows arrive, and, when it is the last chunk in of one of its months,
// computes that month's derived rows and marks the month's days loaded.
func (j *Job) exportChunk(ctx context.Context, c *exportChunk, out *batcher) {
	er := c.run
	tr := er.targetRun
	first, last := tr.windows[c.windows[0]], tr.windows[c.windows[len(c.windows)-1]]
	req := dialpad.ExportRequest{Target: tr.target, Zone: time.UTC, From: utcDate(first.From), To: utcDate(last.To.Add(-time.Millisecond))}
	// The reporting days of the chunk; the export's first and last UTC
	// dates also hold legs of the days beside them, which are theirs.
	firstDay, lastDay := transform.Day(first.From.UnixMilli(), j.Location), transform.Day(last.From.UnixMilli(), j.Location)
	bw := out.writer()
	const flushEvery = 1000
	page := make([]transform.Leg, 0, flushEvery)
	days := map[time.Time]int{}
	// Rows that cannot be read are quarantined as they come, a thousand
	// at a time, named by the export's days (the same row of the same
	// export, read again, replaces its record) and line.
	exportName := fmt.Sprintf("%s %s..%s (UTC)", tr.target, req.From.Format(time.DateOnly), req.To.Format(time.DateOnly))
	var rejected []warehouse.Rejected
	var rejectedN int
	var rerr error
	quarantine := func(line int, id wire.ID, startedUTC time.Time, reason string) {
		if !startedUTC.IsZero() {
			if d := transform.Day(startedUTC.UnixMilli(), j.Location); d.Before(firstDay) || d.After(lastDay) {
				return // a day beside the chunk's: the export of that day has it
			}
		}
		raw, _ := json.Marshal(map[string]any{"export": exportName, "line": line})
		rejected = append(rejected, warehouse.Rejected{Target: tr.target, CallID: int64(id),
			Reason: fmt.Sprintf("records export %s, line %d: %s", exportName, line, reason), Raw: raw, RunID: tr.run.ID})
		rejectedN++
		if len(rejected) == flushEvery {
			if err := j.Store.WriteRejected(ctx, rejected); err != nil && rerr == nil {
				rerr = err
			}
			rejected = rejected[:0]
		}
	}
	var legs, notEnded, unread int
	began := time.Now()
	info, err := j.Exports.ExportCallsEach(dialpad.WithCounters(ctx, &tr.counters), req, func(rec records.Record) error {
		if rec.Unplaced {
			quarantine(rec.Line, rec.CallID, rec.StartedLocal, "its times cannot be put in order (date_started <= date_connected <= date_ended)")
			return nil
		}
		if rec.Ended.IsZero() {
			notEnded++ // still going when the export was made: the list has it once it ends
			return nil
		}
		l := transform.ExportLeg(tr.target, &rec, j.Location, tr.names)
		if l.Day.Before(firstDay) || l.Day.After(lastDay) {
			return nil
		}
		if len(rec.Unread) > 0 {
			unread++
			j.log().Debug("a cell of the export could not be read; left empty", "target", tr.target, "line", rec.Line,
				"call_id", int64(rec.CallID), "cells", strings.Join(rec.Unread, "; "))
		}
		days[l.Day]++
		page = append(page, l)
		legs++
		if len(page) == flushEvery {
			bw.add(page)
			page = make([]transform.Leg, 0, flushEvery)
			j.addExportLegs(er, flushEvery)
		}
		return nil
	}, func(b records.BadRow) error {
		quarantine(b.Line, b.CallID, b.StartedLocal, b.Reason)
		return nil
	})
	bw.add(page)
	j.addExportLegs(er, len(page))
	if serr := bw.sync(ctx); err == nil {
		err = serr
	}
	changed := bw.changedLegs()
	// Rejected rows are kept even when the export failed: they are what
	// the operator needs to see.
	if werr := j.Store.WriteRejected(ctx, rejected); werr != nil && rerr == nil {
		rerr = werr
	}
	if rerr != nil && err == nil {
		err = rerr
	}
	attrs := []any{"target", tr.target, "from", first.From.In(j.Location).Format(time.DateOnly),
		"to", last.From.In(j.Location).Format(time.DateOnly), "legs", legs, "changed", changed, "rejected", rejectedN,
		"not_ended", notEnded, "with_unread_cells", unread, "duration", time.Since(began).Round(time.Millisecond)}
	if err != nil {
		err = fmt.Errorf("the export of %s to %s: %w", first.From.In(j.Location).Format(time.DateOnly),
			last.From.In(j.Location).Format(time.DateOnly), err)
		j.log().Error("export failed; its days stay unloaded", append(attrs, "err", err)...)
	} else {
		j.log().Info("export loaded", append(attrs, "request_id", info.RequestID)...)
	}

	tr.mu.Lock()
	c.err, c.touched, c.at = err, days, info.RequestedAt
	tr.legs += int64(legs)
	tr.changed += int64(changed)
	tr.reject += int64(rejectedN)
	er.notEnded += int64(notEnded)
	er.exports++
	er.daysDone += len(c.windows)
	if err != nil {
		er.failed++
		tr.errs = append(tr.errs, err)
	}
	var ready []int // months whose every chunk is in
	for _, m := range c.months {
		if er.pendingIn[m]--; er.pendingIn[m] == 0 {
			ready = append(ready, m)
		}
	}
	tr.mu.Unlock()
	for _, m := range ready {
		j.endExportMonth(ctx, er, m)
	}
	j.exportProgress(er)
}

// endExportMonth computes month m's derived rows from the days its
// chunks wrote legs of, then marks the month's days of the chunks that
// succeeded loaded (those that ended a Lookback before their export was
// asked for).
func (j *Job) endExportMonth(ctx context.Context, er *exportRun, m int) {
	tr := er.targetRun
	tr.mu.Lock()
	var days []time.Time
	for _, c := range er.chunksOf[m] {
		for d := range c.touched {
			if yearMonth(d) == m {
				days = append(days, d)
			}
		}
	}
	tr.mu.Unlock()
	// A month without legs (no calls yet, or its exports failed first) has
	// nothing to compute; its days are marked all the same.
	if len(days) > 0 {
		if err := j.Derived.Recompute(ctx, tr.target, days); err != nil {
			tr.mu.Lock()
			tr.errs = append(tr.errs, fmt.Errorf("month %d: %w", m, err))
			tr.mu.Unlock()
			j.log().Error("recompute failed", "target", tr.target, "month", m, "err", err)
			return
		}
	}
	for _, c := range er.chunksOf[m] {
		tr.mu.Lock()
		failed, at := c.err != nil, c.at
		tr.mu.Unlock()
		if failed {
			continue
		}
		for _, i := range c.windows {
			w := tr.windows[i]
			if tr.month(i) != m || w.To.Add(j.Lookback).After(at) {
				continue
			}
			tr.mu.Lock()
			legs := c.touched[transform.Day(w.From.UnixMilli(), j.Location)]
			tr.mu.Unlock()
			err := j.Store.MarkWindowLoaded(ctx, tr.target, w, legs, transform.SourceExport)
			tr.mu.Lock()
			if err != nil {
				tr.errs = append(tr.errs, fmt.Errorf("window %s: %w", w, err))
			} else {
				tr.done[w] = true
			}
			tr.mu.Unlock()
		}
	}
}

// addExportLegs counts n more legs of er and tells the progress.
func (j *Job) addExportLegs(er *exportRun, n int) {
	if n == 0 {
		return
	}
	er.mu.Lock()
	er.streamed += int64(n)
	er.mu.Unlock()
	j.exportProgress(er)
}

// exportProgress tells er's progress to ExportProgress, if set.
func (j *Job) exportProgress(er *exportRun) {
	if j.ExportProgress == nil {
		return
	}
	er.mu.Lock()
	p := ExportProgress{Target: er.target, DaysDone: er.daysDone, Days: er.days, Legs: er.streamed,
		ExportsPending: len(er.chunks) - er.exports, Elapsed: j.now().Sub(er.began), Failed: er.failed, Done: er.done}
	er.mu.Unlock()
	j.ExportProgress(p)
}

// notStarted records an error for every chunk that was never asked for:
// the backfill was cancelled first.
func (er *exportRun) notStarted(ctx context.Context) {
	er.mu.Lock()
	defer er.mu.Unlock()
	if n := len(er.chunks) - er.exports; n > 0 {
		er.errs = append(er.errs, fmt.Errorf("%d exports not asked for: %w", n, context.Cause(ctx)))
	}
}

package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// finish moves the high-water mark as far as the loaded windows allow and
// records the run.
func (j *Job) finish(ctx context.Context, tr *targetRun) Result {
	// The record and the mark must be written even when ctx has ended.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var err error = errors.Join(tr.errs...)
	if cause := context.Cause(ctx); errors.Is(cause, lease.ErrLeaseLost) {
		err = errors.Join(cause, err) // say why first
	}
	if mark, ok := j.markAfter(wctx, tr); ok {
		if merr := j.Store.AdvanceHighWater(wctx, tr.target, mark); merr != nil {
			err = errors.Join(err, merr)
		}
	}
	st := tr.counters.Snapshot()
	r := tr.run
	r.Finished = j.now()
	r.Windows = len(tr.windows)
	r.Pages, r.Requests, r.Retries, r.RateLimited = tr.pages, st.Requests, st.Retries, st.RateLimited
	r.Legs, r.LegsChanged, r.Rejected = tr.legs, tr.changed, tr.reject
	r.Status = "succeeded"
	if err != nil {
		r.Status = "failed"
		if ctx.Err() != nil {
			r.Status = "cancelled"
		}
		r.Error = firstLine(err)
	}
	if rerr := j.Store.RecordRun(wctx, r); rerr != nil {
		j.log().Error("could not record the run", "target", tr.target, "run", r.ID, "err", rerr)
		err = errors.Join(err, rerr)
		if r.Error == "" {
			// Every window loaded, but the run is not on record: that is
			// the failure to report.
			r.Error = firstLine(rerr)
		}
	}
	return Result{Run: r, Err: err}
}

// markAfter is the new high-water mark: the end of the loaded windows that
// run without a gap from the plan's start. Only a load that starts at or
// before the present mark (or, with none, at or before Start) may move it,
// so no later load can leave a gap behind the mark.
func (j *Job) markAfter(ctx context.Context, tr *targetRun) (time.Time, bool) {
	if tr.kind != KindIncremental {
		current, ok, err := j.Store.HighWater(ctx, tr.target)
		if err != nil {
			return time.Time{}, false
		}
		if !ok {
			current = j.Start
		}
		if tr.window.From.After(current) {
			return time.Time{}, false
		}
	}
	var mark time.Time
	for _, w := range tr.windows {
		if !tr.done[w] {
			break
		}
		mark = w.To
	}
	return mark, !mark.IsZero()
}

func (j *Job) failedBeforeStart(ctx context.Context, t dialpad.Target, kind string, at time.Time, err error) Result {
	r := warehouse.Run{ID: newRunID(), Target: t, Kind: kind, Started: at, Finished: j.now(), Status: "failed",
		Error: firstLine(err), Host: hostname()}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := j.Store.RecordRun(wctx, r); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return Result{Run: r, Err: err}
}

// skippedRun records that p was not loaded because h held its target.
func (j *Job) skippedRun(ctx context.Context, p plan, at time.Time, h *lease.Held) Result {
	r := warehouse.Run{ID: newRunID(), Target: p.target, Kind: p.kind, Window: p.window, Started: at, Finished: j.now(),
		Status: StatusSkipped, Error: "another process is loading it: " + h.Error(), Host: hostname()}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	if rerr := j.Store.RecordRun(wctx, r); rerr != nil {
		err = rerr
	}
	return Result{Run: r, Err: err}
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// firstLine is err's message up to its first line break: the reason
// recorded for a failed run.
func firstLine(err error) string {
	msg := err.Error()
	for i, r := range msg {
		if r == '\n' {
			return msg[:i] + " (and more)"
		}
	}
	return msg
}

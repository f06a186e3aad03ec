// Package reconcile compares the warehouse with Dialpad's own records of
// the same days: per target, it asks Dialpad for a records export of its
// calls (dialpad.Client.ExportCalls), matches the export's rows with the
// stored legs by call id, re-loads the days where Dialpad has legs the
// warehouse lacks, and records per day what each side has and which legs
// differ (tables reconciliation and reconciliation_diffs).
//
// What is compared, per target and reporting-zone day: the legs on each
// side and their conversations; the legs only in Dialpad's export (the
// load missed them), those only in ours, and, of the legs on both sides,
// those whose direction, answered or not (date_connected), or talk time
// disagree beyond the export's rounding (it writes minutes with a few
// decimals); and the inbound entry legs (those whose call id is their
// conversation's) by class, answered, voicemail, abandoned (no agent
// rang) or missed (agents rang), as Dialpad's categories have them and
// as our conversations do, counted per day and compared leg by leg. A
// leg that had not ended when the export was asked for is left out on
// both sides: the export has it without its end, or not at all, while a
// later load has it whole.
//
// It imports dialpad and records (the export), load (the re-load of a
// day) and the warehouse's connection for its own storage (storage.go),
// which it uses through the interface Store.
package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// Exporter is where Dialpad's records come from: *dialpad.Client.
type Exporter interface {
	ExportCalls(ctx context.Context, req dialpad.ExportRequest) (*dialpad.Export, error)
}

// Reloader loads days again: *load.Job.
type Reloader interface {
	Backfill(ctx context.Context, from, to time.Time, targets []dialpad.Target, force bool) []load.Result
}

// Status is what a reconciled day came to; its value is written to
// reconciliation.status.
type Status string

// Statuses of a reconciled day.
const (
	StatusMatch   Status = "match"   // every leg on both sides, agreeing
	StatusDiffer  Status = "differ"  // some leg is on one side only, disagrees, or could not be read
	StatusFailed  Status = "failed"  // Dialpad failed the export
	StatusTimeout Status = "timeout" // the export never finished
	StatusError   Status = "error"   // the export could not be asked for, downloaded or read
)

// MaxExportDays is the most days one export covers; a longer range is
// asked for in parts.
const MaxExportDays = 31

// unfinishedFor is how long before the export a leg without an end may
// have started and be a call still going; an older one is unreadable.
const unfinishedFor = 24 * time.Hour

// Reconciler reconciles Targets' days with Dialpad's exports.
type Reconciler struct {
	Exports  Exporter
	Store    Store    // *Storage
	Loads    Reloader // nil: differences are only reported
	Targets  []dialpad.Target
	Location *time.Location // the reporting zone: days, and the exports' timezone
	// MaxReloadDays bounds the days of one target that one run loads
	// again (default 7); the most recent go first, the rest are reported.
	MaxReloadDays int
	// Concurrency is how many targets' exports are under way at once
	// (default 4): an export waits at Dialpad, not here.
	Concurrency int
	// GaugeDays is how many days before today the metric of days out of
	// agreement counts (default 1: yesterday): the nightly run's.
	GaugeDays int
	Metrics   *Metrics
	Now       func() time.Time
	Log       *slog.Logger
}

// Result is one target's reconciliation of a range of days.
type Result struct {
	Target dialpad.Target
	Days   []Reconciled
	Err    error // the export's or the warehouse's failure; the days say which
}

// Run reconciles the days from first to last (both included, last before
// today in Location; only the dates of their clock readings count) of
// every target.
func (r *Reconciler) Run(ctx context.Context, first, last time.Time) []Result {
	runID := newRunID()
	out := make([]Result, len(r.Targets))
	n := r.Concurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, t := range r.Targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = r.target(ctx, runID, t, first, last)
		})
	}
	wg.Wait()
	r.Metrics.observe(out)
	// The gauge counts the days a nightly run checks again, so that it
	// clears once they agree (or leave the window).
	since := day(r.now().In(r.Location)).AddDate(0, 0, -max(r.GaugeDays, 1))
	if counts, err := r.Store.DaysOutOfAgreement(context.WithoutCancel(ctx), since); err != nil {
		r.log().Warn("reconcile: cannot count the days out of agreement", "err", err)
	} else {
		r.Metrics.outOfAgreement(r.Targets, counts)
	}
	return out
}

// target reconciles one target, a part of at most MaxExportDays at a
// time, the most recent first (its days get the re-loads first).
func (r *Reconciler) target(ctx context.Context, runID string, t dialpad.Target, first, last time.Time) Result {
	res := Result{Target: t}
	budget := reloadBudget{left: r.maxReloadDays()}
	for to := day(last); !to.Before(day(first)); to = to.AddDate(0, 0, -MaxExportDays) {
		from := to.AddDate(0, 0, -MaxExportDays+1)
		if from.Before(day(first)) {
			from = day(first)
		}
		days, err := r.check(ctx, r.newPart(runID, t, from, to), &budget)
		res.Days = append(days, res.Days...)
		if err != nil {
			res.Err = errors.Join(res.Err, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return res
}

// part is a range of one target's days compared with one export.
type part struct {
	target   dialpad.Target
	runID    string
	from, to time.Time // dates, both included
	log      *slog.Logger
}

func (r *Reconciler) newPart(runID string, t dialpad.Target, from, to time.Time) part {
	return part{target: t, runID: runID, from: from, to: to,
		log: r.log().With("target", t.String(), "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly))}
}

// check reconciles the days of p with one export, re-loading those
// where Dialpad has legs we lack as far as budget allows, and records
// them.
func (r *Reconciler) check(ctx context.Context, p part, budget *reloadBudget) ([]Reconciled, error) {
	began := time.Now()
	exp, exportErr := r.Exports.ExportCalls(ctx, dialpad.ExportRequest{Target: p.target, Zone: r.Location, From: p.from, To: p.to})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ours, err := r.Store.LegsOfDays(ctx, p.target, p.from, p.to)
	if err != nil {
		return nil, err
	}
	if exportErr != nil {
		return r.noExport(ctx, p, ours, exportErr)
	}
	recs := exp.Records
	p.log.Info("reconcile: export read", "rows", len(recs.Rows), "unreadable", len(recs.Bad), "took", time.Since(began).Round(time.Millisecond))
	c := compare(r.Location, p.from, p.to, recs, ours, exp.RequestedAt)
	if c, err = r.reload(ctx, p, exp, c, budget); err != nil {
		return nil, err
	}
	r.judge(p, exp, c.days)
	if err := r.Store.WriteReconciliation(ctx, c.days, c.diffs); err != nil {
		return c.days, err
	}
	return c.days, nil
}

// noExport records the days of p when there was no export to compare
// with: our side counted, the status saying why, never a match.
func (r *Reconciler) noExport(ctx context.Context, p part, ours []StoredLeg, exportErr error) ([]Reconciled, error) {
	checked := r.now()
	status := StatusError
	switch {
	case errors.Is(exportErr, dialpad.ErrExportFailed):
		status = StatusFailed
	case errors.Is(exportErr, dialpad.ErrExportTimeout):
		status = StatusTimeout
	}
	p.log.Error("reconcile: no export to compare with", "status", status, "err", exportErr)
	days := unchecked(p.target, p.from, p.to, ours, status, exportErr.Error())
	for i := range days {
		days[i].RunID, days[i].CheckedAt = p.runID, checked
	}
	if err := r.Store.WriteReconciliation(ctx, days, nil); err != nil {
		return days, errors.Join(exportErr, err)
	}
	return days, exportErr
}

// judge gives each compared day of p its run, its export and its
// status: a match when no leg is on one side only, disagrees or could
// not be read, the conversations agree in number, and so do the entry
// legs of each class.
func (r *Reconciler) judge(p part, exp *dialpad.Export, days []Reconciled) {
	checked := r.now()
	for i := range days {
		d := &days[i]
		d.Target, d.RunID, d.CheckedAt, d.ExportID, d.ExportedAt = p.target, p.runID, checked, exp.RequestID, exp.RequestedAt
		d.Status = StatusMatch
		if d.OnlyDialpad+d.OnlyOurs+d.Disagreeing+d.Unreadable > 0 || d.OurConvs != d.DialpadConvs ||
			d.OurCategories != d.DialpadCategories {
			d.Status = StatusDiffer
			p.log.Warn("reconcile: the day differs from Dialpad's", "day", d.Day.Format(time.DateOnly),
				"our_legs", d.OurLegs, "dialpad_legs", d.DialpadLegs, "only_dialpad", d.OnlyDialpad,
				"only_ours", d.OnlyOurs, "disagreeing", d.Disagreeing, "unreadable", d.Unreadable,
				"our_categories", d.OurCategories.String(), "dialpad_categories", d.DialpadCategories.String())
		}
	}
}

// unchecked are the days of a part that had no export to compare with:
// our side counted, the status saying why.
func unchecked(t dialpad.Target, from, to time.Time, ours []StoredLeg, status Status, reason string) []Reconciled {
	var days []Reconciled
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		r := Reconciled{Target: t, Day: d, Status: status, Error: reason}
		convs := map[uint64]bool{}
		for _, l := range ours {
			if l.Day.Equal(d) {
				r.OurLegs++
				convs[l.ConversationID] = true
				if l.entry() {
					r.OurCategories.add(l.Class)
				}
			}
		}
		r.OurConvs = len(convs)
		days = append(days, r)
	}
	return days
}

// day is t's date (its clock reading's), as midnight UTC.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Reconciler) maxReloadDays() int {
	if r.MaxReloadDays > 0 {
		return r.MaxReloadDays
	}
	return 7
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

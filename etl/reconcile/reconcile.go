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
// decimals). A leg that had not ended when the export was asked for is
// left out on both sides: the export has it without its end, or not at
// all, while a later load has it whole.
package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// Exporter is where Dialpad's records come from: *dialpad.Client.
type Exporter interface {
	ExportCalls(ctx context.Context, req dialpad.ExportRequest) (*dialpad.Export, error)
}

// Reloader loads days again: *etl.Job.
type Reloader interface {
	Backfill(ctx context.Context, from, to time.Time, targets []dialpad.Target, force bool) []etl.Result
}

// Statuses of a reconciled day.
const (
	StatusMatch   = "match"   // every leg on both sides, agreeing
	StatusDiffer  = "differ"  // some leg is on one side only, disagrees, or could not be read
	StatusFailed  = "failed"  // Dialpad failed the export
	StatusTimeout = "timeout" // the export never finished
	StatusError   = "error"   // the export could not be asked for, downloaded or read
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
	Store    *warehouse.Store
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
	Days   []warehouse.Reconciled
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
	reloads := r.maxReloadDays()
	for to := day(last); !to.Before(day(first)); to = to.AddDate(0, 0, -MaxExportDays) {
		from := to.AddDate(0, 0, -MaxExportDays+1)
		if from.Before(day(first)) {
			from = day(first)
		}
		days, err := r.part(ctx, runID, t, from, to, &reloads)
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

// part reconciles the days from..to of t with one export.
func (r *Reconciler) part(ctx context.Context, runID string, t dialpad.Target, from, to time.Time, reloads *int) ([]warehouse.Reconciled, error) {
	log := r.log().With("target", t.String(), "from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly))
	began := time.Now()
	exp, exportErr := r.Exports.ExportCalls(ctx, dialpad.ExportRequest{Target: t, Zone: r.Location, From: from, To: to})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ours, err := r.Store.LegsOfDays(ctx, t, from, to)
	if err != nil {
		return nil, err
	}
	checked := r.now()
	if exportErr != nil {
		status := StatusError
		switch {
		case errors.Is(exportErr, dialpad.ErrExportFailed):
			status = StatusFailed
		case errors.Is(exportErr, dialpad.ErrExportTimeout):
			status = StatusTimeout
		}
		log.Error("reconcile: no export to compare with", "status", status, "err", exportErr)
		days := unchecked(t, from, to, ours, status, exportErr.Error())
		for i := range days {
			days[i].RunID, days[i].CheckedAt = runID, checked
		}
		if err := r.Store.WriteReconciliation(ctx, days, nil); err != nil {
			return days, errors.Join(exportErr, err)
		}
		return days, exportErr
	}
	recs := exp.Records
	log.Info("reconcile: export read", "rows", len(recs.Rows), "unreadable", len(recs.Bad), "took", time.Since(began).Round(time.Millisecond))
	c := compare(r.Location, from, to, recs, ours, exp.RequestedAt)

	// Days where Dialpad has legs we lack are loaded again, then compared
	// again with the same export.
	var missing []time.Time
	for _, d := range c.days {
		if d.OnlyDialpad > 0 {
			missing = append(missing, d.Day)
		}
	}
	var reloaded map[uint64]bool
	if len(missing) > 0 && r.Loads != nil {
		sort.Slice(missing, func(i, j int) bool { return missing[i].After(missing[j]) })
		if len(missing) > *reloads {
			log.Warn("reconcile: more days lack legs than may be loaded again in one run (RECONCILE_MAX_RELOAD_DAYS)",
				"days", len(missing), "reloading", *reloads)
			missing = missing[:*reloads]
		}
		*reloads -= len(missing)
		before := c.onlyDialpad()
		for _, d := range missing {
			dayFrom := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, r.Location)
			log.Info("reconcile: loading a day again: Dialpad's export has legs the warehouse lacks",
				"day", d.Format(time.DateOnly), "missing", c.byDay(d).OnlyDialpad)
			for _, res := range r.Loads.Backfill(ctx, dayFrom, dayFrom.AddDate(0, 0, 1), []dialpad.Target{t}, true) {
				if res.Err != nil {
					log.Error("reconcile: the re-load failed", "day", d.Format(time.DateOnly), "err", res.Err)
				} else if res.Run.Status == etl.StatusSkipped {
					log.Warn("reconcile: the re-load was skipped: another process is loading the target", "day", d.Format(time.DateOnly))
				}
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ours, err = r.Store.LegsOfDays(ctx, t, from, to); err != nil {
			return nil, err
		}
		c = compare(r.Location, from, to, recs, ours, exp.RequestedAt)
		reloaded = map[uint64]bool{}
		now := c.onlyDialpad()
		for id, d := range before {
			if _, still := now[id]; !still {
				reloaded[id] = true
				c.byDay(d).Reloaded++
				c.diffs = append(c.diffs, warehouse.Difference{Day: d, CallID: id, Kind: "reloaded"})
			}
		}
	}
	checked = r.now()
	for i := range c.days {
		d := &c.days[i]
		d.Target, d.RunID, d.CheckedAt, d.ExportID, d.ExportedAt = t, runID, checked, exp.RequestID, exp.RequestedAt
		d.Status = StatusMatch
		if d.OnlyDialpad+d.OnlyOurs+d.Disagreeing+d.Unreadable > 0 || d.OurConvs != d.DialpadConvs {
			d.Status = StatusDiffer
			log.Warn("reconcile: the day differs from Dialpad's", "day", d.Day.Format(time.DateOnly),
				"our_legs", d.OurLegs, "dialpad_legs", d.DialpadLegs, "only_dialpad", d.OnlyDialpad,
				"only_ours", d.OnlyOurs, "disagreeing", d.Disagreeing, "unreadable", d.Unreadable)
		}
	}
	if err := r.Store.WriteReconciliation(ctx, c.days, c.diffs); err != nil {
		return c.days, err
	}
	return c.days, nil
}

// unchecked are the days of a part that had no export to compare with:
// our side counted, the status saying why.
func unchecked(t dialpad.Target, from, to time.Time, ours []warehouse.StoredLeg, status, reason string) []warehouse.Reconciled {
	var days []warehouse.Reconciled
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		r := warehouse.Reconciled{Target: t, Day: d, Status: status, Error: reason}
		convs := map[uint64]bool{}
		for _, l := range ours {
			if l.Day.Equal(d) {
				r.OurLegs++
				convs[l.ConversationID] = true
			}
		}
		r.OurConvs = len(convs)
		days = append(days, r)
	}
	return days
}

// comparison is a part's days and the legs behind their differences.
type comparison struct {
	days  []warehouse.Reconciled // one per day, in order
	diffs []warehouse.Difference
	first time.Time
}

func (c *comparison) byDay(d time.Time) *warehouse.Reconciled {
	return &c.days[int(d.Sub(c.first)/(24*time.Hour))]
}

// onlyDialpad are the legs only in Dialpad's export, with their days.
func (c *comparison) onlyDialpad() map[uint64]time.Time {
	out := map[uint64]time.Time{}
	for _, d := range c.diffs {
		if d.Kind == "only_dialpad" {
			out[d.CallID] = d.Day
		}
	}
	return out
}

// compare matches an export's rows with our legs of the days from..to.
func compare(loc *time.Location, from, to time.Time, recs *records.Records, ours []warehouse.StoredLeg, requested time.Time) *comparison {
	c := &comparison{first: from}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		c.days = append(c.days, warehouse.Reconciled{Day: d})
	}
	inRange := func(d time.Time) bool { return !d.Before(from) && !d.After(to) }
	byID := make(map[uint64]*warehouse.StoredLeg, len(ours))
	for i := range ours {
		byID[ours[i].CallID] = &ours[i]
	}
	// Legs unfinished when the export was asked for, and rows that could
	// not be read, are out of the comparison of legs.
	skip := map[uint64]bool{}
	for _, b := range recs.Bad {
		d := from // when not even its start can be read
		if !b.StartedLocal.IsZero() {
			d = day(b.StartedLocal)
		}
		if l := byID[uint64(b.CallID)]; l != nil && b.CallID > 0 {
			d = l.Day
			skip[uint64(b.CallID)] = true
		}
		if inRange(d) {
			c.byDay(d).Unreadable++
			c.diffs = append(c.diffs, warehouse.Difference{Day: d, CallID: uint64(b.CallID), Kind: "unreadable",
				Dialpad: "line " + strconv.Itoa(b.Line) + ": " + b.Reason})
		}
	}
	type theirs struct {
		rec *records.Record
		day time.Time
	}
	matched := map[uint64]theirs{}
	for i := range recs.Rows {
		rec := &recs.Rows[i]
		id := uint64(rec.CallID)
		if rec.Unplaced {
			d := day(rec.StartedLocal)
			if l := byID[id]; l != nil {
				d = l.Day
			}
			skip[id] = true
			if inRange(d) {
				c.byDay(d).Unreadable++
				c.diffs = append(c.diffs, warehouse.Difference{Day: d, CallID: id, Kind: "unreadable",
					Dialpad: "line " + strconv.Itoa(rec.Line) + ": its local times cannot be placed in its time zone"})
			}
			continue
		}
		switch {
		case !rec.Ended.IsZero() && !rec.Ended.Before(requested):
			skip[id] = true // ended after the export was asked for
			continue
		case rec.Ended.IsZero() && requested.Sub(rec.Started) < unfinishedFor:
			skip[id] = true // still going then
			continue
		case rec.Ended.IsZero():
			skip[id] = true
			if d := day(rec.Started.In(loc)); inRange(d) {
				c.byDay(d).Unreadable++
				c.diffs = append(c.diffs, warehouse.Difference{Day: d, CallID: id, Kind: "unreadable",
					Dialpad: "line " + strconv.Itoa(rec.Line) + ": no date_ended, though it started " +
						requested.Sub(rec.Started).Round(time.Minute).String() + " before the export"})
			}
			continue
		}
		started := rec.Started
		if l := byID[id]; l != nil && len(rec.StartedAlt) > 0 {
			// An ambiguous local time: the reading nearest ours.
			for _, alt := range rec.StartedAlt {
				if absDuration(alt.Sub(l.Started)) < absDuration(started.Sub(l.Started)) {
					started = alt
				}
			}
		}
		d := day(started.In(loc))
		if !inRange(d) {
			continue // the export's edges, in a zone Dialpad read differently
		}
		matched[id] = theirs{rec, d}
	}
	// Conversations: the distinct conversation ids of each side's legs.
	ourConvs, theirConvs := map[time.Time]map[uint64]bool{}, map[time.Time]map[uint64]bool{}
	addConv := func(m map[time.Time]map[uint64]bool, d time.Time, id uint64) {
		if m[d] == nil {
			m[d] = map[uint64]bool{}
		}
		m[d][id] = true
	}
	for id, th := range matched {
		if skip[id] {
			continue
		}
		dd := c.byDay(th.day)
		dd.DialpadLegs++
		addConv(theirConvs, th.day, uint64(th.rec.ConversationID()))
		l := byID[id]
		if l == nil || !l.Day.Equal(th.day) {
			dd.OnlyDialpad++
			c.diffs = append(c.diffs, warehouse.Difference{Day: th.day, CallID: id, Kind: "only_dialpad",
				Dialpad: describe(th.rec.Direction, th.rec.WasConnected(), th.rec.Talk)})
			continue
		}
		disagree := false
		add := func(kind, ours, dialpad string) {
			disagree = true
			c.diffs = append(c.diffs, warehouse.Difference{Day: th.day, CallID: id, Kind: kind, Ours: ours, Dialpad: dialpad})
		}
		if l.Direction != th.rec.Direction {
			add("direction", l.Direction, th.rec.Direction)
		}
		if l.Connected != th.rec.WasConnected() {
			add("connected", answered(l.Connected), answered(th.rec.WasConnected()))
		}
		if absDuration(l.Talk-th.rec.Talk) > th.rec.TalkTolerance+time.Second {
			add("duration", l.Talk.String(), th.rec.Talk.String())
		}
		if disagree {
			dd.Disagreeing++
		}
	}
	for i := range ours {
		l := &ours[i]
		if skip[l.CallID] || !inRange(l.Day) || (!l.Ended.IsZero() && !l.Ended.Before(requested)) {
			continue
		}
		dd := c.byDay(l.Day)
		dd.OurLegs++
		addConv(ourConvs, l.Day, l.ConversationID)
		if th, ok := matched[l.CallID]; !ok || !th.day.Equal(l.Day) {
			dd.OnlyOurs++
			c.diffs = append(c.diffs, warehouse.Difference{Day: l.Day, CallID: l.CallID, Kind: "only_ours",
				Ours: describe(l.Direction, l.Connected, l.Talk)})
		}
	}
	for i := range c.days {
		c.days[i].OurConvs, c.days[i].DialpadConvs = len(ourConvs[c.days[i].Day]), len(theirConvs[c.days[i].Day])
	}
	slices.SortFunc(c.diffs, func(a, b warehouse.Difference) int {
		if x := a.Day.Compare(b.Day); x != 0 {
			return x
		}
		if a.CallID != b.CallID {
			if a.CallID < b.CallID {
				return -1
			}
			return 1
		}
		return 0
	})
	return c
}

func describe(direction string, connected bool, talk time.Duration) string {
	return fmt.Sprintf("%s, %s, talk %s", direction, answered(connected), talk)
}

func answered(b bool) string {
	if b {
		return "answered"
	}
	return "not answered"
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

// Package load runs a load: it splits a range of call start times into
// windows, fetches each window's legs from a Source (Dialpad) in slices
// that keep every worker busy, shapes them with transform, loads them into
// the warehouse, recomputes the aggregates of each month once its windows
// are written, and records every run and high-water mark.
//
// It imports dialpad and wire (the Source's pages), transform, lease (the
// owner of its leases) and warehouse (the rows it hands over); the
// warehouse, the derived tables and the leases it uses through the
// interfaces of contracts.go, and the tests through fakes of them.
package load

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// Source is where calls come from: the Dialpad client, or a wrapper of
// it. It must be safe for concurrent use. ListCalls calls fn for each page
// of target's legs that started in w, in Dialpad's order (newest first),
// and stops at fn's first error, which it returns wrapped (%w); another
// error means the window was not read completely and its high-water mark
// must not move.
type Source interface {
	ListCalls(ctx context.Context, target dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error
	Operators(ctx context.Context, target dialpad.Target) ([]dialpad.Operator, error)
}

// Kinds of run, as recorded in etl_runs.
const (
	KindIncremental = "incremental"
	KindBackfill    = "backfill"
	KindNightly     = "nightly"
)

// Job loads calls from Source into Store. Its fields are read-only once a
// run starts; one Job may run several loads at once.
type Job struct {
	Source   Source
	Store    Store
	Derived  Deriver // required: the aggregates of the days loaded
	Leases   Leases  // required: one load of a target at a time
	Targets  []dialpad.Target
	Location *time.Location // reporting zone; windows split at its midnights
	// Lookback is how far before the high-water mark an incremental load
	// starts, since Dialpad lists a call only once it has ended. A window
	// is final (a backfill need not fetch it again) once it ended this long
	// before it was fetched.
	Lookback time.Duration
	// Start is where the first incremental load of a target begins.
	Start time.Time
	// Concurrency is how many slices of windows are fetched at once
	// (default 8): however few windows a load has, it keeps this many
	// requests in flight until its last pages (see slicer).
	Concurrency int
	// WindowTimeout bounds the load of one slice of a window (default 10m).
	WindowTimeout time.Duration
	// BatchSize is how many legs are written at a time (default 5,000):
	// the slices of a load share the inserts, and hold at most two
	// batches in memory, so the memory a load needs grows with it and not
	// with the number of slices or the size of the load.
	BatchSize int
	// LeaseTTL is how long a target's lease lasts unrenewed (default 2m):
	// a process that finds another's live lease on a target skips it. The
	// lease is renewed every LeaseTTL/3 while loading.
	LeaseTTL time.Duration
	// Owner names this process in leases (default lease.NewOwner(lease.Long)).
	Owner lease.Owner
	Now   func() time.Time
	Log   *slog.Logger
	// Progress, if set, is called after every window (from several
	// goroutines, never at once).
	Progress func(Progress)
	// Exports is Dialpad's records export, for BackfillExport.
	Exports Exports
	// ExportProgress, if set, is called as BackfillExport advances, per
	// target (from several goroutines, at once).
	ExportProgress func(ExportProgress)

	// briefWait bounds the wait for a lease held briefly, asked for again
	// every briefPoll (defaults 30s and 1s; the tests shorten them).
	briefWait, briefPoll time.Duration
}

// Progress tells how far a load has come.
type Progress struct {
	WindowsDone, WindowsTotal int
	Legs                      int64
	Elapsed                   time.Duration
}

// Result is the outcome of one load of one target, as recorded in
// etl_runs; Err is nil when it succeeded.
type Result struct {
	Run warehouse.Run
	Err error
}

// Incremental loads every target from its high-water mark less Lookback
// (or from Start, the first time) up to now.
func (j *Job) Incremental(ctx context.Context) []Result {
	now := j.now()
	var plans []plan
	var failed []Result
	for _, t := range j.Targets {
		from := j.Start
		mark, ok, err := j.Store.HighWater(ctx, t)
		if err != nil {
			failed = append(failed, j.failedBeforeStart(ctx, t, KindIncremental, now, err))
			continue
		}
		if ok {
			from = mark.Add(-j.Lookback)
		}
		plans = append(plans, plan{target: t, kind: KindIncremental, window: dialpad.Window{From: from, To: now}})
	}
	return append(failed, j.load(ctx, plans)...)
}

// Reload loads the last span of every target again, to pick up what
// changed on calls already loaded (labels, CSAT, recordings).
func (j *Job) Reload(ctx context.Context, span time.Duration) []Result {
	now := j.now()
	var plans []plan
	for _, t := range j.Targets {
		plans = append(plans, plan{target: t, kind: KindNightly, window: dialpad.Window{From: now.Add(-span), To: now}})
	}
	return j.load(ctx, plans)
}

// Backfill loads [from, to) for targets (all the Job's when nil), one
// window per reporting day. Windows loaded before, after all their calls
// had ended, are skipped unless force is set.
func (j *Job) Backfill(ctx context.Context, from, to time.Time, targets []dialpad.Target, force bool) []Result {
	if targets == nil {
		targets = j.Targets
	}
	if to.After(j.now()) {
		to = j.now()
	}
	var plans []plan
	for _, t := range targets {
		plans = append(plans, plan{target: t, kind: KindBackfill, window: dialpad.Window{From: from, To: to}, skipLoaded: !force})
	}
	return j.load(ctx, plans)
}

// plan is one target's part of a load.
type plan struct {
	target     dialpad.Target
	kind       string
	window     dialpad.Window
	skipLoaded bool
}

// targetRun gathers what one target's windows did.
type targetRun struct {
	plan
	run      warehouse.Run
	names    transform.Names
	counters dialpad.Counters
	windows  []dialpad.Window
	months   []int // the month (YYYYMM) of each window's day

	mu      sync.Mutex
	done    map[dialpad.Window]bool
	errs    []error
	legs    int64
	changed int64
	reject  int64
	pages   int64
	// Per window being loaded: what its slices did so far.
	loading map[int]*windowRun
	// Per month: the days its windows wrote legs of, and its windows
	// loaded without an error, both waiting for the month's recompute.
	touched map[int][]time.Time
	written map[int][]int
}

func (tr *targetRun) month(i int) int { return tr.months[i] }

// windowRun is what the slices of one window did.
type windowRun struct {
	began                        time.Time
	slices, pages, legs, changed int
	rejected                     int
	err                          error
	done                         bool // every slice ended
}

// Status of a run skipped because another process held its target.
const StatusSkipped = "skipped"

// The wait for a lease held briefly (lease.Brief): at most
// defaultBriefWait, asking again every defaultBriefPoll.
const (
	defaultBriefWait = 30 * time.Second
	defaultBriefPoll = time.Second
)

func (j *Job) load(ctx context.Context, plans []plan) []Result {
	started := j.now()
	var runs []*targetRun
	var results []Result
	// The load runs under its leases: losing one stops it.
	lctx, plans, skipped, release := j.lease(ctx, plans, started)
	defer release()
	results = append(results, skipped...)
	ctx = lctx
	// Checked under the leases: a rebuild may have counted the days in
	// another zone since this process started.
	if err := j.Derived.CheckZone(ctx); err != nil {
		for _, p := range plans {
			results = append(results, j.failedBeforeStart(ctx, p.target, p.kind, started, err))
		}
		return results
	}
	work := newSlicer()
	total := 0
	for _, p := range plans {
		tr, err := j.prepare(ctx, p, started)
		if err != nil {
			results = append(results, j.failedBeforeStart(ctx, p.target, p.kind, started, err))
			continue
		}
		runs = append(runs, tr)
		for i, w := range tr.windows {
			if !tr.done[w] {
				work.add(tr, i)
				total++
			}
		}
	}

	var (
		mu       sync.Mutex
		finished int
		legs     int64
	)
	j.report(Progress{WindowsTotal: total})
	out := newBatcher(ctx, j.Store, j.batchSize())
	stop := context.AfterFunc(ctx, work.wake)
	defer stop()
	var wg sync.WaitGroup
	for range j.concurrency() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopped := func() bool { return ctx.Err() != nil }
			for sl, w := work.next(stopped); sl != nil; sl, w = work.next(stopped) {
				j.loadSlice(ctx, work, sl, w, out)
				if work.finished(sl) {
					j.endWindow(ctx, work, sl.t, sl.window)
					mu.Lock()
					finished++
					legs += int64(sl.t.windowLegs(sl.window))
					j.report(Progress{WindowsDone: finished, WindowsTotal: total, Legs: legs, Elapsed: j.now().Sub(started)})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	out.close()
	for _, tr := range runs {
		tr.notStarted(ctx)
		results = append(results, j.finish(ctx, tr))
	}
	return results
}

// lease takes the targets' leases for the load and returns the context
// to load under (cancelled if a lease is lost), the plans whose target it
// holds, a skipped run for each of the others (recorded), and a function
// that gives the leases back. The leases are renewed until then.
func (j *Job) lease(ctx context.Context, plans []plan, started time.Time) (context.Context, []plan, []Result, func()) {
	owner, ttl := j.owner(), j.leaseTTL()
	var names []string
	for _, p := range plans {
		names = append(names, lease.Target(p.target))
	}
	got, held, err := j.Leases.Acquire(ctx, owner, ttl, names...)
	// Leases held briefly (a recompute after events) are waited for.
	for deadline := time.Now().Add(j.briefWaitFor()); err == nil && time.Now().Before(deadline); {
		var brief []string
		for name, h := range held {
			if h.Owner.Hold() == lease.Brief {
				brief = append(brief, name)
			}
		}
		if len(brief) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
			continue
		case <-time.After(j.briefPollEvery()):
		}
		more, still, aerr := j.Leases.Acquire(ctx, owner, ttl, brief...)
		if aerr != nil {
			err = aerr
			break
		}
		got = append(got, more...)
		for _, name := range brief {
			delete(held, name)
		}
		for name, h := range still {
			held[name] = h
		}
	}
	if err != nil {
		var failed []Result
		for _, p := range plans {
			failed = append(failed, j.failedBeforeStart(ctx, p.target, p.kind, started, err))
		}
		return ctx, nil, failed, func() {}
	}
	var mine []plan
	var skipped []Result
	for _, p := range plans {
		h, ok := held[lease.Target(p.target)]
		if !ok {
			mine = append(mine, p)
			continue
		}
		j.log().Warn("skipping a target that another process is loading", "target", p.target, "holder", h.Owner,
			"until", h.Until)
		skipped = append(skipped, j.skippedRun(ctx, p, started, h))
	}
	lctx, stop := j.Leases.KeepLeases(ctx, owner, ttl, got...)
	return lctx, mine, skipped, func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := j.Leases.Release(rctx, owner, got...); err != nil {
			j.log().Warn("could not release leases; they expire by themselves", "err", err)
		}
	}
}

// prepare splits p's range into windows, finds those already loaded, and
// reads the target's operators for agent names.
func (j *Job) prepare(ctx context.Context, p plan, started time.Time) (*targetRun, error) {
	tr := &targetRun{plan: p, done: map[dialpad.Window]bool{}, loading: map[int]*windowRun{},
		touched: map[int][]time.Time{}, written: map[int][]int{}}
	tr.run = warehouse.Run{ID: newRunID(), Target: p.target, Kind: p.kind, Window: p.window, Started: started, Host: hostname()}
	tr.windows = SplitDays(p.window, j.Location)
	for _, w := range tr.windows {
		tr.months = append(tr.months, yearMonth(w.From.In(j.Location)))
	}
	if p.skipLoaded {
		loaded, err := j.Store.LoadedWindows(ctx, p.target, p.window)
		if err != nil {
			return nil, err
		}
		for _, w := range tr.windows {
			if loaded[w] {
				tr.done[w] = true
			}
		}
	}
	tr.names = j.operators(ctx, p.target)
	return tr, nil
}

// operators records the target's operators and returns their names. A
// failure costs only the names: legs fall back to their own target name.
func (j *Job) operators(ctx context.Context, t dialpad.Target) transform.Names {
	ops, err := j.Source.Operators(ctx, t)
	if err != nil {
		j.log().Warn("operators unavailable; agent names come from the legs", "target", t, "err", err)
		return nil
	}
	names := make(map[int64]string, len(ops))
	agents := make([]warehouse.Agent, 0, len(ops))
	for _, o := range ops {
		names[o.ID] = o.DisplayName
		agents = append(agents, warehouse.Agent{ID: o.ID, Kind: o.Kind, DisplayName: o.DisplayName, FirstName: o.FirstName,
			LastName: o.LastName, Emails: o.Emails, PhoneNumbers: o.PhoneNumbers, Role: o.Role, State: o.State})
	}
	if err := j.Store.WriteAgents(ctx, t, agents); err != nil {
		j.log().Warn("could not record operators", "target", t, "err", err)
	}
	return func(id int64) (string, bool) { n, ok := names[id]; return n, ok }
}

func (j *Job) report(p Progress) {
	if j.Progress != nil {
		j.Progress(p)
	}
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func (j *Job) log() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (j *Job) concurrency() int {
	if j.Concurrency > 0 {
		return j.Concurrency
	}
	return 8
}

func (j *Job) windowTimeout() time.Duration {
	if j.WindowTimeout > 0 {
		return j.WindowTimeout
	}
	return 10 * time.Minute
}

func (j *Job) leaseTTL() time.Duration {
	if j.LeaseTTL > 0 {
		return j.LeaseTTL
	}
	return 2 * time.Minute
}

func (j *Job) briefWaitFor() time.Duration {
	if j.briefWait > 0 {
		return j.briefWait
	}
	return defaultBriefWait
}

func (j *Job) briefPollEvery() time.Duration {
	if j.briefPoll > 0 {
		return j.briefPoll
	}
	return defaultBriefPoll
}

func (j *Job) owner() lease.Owner {
	if j.Owner != "" {
		return j.Owner
	}
	return ownerOnce()
}

// ownerOnce is this process's name in leases.
var ownerOnce = sync.OnceValue(func() lease.Owner { return lease.NewOwner(lease.Long) })

func (j *Job) batchSize() int {
	if j.BatchSize > 0 {
		return j.BatchSize
	}
	return 5000
}

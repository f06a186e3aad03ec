// Package schedule keeps the loads running on time and says how they go:
// it runs the hourly incremental load and the nightly re-load of the last
// days on cron schedules, one load at a time, with the tasks beside them,
// and serves /healthz, Prometheus /metrics and the webhook it is given.
//
// It imports load (the results of the loads it runs), robfig/cron and
// client_golang, and no other package of this module: cmd/dialpad-etl
// hands it the loads, the warehouse's health check, the webhook and the
// tasks as values.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// Loads are what the scheduler runs; *load.Job provides them.
type Loads interface {
	Incremental(ctx context.Context) []load.Result
	Reload(ctx context.Context, span time.Duration) []load.Result
}

// Scheduler runs Loads on two cron schedules. Hourly and Nightly are
// standard five-field cron specs read in Location.
type Scheduler struct {
	Loads           Loads
	Hourly, Nightly string
	NightlyLookback time.Duration
	Location        *time.Location
	Metrics         *Metrics
	// Health reports whether the warehouse answers; nil means always.
	Health func(context.Context) error
	// MaxAge is how long a target may go without a successful load (since
	// the start, if it never had one) before /healthz says unhealthy; 0
	// means forever.
	MaxAge time.Duration
	// Now is the scheduler's clock, read for the tasks' due times and
	// catch-ups, the time given to AfterNightly and the age /healthz
	// checks; nil means time.Now. (cron's timer fires by the real clock.)
	Now func() time.Time
	Log *slog.Logger
	// Webhook, if set, is served at /webhooks/dialpad: Dialpad's
	// real-time events (see package events).
	Webhook http.Handler
	// AfterNightly, if set, runs after each nightly re-load, before any
	// other load starts (the reconciliation with Dialpad's exports), with
	// the time it starts.
	AfterNightly func(ctx context.Context, now time.Time)
	// Tasks run on cron schedules of their own (the e-mailed reports).
	Tasks []Task

	loading oneAtATime // the loads, one at a time
}

// Task is work on a cron schedule of its own, beside the loads: each run
// is in a goroutine of its own, whatever load is under way, and ends
// before Run returns.
type Task struct {
	Name string
	Spec string // standard cron, read in the scheduler's Location
	// CatchUp: at start, once the first load is done, the last time the
	// schedule fired within this long before now is run, so that a
	// process down at that moment does the work later (Run decides
	// whether it is done already).
	CatchUp time.Duration
	Run     func(ctx context.Context, due time.Time)
}

// lastFire is the last time sched fired in (now-window, now], or zero.
func lastFire(sched cron.Schedule, now time.Time, window time.Duration) time.Time {
	var last time.Time
	for t := now.Add(-window); ; {
		next := sched.Next(t)
		if next.IsZero() || next.After(now) {
			return last
		}
		last, t = next, next
	}
}

// due is a load to run.
type due struct {
	name string
	load func(context.Context) []load.Result
	wait bool // if another load is under way, run after it instead of skipping
	// after, if set, runs once the load's results are counted, before
	// any other load starts.
	after func(ctx context.Context, now time.Time)
}

// Run serves HTTP on addr and runs the schedules until ctx ends. A load
// under way when ctx ends is abandoned window by window: windows already
// written keep their marks, the rest are loaded by the next run. Run
// returns once that load has recorded itself.
func (s *Scheduler) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (ETL_HTTP_ADDR): %w", addr, err)
	}
	// A client that sends its body slowly is cut off (the webhook is
	// reachable from the internet).
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	c := cron.New(cron.WithLocation(s.Location), cron.WithLogger(cronLogger{s.Log}))
	hourly := s.job(ctx, due{name: "incremental", load: s.Loads.Incremental})
	if _, err := c.AddJob(s.Hourly, hourly); err != nil {
		return fmt.Errorf("ETL_HOURLY_SCHEDULE %q: %w", s.Hourly, err)
	}
	// The nightly re-load is the one that picks up late changes: one that
	// comes due during another load runs after it. An hourly one is
	// skipped: the next hour reads the same.
	nightly := s.job(ctx, due{name: "nightly", load: func(ctx context.Context) []load.Result { return s.Loads.Reload(ctx, s.NightlyLookback) },
		wait: true, after: s.AfterNightly})
	if _, err := c.AddJob(s.Nightly, nightly); err != nil {
		return fmt.Errorf("ETL_NIGHTLY_SCHEDULE %q: %w", s.Nightly, err)
	}
	var started sync.WaitGroup // the start-up load and the catch-ups, which cron does not run
	defer started.Wait()
	var catchUps []cron.Job
	for _, t := range s.Tasks {
		sched, err := cron.ParseStandard(t.Spec)
		if err != nil {
			return fmt.Errorf("%s schedule %q: %w", t.Name, t.Spec, err)
		}
		recovered := cron.NewChain(cron.Recover(cronLogger{s.Log.With("task", t.Name)}))
		c.Schedule(sched, recovered.Then(cron.FuncJob(func() { t.Run(ctx, s.now().In(s.Location).Truncate(time.Minute)) })))
		if t.CatchUp > 0 {
			if at := lastFire(sched, s.now().In(s.Location), t.CatchUp); !at.IsZero() {
				catchUps = append(catchUps, recovered.Then(cron.FuncJob(func() { t.Run(ctx, at) })))
			}
		}
		s.Log.Info("task scheduled", "task", t.Name, "schedule", t.Spec)
	}
	s.Log.Info("scheduler started", "http", ln.Addr().String(), "hourly", s.Hourly, "nightly", s.Nightly, "zone", s.Location.String())
	c.Start()
	// A first incremental load at once, so a fresh start shows data; the
	// tasks' catch-ups after it, on data as fresh as it makes it.
	started.Go(func() {
		hourly.Run()
		for _, j := range catchUps {
			if ctx.Err() == nil {
				started.Go(j.Run)
			}
		}
	})
	<-ctx.Done()
	s.Log.Info("stopping: abandoning the load under way, if any")
	<-c.Stop().Done() // the scheduled loads and tasks; the others by the deferred Wait
	return nil
}

// job is d as a cron job: one load at a time (an hourly one due while
// another runs is skipped, a nightly one queued), a panic recovered and
// logged, and nothing done once ctx has ended.
func (s *Scheduler) job(ctx context.Context, d due) cron.Job {
	log := s.Log.With("load", d.name)
	turn := s.loading.skip
	if d.wait {
		turn = s.loading.queue
	}
	return cron.NewChain(turn(log), cron.Recover(cronLogger{log})).Then(cron.FuncJob(func() { s.run(ctx, d) }))
}

// run runs one load, counts and logs its results, then d.after, unless
// ctx has ended.
func (s *Scheduler) run(ctx context.Context, d due) {
	if ctx.Err() != nil {
		return
	}
	s.Metrics.Running(true)
	defer s.Metrics.Running(false)
	results := d.load(ctx)
	s.Metrics.Observe(results)
	for _, r := range results {
		switch {
		case r.Err != nil:
			s.Log.Error("load failed", "load", d.name, "target", r.Run.Target, "err", r.Run.Error)
		case r.Run.Status == load.StatusSkipped:
			s.Log.Warn("load skipped", "load", d.name, "target", r.Run.Target, "reason", r.Run.Error)
		default:
			s.Log.Info("load done", "load", d.name, "target", r.Run.Target, "legs", r.Run.Legs, "rejected", r.Run.Rejected)
		}
	}
	if d.after != nil && ctx.Err() == nil {
		d.after(ctx, s.now())
	}
}

// Handler serves /metrics and /healthz: 200 "ok", or 503 when the
// warehouse does not answer or a target has had no successful load for
// longer than MaxAge; and /webhooks/dialpad when Webhook is set.
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics)
	if s.Webhook != nil {
		mux.Handle("/webhooks/dialpad", s.Webhook)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.Health != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := s.Health(ctx); err != nil {
				http.Error(w, "warehouse unreachable", http.StatusServiceUnavailable)
				return
			}
		}
		if s.MaxAge > 0 {
			if stale := s.Metrics.Stale(s.now(), s.MaxAge); len(stale) > 0 {
				http.Error(w, strings.Join(stale, "\n")+"\n(ETL_HEALTH_MAX_AGE is "+s.MaxAge.String()+")",
					http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// now reads the scheduler's clock: Now, else time.Now.
func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

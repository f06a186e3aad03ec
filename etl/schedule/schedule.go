// Package schedule keeps the job running: an hourly incremental load and a
// nightly re-load of the last days on cron schedules, one load at a time,
// with /healthz and Prometheus /metrics served beside them.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialpad-etl/dialpad-etl/etl"
)

// Loads are what the scheduler runs; *etl.Job provides them.
type Loads interface {
	Incremental(ctx context.Context) []etl.Result
	Reload(ctx context.Context, span time.Duration) []etl.Result
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
	Log    *slog.Logger

	busy sync.Mutex
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
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	c := cron.New(
		cron.WithLocation(s.Location),
		cron.WithChain(cron.Recover(cronLogger{s.Log})),
	)
	if _, err := c.AddFunc(s.Hourly, func() { s.once(ctx, "incremental", s.Loads.Incremental) }); err != nil {
		return fmt.Errorf("ETL_HOURLY_SCHEDULE %q: %w", s.Hourly, err)
	}
	reload := func(ctx context.Context) []etl.Result { return s.Loads.Reload(ctx, s.NightlyLookback) }
	if _, err := c.AddFunc(s.Nightly, func() { s.once(ctx, "nightly", reload) }); err != nil {
		return fmt.Errorf("ETL_NIGHTLY_SCHEDULE %q: %w", s.Nightly, err)
	}
	s.Log.Info("scheduler started", "http", ln.Addr().String(), "hourly", s.Hourly, "nightly", s.Nightly, "zone", s.Location.String())
	c.Start()
	// A first incremental load at once, so a fresh start shows data.
	go s.once(ctx, "incremental", s.Loads.Incremental)
	<-ctx.Done()
	s.Log.Info("stopping: abandoning the load under way, if any")
	<-c.Stop().Done()
	s.busy.Lock() // wait for the start-up load too
	s.busy.Unlock()
	return nil
}

// once runs load unless another load is still under way, and recovers
// from a panic in it.
func (s *Scheduler) once(ctx context.Context, name string, load func(context.Context) []etl.Result) {
	if !s.busy.TryLock() {
		s.Log.Warn("skipping a scheduled load: the previous one is still running", "load", name)
		return
	}
	defer s.busy.Unlock()
	if ctx.Err() != nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("load panicked", "load", name, "panic", fmt.Sprint(r))
		}
	}()
	s.Metrics.Running(true)
	defer s.Metrics.Running(false)
	results := load(ctx)
	s.Metrics.Observe(results)
	for _, r := range results {
		if r.Err != nil {
			s.Log.Error("load failed", "load", name, "target", r.Run.Target, "err", r.Run.Error)
		} else {
			s.Log.Info("load done", "load", name, "target", r.Run.Target, "legs", r.Run.Legs, "rejected", r.Run.Rejected)
		}
	}
}

// Handler serves /healthz and /metrics.
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.Health != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := s.Health(ctx); err != nil {
				http.Error(w, "warehouse unreachable", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// cronLogger adapts slog to cron's logger for its panic recovery.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug(msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, append(kv, "err", err)...)
}

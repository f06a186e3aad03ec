package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/staffing"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// env is everything a command needs, wired from the configuration.
type env struct {
	cfg    *config.Config
	log    *slog.Logger
	store  *warehouse.Store
	client *dialpad.Client
}

// loadConfig reads .env (when present in the working directory), the
// environment and the flags already parsed into fs.
func loadConfig(ctx context.Context, fs *flag.FlagSet, opts ...config.LoadOption) (*config.Config, error) {
	dotenv, err := readDotenv()
	if err != nil {
		return nil, err
	}
	return config.Load(ctx, fs, os.LookupEnv, dotenv, time.Now(), opts...)
}

// loadGoals reads only the staffing goals, from the same places as
// loadConfig: a what-if needs no other setting.
func loadGoals(ctx context.Context, fs *flag.FlagSet) (*config.Goals, error) {
	dotenv, err := readDotenv()
	if err != nil {
		return nil, err
	}
	return config.LoadGoals(ctx, fs, os.LookupEnv, dotenv)
}

// readDotenv reads .env in the working directory; nil when there is none.
func readDotenv() (map[string]string, error) {
	text, err := os.ReadFile(".env")
	switch {
	case err == nil:
		return config.ParseDotenv(string(text), os.LookupEnv)
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	}
	return nil, fmt.Errorf("read .env: %w", err)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		opts.ReplaceAttr = millis
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// millis writes a duration as milliseconds, "duration_ms": 1234.5, where
// slog's JSON handler would write nanoseconds.
func millis(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key+"_ms", float64(a.Value.Duration().Microseconds())/1000)
	}
	return a
}

// connect reads the configuration and connects to ClickHouse, without
// touching the schema. The caller closes env.store.
func connect(ctx context.Context, fs *flag.FlagSet, stderr io.Writer, opts ...config.LoadOption) (*env, error) {
	cfg, err := loadConfig(ctx, fs, opts...)
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, log: newLogger(cfg, stderr)}
	if e.store, err = openStore(ctx, cfg, e.log); err != nil {
		return nil, err
	}
	return e, nil
}

// setup reads the configuration, connects to ClickHouse, applies the
// schema, checks that the warehouse's days are of ETL_TIMEZONE and makes
// the Dialpad client. The caller closes env.store.
func setup(ctx context.Context, fs *flag.FlagSet, stderr io.Writer, opts ...dialpad.Option) (*env, error) {
	e, err := connect(ctx, fs, stderr)
	if err != nil {
		return nil, err
	}
	if _, err := e.store.Migrate(ctx); err != nil {
		e.store.Close()
		return nil, err
	}
	// Days counted in two zones would mix: a changed ETL_TIMEZONE waits
	// for 'dialpad-etl rebuild'.
	if err := e.store.Derived().CheckZone(ctx); err != nil {
		e.store.Close()
		return nil, err
	}
	if err := e.store.Derived().RecordKPISettings(ctx, e.cfg.ServiceLevelGoal); err != nil {
		e.store.Close()
		return nil, err
	}
	if err := e.store.Derived().RecordAlertSettings(ctx, derive.AlertSettings{MinOffered: e.cfg.AlertMinOffered,
		AbandonmentMax: e.cfg.AlertAbandonmentMax, LongestWait: e.cfg.AlertLongestWait, MaxAge: e.cfg.HealthMaxAge}); err != nil {
		e.store.Close()
		return nil, err
	}
	cfg := e.cfg
	e.client, err = dialpad.New(cfg.BaseURL, cfg.Token, append([]dialpad.Option{
		dialpad.WithLimiter(rate.NewLimiter(rate.Limit(cfg.RateLimit), 1)),
		dialpad.WithTimeout(cfg.Timeout),
		dialpad.WithMaxAttempts(cfg.MaxAttempts),
		dialpad.WithBackoff(cfg.BackoffMin, cfg.BackoffMax),
		dialpad.WithMaxPages(cfg.MaxPages),
		dialpad.WithOperatorsTTL(cfg.OperatorsTTL),
		dialpad.WithExportBudget(cfg.ExportsPerHour),
		dialpad.WithExportPolling(dialpad.DefaultExportPoll, cfg.ExportTimeout),
		dialpad.WithLogger(e.log),
	}, opts...)...)
	if err != nil {
		e.store.Close()
		return nil, err // it names the variable
	}
	if err := checkToken(ctx, e.client, cfg.Targets); err != nil {
		e.store.Close()
		return nil, err
	}
	return e, nil
}

// checkToken asks Dialpad for the first target's operators (which the
// load reads anyway, from the client's cache) so that a token Dialpad
// refuses stops the command at start with one line, rather than failing
// every window of every target. Any other failure is left to the load,
// which retries, records and reports it per target.
func checkToken(ctx context.Context, client *dialpad.Client, targets []dialpad.Target) error {
	if len(targets) == 0 {
		return nil
	}
	if _, err := client.Operators(ctx, targets[0]); errors.Is(err, dialpad.ErrUnauthorized) {
		return err
	}
	return nil
}

func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*warehouse.Store, error) {
	return warehouse.Open(ctx, warehouse.Options{
		Addr:     cfg.ClickHouseAddr,
		Database: cfg.ClickHouseDatabase,
		Username: cfg.ClickHouseUsername,
		Password: cfg.ClickHousePassword,
		Cluster:  cfg.ClickHouseCluster,
		Location: cfg.Location,
		// The mark moves only once this many replicas have the legs.
		InsertQuorum: cfg.ClickHouseInsertQuorum,
		Logger:       log,
	}, warehouse.WithKPI(derive.Thresholds{ShortAbandon: cfg.ShortAbandon, ServiceLevel: cfg.ServiceLevel}),
		warehouse.WithStaffing(staffingOf(cfg)))
}

// staffingOf are the staffing settings of cfg.
func staffingOf(cfg *config.Config) derive.Staffing {
	return derive.Staffing{Model: staffing.Model{Interval: staffing.Length, Threshold: cfg.ServiceLevel,
		Goal: cfg.ServiceLevelGoal / 100, MaxOccupancy: cfg.StaffingMaxOccupancy / 100, Shrinkage: cfg.StaffingShrinkage / 100},
		Weeks: cfg.StaffingWeeks, Exclude: cfg.StaffingExclude}
}

func (e *env) job() *load.Job {
	return &load.Job{
		Source:        e.client,
		Exports:       e.client,
		Store:         e.store,
		Derived:       e.store.Derived(),
		Leases:        e.store.Leases(),
		Targets:       e.cfg.Targets,
		Location:      e.cfg.Location,
		Lookback:      e.cfg.Lookback,
		Start:         e.cfg.Start,
		Concurrency:   e.cfg.Concurrency,
		WindowTimeout: e.cfg.WindowTimeout,
		Log:           e.log,
	}
}

// reconciler compares the warehouse with Dialpad's exports and re-loads
// the days where Dialpad has legs the warehouse lacks.
func (e *env) reconciler(m *reconcile.Metrics) *reconcile.Reconciler {
	r := &reconcile.Reconciler{
		Exports:       e.client,
		Store:         reconcile.NewStorage(e.store.DB()),
		Targets:       e.cfg.Targets,
		Location:      e.cfg.Location,
		MaxReloadDays: e.cfg.ReconcileReloadDays,
		GaugeDays:     e.cfg.ReconcileDays,
		Metrics:       m,
		Log:           e.log,
	}
	if e.cfg.ReconcileReloadDays > 0 {
		r.Loads = e.job()
	}
	return r
}

// dispositionLoad loads the call centers' and departments' dispositions
// exports into call_feedback and has their days derived again.
func (e *env) dispositionLoad(m *events.DispositionMetrics) *events.DispositionLoad {
	return &events.DispositionLoad{
		Exports:  e.client,
		Store:    events.NewStorage(e.store.DB()),
		Derived:  e.store.Derived(),
		Leases:   e.store.Leases(),
		Targets:  e.cfg.Targets,
		Location: e.cfg.Location,
		Metrics:  m,
		Log:      e.log,
	}
}

// configFlags is a flag set with a flag for every setting.
func configFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := newFlags(name, synopsis, stderr)
	config.RegisterFlags(fs)
	return fs
}

// summarize prints one line per failed target and returns an error when
// any failed.
func summarize(results []load.Result, stderr io.Writer) error {
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %s\n", r.Run.Target, r.Run.Error)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d targets failed", failed, len(results))
	}
	return nil
}

// planStaffing makes the configured targets' staffing as of now: what the
// days from from (the last week when zero) needed, their forecast and
// that of the next two weeks (derive.PlanStaffing). A failure is logged,
// not returned: the loaded legs stand, and the next nightly run makes it
// again.
func (e *env) planStaffing(ctx context.Context, from, now time.Time) {
	if err := e.store.Derived().PlanStaffing(ctx, e.cfg.Targets, from, now); err != nil {
		e.log.Error("staffing not made", "err", err)
		return
	}
	e.log.Info("staffing made", "targets", len(e.cfg.Targets))
}

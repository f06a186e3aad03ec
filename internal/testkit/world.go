package testkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// Options say what World to make. Only Sim's Start and End are required.
type Options struct {
	// Sim is the simulated company and its traffic. The world sets its
	// clock (Now) and, where unset, its zone (Location: the world's), its
	// API key, and no rate limit (RateLimit -1).
	Sim simulator.Config
	// Zone is the reporting zone of the warehouse and the job
	// (ETL_TIMEZONE), an IANA name; UTC when "".
	Zone string
	// Now is where the clocks of the simulator, the client and the job
	// stand; Sim.End when zero.
	Now time.Time
	// TargetType, when set, limits the job to the targets of that type
	// ("department", "callcenter", ...); all the company's when "".
	TargetType string
	// Only1816 puts the warehouse on ClickHouse 18.16 alone, opened as the
	// job opens it (warehouse.Open), instead of on a twin database, whose
	// every statement runs on 18.16 and on the current engine.
	Only1816 bool
	// KPI are the warehouse's thresholds (nil: derive's defaults).
	KPI *derive.Thresholds
	// Staffing are the warehouse's staffing settings (nil: derive's
	// defaults).
	Staffing *derive.Staffing
	// ServiceLevelGoal, when above 0, is recorded with the thresholds as
	// the KPI settings (RecordKPISettings), before the load.
	ServiceLevelGoal float64
	// Direct writes the simulator's legs (World.Legs) straight into the
	// warehouse and recomputes their days, instead of the job's backfill
	// over HTTP: no run, window or high-water mark is recorded.
	Direct bool
	// Serve, when set, wraps the simulator's handler (to watch requests).
	Serve func(http.Handler) http.Handler
	// Client are more options of the API client, after the world's clock
	// and a backoff of 1 to 10 ms.
	Client []dialpad.Option
}

// World is a simulated Dialpad company served over HTTP, a client of it,
// and a migrated warehouse loaded with its traffic: by default as
// 'dialpad-etl backfill' loads it, the job's backfill of [Start, End)
// (from the job's Start: it moves the high-water marks).
// The test fails when any of it cannot be made, and is skipped under
// go test -short.
type World struct {
	Sim      *simulator.Sim
	URL      string // the simulator's
	Client   *dialpad.Client
	Twin     *chtest.Twin // the warehouse's database; nil with Only1816
	Store    *warehouse.Store
	Job      *load.Job        // the job that loaded the traffic, on Client and Store
	Targets  []dialpad.Target // the job's
	Location *time.Location   // the reporting zone
	// Start and End bound the simulated traffic: the calls that started
	// in [Start, End).
	Start, End time.Time
	Now        time.Time // where every clock of the world stands
	// Legs are the simulator's legs of each of Targets that started in
	// [Start, End), as the transform shapes them in Location.
	Legs map[dialpad.Target][]transform.Leg

	token string
}

// NewWorld makes the World of opt.
func NewWorld(t testing.TB, opt Options) *World {
	t.Helper()
	ctx := context.Background()
	cfg := opt.Sim
	if cfg.Start.IsZero() || cfg.End.IsZero() {
		t.Fatal("testkit: the simulator of a world needs a Start and an End")
	}
	loc := time.UTC
	if opt.Zone != "" {
		var err error
		if loc, err = time.LoadLocation(opt.Zone); err != nil {
			t.Fatal(err)
		}
	}
	w := &World{Location: loc, Start: cfg.Start, End: cfg.End, Now: opt.Now}
	if w.Now.IsZero() {
		w.Now = cfg.End
	}
	// The warehouse first: under -short it skips the test before the
	// simulator generates anything.
	w.Store = w.openStore(t, opt)
	if _, err := w.Store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if opt.ServiceLevelGoal > 0 {
		if err := w.Store.Derived().RecordKPISettings(ctx, opt.ServiceLevelGoal); err != nil {
			t.Fatal(err)
		}
	}

	cfg.Now = w.clock
	if cfg.Location == nil {
		cfg.Location = loc
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	if cfg.Token == "" {
		cfg.Token = "tok-world"
	}
	w.token = cfg.Token
	var err error
	if w.Sim, err = simulator.New(cfg); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = w.Sim
	if opt.Serve != nil {
		h = opt.Serve(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	w.Client = w.newClient(t, opt.Client...)
	w.Targets = w.Sim.Targets()
	if opt.TargetType != "" {
		w.Targets = slices.DeleteFunc(w.Targets, func(tg dialpad.Target) bool { return tg.Type != opt.TargetType })
	}
	w.Legs = w.shapedLegs(t)
	w.Job = w.job(w.Store, w.Client)

	if opt.Direct {
		w.writeLegs(t)
		return w
	}
	for _, r := range w.Job.Backfill(ctx, w.Start, w.End, nil, true) {
		if r.Err != nil {
			t.Fatalf("testkit: loading the traffic of %s: %v", r.Run.Target, r.Err)
		}
	}
	return w
}

func (w *World) clock() time.Time { return w.Now }

func (w *World) openStore(t testing.TB, opt Options) *warehouse.Store {
	t.Helper()
	wopt := warehouse.Options{Location: w.Location}
	kpi := []warehouse.Option{warehouse.WithClock(w.clock)}
	if opt.KPI != nil {
		kpi = append(kpi, warehouse.WithKPI(*opt.KPI))
	}
	if opt.Staffing != nil {
		kpi = append(kpi, warehouse.WithStaffing(*opt.Staffing))
	}
	if !opt.Only1816 {
		w.Twin = chtest.NewTwin(t)
		return w.Twin.Store(wopt, kpi...)
	}
	wopt.Addr, wopt.Database = chtest.Database(t)
	s, err := warehouse.Open(context.Background(), wopt, kpi...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (w *World) newClient(t testing.TB, more ...dialpad.Option) *dialpad.Client {
	t.Helper()
	opts := append([]dialpad.Option{dialpad.WithClock(w.clock), dialpad.WithBackoff(time.Millisecond, 10*time.Millisecond)}, more...)
	c, err := dialpad.New(w.URL, w.token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *World) job(store *warehouse.Store, src load.Source) *load.Job {
	return &load.Job{Source: src, Store: store, Derived: store.Derived(), Leases: store.Leases(), Targets: w.Targets,
		Location: w.Location, Lookback: time.Hour, Start: w.Start, Now: w.clock}
}

// JobOn is a job like Job that loads the world's traffic into store,
// through a client of its own.
func (w *World) JobOn(t testing.TB, store *warehouse.Store) *load.Job {
	t.Helper()
	return w.job(store, w.newClient(t))
}

func (w *World) shapedLegs(t testing.TB) map[dialpad.Target][]transform.Leg {
	t.Helper()
	out := map[dialpad.Target][]transform.Leg{}
	for _, tg := range w.Targets {
		for _, raw := range w.Sim.Legs(tg, w.Start, w.End) {
			call, err := wire.DecodeCall(raw)
			if err != nil {
				t.Fatalf("testkit: a leg of %s does not decode: %v\n%s", tg, err, raw)
			}
			out[tg] = append(out[tg], transform.NewLeg(tg, &call, w.Location, nil))
		}
	}
	return out
}

// writeLegs writes Legs into the store and recomputes their days, target
// by target.
func (w *World) writeLegs(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, tg := range w.Targets {
		legs := w.Legs[tg]
		if len(legs) == 0 {
			t.Fatalf("testkit: the simulator has no legs for %s", tg)
		}
		if _, err := w.Store.WriteLegs(ctx, legs); err != nil {
			t.Fatal(err)
		}
		var days []time.Time
		for _, l := range legs {
			if !slices.ContainsFunc(days, l.Day.Equal) {
				days = append(days, l.Day)
			}
		}
		slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
		if err := w.Store.Derived().Recompute(ctx, tg, days); err != nil {
			t.Fatal(err)
		}
	}
}

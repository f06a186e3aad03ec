// Package simulator serves a simulated Dialpad API (v2) over HTTP: a
// company with departments, a call center, operators and weeks of
// realistic call traffic, with the wire quirks of the real service
// (64-bit integers as strings, omitted unset fields, several legs per
// customer call, newest first paging with a cursor) and switchable faults
// (rate limiting, errors, latency, malformed items, dropped and truncated
// responses).
//
// Sim is the server: Config and its defaults, the order every request
// goes through (rate limit, faults, authentication), the call list and
// its cursors, the directory, the endpoints of webhooks, event
// subscriptions, operators' duty status and the stats export, and its own
// endpoints under /_sim/
// (health, the ground truth, the export files). What it serves is held by
// the packages below it: the company and its traffic (simulator/traffic),
// the webhooks with the events of the traffic and their delivery
// (simulator/webhook: Events, Deliver), and the stats exports
// (simulator/exports).
//
// Everything is deterministic from Config.Seed: each UTC day's traffic
// comes from its own random source, so a day is the same whatever range
// is simulated. Tests and the demo compare what a client loaded with the
// ground truth from Legs.
//
// It imports etl/dialpad, etl/dialpad/wire and those three packages.
package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // the business hours' time zone, even without a system zoneinfo

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/exports"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
)

// Config configures a simulator. The zero value is usable: see the
// defaults on each field.
type Config struct {
	Seed         int64            // everything is deterministic from it (default 1; 0 means 1)
	Start, End   time.Time        // calls start within [Start, End) (default End: Now rounded up to the next UTC midnight; Start: End-14 days)
	CallsPerDay  int              // mean customer calls per group per weekday (default 120; weekends much fewer)
	Now          func() time.Time // the simulator's clock (nil = time.Now); only calls that have ended by Now are listed
	Token        string           // the accepted API key (default "sim-token"), as Bearer or ?apikey=
	LimitedToken string           // a valid key that lacks calls:list: 403 on /api/v2/call (default "sim-limited")
	RateLimit    float64          // token bucket, requests/s across all requests (default 20; <0 = unlimited)
	Burst        int              // bucket size (default ceil(RateLimit))
	RetryAfter   bool             // send Retry-After on 429
	PageSize     int              // items per page of /api/v2/call (default 25)
	ExportDelay  time.Duration    // how long a new stats export stays processing (default 10s; <0 = complete at once)
	StatsPerHour int              // POST /api/v2/stats allowed per rolling hour, wall clock (default 200; <0 = unlimited)
	// ExportPollCSV answers the poll of a complete stats export
	// (GET /api/v2/stats/{id}) with the CSV itself, Content-Type
	// text/csv, instead of JSON with a download_url, as a client in the
	// wild handles Dialpad doing. Off by default: the JSON and the link.
	ExportPollCSV bool
	// WebsocketLifetime is how long a websocket URL's token and a
	// connection to it last, wall clock (default an hour, as Dialpad's).
	WebsocketLifetime time.Duration
	// DispositionColumns are the columns of the dispositions export's
	// CSV, in order, each one of DispositionColumnNames (default
	// DefaultDispositionColumns). Dialpad does not publish them
	// [assume].
	DispositionColumns []string
	Faults             Faults

	// Location is the company's time zone: business hours, weekends and
	// the users' timezone follow it (default America/New_York).
	Location *time.Location

	// AlwaysOpen keeps the company open around the clock, for a demo that
	// is live at any hour: every day of the week gets a weekday's calls
	// (CallsPerDay per group), as many in each hour, and the call
	// center's agents work rotating shifts that leave none of them
	// without an agent on duty (see traffic.Config.AlwaysOpen). Off by
	// default: the traffic follows business hours and weekdays.
	AlwaysOpen bool
}

// The columns of the dispositions export's CSV (Config.DispositionColumns):
// those it has unless configured otherwise, and every one it knows.
var (
	DefaultDispositionColumns = exports.DefaultDispositionColumns
	DispositionColumnNames    = exports.DispositionColumnNames
)

// Faults are failures the simulator injects, each off by default. Which
// request fails is drawn from a random source seeded by Config.Seed.
type Faults struct {
	Latency, Jitter time.Duration // added to every response (jitter uniform in [0, Jitter))
	ErrorRate       float64       // share of requests answered 500/502/503 (rotating) with {"error":{...}}
	SlowRate        float64       // share of requests that sleep SlowDelay before answering
	SlowDelay       time.Duration
	MalformedRate   float64 // share of call pages that carry one extra malformed item (not a real leg)
	RepeatCursor    bool    // the second page's cursor repeats the first's
	DropRate        float64 // share of requests whose connection is closed with no response
	TruncateRate    float64 // share of call pages whose body is cut off mid-JSON

	// Stats exports, drawn per export when it is requested.
	ExportFailRate  float64       // share of exports that end "failed" instead of "complete", after their delay
	ExportSlowRate  float64       // share of exports that stay processing ExportSlowDelay longer
	ExportSlowDelay time.Duration // (rate 1 with a delay of hours: exports that never finish)
}

// Stats counts what the simulator served.
type Stats struct {
	Requests     int64 // requests to /api/v2/ (the /_sim/ endpoints are not counted)
	RateLimited  int64 // answered 429
	ServerErrors int64 // answered 5xx (ErrorRate)
	Drops        int64 // connections closed without a response (DropRate)
	Truncated    int64 // call pages cut off mid-body (TruncateRate)
	Malformed    int64 // malformed items served (MalformedRate)
	Pages        int64 // call pages answered 200 (truncated ones included)
	Legs         int64 // legs on those pages

	Exports                int64 // POST /api/v2/stats that started an export or reused one
	ExportDownloads        int64 // export CSVs served (200) by the signed link
	ExportDownloadsRefused int64 // downloads refused for carrying credentials (an Authorization header or ?apikey=)
	ExportPollCSVs         int64 // polls answered with the export's CSV itself (ExportPollCSV)
}

// Sim is a simulated Dialpad API; it is an http.Handler, safe for
// concurrent use.
type Sim struct {
	cfg Config
	now func() time.Time
	tr  *traffic.Traffic

	hub     *webhook.Hub
	exports *exports.Store
	wall    func() time.Time // the wall clock (exports, StatsPerHour)

	faults  atomic.Pointer[Faults]
	limiter *bucket
	reqSeq  atomic.Uint64
	errSeq  atomic.Uint64
	stats   struct {
		requests, rateLimited, serverErrors, drops, truncated, malformed, pages, legs atomic.Int64
		exports, exportDownloads, exportRefused, exportPollCSVs                       atomic.Int64
	}
	bufs sync.Pool
}

// New generates the company and its traffic and returns the simulator.
// A million legs take about a second to generate and under 100 MB to
// hold (about 200 MB at the peak of generation).
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, now: cfg.Now, wall: time.Now}
	s.faults.Store(&cfg.Faults)
	if cfg.RateLimit > 0 {
		s.limiter = newBucket(cfg.RateLimit, cfg.Burst, time.Now)
	}
	s.tr = traffic.New(traffic.Config{Seed: cfg.Seed, Start: cfg.Start, End: cfg.End, CallsPerDay: cfg.CallsPerDay,
		Location: cfg.Location, Now: cfg.Now, AlwaysOpen: cfg.AlwaysOpen})
	s.hub = webhook.New(s.tr, cfg.Now)
	s.hub.SetSocketLifetime(cfg.WebsocketLifetime)
	s.exports = exports.NewStore(s.tr, cfg.Seed, cfg.DispositionColumns)
	s.bufs.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	return s, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.End.IsZero() {
		c.End = c.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if c.Start.IsZero() {
		c.Start = c.End.Add(-14 * 24 * time.Hour)
	}
	if c.CallsPerDay == 0 {
		c.CallsPerDay = 120
	}
	if c.Token == "" {
		c.Token = "sim-token"
	}
	if c.LimitedToken == "" {
		c.LimitedToken = "sim-limited"
	}
	if c.RateLimit == 0 {
		c.RateLimit = 20
	}
	if c.Burst == 0 && c.RateLimit > 0 {
		c.Burst = int(math.Ceil(c.RateLimit))
	}
	if c.PageSize == 0 {
		c.PageSize = 25
	}
	if c.ExportDelay == 0 {
		c.ExportDelay = 10 * time.Second
	}
	if c.StatsPerHour == 0 {
		c.StatsPerHour = 200
	}
	if c.WebsocketLifetime == 0 {
		c.WebsocketLifetime = webhook.DefaultSocketLifetime
	}
	if c.Location == nil {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			return c, fmt.Errorf("simulator: load time zone: %w", err)
		}
		c.Location = loc
	}
	switch {
	case !c.End.After(c.Start):
		return c, fmt.Errorf("simulator: end %s must be after start %s", c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	case c.Start.Year() < 2000 || c.End.Year() > 2200:
		return c, errors.New("simulator: start and end must lie between the years 2000 and 2200")
	case c.End.Sub(c.Start) > 3*366*24*time.Hour:
		return c, errors.New("simulator: the range may span at most 3 years")
	case c.CallsPerDay < 0 || c.CallsPerDay > 1_000_000:
		return c, fmt.Errorf("simulator: calls per day %d out of range [0, 1000000]", c.CallsPerDay)
	case c.Token == c.LimitedToken:
		return c, errors.New("simulator: token and limited token must differ")
	case c.WebsocketLifetime < 0:
		return c, errors.New("simulator: the websocket lifetime must not be negative")
	case c.PageSize < 1 || c.PageSize > 10_000:
		return c, fmt.Errorf("simulator: page size %d out of range [1, 10000]", c.PageSize)
	case c.Burst < 0:
		return c, fmt.Errorf("simulator: burst %d must not be negative", c.Burst)
	}
	if err := exports.CheckDispositionColumns(c.DispositionColumns); err != nil {
		return c, fmt.Errorf("simulator: %w", err)
	}
	return c, c.Faults.validate()
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"error rate": f.ErrorRate, "slow rate": f.SlowRate,
		"malformed rate": f.MalformedRate, "drop rate": f.DropRate, "truncate rate": f.TruncateRate,
		"export fail rate": f.ExportFailRate, "export slow rate": f.ExportSlowRate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("simulator: %s %v out of range [0, 1]", name, v)
		}
	}
	if f.Latency < 0 || f.Jitter < 0 || f.SlowDelay < 0 || f.ExportSlowDelay < 0 {
		return errors.New("simulator: latency, jitter, slow delay and export slow delay must not be negative")
	}
	return nil
}

// SetFaults replaces the injected faults; safe while serving.
func (s *Sim) SetFaults(f Faults) { s.faults.Store(&f) }

// Targets returns the company's groups: its departments, then its call
// center.
func (s *Sim) Targets() []dialpad.Target { return s.tr.Targets() }

// Legs is the ground truth: exactly the items GET /api/v2/call returns for
// t (over all its pages) with from <= date_started < to, ended by the
// simulator's Now, newest first, byte-identical to what is served. It
// returns nil for an unknown target.
func (s *Sim) Legs(t dialpad.Target, from, to time.Time) []json.RawMessage {
	return s.tr.Legs(t, from, to)
}

// NumLegs returns how many legs have ended by the simulator's Now: the
// legs a full read of every group would see (agent legs counted once).
func (s *Sim) NumLegs() int { return s.tr.NumLegs() }

// Events returns the webhook events whose event time lies in [from, to),
// in order (see webhook.Hub.Events).
func (s *Sim) Events(from, to time.Time) []webhook.Event { return s.hub.Events(from, to) }

// Deliver POSTs the traffic's events to a receiver as Dialpad delivers
// webhook events (see webhook.Hub.Deliver). It is safe to run while the
// simulator serves HTTP, and several at once.
func (s *Sim) Deliver(ctx context.Context, d webhook.Delivery) (webhook.DeliveryStats, error) {
	return s.hub.Deliver(ctx, d)
}

// DeliveryStats returns the counts of every Deliver of the simulator so
// far, running ones included.
func (s *Sim) DeliveryStats() webhook.DeliveryStats { return s.hub.DeliveryStats() }

// SocketConnections is the number of open connections to websockets.
func (s *Sim) SocketConnections() int { return s.hub.SocketConnections() }

// Stats returns counts of what has been served so far.
func (s *Sim) Stats() Stats {
	st := &s.stats
	return Stats{Requests: st.requests.Load(), RateLimited: st.rateLimited.Load(),
		ServerErrors: st.serverErrors.Load(), Drops: st.drops.Load(), Truncated: st.truncated.Load(),
		Malformed: st.malformed.Load(), Pages: st.pages.Load(), Legs: st.legs.Load(),
		Exports: st.exports.Load(), ExportDownloads: st.exportDownloads.Load(), ExportDownloadsRefused: st.exportRefused.Load(),
		ExportPollCSVs: st.exportPollCSVs.Load()}
}

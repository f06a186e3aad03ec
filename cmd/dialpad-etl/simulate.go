package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
)

// runSimulate serves a simulated Dialpad API until ctx is done.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", "simulate [flags]\n\nServes a simulated Dialpad API (GET /api/v2/call, operators, users,\ndepartments, call centers; webhooks and event subscriptions; the stats\nexport: POST /api/v2/stats, GET /api/v2/stats/{id}, the records CSV from a\nsigned link under /_sim/exports/) with deterministic traffic, plus the\nground truth at /_sim/legs and a health check at /_sim/healthz. With\n--events-url it also POSTs the traffic's webhook events (call states and\nagent status) there, as Dialpad does.", stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same company and calls")
	days := fs.Int("days", 14, "days of traffic, ending at the end of today (UTC)")
	start := fs.String("start", "", "first instant of traffic: a date (2006-01-02, UTC) or RFC3339; overrides --days")
	end := fs.String("end", "", "end of traffic, exclusive: a date (its midnight, UTC) or RFC3339; overrides --days")
	perDay := fs.Int("calls-per-day", 120, "mean customer calls per group on a weekday (weekends get far fewer)")
	token := fs.String("token", "sim-token", "the API key the simulator accepts (Bearer or ?apikey=)")
	limited := fs.String("limited-token", "sim-limited", "a valid API key without the calls:list scope (403 on /api/v2/call)")
	rate := fs.Float64("rate-limit", 20, "requests per second across all requests before 429s; negative = unlimited")
	burst := fs.Int("burst", 0, "requests allowed at once (token bucket size); 0 = ceil(--rate-limit)")
	retryAfter := fs.Bool("retry-after", false, "send a Retry-After header (whole seconds) with 429s")
	pageSize := fs.Int("page-size", 25, "legs per page of /api/v2/call")
	latency := fs.Duration("latency", 0, "latency added to every response")
	jitter := fs.Duration("jitter", 0, "extra latency, uniform in [0, jitter)")
	errRate := fs.Float64("error-rate", 0, "share of requests answered 500/502/503")
	slowRate := fs.Float64("slow-rate", 0, "share of requests delayed by --slow-delay")
	slowDelay := fs.Duration("slow-delay", 5*time.Second, "delay of a slow request")
	malformed := fs.Float64("malformed-rate", 0, "share of call pages carrying one extra malformed item")
	repeat := fs.Bool("repeat-cursor", false, "the second page of a listing repeats the first page's cursor")
	dropRate := fs.Float64("drop-rate", 0, "share of requests whose connection is closed without a response")
	truncRate := fs.Float64("truncate-rate", 0, "share of call pages cut off mid-body")
	exportDelay := fs.Duration("export-delay", 10*time.Second, "how long a stats export stays processing (0 = complete at once)")
	exportFail := fs.Float64("export-fail-rate", 0, "share of stats exports that end failed")
	exportSlow := fs.Float64("export-slow-rate", 0, "share of stats exports that stay processing --export-slow-delay longer")
	exportSlowDelay := fs.Duration("export-slow-delay", 10*time.Minute, "extra processing time of a slow stats export (hours: an export the client gives up on)")
	exportPollCSV := fs.Bool("export-poll-csv", false, "answer the poll of a complete stats export with the CSV itself (Content-Type text/csv) instead of JSON with a download_url, as Dialpad has been seen to do")
	dispCols := fs.String("disposition-columns", strings.Join(simulator.DefaultDispositionColumns, ","),
		"the columns of the dispositions export's CSV, in order (Dialpad does not publish them); any of "+strings.Join(simulator.DispositionColumnNames, ","))
	wsLife := fs.Duration("websocket-lifetime", time.Hour, "how long a websocket URL's token and a connection to it last (Dialpad: an hour); the connection is then closed")
	live := fs.Bool("live", false, "run on the real clock: calls keep ending as time passes (traffic extends 7 days past today); without it the clock stands at the end of the range and the data never changes")
	tz := fs.String("timezone", "America/New_York", "the company's time zone: business hours and weekends follow it")
	alwaysOpen := fs.Bool("always-open", false, "keep the company open around the clock (for demos): every day gets a weekday's calls, as many in every hour, and the call center's agents work rotating shifts; without it the traffic follows business hours and weekdays")
	var ev eventFlags
	ev.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := ev.validate(*live); err != nil {
		return err
	}

	if *wsLife <= 0 {
		return errors.New("--websocket-lifetime must be positive")
	}
	cfg := simulator.Config{
		WebsocketLifetime:  *wsLife,
		DispositionColumns: strings.Split(*dispCols, ","),
		Seed:               *seed, CallsPerDay: *perDay, Token: *token, LimitedToken: *limited,
		RateLimit: *rate, Burst: *burst, RetryAfter: *retryAfter, PageSize: *pageSize,
		ExportDelay: *exportDelay, ExportPollCSV: *exportPollCSV, AlwaysOpen: *alwaysOpen,
		Faults: simulator.Faults{
			Latency: *latency, Jitter: *jitter, ErrorRate: *errRate, SlowRate: *slowRate,
			SlowDelay: *slowDelay, MalformedRate: *malformed, RepeatCursor: *repeat,
			DropRate: *dropRate, TruncateRate: *truncRate,
			ExportFailRate: *exportFail, ExportSlowRate: *exportSlow, ExportSlowDelay: *exportSlowDelay,
		},
	}
	switch {
	case *exportDelay < 0:
		return errors.New("--export-delay must not be negative")
	case *exportDelay == 0:
		cfg.ExportDelay = -1 // the simulator's zero is its default
	}
	if *perDay == 0 {
		return errors.New("--calls-per-day must be positive")
	}
	if *rate == 0 {
		return errors.New("--rate-limit must not be 0 (negative = unlimited)")
	}
	var err error
	if cfg.Location, err = time.LoadLocation(*tz); err != nil {
		return fmt.Errorf("--timezone: %w", err)
	}
	endOfToday := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	cfg.End = endOfToday
	if *live {
		cfg.End = endOfToday.Add(7 * 24 * time.Hour)
	}
	cfg.Start = endOfToday.Add(-time.Duration(*days) * 24 * time.Hour)
	if *start != "" {
		if cfg.Start, err = parseTime(*start); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
	}
	if *end != "" {
		if cfg.End, err = parseTime(*end); err != nil {
			return fmt.Errorf("--end: %w", err)
		}
	}
	clock := "clock fixed at the end of the range"
	if *live {
		cfg.Now = time.Now
		clock = "live clock"
	} else {
		fixed := cfg.End
		cfg.Now = func() time.Time { return fixed }
	}

	sim, err := simulator.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	targets := make([]string, 0, 3)
	for _, t := range sim.Targets() {
		targets = append(targets, t.String())
	}
	if *alwaysOpen {
		clock += ", open around the clock"
	}
	fmt.Fprintf(stdout, "dialpad simulator on http://%s token=%s targets=%s legs=%d (%s to %s, %s)\n",
		ln.Addr(), cfg.Token, strings.Join(targets, ","), sim.NumLegs(),
		cfg.Start.UTC().Format(time.RFC3339), cfg.End.UTC().Format(time.RFC3339), clock)

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	delivering := ev.start(ctx, sim, cfg, *live, stdout, stderr)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	<-delivering
	return nil
}

// eventFlags are the flags of the webhook event delivery.
type eventFlags struct {
	url, secret        string
	states             string
	rate, dup, reorder float64
	subscriptions      bool
	backlog            time.Duration
}

func (e *eventFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.url, "events-url", "", "POST the traffic's webhook events to this URL: with --live from the start-up on, with the clock; else a replay of the whole range at --events-rate")
	fs.StringVar(&e.states, "events-states", "", "the call states posted to --events-url, comma-separated, as a receiver subscribed to them gets them (default every state, the csat, pcsat and dispositions events after the call included); agent status events go whatever it says")
	fs.StringVar(&e.secret, "events-secret", "", "sign each event as a JWT (HS256) with this secret (default $DIALPAD_WEBHOOK_SECRET, which keeps it off the command line); empty = plain JSON bodies")
	fs.Float64Var(&e.rate, "events-rate", 200, "events per second of a replay (without --live)")
	fs.Float64Var(&e.dup, "events-duplicate-rate", 0.05, "share of events sent twice (the copy later, same body)")
	fs.Float64Var(&e.reorder, "events-reorder-rate", 0.05, "share of events held back behind the next few")
	fs.BoolVar(&e.subscriptions, "events-subscriptions", false, "with --live, also send events to the webhooks and websockets subscribed through POST /api/v2/subscriptions/call and /agent_status")
	fs.DurationVar(&e.backlog, "events-backlog", 0, "with --events-subscriptions, once the first agent status subscription is made also POST the agent status changes of this long before it (the history a receiver that had been running would hold; Dialpad never sends it)")
}

// validate checks the flags; an error never repeats the URL, which may
// carry a credential.
func (e *eventFlags) validate(live bool) error {
	if e.secret == "" {
		e.secret = os.Getenv("DIALPAD_WEBHOOK_SECRET")
	}
	if e.url != "" {
		u, err := url.Parse(e.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("--events-url must be an absolute http or https URL")
		}
	}
	switch {
	case e.rate <= 0 || math.IsInf(e.rate, 0) || math.IsNaN(e.rate):
		return errors.New("--events-rate must be a positive number")
	case !(e.dup >= 0 && e.dup <= 1):
		return errors.New("--events-duplicate-rate must lie in [0, 1]")
	case !(e.reorder >= 0 && e.reorder <= 1):
		return errors.New("--events-reorder-rate must lie in [0, 1]")
	case e.subscriptions && !live:
		return errors.New("--events-subscriptions needs --live")
	case e.backlog < 0 || e.backlog > 0 && !e.subscriptions:
		return errors.New("--events-backlog must not be negative, and needs --events-subscriptions")
	}
	return nil
}

// start runs the deliveries the flags ask for until they end or ctx is
// done; the channel is closed when all have returned.
func (e *eventFlags) start(ctx context.Context, sim *simulator.Sim, cfg simulator.Config, live bool, stdout, stderr io.Writer) <-chan struct{} {
	var wg sync.WaitGroup
	faults := webhook.DeliveryFaults{DuplicateRate: e.dup, ReorderRate: e.reorder}
	run := func(name string, d webhook.Delivery) {
		wg.Go(func() {
			st, err := sim.Deliver(ctx, d)
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				fmt.Fprintf(stderr, "events (%s): %v\n", name, err)
			case err == nil:
				fmt.Fprintf(stdout, "events (%s): done: %d events, %d sent, %d delivered, %d failed, %d retried (p50 %v, p99 %v)\n",
					name, st.Events, st.Sent, st.Delivered, st.Failed, st.Retried, st.LatencyP50, st.LatencyP99)
				if st.LastError != "" {
					fmt.Fprintf(stdout, "events (%s): last error: %s\n", name, st.LastError)
				}
			}
		})
	}
	if e.url != "" {
		d := webhook.Delivery{URL: e.url, Secret: e.secret, Faults: faults}
		if e.states != "" {
			d.CallStates = strings.Split(e.states, ",")
		}
		signing := "signed HS256 (JWT)"
		if e.secret == "" {
			signing = "unsigned JSON"
			fmt.Fprintln(stderr, "warning: --events-url without --events-secret: events are sent as plain JSON, unsigned")
		}
		when := ""
		if live {
			d.From = time.Now()
			when = "live from " + d.From.UTC().Format(time.RFC3339)
		} else {
			d.From, d.To, d.Rate = cfg.Start, cfg.End, e.rate
			when = fmt.Sprintf("replay of %s to %s at %g/s", cfg.Start.UTC().Format(time.RFC3339), cfg.End.UTC().Format(time.RFC3339), e.rate)
		}
		fmt.Fprintf(stdout, "events: POST to %s, %s, %s, %g%% duplicated, %g%% reordered\n",
			redactURL(e.url), signing, when, 100*e.dup, 100*e.reorder)
		run("url", d)
	}
	if e.subscriptions {
		fmt.Fprintln(stdout, "events: also sent live to the webhooks and websockets subscribed through /api/v2/subscriptions/")
		if e.backlog > 0 {
			fmt.Fprintf(stdout, "events: the first agent status subscription also gets the agent status changes of the %s before it\n", e.backlog)
		}
		// The receiver answers a group of events at once, a second after
		// its first: a backlog needs many sends in flight.
		run("subscriptions", webhook.Delivery{Subscriptions: true, From: time.Now(), Backlog: e.backlog, Faults: faults, Workers: 32})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// redactURL shows where a URL points without its credentials: no user
// information, no query.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	out := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

// parseTime reads a date (midnight UTC) or an RFC3339 time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor RFC3339", s)
	}
	return t, nil
}

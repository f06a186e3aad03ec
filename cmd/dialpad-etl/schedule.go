package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/alerting"
	"github.com/dialpad-etl/dialpad-etl/etl/ccstatus"
	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/schedule"
	"github.com/prometheus/client_golang/prometheus"
)

func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("schedule", "schedule [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	metrics := schedule.NewMetrics(nil)
	api := &http.Client{Transport: metrics.InstrumentAPI(http.DefaultTransport.(*http.Transport).Clone())}
	e, err := setup(ctx, fs, stderr, dialpad.WithHTTPClient(api))
	if err != nil {
		return err
	}
	defer e.store.Close()
	for _, t := range e.cfg.Targets {
		metrics.Known(t.String())
	}
	s := &schedule.Scheduler{
		Loads:           e.job(),
		Hourly:          e.cfg.HourlySchedule,
		Nightly:         e.cfg.NightlySchedule,
		NightlyLookback: e.cfg.NightlyLookback,
		Location:        e.cfg.Location,
		Metrics:         metrics,
		Health:          func(ctx context.Context) error { return e.store.DB().Ping(ctx) },
		MaxAge:          e.cfg.HealthMaxAge,
		Log:             e.log,
	}
	var rec *reconcile.Reconciler
	if e.cfg.ReconcileDays > 0 {
		rec = e.reconciler(reconcile.NewMetrics(metrics.Registerer()))
	}
	dispositions := e.dispositionLoad(events.NewDispositionMetrics(metrics.Registerer()))
	// After the nightly re-load: the reconciliation with Dialpad's exports
	// (which may load a day again), the dispositions export of the days
	// re-read, then the staffing of the days it read and its forecast.
	s.AfterNightly = func(ctx context.Context, now time.Time) {
		if rec != nil {
			e.reconcileNightly(ctx, rec, now)
		}
		e.loadDispositions(ctx, dispositions, now)
		e.planStaffing(ctx, time.Time{}, now)
	}
	if e.cfg.ReportsOn() {
		s.Tasks = reportTasks(e)
	}
	// Dialpad's live status of the call centers, with or without events.
	stopPolls := e.pollCallCenters(ctx, ccstatus.NewMetrics(metrics.Registerer()))
	defer stopPolls()
	// The alert rules' conditions, e-mailed by the job itself.
	stopAlerts, err := e.mailAlerts(ctx, metrics.Registerer())
	if err != nil {
		return err
	}
	defer stopAlerts()
	// No secret, no events (DIALPAD_EVENTS=websocket requires one).
	if e.cfg.WebhookSecret == "" {
		return s.Run(ctx, e.cfg.HTTPAddr)
	}
	storage := events.NewStorage(e.store.DB())
	rcv := &events.Receiver{
		Store:      storage,
		Legs:       e.store,
		Derived:    e.store.Derived(),
		Leases:     e.store.Leases(),
		Secret:     []byte(e.cfg.WebhookSecret),
		Targets:    e.cfg.Targets,
		Location:   e.cfg.Location,
		LiveMaxAge: e.cfg.LiveMaxAge,
		Retention:  e.cfg.EventsKeep,
		Metrics:    events.NewMetrics(metrics.Registerer()),
		Log:        e.log,
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rcv.Run(rctx) }()
	// Over a websocket the job connects out: nothing is served for
	// Dialpad to post to.
	lctx, stopListening := context.WithCancel(ctx)
	var listening sync.WaitGroup
	if e.cfg.Events == config.EventsWebsocket {
		l := &events.Listener{Sockets: e.client, Receiver: rcv, Lifetime: e.cfg.WebsocketLifetime,
			Metrics: events.NewSocketMetrics(metrics.Registerer()), Gaps: storage, Log: e.log}
		listening.Go(func() { e.listen(lctx, l) })
		e.log.Info("receiving Dialpad events over a websocket", "live_max_age", e.cfg.LiveMaxAge)
	} else {
		s.Webhook = rcv
		e.log.Info("receiving Dialpad events", "path", "/webhooks/dialpad", "live_max_age", e.cfg.LiveMaxAge)
	}
	// Whichever way events arrive, some are lost while the job is away
	// (Dialpad retries a webhook briefly and a websocket not at all):
	// the duty-status read repairs the statuses, the list the calls.
	var repairs sync.WaitGroup
	if every := e.cfg.DutyStatusEvery; every > 0 {
		repair := &events.Repair{Dialpad: e.client, Store: storage, Recount: rcv, Trouble: rcv.TakeTrouble, Log: e.log}
		repairs.Go(func() { repair.Run(rctx, every) })
	}
	err = s.Run(ctx, e.cfg.HTTPAddr)
	// The messages read by now are stored, then the events queued by
	// now, before the process goes.
	stopListening()
	listening.Wait()
	stop()
	repairs.Wait()
	if rerr := <-done; err == nil {
		err = rerr
	}
	return err
}

// pollCallCenters starts polling the live status of the call-center
// targets every CALLCENTER_STATUS_INTERVAL, through the loads' client and
// so within the one rate budget; the func it returns stops the polls and
// waits for them. Nothing runs when the interval is 0 or no target is a
// call center.
func (e *env) pollCallCenters(ctx context.Context, m *ccstatus.Metrics) (stop func()) {
	centers := ccstatus.CallCenters(e.cfg.Targets)
	if e.cfg.CallCenterStatusEvery <= 0 || len(centers) == 0 {
		return func() {}
	}
	p := &ccstatus.Poller{Source: e.client, Store: ccstatus.NewStorage(e.store.DB()), Targets: centers,
		Every: e.cfg.CallCenterStatusEvery, Keep: e.cfg.CallCenterStatusKeep, Metrics: m, Log: e.log}
	e.log.Info("polling the call centers' live status", "call_centers", len(centers), "every", p.Every)
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.Run(pctx) })
	return func() { cancel(); wg.Wait() }
}

// mailAlerts starts evaluating the provisioned alert rules every minute
// and e-mailing their alerts (ALERT_MAIL), through the reports' SMTP
// settings to ALERT_TO (default REPORT_TO), measured in reg; the func it
// returns stops it and waits. Nothing runs when ALERT_MAIL is off.
func (e *env) mailAlerts(ctx context.Context, reg prometheus.Registerer) (stop func(), err error) {
	cfg := e.cfg
	if !cfg.AlertMail {
		return func() {}, nil
	}
	rules, err := alerting.Rules()
	if err != nil {
		return nil, err
	}
	m := &mailer.Mailer{
		SMTP: mailer.SMTP{Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS,
			From: cfg.ReportFrom, To: cfg.AlertRecipients()},
		Log: e.log,
	}
	a := &alerting.Alerter{Rules: rules, Store: alerting.NewStorage(e.store.DB()), Mail: m, Leases: e.store.Leases(), Log: e.log,
		Metrics: alerting.NewMetrics(reg)}
	e.log.Info("e-mailing the alert rules' conditions", "rules", len(rules), "to", strings.Join(m.SMTP.To, ", "))
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(actx) })
	return func() { cancel(); wg.Wait() }, nil
}

// listen finds or creates the websocket and its subscriptions (as
// 'webhooks setup' does; again with backoff while Dialpad cannot be
// reached), then receives its events until ctx ends.
func (e *env) listen(ctx context.Context, l *events.Listener) {
	for attempt := 1; ; attempt++ {
		var out strings.Builder
		w := &webhooks{c: e.client, out: &out, secret: e.cfg.WebhookSecret, targets: e.cfg.Targets}
		ws, err := w.setupSocket(ctx)
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line != "" {
				e.log.Info("websocket setup: " + line)
			}
		}
		if err == nil {
			l.ID = ws.ID
			break
		}
		if ctx.Err() != nil {
			return
		}
		wait := events.DefaultBackoff(attempt)
		e.log.Error("could not set up the websocket with Dialpad; trying again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	l.Run(ctx)
}

// reportTasks e-mail the daily and weekly reports on their schedules; at
// start, a report whose time passed while no process ran is sent then.
func reportTasks(e *env) []schedule.Task {
	cfg := e.cfg
	m := &mailer.Mailer{
		Sends:  sends.NewStorage(e.store.DB()),
		Leases: e.store.Leases(),
		Conn:   e.store.DB(),
		SMTP: mailer.SMTP{Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS,
			From: cfg.ReportFrom, To: cfg.Recipients()},
		Targets:  cfg.Targets,
		Location: cfg.Location,
		Log:      e.log,
	}
	var tasks []schedule.Task
	for _, k := range []struct {
		kind, spec string
		catchUp    time.Duration
	}{{mailer.Daily, cfg.ReportDailySchedule, 24 * time.Hour}, {mailer.Weekly, cfg.ReportWeeklySchedule, 7 * 24 * time.Hour}} {
		if k.spec == "" {
			continue
		}
		tasks = append(tasks, schedule.Task{Name: k.kind + " report", Spec: k.spec, CatchUp: k.catchUp,
			Run: func(ctx context.Context, due time.Time) {
				if err := m.Send(ctx, k.kind, due); err != nil {
					e.log.Error("the report was not e-mailed", "report", k.kind, "err", err)
				}
			}})
	}
	return tasks
}

// reconcileNightly compares the last ETL_RECONCILE_DAYS days with
// Dialpad's exports, as of now, and logs what it found.
func (e *env) reconcileNightly(ctx context.Context, rec *reconcile.Reconciler, now time.Time) {
	first, last, _ := reconcileRange("", "", e.cfg.ReconcileDays, e.cfg.Location, now)
	off, failed := 0, 0
	for _, res := range rec.Run(ctx, first, last) {
		for _, d := range res.Days {
			if d.Status != reconcile.StatusMatch {
				off++
			}
		}
		if res.Err != nil {
			failed++
			e.log.Error("reconcile failed", "target", res.Target.String(), "err", res.Err)
		}
	}
	e.log.Info("reconciled with Dialpad's exports", "from", first.Format(time.DateOnly), "to", last.Format(time.DateOnly),
		"days_out_of_agreement", off, "targets_failed", failed)
}

// nightlyDays are the days the nightly re-load read again, as of now:
// from the date ETL_NIGHTLY_LOOKBACK ago to yesterday, in the reporting
// zone (dates as midnight UTC); ok is false when that is no whole day.
func nightlyDays(lookback time.Duration, loc *time.Location, now time.Time) (first, last time.Time, ok bool) {
	date := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	first, last = date(now.Add(-lookback)), date(now).AddDate(0, 0, -1)
	return first, last, !first.After(last)
}

// loadDispositions loads the dispositions exports of the days the
// nightly re-load read again, as of now, and logs what they came to.
func (e *env) loadDispositions(ctx context.Context, d *events.DispositionLoad, now time.Time) {
	first, last, ok := nightlyDays(e.cfg.NightlyLookback, e.cfg.Location, now)
	if !ok {
		return
	}
	legs, refused, failed := 0, 0, 0
	for _, r := range d.Run(ctx, first, last) {
		legs += r.Legs
		switch {
		case r.Refused:
			refused++
		case r.Err != nil:
			failed++
		}
	}
	e.log.Info("loaded Dialpad's dispositions exports", "from", first.Format(time.DateOnly), "to", last.Format(time.DateOnly),
		"legs", legs, "targets_refused", refused, "targets_failed", failed)
}
